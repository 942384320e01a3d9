"""Targets -> the DAG of jobs (SPEC §2.3): resolving each file to the job that makes it.

`build_dag(workflow, targets, fs)` resolves every requested file to the job that makes it
(or to a source file on disk), recursively, and returns a `Dag` whose `jobs` are in a
deterministic topological order (inputs first, then in the order targets and inputs were
asked for). Errors: `MissingInputError` (a file neither present nor producible, with why
each candidate rule did not fit), `AmbiguousRuleError`, `CycleError`, and `UsageError` for
a rule target with wildcards; their texts are built in `resolve_errors`.

This module decides *which* jobs exist (candidate rules, ruleorder, trial builds with
rollback, cycles); `jobs` builds each one from its rule and wildcards.

Speed: every pattern is compiled once per rule (`jobs.RuleInfo`); candidate rules for a path
come from a dict of plain outputs plus buckets keyed by the first folder of each pattern's
literal prefix; existence checks go through the batched `FileSystem`. A job costs a few
`str.format` calls, one regex match per requested file, and a handful of dict operations.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..core.errors import UsageError
from ..core.model import Job, Rule, Workflow, pinned_producer
from ..core.patterns import Pattern
from .dag import Dag, no_gc
from .fs import FileSystem
from .jobs import (
    RuleInfo,
    call_with_known_args,
    finish_job,
    job_inputs,
    job_key,
    job_outputs,
    new_job,
)
from .pathmatch import hinted, outermost
from .resolve_errors import (
    Unresolvable,
    ambiguous_error,
    cycle_error,
    duplicate_output_error,
    missing_error,
)

__all__ = ["build_dag", "call_with_known_args"]


class _Builder:
    def __init__(self, workflow: Workflow, fs: FileSystem) -> None:
        self.wf = workflow
        self.fs = fs
        self.rules = list(workflow.rules.values())
        self.infos = {r.name: RuleInfo(r) for r in self.rules}
        self.plain: dict[str, list[tuple[int, int, Rule, Pattern]]] = {}
        buckets: dict[str, list[tuple[int, int, Rule, Pattern]]] = {}
        general: list[tuple[int, int, Rule, Pattern]] = []
        self.dir_patterns: list[tuple[int, int, Rule, Pattern]] = []
        for rule in self.rules:
            for i, (text, pat) in enumerate(zip(rule.output, rule.output_patterns)):
                entry = (rule.index, i, rule, pat)
                if "directory" in getattr(text, "flags", ()):
                    self.dir_patterns.append(entry)
                if pat.is_plain:
                    self.plain.setdefault(pat.text, []).append(entry)
                    continue
                prefix = pat.literal_prefix
                cut = prefix.find("/")
                if cut < 0:
                    general.append(entry)
                else:
                    buckets.setdefault(prefix[:cut + 1], []).append(entry)
        for rule in self.rules:
            # log: files are producible too (after the outputs: an output pattern wins);
            # only a log carrying all of the rule's wildcards tells which job writes it.
            constraints = {**workflow.wildcard_constraints, **rule.wildcard_constraints}
            for j, text in enumerate(rule.log):
                pat = Pattern(text, constraints)
                if set(pat.names) != set(rule.wildcard_names):
                    continue
                entry = (rule.index, _LOG_INDEX + j, rule, pat)
                if pat.is_plain:
                    self.plain.setdefault(pat.text, []).append(entry)
                    continue
                cut = pat.literal_prefix.find("/")
                if cut < 0:
                    general.append(entry)
                else:
                    buckets.setdefault(pat.literal_prefix[:cut + 1], []).append(entry)
        self.general = sorted(general, key=lambda e: (e[0], e[1]))
        self.buckets = {k: sorted(v + general, key=lambda e: (e[0], e[1]))
                        for k, v in buckets.items()}
        self.dir_patterns.sort(key=lambda e: (e[0], e[1]))
        self.dir_ids = {id(e[3]) for e in self.dir_patterns}
        self.ranked = any(workflow.ruleorder)
        self.order: list[Job] = []
        self.producer: dict[str, Job] = {}
        self.jobs_by_key: dict[tuple[str, ...], Job] = {}
        self.sources: dict[str, None] = {}
        self.failed: dict[str, Unresolvable] = {}
        self.in_progress: dict[tuple[str, ...], int] = {}
        self.stack: list[tuple[str | None, Job]] = []
        self.waiting: dict[Job, str] = {}
        self.rule_depth: dict[str, int] = {}
        self.asked = workflow.checkpoint_state.asked
        self.clashes: list[tuple[str, Job]] = []   # (output, a second job declaring it)
        self.hidden: dict[str, tuple[Rule, Unresolvable]] = {}

    # -- candidates ------------------------------------------------------------------
    def _candidates(self, path: str, needed_by: Job | None = None,
                    hint: str | None = None) -> list[tuple[Rule, dict[str, str]]]:
        """Rules whose output patterns match `path`, in file order, with wildcard values.

        When the requesting input's pattern (`hint`, as a format) is the rule's output
        pattern, the requester's values are passed by name instead of split by regex."""
        cut = path.find("/")
        entries = self.buckets.get(path[:cut + 1], self.general) if cut >= 0 else self.general
        plain = self.plain.get(path)
        if plain is not None:
            entries = sorted(plain + entries, key=lambda e: (e[0], e[1]))
        found: list[tuple[Rule, dict[str, str]]] = []
        last: Rule | None = None
        for _, _, rule, pat in entries:
            if rule is last:
                continue
            if hint is not None and pat.fmt == hint and needed_by is not None:
                wc = hinted(pat, path, needed_by.wildcards)
            else:
                wc = pat.match(path)
            if wc is not None:
                if self.dir_ids and id(pat) in self.dir_ids and outermost(pat, path)[0] != path:
                    continue   # a file inside the directory this pattern makes
                found.append((rule, wc))
                last = rule
        return found

    def _dir_candidates(self, path: str) -> list[tuple[Rule, dict[str, str]]]:
        """Rules whose directory() output is a folder above `path`, nearest first.

        Per pattern the folder is the outermost one it matches: `unpacked/{ds}` makes
        `unpacked/d1` for `unpacked/d1/sub/t.csv`, not `unpacked/d1/sub`.
        """
        best = -1
        found: list[tuple[Rule, dict[str, str]]] = []
        for _, _, rule, pat in self.dir_patterns:
            folder, wc = outermost(pat, path)
            if wc is None or folder == path or len(folder) < best:
                continue
            if len(folder) > best:
                best, found = len(folder), []
            if all(f[0] is not rule for f in found):
                found.append((rule, wc))
        return found

    def _beats(self, a: Rule, b: Rule) -> bool:
        """Does rule `a` win over rule `b`? By `ruleorder`, else (as in Snakemake) a rule
        whose output has no wildcards wins over one with wildcards."""
        ra, rb = self.wf.rule_rank(a.name), self.wf.rule_rank(b.name)
        big = 1 << 30
        if any(x < y and y < big for x, y in zip(ra, rb)):
            return True
        if any(y < x and x < big for x, y in zip(ra, rb)):
            return False
        return not self.infos[a.name].has_wildcards and self.infos[b.name].has_wildcards

    # -- rollback for trial builds ---------------------------------------------------
    def _mark(self) -> tuple[int, int]:
        return len(self.order), len(self.sources)

    def _rollback(self, mark: tuple[int, int]) -> None:
        n_jobs, n_sources = mark
        for job in self.order[n_jobs:]:
            for out in (*job.output, *job.log):
                if self.producer.get(out) is job:
                    del self.producer[out]
            self.jobs_by_key.pop(job_key(job), None)
            self.waiting.pop(job, None)
        if self.clashes:
            gone = set(map(id, self.order[n_jobs:]))
            self.clashes = [c for c in self.clashes if id(c[1]) not in gone]
        del self.order[n_jobs:]
        if len(self.sources) > n_sources:
            for path in list(self.sources)[n_sources:]:
                del self.sources[path]

    # -- resolution ------------------------------------------------------------------
    def resolve(self, path: str, needed_by: Job | None, pin: str | None = None,
                hint: str | None = None) -> Job | None:
        """The job making `path`, or None for a source file; raises Unresolvable, or
        _Cycle when every way to make the missing `path` leads back into the job graph.

        `pin`: the rule the input was taken from (`rules.NAME.output`); `hint`: the format
        of the requesting input pattern (a producer with the same output pattern gets the
        requester's wildcard values by name)."""
        job = self.producer.get(path)
        if job is not None:
            return job
        if path in self.sources:
            return None
        failure = self.failed.get(path)
        if failure is not None:
            raise Unresolvable(path, needed_by, failure.matched)
        matched: list[tuple[Rule, str, Unresolvable | None]] = []
        cycles: list[_Cycle] = []
        candidates = self._candidates(path, needed_by if hint is not None else None, hint)
        if pin is not None and any(r.name == pin for r, _ in candidates):
            candidates = [c for c in candidates if c[0].name == pin]
        job = self._pick(path, needed_by, candidates, matched, cycles) if candidates else None
        if job is None and self.dir_patterns:
            job = self._pick(path, needed_by, self._dir_candidates(path), matched, cycles)
        if job is not None:
            return job
        if cycles and (not self.fs.exists(path) or any(c.at == path for c in cycles)):
            # an existing file breaks a cycle further down, never one that closes here
            # (the file is the output of a job already being built)
            raise cycles[0]
        if self.fs.exists(path):
            self.sources[path] = None
            for rule, _, err in matched:
                if err is not None:   # a rule would make it, but an input is missing
                    self.hidden[path] = (rule, err)
                    break
            return None
        failure = Unresolvable(path, needed_by, matched)
        self.failed[path] = failure
        raise failure

    def _pick(self, path: str, needed_by: Job | None,
              candidates: list[tuple[Rule, dict[str, str]]],
              matched: list[tuple[Rule, str, Unresolvable | None]],
              cycles: list[_Cycle]) -> Job | None:
        """Build the job of the one viable candidate (None if none is viable).

        A candidate whose job would close a cycle is set aside like one with a missing
        input (Snakemake's behaviour): another rule or an existing file may serve."""
        if len(candidates) == 1:
            rule, wc = candidates[0]
            mark = self._mark()
            try:
                return self._build(rule, wc, path)
            except _Recursion as rec:
                self._rollback(mark)
                matched.append((rule, rec.text, None))
            except Unresolvable as err:
                self._rollback(mark)
                matched.append((rule, "", err))
            except _Cycle as cyc:
                self._rollback(mark)
                matched.append((rule, f"rule {rule.name}: would create a cycle", None))
                cycles.append(cyc)
            return None
        viable: list[tuple[Rule, dict[str, str]]] = []
        for rule, wc in candidates:
            mark = self._mark()
            try:
                self._build(rule, wc, path)
                viable.append((rule, wc))
            except _Recursion as rec:
                matched.append((rule, rec.text, None))
            except Unresolvable as err:
                matched.append((rule, "", err))
            except _Cycle as cyc:
                matched.append((rule, f"rule {rule.name}: would create a cycle", None))
                cycles.append(cyc)
            finally:
                self._rollback(mark)
        if not viable:
            return None
        winner = self._choose(path, needed_by, viable)
        return self._build(winner[0], winner[1], path)

    def _choose(self, path: str, needed_by: Job | None,
                viable: list[tuple[Rule, dict[str, str]]]) -> tuple[Rule, dict[str, str]]:
        if len(viable) == 1:
            return viable[0]
        best = [c for c in viable
                if not any(self._beats(o[0], c[0]) for o in viable if o is not c)]
        if len(best) == 1:
            return best[0]
        raise ambiguous_error(path, needed_by, [r for r, _ in (best or viable)])

    def _build(self, rule: Rule, wc: dict[str, str], path: str | None) -> Job:
        info = self.infos[rule.name]
        outputs = job_outputs(info, wc)
        if (len(outputs) == 1 and type(path) is str and type(outputs[0]) is str
                and outputs[0] == path):
            outputs[0] = path   # one string for the requester's input and this output
        key = (rule.name, *outputs) if outputs else (rule.name, *wc.values())  # job_key
        jobs_by_key = self.jobs_by_key
        job = jobs_by_key.get(key)
        if job is not None:
            return job
        in_progress, stack, rule_depth = self.in_progress, self.stack, self.rule_depth
        if key in in_progress:
            self._cycle(key, path)
        name = rule.name
        depth = rule_depth.get(name, 0)
        if depth and info.has_wildcards:
            self._check_recursion(rule, path)
        job = new_job(rule, wc, outputs)
        in_progress[key] = len(stack)
        stack.append((path, job))
        rule_depth[name] = depth + 1
        try:
            plain = info.plain_inputs
            if plain is not None:   # static inputs: no input function to watch
                inputs, waiting = job_inputs(info, job)
                consulted = None
            else:
                asked = self.asked
                asked.clear()
                inputs, waiting = job_inputs(info, job)
                consulted = asked[:] if asked else None
            job.input = inputs
            deps: list[Job] = []
            resolve = self.resolve
            hints = info.input_fmts if wc else None
            if hints is None and plain is not None:
                for inp in inputs:
                    dep = resolve(inp, job)
                    if dep is not None:
                        deps.append(dep)
            else:
                for i, inp in enumerate(inputs):
                    dep = resolve(inp, job, pinned_producer(inp) if type(inp) is not str
                                  else None, hints[i] if hints is not None else None)
                    if dep is not None:
                        deps.append(dep)
            if consulted is not None:  # checkpoint outputs its input function read
                for path in consulted:
                    dep = resolve(path, job)
                    if dep is not None:
                        deps.append(dep)
            if waiting is not None:
                dep = resolve(waiting[1], job)
                if dep is not None:
                    deps.append(dep)
                self.waiting[job] = waiting[0]
        finally:
            stack.pop()
            del in_progress[key]
            rule_depth[name] = depth
        if len(deps) > 1:
            deps = list(dict.fromkeys(deps))
        job.deps = deps
        if info.plain_job:
            job.threads = info.threads
        else:
            finish_job(info, job)
        order = self.order
        job.id = len(order)
        order.append(job)
        jobs_by_key[key] = job
        producer = self.producer
        for out in outputs:
            if producer.setdefault(out, job) is not job:
                self.clashes.append((out, job))
        if job.log:
            for out in job.log:
                producer.setdefault(out, job)
        return job

    def _check_recursion(self, rule: Rule, path: str | None) -> None:
        if path is None:
            return
        for prev_path, prev in self.stack:
            if prev.rule is rule and prev_path is not None and len(path) > len(prev_path):
                raise _Recursion(f"rule {rule.name}: would apply to its own output again "
                                 f"({prev_path} needs {path})")

    def _cycle(self, key: tuple[str, ...], path: str | None) -> None:
        raise _Cycle(cycle_error(self.stack[self.in_progress[key]:], path), path)


_LOG_INDEX = 1 << 20   # log entries sort after every output of their rule


class _Cycle(Exception):
    """A job that would need itself; carries the CycleError to raise if nothing else fits."""

    def __init__(self, error: Exception, at: str | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.at = at   # the file whose job is already being built


class _Recursion(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


# --------------------------------------------------------------------------- entry point

def _normalize_target(workflow: Workflow, target: str) -> str:
    path = os.fspath(target)
    if os.path.isabs(path):
        rel = os.path.relpath(path, workflow.workdir)
        if not rel.startswith(".."):
            path = rel
    while path.startswith("./"):
        path = path[2:]
    return path


def build_dag(workflow: Workflow, targets: Sequence[str] | str = (),
              fs: FileSystem | None = None) -> Dag:
    """Resolve `targets` (rule names or paths; none -> default target) into a Dag."""
    fs = fs if fs is not None else FileSystem(workflow.workdir)
    if isinstance(targets, str):
        targets = [targets]
    with no_gc():
        return _build_dag(workflow, targets, fs)


def _build_dag(workflow: Workflow, targets: Sequence[str], fs: FileSystem) -> Dag:
    builder = _Builder(workflow, fs)
    if not targets:
        default = workflow.default_rule()
        if default is None:   # no rules at all: nothing to do (exit 0, as in Snakemake)
            return Dag(workflow, [], [], [], {}, {})
        targets = [default.name]
    target_jobs: list[Job] = []
    target_files: list[str] = []
    for target in targets:
        rule = workflow.rules.get(target)
        if rule is not None:
            target_jobs.append(_rule_target(builder, rule))
            continue
        path = _normalize_target(workflow, target)
        target_files.append(path)
        try:
            job = builder.resolve(path, None)
        except Unresolvable as err:
            raise missing_error(workflow, err) from None
        except _Cycle as cyc:
            raise cyc.error from None
        if job is not None:
            target_jobs.append(job)
    target_jobs = list(dict.fromkeys(target_jobs))
    if builder.clashes:
        out, job = builder.clashes[0]
        raise duplicate_output_error(out, builder.producer[out], job)
    waiting = {job.id: rule for job, rule in builder.waiting.items()}
    dag = Dag(workflow, builder.order, target_jobs, target_files, waiting, builder.producer,
              builder.sources)
    if builder.hidden:  # only those still sources (trial builds may have been rolled back)
        dag.hidden = {p: h for p, h in builder.hidden.items() if p in builder.sources}
    return dag


def _rule_target(builder: _Builder, rule: Rule) -> Job:
    wild = [p for p in rule.output_patterns if not p.is_plain]
    if wild:
        names = ", ".join("{" + n + "}" for n in wild[0].names)
        raise UsageError(
            f"rule {rule.name} cannot be a target: its output has wildcards ({names})",
            rule.spans.get("output", rule.span),
            facts=[("Rule", rule.name), ("Output", wild[0].text)],
            hint="ask for a file instead (e.g. one path with the wildcards filled in), "
                 "or add a target rule whose input lists the files")
    try:
        return builder._build(rule, {}, None)
    except Unresolvable as err:
        raise missing_error(builder.wf, err) from None
    except _Cycle as cyc:
        raise cyc.error from None
