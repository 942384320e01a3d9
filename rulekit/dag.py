"""Targets -> the DAG of jobs (SPEC §2.3).

`build_dag(workflow, targets, fs)` resolves every requested file to the job that makes it
(or to a source file on disk), recursively, and returns a `Dag` whose `jobs` are in a
deterministic topological order (inputs first, then in the order targets and inputs were
asked for). Errors: `MissingInputError` (a file neither present nor producible, with why
each candidate rule did not fit), `AmbiguousRuleError`, `CycleError`, and `UsageError` for
a rule target with wildcards.

Speed: every pattern is compiled once per rule (`_RuleInfo`); candidate rules for a path
come from a dict of plain outputs plus buckets keyed by the first folder of each pattern's
literal prefix; existence checks go through the batched `FileSystem`. A job costs a few
`str.format` calls, one regex match per requested file, and a handful of dict operations.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .errors import AmbiguousRuleError, CycleError, LoadError, MissingInputError, UsageError
from .fs import FileSystem
from .model import (
    AnnotatedPath,
    FlaggedCallable,
    IncompleteCheckpoint,
    Job,
    NamedList,
    Rule,
    Unpack,
    Wildcards,
    Workflow,
)
from .patterns import Pattern, WildcardError, _split

__all__ = ["Dag", "build_dag", "call_with_known_args", "no_gc"]


@contextlib.contextmanager
def no_gc() -> Any:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Its full collections walk every live object, which makes building 10^5 jobs
    quadratic-ish; nothing built here forms reference cycles.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            # Everything allocated meanwhile sits in the youngest generation; without a
            # freeze the first collection after enable() would walk it all at once.
            gc.freeze()
            gc.enable()

# Shared by every job without params/log/resources: treat job io as read-only.
_EMPTY = NamedList()
_NO_RESOURCES: dict[str, Any] = {}
_KNOWN_ARGS = ("wildcards", "input", "output", "threads", "resources")
_MAX_TRIED = 8


# --------------------------------------------------------------------------- per rule

def _arg_plan(func: Callable[..., Any]) -> list[str]:
    """Which of wildcards/input/output/threads/resources `func` takes, in its order.

    A parameter with a known name gets that value; any other positional parameter gets
    the value at its position in Snakemake's order (wildcards, input, output, ...).
    """
    target = func.func if isinstance(func, FlaggedCallable) else func
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return ["wildcards"]
    plan: list[str] = []
    for i, p in enumerate(sig.parameters.values()):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            break
        if p.name in _KNOWN_ARGS:
            plan.append(p.name)
        elif p.default is not p.empty:
            break
        elif i < len(_KNOWN_ARGS):
            plan.append(_KNOWN_ARGS[i])
    return plan


_ARG_PLANS: dict[int, tuple[Callable[..., Any], list[str]]] = {}


def call_with_known_args(func: Callable[..., Any], values: dict[str, Any]) -> Any:
    """Call an input/params/threads function with the arguments it asks for."""
    cached = _ARG_PLANS.get(id(func))
    if cached is None or cached[0] is not func:
        cached = (func, _arg_plan(func))
        _ARG_PLANS[id(func)] = cached
    return func(*(values[name] for name in cached[1]))


class _Fmt:
    """A string value formatted with wildcards, compiled once."""

    __slots__ = ("text", "fmt", "flags")

    def __init__(self, text: str) -> None:
        self.text = text
        self.flags = getattr(text, "flags", None) or None
        self.fmt: str | None = None if ("{" not in text and "}" not in text) else Pattern(text).fmt

    def __call__(self, wc: dict[str, str]) -> str:
        value = self.text if self.fmt is None else self.fmt.format_map(wc)
        if self.flags is not None and self.fmt is not None:
            return AnnotatedPath(value, self.flags)
        return value


class _RuleInfo:
    """Everything about a rule the DAG builder needs per job, prepared once."""

    __slots__ = ("rule", "out_fmts", "inputs", "static_names", "params", "params_names",
                 "log", "benchmark", "has_wildcards", "simple_params")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.out_fmts = [p.fmt if not p.is_plain else None for p in rule.output_patterns]
        self.has_wildcards = any(not p.is_plain for p in rule.output_patterns)
        # inputs: (kind, name, payload): "s" one pattern, "l" a list, "f" function, "u" unpack
        self.inputs: list[tuple[str, str | None, Any]] = []
        static = True
        names: dict[str, int | tuple[int, int]] = {}
        pos = 0
        for name, value in rule.input:
            if isinstance(value, Unpack):
                self.inputs.append(("u", name, value.func))
                static = False
            elif callable(value):
                self.inputs.append(("f", name, value))
                static = False
            elif isinstance(value, str):
                self.inputs.append(("s", name, _Fmt(value)))
                if name is not None:
                    names[name] = pos
                pos += 1
            else:
                items = [_Fmt(v) for v in _flatten(value)]
                self.inputs.append(("l", name, items))
                if name is not None:
                    names[name] = (pos, pos + len(items))
                pos += len(items)
        self.static_names = names if static else None
        self.params: list[tuple[str | None, Any]] = []
        pnames: dict[str, int | tuple[int, int]] = {}
        self.simple_params = True
        for i, (name, value) in enumerate(rule.params):
            if name is not None:
                pnames[name] = i
            if isinstance(value, str):
                try:
                    self.params.append((name, _Fmt(value)))
                except WildcardError:
                    self.params.append((name, value))
            else:
                self.params.append((name, value))
                if callable(value):
                    self.simple_params = False
        self.params_names = pnames
        self.log = [_Fmt(p) for p in rule.log]
        self.benchmark = _Fmt(rule.benchmark) if rule.benchmark else None


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        out: list[Any] = []
        for v in value:
            out.extend(_flatten(v))
        return out
    return [value]


# --------------------------------------------------------------------------- the DAG

class Dag:
    """The jobs needed for some targets, in topological order (`job.id` is the index)."""

    def __init__(self, workflow: Workflow, jobs: list[Job], targets: list[Job],
                 target_files: list[str], waiting: dict[int, str],
                 producer: dict[str, Job]) -> None:
        self.workflow = workflow
        self.jobs = jobs
        self.targets = targets
        self.target_files = target_files
        self.waiting = waiting          # job id -> checkpoint rule it waits for
        self.producer = producer        # output path -> job
        self._consumers: list[list[Job]] | None = None

    def __iter__(self) -> Any:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def consumers(self) -> list[list[Job]]:
        """consumers()[job.id]: the jobs that take one of this job's outputs as input."""
        if self._consumers is None:
            cons: list[list[Job]] = [[] for _ in self.jobs]
            for job in self.jobs:
                for dep in job.deps:
                    cons[dep.id].append(job)
            self._consumers = cons
        return self._consumers

    def upstream_of(self, rules: Iterable[str]) -> list[bool]:
        """Per job id: is it a job of one of `rules` or needed by one (for --until)."""
        names = set(rules)
        keep = [False] * len(self.jobs)
        for job in reversed(self.jobs):
            if job.rule.name in names:
                keep[job.id] = True
            if keep[job.id]:
                for dep in job.deps:
                    keep[dep.id] = True
        return keep

    def rule_edges(self) -> list[tuple[str, str]]:
        """(upstream rule, downstream rule) pairs, deterministic, without duplicates."""
        seen: dict[tuple[str, str], None] = {}
        for job in self.jobs:
            for dep in job.deps:
                seen.setdefault((dep.rule.name, job.rule.name))
        return list(seen)


class _Unresolvable(Exception):
    """A file that does not exist and that no rule can make (internal control flow)."""

    def __init__(self, path: str, needed_by: Job | None,
                 matched: list[tuple[Rule, str, _Unresolvable | None]]) -> None:
        super().__init__(path)
        self.path = path
        self.needed_by = needed_by
        # rules whose output matched, with why they failed: a deeper failure, or None with
        # a text (recursion) in the middle slot
        self.matched = matched


class _Builder:
    def __init__(self, workflow: Workflow, fs: FileSystem) -> None:
        self.wf = workflow
        self.fs = fs
        self.rules = list(workflow.rules.values())
        self.infos = {r.name: _RuleInfo(r) for r in self.rules}
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
        self.general = sorted(general, key=lambda e: (e[0], e[1]))
        self.buckets = {k: sorted(v + general, key=lambda e: (e[0], e[1]))
                        for k, v in buckets.items()}
        self.dir_patterns.sort(key=lambda e: (e[0], e[1]))
        self.ranked = any(workflow.ruleorder)
        self.order: list[Job] = []
        self.producer: dict[str, Job] = {}
        self.jobs_by_key: dict[tuple[str, tuple[str, ...]], Job] = {}
        self.sources: dict[str, None] = {}
        self.failed: dict[str, _Unresolvable] = {}
        self.in_progress: dict[tuple[str, tuple[str, ...]], int] = {}
        self.stack: list[tuple[str | None, Job]] = []
        self.waiting: dict[Job, str] = {}
        self.rule_depth: dict[str, int] = {}

    # -- candidates ------------------------------------------------------------------
    def _entries(self, path: str) -> list[tuple[int, int, Rule, Pattern]]:
        cut = path.find("/")
        pats = self.buckets.get(path[:cut + 1], self.general) if cut >= 0 else self.general
        plain = self.plain.get(path)
        if plain is None:
            return pats
        return sorted(plain + pats, key=lambda e: (e[0], e[1]))

    def _candidates(self, path: str) -> list[tuple[Rule, dict[str, str]]]:
        found: list[tuple[Rule, dict[str, str]]] = []
        last: Rule | None = None
        for _, _, rule, pat in self._entries(path):
            if rule is last:
                continue
            wc = pat.match(path)
            if wc is not None:
                found.append((rule, wc))
                last = rule
        return found

    def _dir_candidates(self, path: str) -> list[tuple[Rule, dict[str, str]]]:
        """Rules whose directory() output is a folder above `path`, nearest first."""
        found: list[tuple[Rule, dict[str, str]]] = []
        parent = path
        while "/" in parent and not found:
            parent = parent.rsplit("/", 1)[0]
            for _, _, rule, pat in self.dir_patterns:
                wc = pat.match(parent)
                if wc is not None and all(f[0] is not rule for f in found):
                    found.append((rule, wc))
        return found

    def _beats(self, a: Rule, b: Rule) -> bool:
        ra, rb = self.wf.rule_rank(a.name), self.wf.rule_rank(b.name)
        big = 1 << 30
        return any(x < y and y < big for x, y in zip(ra, rb))

    # -- rollback for trial builds ---------------------------------------------------
    def _mark(self) -> tuple[int, int]:
        return len(self.order), len(self.sources)

    def _rollback(self, mark: tuple[int, int]) -> None:
        n_jobs, n_sources = mark
        for job in self.order[n_jobs:]:
            for out in job.output:
                if self.producer.get(out) is job:
                    del self.producer[out]
            self.jobs_by_key.pop(_key(job), None)
            self.waiting.pop(job, None)
        del self.order[n_jobs:]
        if len(self.sources) > n_sources:
            for path in list(self.sources)[n_sources:]:
                del self.sources[path]

    # -- resolution ------------------------------------------------------------------
    def resolve(self, path: str, needed_by: Job | None) -> Job | None:
        """The job making `path`, or None for a source file; raises _Unresolvable."""
        job = self.producer.get(path)
        if job is not None:
            return job
        if path in self.sources:
            return None
        failure = self.failed.get(path)
        if failure is not None:
            raise _Unresolvable(path, needed_by, failure.matched)
        matched: list[tuple[Rule, str, _Unresolvable | None]] = []
        job = self._pick(path, needed_by, self._candidates(path), matched)
        if job is None and self.dir_patterns:
            job = self._pick(path, needed_by, self._dir_candidates(path), matched)
        if job is not None:
            return job
        if self.fs.exists(path):
            self.sources[path] = None
            return None
        failure = _Unresolvable(path, needed_by, matched)
        self.failed[path] = failure
        raise failure

    def _pick(self, path: str, needed_by: Job | None,
              candidates: list[tuple[Rule, dict[str, str]]],
              matched: list[tuple[Rule, str, _Unresolvable | None]]) -> Job | None:
        """Build the job of the one viable candidate (None if none is viable)."""
        if len(candidates) == 1:
            rule, wc = candidates[0]
            mark = self._mark()
            try:
                return self._build(rule, wc, path)
            except _Recursion as rec:
                self._rollback(mark)
                matched.append((rule, rec.text, None))
            except _Unresolvable as err:
                self._rollback(mark)
                matched.append((rule, "", err))
            return None
        viable: list[tuple[Rule, dict[str, str]]] = []
        for rule, wc in candidates:
            mark = self._mark()
            try:
                self._build(rule, wc, path)
                viable.append((rule, wc))
            except _Recursion as rec:
                matched.append((rule, rec.text, None))
            except _Unresolvable as err:
                matched.append((rule, "", err))
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
        rules = [r for r, _ in (best or viable)]
        names = ", ".join(r.name for r in rules)
        lines = "\n".join(
            f"rule {r.name}: output {_pattern_for(r, path)!r} ({r.span})" for r in rules)
        raise AmbiguousRuleError(
            f"ambiguous rules for {path!r}: {names} can all make it",
            facts=[("File", path), ("Needed by", _needer(needed_by)), ("Rules", lines)],
            hint=f"add 'ruleorder: {' > '.join(r.name for r in rules)}' to prefer one, "
                 "or make the output patterns distinct (e.g. wildcard_constraints)")

    def _build(self, rule: Rule, wc: dict[str, str], path: str | None) -> Job:
        info = self.infos[rule.name]
        outputs = [wc_fmt.format_map(wc) if wc_fmt is not None else p.text
                   for wc_fmt, p in zip(info.out_fmts, rule.output_patterns)]
        key = (rule.name, tuple(outputs) if outputs else tuple(wc.values()))
        job = self.jobs_by_key.get(key)
        if job is not None:
            return job
        if key in self.in_progress:
            self._cycle(key, path)
        depth = self.rule_depth.get(rule.name, 0)
        if depth and info.has_wildcards:
            self._check_recursion(rule, path)
        job = Job(rule, wc, _EMPTY, NamedList(outputs, rule.output_names),
                  _EMPTY, _EMPTY, None, 1, _NO_RESOURCES)
        self.in_progress[key] = len(self.stack)
        self.stack.append((path, job))
        self.rule_depth[rule.name] = depth + 1
        try:
            inputs, waiting = self._inputs(info, job)
            job.input = inputs
            deps: list[Job] = []
            resolve = self.resolve
            for inp in inputs:
                dep = resolve(inp, job)
                if dep is not None:
                    deps.append(dep)
            if waiting is not None:
                dep = self.resolve(waiting[1], job)
                if dep is not None:
                    deps.append(dep)
                self.waiting[job] = waiting[0]
        finally:
            self.stack.pop()
            del self.in_progress[key]
            self.rule_depth[rule.name] = depth
        if len(deps) > 1:
            deps = list(dict.fromkeys(deps))
        job.deps = deps
        self._finish(info, job)
        job.id = len(self.order)
        self.order.append(job)
        self.jobs_by_key[key] = job
        producer = self.producer
        for out in outputs:
            producer.setdefault(out, job)
        return job

    def _check_recursion(self, rule: Rule, path: str | None) -> None:
        if path is None:
            return
        for prev_path, prev in self.stack:
            if prev.rule is rule and prev_path is not None and len(path) > len(prev_path):
                raise _Recursion(f"rule {rule.name}: would apply to its own output again "
                                 f"({prev_path} needs {path})")

    def _cycle(self, key: tuple[str, tuple[str, ...]], path: str | None) -> None:
        start = self.in_progress[key]
        parts: list[str] = []
        for file, job in self.stack[start:]:
            if file is not None:
                parts.append(file)
            parts.append(f"rule {job.rule.name}")
        parts.append(path or "?")
        text = " -> ".join(parts)
        first = self.stack[start][1]
        raise CycleError(
            f"cycle in the job graph: {text}",
            first.rule.spans.get("input", first.rule.span),
            facts=[("Cycle", text)],
            hint="a rule's output must not be needed, directly or through other rules, "
                 "by its own inputs")

    def _inputs(self, info: _RuleInfo, job: Job) -> tuple[NamedList, tuple[str, str] | None]:
        wc = job.wildcards
        if info.static_names is not None:
            items: list[str] = []
            for kind, _, payload in info.inputs:
                if kind == "s":
                    items.append(payload(wc))
                else:
                    items.extend(f(wc) for f in payload)
            return NamedList(items, info.static_names), None
        items = []
        names: dict[str, int | tuple[int, int]] = {}
        waiting: tuple[str, str] | None = None
        wcs = Wildcards.from_dict(wc)
        for kind, name, payload in info.inputs:
            start = len(items)
            if kind == "s":
                items.append(payload(wc))
            elif kind == "l":
                items.extend(f(wc) for f in payload)
            else:
                try:
                    result = payload(wcs)
                except IncompleteCheckpoint as exc:
                    if waiting is None:
                        waiting = (exc.rule, exc.path)
                    continue
                except Exception as exc:  # noqa: BLE001 - user code
                    raise LoadError(
                        f"input function of rule {info.rule.name} failed: "
                        f"{type(exc).__name__}: {exc}",
                        info.rule.spans.get("input", info.rule.span),
                        facts=[("Job", job.name)]) from exc
                if kind == "u":
                    if isinstance(result, dict):
                        for k, v in result.items():
                            s = len(items)
                            items.extend(_flatten(v))
                            names[k] = s if isinstance(v, str) else (s, len(items))
                        continue
                    items.extend(_flatten(result))
                    continue
                flags = getattr(payload, "flags", None)
                values = _flatten(result)
                for v in values:
                    if not isinstance(v, str):
                        raise LoadError(
                            f"input function of rule {info.rule.name} returned "
                            f"{type(v).__name__}, not a path (use unpack() for a dict)",
                            info.rule.spans.get("input", info.rule.span),
                            facts=[("Job", job.name)])
                    items.append(AnnotatedPath(v, flags) if flags else v)
                if name is not None:
                    names[name] = start if isinstance(result, str) else (start, len(items))
                continue
            if name is not None:
                names[name] = start if kind == "s" else (start, len(items))
        return NamedList(items, names), waiting

    def _finish(self, info: _RuleInfo, job: Job) -> None:
        """params, log, benchmark, threads, resources once inputs are known."""
        rule = info.rule
        wc = job.wildcards
        if info.log:
            job.log = NamedList([f(wc) for f in info.log], rule.log_names)
        if info.benchmark is not None:
            job.benchmark = info.benchmark(wc)
        values: dict[str, Any] | None = None
        threads = rule.threads
        if callable(threads):
            values = _values(job)
            threads = call_with_known_args(threads, values)
        job.threads = int(threads)
        if rule.resources:
            res = {}
            for k, v in rule.resources.items():
                if callable(v):
                    values = values or _values(job)
                    v = call_with_known_args(v, values)
                res[k] = v
            job.resources = res
        if info.params:
            items = []
            for _, v in info.params:
                if isinstance(v, _Fmt):
                    try:
                        v = v(wc)
                    except (KeyError, IndexError, ValueError):
                        v = v.text
                elif callable(v):
                    values = values or _values(job)
                    values["threads"] = job.threads
                    values["resources"] = job.resources
                    v = call_with_known_args(v, values)
                items.append(v)
            job.params = NamedList(items, info.params_names)


class _Recursion(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _values(job: Job) -> dict[str, Any]:
    return {"wildcards": Wildcards.from_dict(job.wildcards), "input": job.input,
            "output": job.output, "threads": job.threads, "resources": job.resources}


def _key(job: Job) -> tuple[str, tuple[str, ...]]:
    outputs = tuple(job.output)
    return (job.rule.name, outputs if outputs else tuple(job.wildcards.values()))


# --------------------------------------------------------------------------- errors

def _needer(job: Job | None) -> str:
    if job is None:
        return "the command line (a target)"
    return f"{job.name} ({job.rule.span})"


def _pattern_for(rule: Rule, path: str) -> str:
    for text, pat in zip(rule.output, rule.output_patterns):
        if pat.match(path) is not None:
            return str(text)
    return str(rule.output[0]) if rule.output else ""


def _explain(workflow: Workflow, rule: Rule, path: str) -> str:
    """Why `rule` cannot make `path` by its output patterns alone."""
    for text, pat in zip(rule.output, rule.output_patterns):
        if pat.match(path) is not None:
            return f"rule {rule.name}: output pattern {str(text)!r} matches"
        regex: list[str] = []
        constraints: dict[str, str] = {}
        seen: set[str] = set()
        for literal, name, constraint in _split(str(text)):
            regex.append(re.escape(literal))
            if name is None:
                continue
            if name in seen:
                regex.append(f"(?P={name})")
                continue
            seen.add(name)
            regex.append(f"(?P<{name}>.+)")
            rx = (constraint or rule.wildcard_constraints.get(name)
                  or workflow.wildcard_constraints.get(name))
            if rx:
                constraints[name] = rx
        m = re.fullmatch("".join(regex), path, re.DOTALL)
        if m is None:
            continue
        for name, rx in constraints.items():
            value = m.group(name)
            if re.fullmatch(rx, value, re.DOTALL) is None:
                return (f"rule {rule.name}: wildcard {{{name}}} value {value!r} "
                        f"fails constraint {rx!r}")
    if len(rule.output) == 1:
        return f"rule {rule.name}: output pattern {str(rule.output[0])!r} does not match"
    shown = ", ".join(repr(str(o)) for o in rule.output)
    return f"rule {rule.name}: no output pattern matches ({shown})"


def _missing_error(workflow: Workflow, err: _Unresolvable) -> MissingInputError:
    # Follow single-candidate chains down to the root cause, unless another rule came
    # close (its pattern fits but a constraint fails): then this level says more.
    while len(err.matched) == 1 and err.matched[0][2] is not None:
        near = [r for r in workflow.rules.values() if r.output and r is not err.matched[0][0]
                and "fails constraint" in _explain(workflow, r, err.path)]
        if near:
            break
        err = err.matched[0][2]
    path, needed_by = err.path, err.needed_by
    why = {r.name: (text, deeper) for r, text, deeper in err.matched}
    lines: list[str] = []
    rules = [r for r in workflow.rules.values() if r.output]
    for rule in rules:
        if rule.name in why:
            text, deeper = why[rule.name]
            lines.append(text if deeper is None else
                         f"rule {rule.name}: its input {deeper.path!r} is missing")
        else:
            lines.append(_explain(workflow, rule, path))
    if len(lines) > _MAX_TRIED:
        more = len(lines) - _MAX_TRIED
        lines = lines[:_MAX_TRIED] + [f"... and {more} more rule{'s' if more > 1 else ''}"]
    span = needed_by.rule.spans.get("input", needed_by.rule.span) if needed_by else None
    return MissingInputError(
        f"no rule can make {path!r} and the file does not exist",
        span,
        facts=[("File", path), ("Needed by", _needer(needed_by)),
               ("Rules tried", "\n".join(lines) if lines else "none (no rule has outputs)")],
        hint="create the file, fix the path, or add a rule whose output pattern matches it")


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
        if default is None:
            raise UsageError("the workflow has no rules, so there is nothing to do",
                             hint="add a rule, or name a target")
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
        except _Unresolvable as err:
            raise _missing_error(workflow, err) from None
        if job is not None:
            target_jobs.append(job)
    target_jobs = list(dict.fromkeys(target_jobs))
    waiting = {job.id: rule for job, rule in builder.waiting.items()}
    return Dag(workflow, builder.order, target_jobs, target_files, waiting, builder.producer)


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
    except _Unresolvable as err:
        raise _missing_error(builder.wf, err) from None
