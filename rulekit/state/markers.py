"""Incomplete markers and the processes writing marked outputs: a mixin of MetadataStore.

A job's outputs are marked incomplete, in a committed transaction, before the job starts, and
the marks are cleared in the transaction that records its outputs (`finish_step` in store.py):
after a crash, a marked output is suspect, and the `jobprocs` row says which process group
was writing it, so the next run can end that group before it reruns the job.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from .runlog import JobRunRow

__all__ = ["Markers"]


class Markers:
    """Incomplete markers and job processes; mixed into MetadataStore, which provides the
    connection helpers below and the run log's batches."""

    _write: Callable[..., None]
    _run: Callable[..., Any]
    _on_file: bool
    _marked: set[str]
    _with_procs: set[str]
    job_run_batch: Callable[[Iterable[JobRunRow]], tuple[str, list[tuple[Any, ...]]]]

    def mark_incomplete(self, paths: Iterable[str], run_id: str | None,
                        started: Iterable[JobRunRow] = ()) -> None:
        """Committed before the job starts: after a crash, these outputs are suspect.
        `started`: the jobs' rows in the run log, in the same transaction."""
        now = time.time()
        rows = [(p, run_id, now) for p in paths]
        sql = "INSERT OR REPLACE INTO incomplete (path, run_id, since) VALUES (?, ?, ?)"
        self._write("marking outputs incomplete", (sql, rows), self.job_run_batch(started))
        if self._on_file:
            self._marked.update(r[0] for r in rows)

    def clear_incomplete(self, paths: Iterable[str]) -> None:
        rows = [(p,) for p in paths]
        self._marked.difference_update(r[0] for r in rows)
        self._write("clearing incomplete markers", ("DELETE FROM incomplete WHERE path=?", rows),
                    ("DELETE FROM jobprocs WHERE path=?", rows))

    def set_processes(self, rows: Iterable[tuple[str, int, int, int | None]]) -> None:
        """(path, pid, process group, start time) of the process writing each marked path."""
        rows = list(rows)
        sql = "INSERT OR REPLACE INTO jobprocs (path, pid, pgid, started) VALUES (?, ?, ?, ?)"
        self._write("recording job processes", (sql, rows))
        self._with_procs.update(r[0] for r in rows)

    def marked_processes(self, exclude_run: str | None = None
                         ) -> dict[str, tuple[int, int, int | None]]:
        """path -> (pid, pgid, start time) of the process recorded for each marked output,
        except those marked by run `exclude_run` (the caller's own)."""
        def op(conn: sqlite3.Connection) -> dict[str, tuple[int, int, int | None]]:
            rows = conn.execute("SELECT j.path, j.pid, j.pgid, j.started, i.run_id "
                                "FROM jobprocs j JOIN incomplete i ON i.path = j.path")
            return {r[0]: (r[1], r[2], r[3]) for r in rows
                    if exclude_run is None or r[4] != exclude_run}

        procs: dict[str, tuple[int, int, int | None]] = self._run(op, "reading job processes")
        return procs

    def marker_owners(self, paths: Iterable[str] | None = None
                      ) -> dict[str, tuple[int, str, float]]:
        """path -> (pid, host, start) of the run that marked each incomplete output (of
        `paths`, or all), for the markers whose run is recorded and has not ended (it runs
        still, or it crashed)."""
        def op(conn: sqlite3.Connection) -> dict[str, tuple[int, str, float]]:
            rows = conn.execute("SELECT i.path, r.pid, r.host, r.start FROM incomplete i "
                                "JOIN runs r ON r.run_id = i.run_id WHERE r.end_ IS NULL")
            wanted = None if paths is None else set(paths)
            return {r[0]: (r[1], r[2], r[3]) for r in rows
                    if r[1] is not None and (wanted is None or r[0] in wanted)}

        owners: dict[str, tuple[int, str, float]] = self._run(op, "reading incomplete markers")
        return owners

    def incomplete(self) -> dict[str, str | None]:
        """Incomplete output paths and the run that left each."""
        marks: dict[str, str | None] = self._run(
            lambda c: dict(c.execute("SELECT path, run_id FROM incomplete")),
            "reading incomplete markers")
        return marks

    def incomplete_paths(self) -> set[str]:
        return set(self.incomplete())
