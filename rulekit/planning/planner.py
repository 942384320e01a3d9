"""The rebuilder: for each job of a DAG, in topological order, the reasons it must run.

`Planner(dag, fs, store, ...).plan()` is the loop `make_plan` (plan.py) runs once per DAG:
outputs missing or incomplete, forced, inputs newer or changed (mtime, checksum), the store
triggers (params, input set, code) against the output's record, upstream jobs that run,
checkpoints, and the temp()/protected() rules described in plan.py. Reasons are the
dataclasses of reasons.py; the per-trigger comparisons are triggers.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..core.errors import ProtectedOutputError
from ..core.model import Job
from .content import ContentJudge
from .dag import Dag
from .fs import FileStat, FileSystem
from .planned import Plan, PlannedJob, planned_job
from .reasons import (
    ChecksumChanged,
    Forced,
    Incomplete,
    InputNewer,
    NoOutput,
    Reason,
    WaitingForCheckpoint,
    format_ns,
    format_span,
    missing_output,
    upstream_runs,
)
from .storeview import RecordView
from .triggers import (
    RERUN_TRIGGERS,
    RecordTriggers,
    code_changed,
    input_set_changed,
    job_params,
    params_changed,
    recorded_inputs,
    same_content,
)

__all__ = ["Planner"]

_FUTURE_SLACK_NS = 1_000_000_000
_STORE_TRIGGERS = frozenset(("params", "input", "code"))


class Planner:
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
        self.records: Mapping[str, RecordView] = {}
        if self.store is not None and self.triggers & set(RERUN_TRIGGERS):
            stat = self.fs.stat   # (cached for the pass below; no dict of every output)
            existing = [o for job in jobs for o in job.output if stat(o) is not None]
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
        planned = [planned_job(job, r) for job, r in zip(jobs, reasons) if r]
        self._future_check()
        if "params" in self.triggers:
            self.warnings.extend(_unstable_params_warnings(jobs))
        if any(p for _, p in self.flags.values()):
            self._check_protected(planned)
        return Plan(dag, planned, self.warnings)

    def _pass(self, jobs: list[Job], keep: list[bool] | None,
              consumers: list[list[Job]] | None,
              temp_needed: set[tuple[int, int]]) -> list[tuple[Reason, ...] | None]:
        stat = self.fs.stat
        output_stat = self.fs.output_stat   # a symlink output by the link's own mtime
        targets = {j.id for j in self.dag.targets}
        waiting = self.dag.waiting
        check_mtime = "mtime" in self.triggers
        records = self.records
        incomplete = self.incomplete
        forcing = self.forceall or self.forcerun or self.force
        checksums = "checksum" in self.triggers
        made_temps = self.made_temps
        content = self.content
        check_record = RecordTriggers(self.triggers, stat, self.fs.root).check
        # per job id: its reasons, kept as the tuple its PlannedJob holds
        reasons: list[tuple[Reason, ...] | None] = [None] * len(jobs)
        # removed temp outputs that need not be remade -> (mtime, path) of the newest file
        # behind them, so a consumer still sees an input newer than its output
        behind: dict[str, tuple[int, str]] = {}
        for job in jobs:
            jid = job.id
            if keep is not None and not keep[jid]:
                continue
            r: list[Reason] = []
            if forcing:
                self._forced(job, targets, r)
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
                    r.append(missing_output(out))
                elif oldest is None or st.mtime_ns < oldest.mtime_ns:
                    oldest, oldest_path = st, out
            if not any_missing and job.benchmark is not None and stat(job.benchmark) is None:
                # the benchmark file counts as an output, as in Snakemake
                r.append(missing_output(job.benchmark))
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
                self._input_newer(job, record, oldest, oldest_path, use_checksum, behind, r)
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
                check_record(job, record, oldest, oldest_path, jid in waiting, r)
            if job.deps:
                _upstream(job, reasons, r)
            if jid in waiting:
                r.append(WaitingForCheckpoint(waiting[jid]))
            if not outputs and not r and (not job.input or job.rule.body is not None):
                r.append(NoOutput(bool(job.input)))
            if r:
                reasons[jid] = tuple(r)
        return reasons

    # One small check per trigger that is not in triggers.py; each appends to `r`, the
    # reasons of the job so far (called only when the trigger can apply: the loop is hot).

    def _forced(self, job: Job, targets: set[int], r: list[Reason]) -> None:
        """--forceall, --forcerun RULE, --force (for a target job)."""
        if self.forceall:
            r.append(Forced("forceall"))
        elif self.forcerun and job.rule.name in self.forcerun:
            r.append(Forced("forcerun"))
        elif self.force and job.id in targets:
            r.append(Forced("force"))

    def _input_newer(self, job: Job, record: Any, oldest: FileStat, oldest_path: str,
                     use_checksum: bool, behind: dict[str, tuple[int, str]],
                     r: list[Reason]) -> None:
        """The mtime trigger (an input newer than the oldest output, unless the record says
        its bytes did not change) or, with a record, the checksum trigger."""
        stat = self.fs.stat
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
            elif "mtime" in self.triggers:
                r.append(InputNewer(str(newest_path), oldest_path, newest.mtime_ns,
                                    oldest.mtime_ns))

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
        """Record the newest (non-ancient) input of `job` behind its removed temp outputs.
        An input touched since, whose bytes are those the temp's record lists, counts with
        its recorded mtime: it changed nothing downstream."""
        newest: tuple[int, str] | None = None
        record: Any = self.made_temps.get(skipped[0])
        rows = ({row[0]: row for row in record.input_rows()}
                if hasattr(record, "input_rows") else {})   # (stores that keep no inputs)
        for inp in job.input:
            if type(inp) is not str and "ancient" in getattr(inp, "flags", ()):
                continue
            st = self.fs.stat(inp)
            if st is None:
                found = behind.get(inp)
            else:
                row = rows.get(str(inp))
                unchanged = (row is not None and st.mtime_ns != row[1]
                             and same_content(self.fs.root, inp, st, row))
                found = (row[1] if unchanged and row is not None else st.mtime_ns, str(inp))
            if found is not None and (newest is None or found[0] > newest[0]):
                newest = found
        if newest is not None:
            for out in skipped:
                behind[out] = newest

    def _temp_needed(self, jobs: list[Job], reasons: list[tuple[Reason, ...] | None],
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

    def _store_reasons(self, job: Job, record: Any, recorded: Sequence[Any],
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
            if rec is not None and ((rec[1] == st.mtime_ns and rec[2] == st.size)
                                    or same_content(self.fs.root, inp, st, rec)):
                continue
            found.append(ChecksumChanged(str(inp)))
        return found

    def _future_check(self) -> None:
        now = self.fs.now_ns()
        limit = now + _FUTURE_SLACK_NS
        self.fs.cache_stats(self.dag.sources)  # sources are only listed, not yet stat'ed
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


def _upstream(job: Job, reasons: list[tuple[Reason, ...] | None], r: list[Reason]) -> None:
    """A job that makes one of `job`'s inputs runs (the first such, and how many)."""
    running = None
    count = 0
    for dep in job.deps:
        if reasons[dep.id]:
            count += 1
            if running is None:
                running = dep
    if running is not None:
        r.append(upstream_runs(running.name, count))
