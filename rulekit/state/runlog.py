"""The store's history of runs: one row per `rulekit run`, and per job of the last few runs
when it ran and how it ended (what `rulekit report` draws).

`RunLog` is a mixin of `MetadataStore` (store.py): it writes through the store's `_write`
and reads through `_run`, so it falls back, retries and warns exactly as the rest.

A job's row is written when it starts (status "running", in the transaction that marks its
outputs incomplete) and replaced when it ends (in the transaction that writes its records):
a run killed with SIGKILL leaves "running" rows behind, which is what happened. Rows of all
but the last `KEEP_RUNS` runs are dropped when a run starts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

from .records import RunRecord, host

__all__ = ["RunLog", "JobRunRow", "JOBRUNS_SCHEMA", "KEEP_RUNS", "ERROR_CHARS"]

T = TypeVar("T")

KEEP_RUNS = 5
ERROR_CHARS = 2000  # the end of a failed job's error text

JOBRUNS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobruns (run_id TEXT NOT NULL, job TEXT NOT NULL, "
    "rule TEXT NOT NULL, status TEXT NOT NULL, start REAL, end_ REAL, "
    "attempts INTEGER, error TEXT, PRIMARY KEY (run_id, job)) WITHOUT ROWID")
_PUT = ("INSERT OR REPLACE INTO jobruns (run_id, job, rule, status, start, end_, attempts, "
        "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_PRUNE = ("DELETE FROM jobruns WHERE run_id NOT IN "
          f"(SELECT run_id FROM runs ORDER BY start DESC LIMIT {KEEP_RUNS})")


class JobRunRow(NamedTuple):
    """One job of one run, as stored."""

    run_id: str
    job: str        # the job's name: rule[wildcards]
    rule: str
    status: str     # running | done | failed | cancelled | not started
    start: float
    end: float
    attempts: int = 0
    error: str | None = None

    def encoded(self) -> tuple[Any, ...]:
        error = self.error[-ERROR_CHARS:] if self.error else self.error
        return (*self[:7], error)


class RunLog:
    """Runs and job runs; mixed into MetadataStore, which provides these two."""

    _write: Callable[..., None]
    _run: Callable[..., Any]

    def start_run(self, argv: Sequence[str]) -> str:
        # Sortable by time, unique across hosts and concurrent runs.
        run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        row = (run_id, json.dumps(list(argv)), time.time(), os.getpid(), host())
        sql = "INSERT INTO runs (run_id, argv, start, pid, host) VALUES (?, ?, ?, ?, ?)"
        self._write("recording the run", (sql, [row]), (_PRUNE, [()]))
        return run_id

    def end_run(self, run_id: str, outcome: str, jobs: Iterable[JobRunRow] = ()) -> None:
        """The run's end, and rows for its jobs no step recorded (those that never started:
        a failure upstream, or the run stopped first; rules without a body), in one
        transaction."""
        row = (time.time(), outcome, run_id)
        sql = "UPDATE runs SET end_=?, outcome=? WHERE run_id=?"
        self._write("recording the run's end", (sql, [row]), self.job_run_batch(jobs))

    def runs(self) -> list[RunRecord]:
        """Every recorded run, oldest first."""
        def op(conn: sqlite3.Connection) -> list[RunRecord]:
            rows = conn.execute("SELECT run_id, argv, start, end_, outcome, pid, host FROM runs "
                                "ORDER BY start").fetchall()
            return [RunRecord(r[0], json.loads(r[1]), *r[2:]) for r in rows]

        result: list[RunRecord] = self._run(op, "reading runs")
        return result

    @staticmethod
    def job_run_batch(rows: Iterable[JobRunRow]) -> tuple[str, list[tuple[Any, ...]]]:
        """A (sql, rows) batch for `_write`: the store adds it to a transaction it makes."""
        return _PUT, [r.encoded() for r in rows]

    def job_runs(self, run_id: str) -> list[JobRunRow]:
        """The jobs of run `run_id` in the order they started."""
        def op(conn: sqlite3.Connection) -> list[JobRunRow]:
            rows = conn.execute("SELECT run_id, job, rule, status, start, end_, attempts, error "
                                "FROM jobruns WHERE run_id=? ORDER BY start, job",
                                (run_id,)).fetchall()
            return [JobRunRow(*r) for r in rows]

        result: list[JobRunRow] = self._run(op, "reading job runs")
        return result
