"""(dag, fs, store) -> the jobs that must run, each with its reasons (SPEC §2.4).

`make_plan(workflow, targets, ...)` builds the DAG (or takes one), stats every file once
through the batched `FileSystem`, and walks the jobs in topological order deciding for each
whether it runs and why. Reasons are the small dataclasses of `reasons.py`; every reason that
holds is listed, in a fixed order. The store triggers (params, input set, code, checksum)
apply only to outputs the metadata store has a record for; without a record, or with
`store=None`, timestamps decide alone. Incomplete markers always count.

A `temp()` output that is gone does not make its job run when the store has a record of it
(it was made, then removed after use) and no job that reads it runs; one never made is missing;
rewriting an existing `protected()` output raises `ProtectedOutputError` before anything runs;
mtimes in the future give a warning (in `plan.warnings`), never an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import ProtectedOutputError, UsageError
from ..core.liveness import run_alive
from ..core.model import CheckpointState, Job, Workflow
from .content import ContentJudge
from .dag import Dag, build_dag, no_gc
from .fs import FileStat, FileSystem
from .reasons import (
    ChecksumChanged,
    Forced,
    Incomplete,
    InputNewer,
    MissingOutput,
    NoOutput,
    Reason,
    UpstreamRuns,
    WaitingForCheckpoint,
    format_ns,
    format_span,
)
from .resolve_errors import hidden_sources
from .triggers import (
    changed_inputs,
    code_changed,
    input_set_changed,
    job_params,
    params_changed,
    recorded_inputs,
    same_content,
)

__all__ = ["PlannedJob", "Plan", "make_plan", "job_params", "RERUN_TRIGGERS",
           "DEFAULT_TRIGGERS"]

RERUN_TRIGGERS = ("mtime", "params", "input", "code", "checksum")
DEFAULT_TRIGGERS = ("mtime", "params", "input", "code")
_FUTURE_SLACK_NS = 1_000_000_000
_STORE_TRIGGERS = frozenset(("params", "input", "code"))


@dataclass(frozen=True, slots=True)
class PlannedJob:
    job: Job
    reasons: tuple[Reason, ...]

    def to_json(self) -> dict[str, Any]:
        job = self.job
        return {"rule": job.rule.name, "wildcards": dict(job.wildcards),
                "inputs": [str(p) for p in job.input], "outputs": [str(p) for p in job.output],
                "reasons": [r.to_json() for r in self.reasons]}


class Plan:
    """The jobs that must run, in a deterministic topological order, with their reasons."""

    def __init__(self, dag: Dag, jobs: list[PlannedJob], warnings: list[str]) -> None:
        self.dag = dag
        self.jobs = jobs
        self.warnings = warnings
        self._by_id = {p.job.id: p for p in jobs}

    def __iter__(self) -> Iterator[PlannedJob]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def __bool__(self) -> bool:
        return bool(self.jobs)

    @property
    def is_empty(self) -> bool:
        return not self.jobs

    def runs(self, job: Job) -> bool:
        return job.id in self._by_id

    def reasons_for(self, job: Job) -> tuple[Reason, ...]:
        planned = self._by_id.get(job.id)
        return planned.reasons if planned else ()

    def counts(self) -> dict[str, int]:
        """Jobs to run per rule, rules in the order of the rule file."""
        counts: dict[str, int] = {}
        for p in self.jobs:
            counts[p.job.rule.name] = counts.get(p.job.rule.name, 0) + 1
        order = {name: i for i, name in enumerate(self.dag.workflow.rules)}
        return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], 1 << 30)))

    def to_json(self) -> dict[str, Any]:
        with no_gc():
            return {"jobs": [p.to_json() for p in self.jobs], "counts": self.counts()}

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per job: rule, wildcards, inputs, outputs, reasons."""
        import pandas as pd

        rows = [{"rule": p.job.rule.name, "wildcards": dict(p.job.wildcards),
                 "inputs": [str(x) for x in p.job.input],
                 "outputs": [str(x) for x in p.job.output],
                 "reasons": [r.describe() for r in p.reasons],
                 "reason_kinds": [r.kind for r in p.reasons]} for p in self.jobs]
        return pd.DataFrame(rows, columns=["rule", "wildcards", "inputs", "outputs", "reasons",
                                           "reason_kinds"])

    def to_networkx(self, *, rules: bool = False) -> Any:
        """The whole job graph (or the rule graph) as a networkx DiGraph, each node marked
        with `runs` and, for jobs, the `reasons` it runs for; see planning/graphs.py."""
        from .graphs import job_graph, rule_graph

        return rule_graph(self.dag, self) if rules else job_graph(self.dag, self)

    def __repr__(self) -> str:
        return f"<Plan {len(self.jobs)} of {len(self.dag.jobs)} jobs>"


def _check_rules(workflow: Workflow, names: Iterable[str], option: str) -> None:
    for name in names:
        if name not in workflow.rules:
            raise UsageError(f"{option} names an unknown rule {name!r}",
                             facts=[("Rules", ", ".join(workflow.rules) or "none")],
                             hint="use one of the rule names above (rulekit list shows them)")


def make_plan(workflow: Workflow, targets: Sequence[str] | str = (), *,
              fs: FileSystem | None = None, store: Any = None, forceall: bool = False,
              forcerun: Iterable[str] = (), force: bool = False,
              until: str | Sequence[str] | None = None,
              rerun_triggers: Iterable[str] = DEFAULT_TRIGGERS,
              dag: Dag | None = None, checkpoints: CheckpointState | None = None,
              omit_from: Sequence[str] = (), strict: bool = True) -> Plan:
    """Decide which jobs run for `targets`, and why. See the module docstring.

    An existing file that a rule would make but cannot (an input is missing) is used as a
    source with a warning; when it is a target, or its rule is in `forcerun`, that is an
    error (MissingInputError) unless `strict` is false.

    `checkpoints`: what a run knows about its checkpoint jobs (pending, done); a plan on
    its own starts from nothing. Outputs of checkpoint jobs this plan runs are never handed
    out by `checkpoints.NAME.get()`; their consumers wait. `until`: only jobs of these rules
    and what they need; `omit_from`: no job of these rules nor anything downstream of them.
    """
    fs = fs if fs is not None else FileSystem(workflow.workdir)
    forcerun = set(forcerun)
    _check_rules(workflow, forcerun, "--forcerun")
    until = [os.path.normpath(u) if u not in workflow.rules else u
             for u in ([until] if isinstance(until, str) else list(until or ()))]
    omit_from = [os.path.normpath(u) if u not in workflow.rules else u for u in omit_from]
    triggers = set(rerun_triggers)
    unknown = triggers - set(RERUN_TRIGGERS)
    if unknown:
        raise UsageError(f"unknown rerun trigger {sorted(unknown)[0]!r}",
                         hint=f"choose from {', '.join(RERUN_TRIGGERS)}")
    incomplete = set(store.incomplete_paths()) if store is not None else set()
    # by content against rulekit.manifest, for outputs without a record (None: no manifest)
    content = ContentJudge.open(workflow, fs.root, fs.stat, store, triggers)
    writers = _live_writers(store) if incomplete else {}
    with no_gc():
        if dag is not None:
            plan = _Planner(dag, fs, store, forceall, forcerun, force, until, triggers,
                            incomplete, omit_from, content, writers).plan()
        else:
            def plan_dag(dag: Dag) -> Plan:
                return _Planner(dag, fs, store, forceall, forcerun, force, until, triggers,
                                incomplete, omit_from, content, writers).plan()

            plan = _plan_with_checkpoints(workflow, targets, fs, checkpoints, incomplete,
                                          plan_dag)
    if content is not None:
        plan.warnings.extend(content.warnings())
        content.finish()
    if plan.dag.hidden:
        plan.warnings.extend(hidden_sources(plan.dag, forcerun, force, strict))
    return plan


def _live_writers(store: Any) -> dict[str, int]:
    """Incomplete outputs a live rulekit run (another process) is writing -> its pid."""
    owners = getattr(store, "marker_owners", None)
    if owners is None:
        return {}
    me = os.getpid()
    return {path: pid for path, (pid, host, start) in owners().items()
            if pid != me and run_alive(pid, host, start)}


def _plan_with_checkpoints(workflow: Workflow, targets: Sequence[str] | str, fs: FileSystem,
                           checkpoints: CheckpointState | None, incomplete: set[str],
                           plan_dag: Callable[[Dag], Plan]) -> Plan:
    """Build the DAG and plan it; again while a checkpoint job that runs had its old
    outputs handed out to an input function."""
    if checkpoints is None:
        checkpoints = workflow.checkpoint_state = CheckpointState()
    else:
        workflow.checkpoint_state = checkpoints
    checkpoints.incomplete = incomplete
    while True:
        checkpoints.handed.clear()
        plan = plan_dag(build_dag(workflow, targets, fs))
        if not checkpoints.handed:
            return plan
        # A checkpoint job that runs now must not have its (old) outputs handed out:
        # mark them pending and plan again (at most once per checkpoint job).
        runs = {str(o) for p in plan for o in p.job.output if p.job.rule.checkpoint}
        runs -= checkpoints.done
        again = bool(runs & (checkpoints.handed - checkpoints.pending))
        checkpoints.pending |= runs
        if not again:
            return plan


class _Planner:
    def __init__(self, dag: Dag, fs: FileSystem, store: Any, forceall: bool,
                 forcerun: set[str], force: bool, until: list[str],
                 triggers: set[str], incomplete: set[str],
                 omit_from: Sequence[str] = (), content: ContentJudge | None = None,
                 writers: dict[str, int] | None = None) -> None:
        self.dag = dag
        self.fs = fs
        self.store = store
        self.forceall = forceall
        self.forcerun = forcerun
        self.force = force
        self.until = until
        self.omit_from = list(omit_from)
        self.triggers = triggers
        self.incomplete = incomplete
        self.content = content
        self.writers = writers or {}
        self.warnings: list[str] = []
        self.flags: dict[str, tuple[list[int], list[int]]] = {}   # rule -> (temp, protected)
        for rule in dag.workflow.rules.values():
            outs = rule.output
            self.flags[rule.name] = (
                [i for i, o in enumerate(outs) if "temp" in getattr(o, "flags", ())],
                [i for i, o in enumerate(outs) if "protected" in getattr(o, "flags", ())])

    def _rule_flags(self, job: Job) -> tuple[list[int], list[int]]:
        return self.flags[job.rule.name]

    def plan(self) -> Plan:
        dag = self.dag
        jobs = dag.jobs
        keep = dag.upstream_of(self.until) if self.until else None
        for option, items in (("--until", self.until), ("--omit-from", self.omit_from)):
            for item in dag.unmatched(items):
                self.warnings.append(f"{option} {item}: no rule of that name and no job "
                                     "makes that file; it selects nothing")
        if self.omit_from:
            omitted = dag.downstream_of(self.omit_from)
            keep = [(k if keep is not None else True) and not o
                    for k, o in zip(keep or omitted, omitted)]
        self.records: dict[str, Any] = {}
        if self.store is not None and self.triggers & set(RERUN_TRIGGERS):
            stats = self.fs.stat_many([o for job in jobs for o in job.output])
            existing = [o for o, st in stats.items() if st is not None]
            if existing:
                read = getattr(self.store, "plan_records", self.store.get_many)
                self.records = read(existing)
        consumers = dag.consumers() if any(t for t, _ in self.flags.values()) else None
        self.made_temps = self._made_temps(jobs) if consumers is not None else {}
        temp_needed: set[tuple[int, int]] = set()
        while True:
            reasons = self._pass(jobs, keep, consumers, temp_needed)
            if consumers is None:
                break
            more = self._temp_needed(jobs, reasons, temp_needed)
            if not more:
                break
            temp_needed |= more
        planned = [PlannedJob(job, tuple(r)) for job, r in zip(jobs, reasons) if r]
        self._future_check()
        if "params" in self.triggers:
            self.warnings.extend(_unstable_params_warnings(jobs))
        if any(p for _, p in self.flags.values()):
            self._check_protected(planned)
        return Plan(dag, planned, self.warnings)

    def _pass(self, jobs: list[Job], keep: list[bool] | None,
              consumers: list[list[Job]] | None,
              temp_needed: set[tuple[int, int]]) -> list[list[Reason] | None]:
        stat = self.fs.stat
        output_stat = self.fs.output_stat   # a symlink output by the link's own mtime
        targets = {j.id for j in self.dag.targets}
        waiting = self.dag.waiting
        check_mtime = "mtime" in self.triggers
        records = self.records
        incomplete = self.incomplete
        forceall, forcerun, force = self.forceall, self.forcerun, self.force
        checksums = "checksum" in self.triggers
        made_temps = self.made_temps
        content = self.content
        reasons: list[list[Reason] | None] = [None] * len(jobs)
        # removed temp outputs that need not be remade -> (mtime, path) of the newest file
        # behind them, so a consumer still sees an input newer than its output
        behind: dict[str, tuple[int, str]] = {}
        for job in jobs:
            jid = job.id
            if keep is not None and not keep[jid]:
                continue
            r: list[Reason] = []
            if forceall:
                r.append(Forced("forceall"))
            elif forcerun and job.rule.name in forcerun:
                r.append(Forced("forcerun"))
            elif force and jid in targets:
                r.append(Forced("force"))
            outputs = job.output
            oldest: FileStat | None = None
            oldest_path = ""
            any_missing = False
            skipped: list[str] = []
            temp_idx = self._rule_flags(job)[0] if consumers is not None else ()
            for i, out in enumerate(outputs):
                st = output_stat(out)
                if st is None:
                    any_missing = True
                    if i in temp_idx and consumers is not None and consumers[jid] \
                            and out in made_temps:
                        skipped.append(out)
                        if jid not in targets and (jid, i) not in temp_needed:
                            continue
                    r.append(MissingOutput(out))
                elif oldest is None or st.mtime_ns < oldest.mtime_ns:
                    oldest, oldest_path = st, out
            if not any_missing and job.benchmark is not None and stat(job.benchmark) is None:
                # the benchmark file counts as an output, as in Snakemake
                r.append(MissingOutput(job.benchmark))
            if incomplete:
                for out in outputs:
                    if out in incomplete:
                        r.append(Incomplete(out, self.writers.get(out)))
            record = None
            if records and not any_missing:
                for out in outputs:
                    record = records.get(out)
                    if record is not None:
                        break
            use_checksum = checksums and record is not None
            judged = None
            if content is not None and record is None and oldest is not None:
                judged = content.reasons(job, r, reasons, jid in waiting)
            if judged is not None:   # no record, listed in rulekit.manifest: by content
                r.extend(judged)
            elif oldest is not None and (check_mtime or use_checksum):
                newest_path, newest = "", None
                for inp in job.input:
                    if type(inp) is not str and "ancient" in getattr(inp, "flags", ()):
                        continue
                    st = stat(inp)
                    if st is None:
                        if inp in behind and behind[inp][0] > oldest.mtime_ns and (
                                newest is None or behind[inp][0] > newest.mtime_ns):
                            newest = FileStat(behind[inp][0], 0, False)
                            newest_path = behind[inp][1]
                        continue
                    if st.mtime_ns > oldest.mtime_ns and (
                            newest is None or st.mtime_ns > newest.mtime_ns):
                        newest, newest_path = st, inp
                if newest is not None and record is not None and not use_checksum:
                    # a touched input whose bytes are what the record says is no change
                    found = self._newest_changed(job, record, oldest.mtime_ns, behind)
                    newest_path, newest = found if found is not None else ("", None)
                if newest is not None:
                    if use_checksum:
                        r.extend(self._checksum_reasons(job, record, oldest.mtime_ns))
                    elif check_mtime:
                        r.append(InputNewer(str(newest_path), oldest_path, newest.mtime_ns,
                                            oldest.mtime_ns))
            if skipped:
                self._behind_temp(job, skipped, behind)
                if record is None and self.triggers & _STORE_TRIGGERS:
                    # the record of a removed temp still knows the params and code it was
                    # made with: a change there remakes it (and so its readers)
                    temp_record = made_temps[skipped[0]]
                    recorded = (recorded_inputs(temp_record) if "input" in self.triggers
                                else [])
                    self._store_reasons(job, temp_record, recorded, r, jid in waiting)
            if record is not None:
                recorded = recorded_inputs(record)
                if check_mtime and oldest is not None:
                    r.extend(changed_inputs(job, recorded, stat, oldest.mtime_ns, oldest_path,
                                            self.fs.root))
                self._store_reasons(job, record, recorded, r, jid in waiting)
            running = None
            count = 0
            for dep in job.deps:
                if reasons[dep.id]:
                    count += 1
                    if running is None:
                        running = dep
            if running is not None:
                r.append(UpstreamRuns(running.name, count))
            if jid in waiting:
                r.append(WaitingForCheckpoint(waiting[jid]))
            if not outputs and not r and (not job.input or job.rule.body is not None):
                r.append(NoOutput(bool(job.input)))
            if r:
                reasons[jid] = r
        return reasons

    def _made_temps(self, jobs: list[Job]) -> dict[str, Any]:
        """The missing temp() outputs the store has a record for (path -> record): made by
        a job that finished, then removed. Only these may stay missing; one never made is
        missing."""
        if self.store is None:
            return {}
        stat = self.fs.stat
        gone = [job.output[i] for job in jobs for i in self._rule_flags(job)[0]
                if stat(job.output[i]) is None]
        if not gone:
            return {}
        read = getattr(self.store, "plan_records", self.store.get_many)
        return dict(read(gone))

    def _behind_temp(self, job: Job, skipped: list[str],
                     behind: dict[str, tuple[int, str]]) -> None:
        """Record the newest (non-ancient) input of `job` behind its removed temp outputs."""
        newest: tuple[int, str] | None = None
        for inp in job.input:
            if type(inp) is not str and "ancient" in getattr(inp, "flags", ()):
                continue
            st = self.fs.stat(inp)
            found = (st.mtime_ns, str(inp)) if st is not None else behind.get(inp)
            if found is not None and (newest is None or found[0] > newest[0]):
                newest = found
        if newest is not None:
            for out in skipped:
                behind[out] = newest

    def _temp_needed(self, jobs: list[Job], reasons: list[list[Reason] | None],
                     done: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """Missing temp outputs that a running job reads: their producers must run."""
        stat = self.fs.stat
        more: set[tuple[int, int]] = set()
        for job in jobs:
            if not reasons[job.id]:
                continue
            wanted: set[str] | None = None
            for dep in job.deps:
                for i in self._rule_flags(dep)[0]:
                    out = dep.output[i]
                    if (dep.id, i) in done or stat(out) is not None:
                        continue
                    if wanted is None:
                        wanted = {str(p) for p in job.input}
                    if out in wanted:
                        more.add((dep.id, i))
        return more

    def _store_reasons(self, job: Job, record: Any, recorded: list[Any],
                       r: list[Reason], waiting: bool = False) -> None:
        """params, input-set and code triggers; a job waiting for a checkpoint does not
        know all its inputs yet, so its input set is not compared."""
        triggers = self.triggers
        if "params" in triggers:
            r.extend(params_changed(job, record))
        if "input" in triggers and not waiting:
            r.extend(input_set_changed(job, recorded))
        if "code" in triggers:
            r.extend(code_changed(job, record))

    def _newest_changed(self, job: Job, record: Any, t_out: int,
                        behind: dict[str, tuple[int, str]]) -> tuple[str, FileStat] | None:
        """The newest input newer than `t_out` whose content is not the recorded one."""
        rows = {row[0]: row for row in recorded_inputs(record)}
        best: tuple[str, FileStat] | None = None
        for inp in job.input:
            if type(inp) is not str and "ancient" in getattr(inp, "flags", ()):
                continue
            st = self.fs.stat(inp)
            if st is None:
                if inp in behind and behind[inp][0] > t_out:
                    st = FileStat(behind[inp][0], 0, False)
                    inp = behind[inp][1]
                else:
                    continue
            elif st.mtime_ns <= t_out:
                continue
            else:
                row = rows.get(str(inp))
                if row is not None and same_content(self.fs.root, inp, st, row):
                    continue
            if best is None or st.mtime_ns > best[1].mtime_ns:
                best = (str(inp), st)
        return best

    def _checksum_reasons(self, job: Job, record: Any, t_out: int) -> list[Reason]:
        """Inputs newer than the output whose content differs from what was recorded."""
        from ..core.hashing import file_checksum

        stat = self.fs.stat
        recorded = {i[0]: i for i in record.inputs}
        found: list[Reason] = []
        for inp in job.input:
            if type(inp) is not str and "ancient" in getattr(inp, "flags", ()):
                continue
            st = stat(inp)
            if st is None or st.mtime_ns <= t_out:
                continue
            rec = recorded.get(str(inp))
            if rec is not None and rec[1] == st.mtime_ns and rec[2] == st.size:
                continue
            if rec is not None and len(rec) > 3 and rec[3] and rec[2] == st.size:
                import os

                if file_checksum(os.path.join(self.fs.root, inp)) == rec[3]:
                    continue
            found.append(ChecksumChanged(str(inp)))
        return found

    def _future_check(self) -> None:
        now = self.fs.now_ns()
        limit = now + _FUTURE_SLACK_NS
        self.fs.stat_many(self.dag.sources)  # source files are only listed, not yet stat'ed
        future = [(path, st.mtime_ns) for path, st in self.fs.known().items()
                  if st is not None and st.mtime_ns > limit]
        future.sort()
        for path, t in future[:5]:
            self.warnings.append(f"{path} has a modification time {format_span(t - now)} in "
                                 f"the future ({format_ns(t)}); check the clock")
        if len(future) > 5:
            self.warnings.append(f"... and {len(future) - 5} more files with future times")

    def _check_protected(self, planned: list[PlannedJob]) -> None:
        stat = self.fs.stat
        for p in planned:
            prot = self._rule_flags(p.job)[1]
            hit = [p.job.output[i] for i in prot if stat(p.job.output[i]) is not None]
            if hit:
                raise ProtectedOutputError(
                    f"job {p.job.name} would overwrite protected output {hit[0]!r}",
                    p.job.rule.spans.get("output", p.job.rule.span),
                    facts=[("Files", "\n".join(hit)), ("Job", p.job.name),
                           ("Reasons", "\n".join(r.describe() for r in p.reasons))],
                    hint="protected() outputs are never rewritten; delete the file yourself "
                         "if it really must be made again")


def _unstable_params_warnings(jobs: list[Job]) -> list[str]:
    """Once per rule and param: a value whose stored text changes from run to run."""
    from ..core.paramtext import unstable_params

    seen: set[tuple[str, str]] = set()
    out = []
    for job in jobs:
        if not job.params or all(type(v) in _PLAIN_TYPES for v in job.params):
            continue
        for name, text in unstable_params(job_params(job)):
            if (job.rule.name, name) not in seen:
                seen.add((job.rule.name, name))
                out.append(f"rule {job.rule.name}: params {name} has no stable text ({text}), "
                           "so the params trigger reruns its jobs on every run; use plain "
                           "values (str, numbers, lists, dicts, sets) or give the class a __repr__")
    return out


_PLAIN_TYPES = frozenset((str, int, float, bool, type(None)))
