"""The run recorder: the RunObserver that keeps `.rulekit/metadata.db` in step with a run.

Incomplete markers before jobs start, one record per output after (SPEC §2.4). Paths are
workdir-relative strings exactly as the planner uses them (the store's keys).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..core.hashing import file_checksum
from ..core.model import Job, ShellText, Workflow
from ..core.paramtext import canonical_params
from ..planning.plan import job_params
from ..planning.reasons import UpstreamRuns
from ..planning.triggers import CHECKSUM_MAX_SIZE
from .records import host as this_host
from .runlog import JobRunRow
from .store import InputRecord, MetadataStore, OutputRecord

__all__ = ["StateRecorder"]

_UNSEEN: Any = object()   # not in the cache yet
_SCALARS = frozenset((str, int, float, bool, type(None), ShellText))


class StateRecorder:
    """A RunObserver writing the metadata store: one transaction per scheduler step.

    jobs_started: mark every output incomplete (committed before the jobs start, so a crash,
    SIGKILL included, leaves them suspect). jobs_finished: for "done" jobs write a record
    per output and clear the markers in the same transaction; for failed or cancelled jobs
    clear the markers of outputs that are gone (the executor removed them) and keep those of
    outputs that remain (--keep-incomplete, or a removal that failed): they stay suspect.
    Both also keep the run log (runlog.py): when each job ran and how it ended.
    """

    def __init__(self, store: MetadataStore, workflow: Workflow, run_id: str, *,
                 checksums: bool = False, keep_incomplete: bool = False) -> None:
        self.store = store
        self.workflow = workflow
        self.run_id = run_id
        self.checksums = checksums
        self.keep_incomplete = keep_incomplete
        self.root = workflow.workdir
        # path -> (mtime_ns, size, checksum): an input shared by many jobs is hashed once.
        self._hashes: dict[str, tuple[int, int, str]] = {}
        self._params_cache: dict[tuple[Any, ...], str] = {}
        self._started: dict[Job, float] = {}   # job -> when it was handed to a runner

    def _full(self, path: str) -> str:
        return path if path.startswith("/") else os.path.join(self.root, path)

    def jobs_started(self, jobs: Sequence[Job]) -> None:
        now = time.time()
        started = []
        for job in jobs:
            self._started[job] = now
            started.append(JobRunRow(self.run_id, job.name, job.rule.name, "running", now, now))
        self.store.mark_incomplete([str(p) for job in jobs for p in job.output], self.run_id,
                                   started)

    def unrecorded(self, result: Any) -> list[JobRunRow]:
        """Rows for the jobs of a finished run (a RunResult, or None) that no step recorded:
        those that never started, and those with nothing to run (a rule without a body,
        done when its inputs are)."""
        if result is None:
            return []
        return [JobRunRow(self.run_id, r.job.name, r.job.rule.name, r.status, r.end, r.end)
                for r in result.results if r.status == "not started"
                or (r.status == "done" and r.job.rule.body is None)]

    def jobs_running(self, procs: Sequence[tuple[Job, int, int, int | None]]) -> None:
        """The process (pid, group, start time) now running each job, beside its markers."""
        self.store.set_processes([(str(p), pid, pgid, started)
                                  for job, pid, pgid, started in procs for p in job.output])

    def _checksum(self, path: str, mtime_ns: int, size: int) -> str | None:
        known = self._hashes.get(path)
        if known is not None and known[0] == mtime_ns and known[1] == size:
            return known[2]
        try:
            digest = file_checksum(self._full(path))
        except OSError:  # a directory() input, or gone meanwhile
            return None
        self._hashes[path] = (mtime_ns, size, digest)
        return digest

    def _inputs(self, job: Job, cache: dict[str, InputRecord | None]) -> list[InputRecord]:
        records: list[InputRecord] = []
        for p in job.input:
            rec = cache.get(p, _UNSEEN)
            if rec is _UNSEEN:
                path = str(p)
                try:
                    st = os.stat(self._full(path))
                except OSError:
                    rec = None
                else:
                    checksum = None
                    # every small input gets a checksum (a touched input with the same
                    # bytes is then no change); with --rerun-triggers checksum, all do
                    if not _isdir(st) and (self.checksums or st.st_size <= CHECKSUM_MAX_SIZE):
                        checksum = self._checksum(path, st.st_mtime_ns, st.st_size)
                    rec = InputRecord(path, st.st_mtime_ns, st.st_size, checksum)
                cache[p] = rec
            if rec is not None:
                records.append(rec)
        return records

    def _params(self, job: Job) -> str:
        # Most jobs of a rule share their params: encode each distinct set once. Only plain
        # scalars are cached, with their types in the key (1, 1.0 and True are equal but are
        # stored differently, and so are (1,) and (1.0,): containers are not cached).
        values = job.params
        types = tuple(map(type, values))
        if not _SCALARS.issuperset(types):
            return canonical_params(job_params(job))
        key = (job.rule.name, tuple(values), types)
        cached = self._params_cache.get(key)
        if cached is not None:
            return cached
        text = canonical_params(job_params(job))
        if len(self._params_cache) > 10_000:
            self._params_cache.clear()
        self._params_cache[key] = text
        return text

    def records_for(self, job: Job, start: float, end: float,
                    cache: dict[str, InputRecord | None] | None = None,
                    host: str | None = None) -> list[OutputRecord]:
        """The records a finished job leaves, one per output; `host`: where it ran, when
        not on this host."""
        inputs = self._inputs(job, {} if cache is None else cache)
        params = self._params(job)
        rule, code = job.rule.name, job.rule.code_hash
        wildcards = dict(job.wildcards)
        logs = [str(p) for p in job.log]
        where = host or this_host()
        return [OutputRecord(str(path), rule, wildcards, params, code, inputs, start, end,
                             host=where, logs=logs, run_id=self.run_id) for path in job.output]

    def jobs_finished(self, results: Sequence[Any]) -> None:
        self.jobs_step(results, (), ())

    def jobs_step(self, results: Sequence[Any], starting: Sequence[Job],
                  running: Sequence[tuple[Job, int, int, int | None]]) -> None:
        """jobs_finished(results), jobs_running(running) and jobs_started(starting) in one
        transaction."""
        records: list[OutputRecord] = []
        clear: list[str] = []
        cache: dict[str, InputRecord | None] = {}
        ended: list[JobRunRow] = []
        for res in results:
            status = res.status
            job = res.job
            started = self._started.pop(job, None)
            if started is not None:  # started through jobs_started (--touch jobs never are)
                ended.append(JobRunRow(self.run_id, job.name, job.rule.name, status,
                                       res.start or started, res.end or time.time(),
                                       res.attempts, res.error))
            if status == "done":
                records.extend(self.records_for(job, res.start, res.end, cache,
                                                getattr(res, "host", None)))
                clear.extend(str(p) for p in job.output)
            elif status in ("failed", "cancelled"):
                clear.extend(str(p) for p in job.output
                             if not os.path.lexists(self._full(str(p))))
        now = time.time()
        begun = []
        for job in starting:
            self._started[job] = now
            begun.append(JobRunRow(self.run_id, job.name, job.rule.name, "running", now, now))
        mark = [str(p) for job in starting for p in job.output]
        procs = [(str(p), pid, pgid, started) for job, pid, pgid, started in running
                 for p in job.output]
        self.store.finish_step(records, clear, ended, mark=mark, run_id=self.run_id,
                               procs=procs, started=begun)   # one transaction

    def early_cutoff(self, job: Job, reasons: Iterable[Any]) -> bool:
        """With checksums on: may `job`, now ready, be skipped? Yes when it was planned only
        because upstream jobs run and each input's content equals what its record holds
        (same mtime and size: unchanged without reading; else compare content hashes).
        On yes the record takes the inputs' new times, so later plans take the fast path."""
        if not self.checksums or not job.output:
            return False
        if not all(isinstance(r, UpstreamRuns) for r in reasons):
            return False
        outputs = [str(p) for p in job.output]
        records = self.store.get_many(outputs)
        if len(records) != len(outputs) or any(
                not os.path.lexists(self._full(p)) for p in outputs):
            return False
        record = records[outputs[0]]
        if record.params != self._params(job) or \
                record.code_hash != job.rule.code_hash:
            return False
        recorded = {i[0]: i for i in record.inputs}
        if set(recorded) != {str(p) for p in job.input}:
            return False
        for path, rec in recorded.items():
            try:
                st = os.stat(self._full(path))
            except OSError:
                return False
            if rec[1] == st.st_mtime_ns and rec[2] == st.st_size:
                continue
            if len(rec) < 4 or not rec[3] or rec[2] != st.st_size:
                return False
            if self._checksum(path, st.st_mtime_ns, st.st_size) != rec[3]:
                return False
        fresh = self.records_for(job, record.start, record.end)
        for new, old in zip(fresh, (records[p] for p in outputs)):
            new.run_id, new.host, new.user = old.run_id, old.host, old.user
            new.rulekit_version, new.python_version = old.rulekit_version, old.python_version
        self.store.put_many(fresh)
        return True


def _isdir(st: os.stat_result) -> bool:
    return (st.st_mode & 0o170000) == 0o040000
