"""The metadata store: `.rulekit/metadata.db`, what rulekit remembers between runs.

SQLite in WAL mode: per output path the trace the planner verifies (rule, wildcards, params,
code hash, inputs with mtime/size/checksum) plus provenance; incomplete markers; one row per
run. Only the driver writes, one transaction per call. Two drivers may share the file: writes
take the write lock up front (BEGIN IMMEDIATE) so they queue on `busy_timeout`.

The store never raises to its caller and never touches outputs. A corrupt file is moved aside
(metadata.db.corrupt-<stamp>) and a fresh one created; a newer-schema file, or one locked by
another writer for longer than `busy_timeout`, is left alone and an empty in-memory database
stands in for the rest of the session. Each case warns. Missing records make the planner fall
back to timestamps: the worst case is extra reruns, never lost outputs.

Warnings go to `on_warning(message)` when given (the CLI prints them its own way), otherwise
to `warnings.warn(message, RulekitWarning)`. `store.degraded` holds the last reason (or None).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from .folders import private_folder
from .markers import Markers
from .records import (
    InputRecord,
    OutputRecord,
    PlanRecord,
    RunRecord,
    StoredRecord,
    canonical_params,
)
from .runlog import JOBRUNS_SCHEMA, JobRunRow, RunLog

__all__ = [
    "SCHEMA_VERSION", "RulekitWarning", "InputRecord", "OutputRecord", "PlanRecord", "RunRecord",
    "MetadataStore", "canonical_params",
]

SCHEMA_VERSION = 1
# After a failed statement (busy for busy_timeout, an I/O error): wait this long, reconnect
# and try again, once per entry, before giving up on the file for the rest of the run.
RETRY_PAUSES = (0.2, 1.0)
_NO_STORE = (" (no crash markers either: if this run is killed, its half-written outputs are "
             "only found because its lock file says what it was writing); make the folder "
             "writable, or free disk space, to get the store back")
DB_NAME = "metadata.db"
# Above this many paths, one full-table scan beats chunked `IN (...)` lookups: decoding rows
# dominates, and the scan avoids building and binding 900-parameter statements.
_SCAN_THRESHOLD = 2000
_CHUNK = 900  # stays under SQLite's default limit of 999 bound parameters on old builds
WAL_CHECKPOINT_PAGES = 10_000


T = TypeVar("T")


class RulekitWarning(UserWarning):
    """Something is off but rulekit carries on (store fell back, clock skew, ...)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outputs (
    path TEXT PRIMARY KEY, rule TEXT NOT NULL, wildcards TEXT NOT NULL, params TEXT NOT NULL,
    code_hash TEXT, inputs TEXT NOT NULL, start REAL, end_ REAL, host TEXT, user TEXT,
    exit_status INTEGER, rulekit_version TEXT, python_version TEXT, logs TEXT NOT NULL,
    run_id TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incomplete (
    path TEXT PRIMARY KEY, run_id TEXT, since REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, argv TEXT NOT NULL, start REAL, end_ REAL, outcome TEXT,
    pid INTEGER, host TEXT
);
"""
# The process running the job that writes `path` (set when it started): the next run
# ends it if a crash left it running. Rows without an incomplete marker mean nothing.
_PROCS_SCHEMA = ("CREATE TABLE IF NOT EXISTS jobprocs (path TEXT PRIMARY KEY, pid INTEGER, "
                 "pgid INTEGER, started INTEGER) WITHOUT ROWID")
# Content hashes taken for rulekit.manifest, with the size and mtime the file had: a file is
# hashed again only when one of them differs (added after schema 1; older rulekits ignore it).
_HASHES_SCHEMA = ("CREATE TABLE IF NOT EXISTS filehashes (path TEXT PRIMARY KEY, mtime_ns "
                  "INTEGER, size INTEGER, hash TEXT) WITHOUT ROWID")
_COLUMNS = ("path, rule, wildcards, params, code_hash, inputs, start, end_, host, user, "
            "exit_status, rulekit_version, python_version, logs, run_id")

_PUT_OUTPUTS = f"INSERT OR REPLACE INTO outputs ({_COLUMNS}) VALUES ({','.join('?' * 15)})"

_loads = json.loads
_dumps = json.dumps


def _decode_all(rows: list[tuple[Any, ...]]) -> dict[str, OutputRecord]:
    # The hot path of a no-op run. The cyclic GC would otherwise run many times while tens
    # of thousands of objects are allocated, finding nothing to free.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return {row[0]: StoredRecord(*row) for row in rows}
    finally:
        if enabled:
            gc.enable()


def _create_store_id(conn: sqlite3.Connection) -> None:
    """A random id for a new database (see MetadataStore._store_id); a concurrent creator
    finds the row there and adds none."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE IF NOT EXISTS storeid (id INTEGER NOT NULL)")
    conn.execute("INSERT INTO storeid (id) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM storeid)",
                 (int.from_bytes(os.urandom(8), "big") >> 2,))
    conn.execute("COMMIT")


def _encode(r: OutputRecord) -> tuple[Any, ...]:
    # NamedTuples serialise as JSON arrays; wildcards keep their pattern order.
    return (r.path, r.rule, _dumps(r.wildcards), r.params, r.code_hash, _dumps(r.inputs),
            r.start, r.end, r.host, r.user, r.exit_status, r.rulekit_version,
            r.python_version, _dumps(r.logs), r.run_id)


# SQLite primary result codes (extended & 0xff) CORRUPT and NOTADB: the file is damaged.
# Anything else (BUSY, LOCKED, I/O) leaves the file alone. Python < 3.11 has no codes.
_CORRUPT_CODES = {11, 26}


def _is_corrupt(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _CORRUPT_CODES
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


class _NewerSchema(Exception):
    """args[0]: the schema version found."""


class MetadataStore(RunLog, Markers):
    """`<root>/.rulekit/metadata.db`. Paths are keys exactly as given: callers pass the
    normalised workdir-relative paths the planner uses (normalising here would cost a
    measurable share of a 30k-job no-op)."""

    def __init__(self, root_dir: str | os.PathLike[str], *, busy_timeout: float = 5.0,
                 on_warning: Callable[[str], None] | None = None) -> None:
        self.dir = os.path.join(os.fspath(root_dir), ".rulekit")
        self.path = os.path.join(self.dir, DB_NAME)
        self.busy_timeout = busy_timeout
        self.on_warning = on_warning
        self.degraded: str | None = None
        self._mutex = threading.RLock()  # executor callbacks may arrive on other threads
        self._marked: set[str] = set()   # marked incomplete by us in the file, not cleared
        self._with_procs: set[str] = set()   # paths given a jobprocs row by finish_step
        self._on_file = False
        self._conn = self._open()
        self._on_file = not self.degraded
        self.identity = self._identity() if not self.degraded else None
        if self.identity is not None:
            self.identity += self._store_id()
        self._vanished_warned = False

    def _identity(self) -> list[int] | None:
        """(device, inode) of the database file: a store replaced while open has another."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return [st.st_dev, st.st_ino]

    def _store_id(self) -> list[int]:
        """[the random id written into the database when it was created], or [] if it
        cannot be read. A store deleted and made again at the same path can get the same
        inode; its id tells it from the old one (runguard's crash recovery)."""
        try:
            row = self._conn.execute("SELECT id FROM storeid LIMIT 1").fetchone()
        except sqlite3.Error:
            return []
        return [row[0]] if row else []

    def check_vanished(self) -> str | None:
        """Warn (once) when the store file was deleted or replaced since it was opened;
        returns the warning text."""
        if self.identity is None or self._vanished_warned:
            return None
        now = self._identity()
        if now == self.identity[:2]:
            return None
        self._vanished_warned = True
        text = (f"{self.path} was deleted or replaced during this run: what this run records (job records, "
                "incomplete markers) goes to the old file and is lost; the next run judges "
                "these outputs by timestamps alone")
        self._warn(text)
        return text

    # -- opening and falling back -------------------------------------------------------

    def _connect(self, target: str) -> sqlite3.Connection:
        conn = sqlite3.connect(target, timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _NewerSchema(version)
            if target != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
                # NORMAL in WAL mode: a commit is in the WAL file (the OS has it) when COMMIT
                # returns, so it survives SIGKILL of rulekit; only a power cut can lose the
                # last commits. FULL would fsync every job start, milliseconds each.
                conn.execute("PRAGMA synchronous=NORMAL")
                # A checkpoint (WAL pages copied into the database, two fsyncs) runs inside
                # the commit that finds the WAL over this many pages. At SQLite's 1,000 a
                # run stalled every ~200 scheduler steps for milliseconds; at 10,000 (a WAL
                # of up to 40 MB while the store is open, removed when it closes) ten times
                # less often, and each copies little more, as steps rewrite the same pages.
                conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            if version < SCHEMA_VERSION:
                # Statement by statement inside one transaction (executescript would commit
                # early); IF NOT EXISTS makes a concurrent creator harmless.
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            # A cheap read that fails on a file that is not a database at all.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='jobprocs'").fetchone():
                conn.execute(_PROCS_SCHEMA)  # added after schema 1; older rulekits ignore it
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='filehashes'").fetchone():
                conn.execute(_HASHES_SCHEMA)
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='jobruns'").fetchone():
                conn.execute(JOBRUNS_SCHEMA)  # the same
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='storeid'").fetchone():
                _create_store_id(conn)        # the same
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            private_folder(self.dir)
            return self._connect(self.path)
        except _NewerSchema as exc:
            self._warn(f"{self.path} was written by a newer rulekit (schema {exc.args[0]}, this "
                       f"rulekit knows {SCHEMA_VERSION}); it is left untouched and this run "
                       "uses timestamps only and remembers nothing")
        except sqlite3.Error as exc:
            if _is_corrupt(exc):
                return self._rebuild(exc)
            self._warn(f"cannot open {self.path} ({exc}); this run uses timestamps only "
                       "and remembers nothing" + _NO_STORE)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if os.path.exists(self.dir) and not os.path.isdir(self.dir):
                reason = "a file is in the way"
            self._warn(f"cannot create {self.dir} ({reason}); this run uses timestamps only "
                       "and remembers nothing" + _NO_STORE)
        return self._connect(":memory:")

    def _rebuild(self, exc: BaseException) -> sqlite3.Connection:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = f"{self.path}.corrupt-{stamp}"
        try:
            os.replace(self.path, aside)
            # The WAL belongs to the damaged file; left in place, SQLite could replay it
            # into the fresh database.
            for suffix in ("-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.replace(self.path + suffix, aside + suffix)
            conn = self._connect(self.path)
        except (OSError, sqlite3.Error, _NewerSchema) as again:
            self._warn(f"{self.path} is corrupt ({exc}) and could not be rebuilt ({again}); "
                       "this run uses timestamps only")
            return self._connect(":memory:")
        self._warn(f"{self.path} was corrupt ({exc}); moved it to {aside} and started a new "
                   "store: outputs are kept and judged by timestamps until rebuilt")
        return conn

    def _warn(self, message: str) -> None:
        self.degraded = message
        if self.on_warning is not None:
            self.on_warning(message)
        else:
            warnings.warn(message, RulekitWarning, stacklevel=4)

    def _run(self, op: Callable[[sqlite3.Connection], T], what: str) -> T:
        """Run `op` on the connection. A failure (a busy database included) is retried on a
        fresh connection; if it persists: warn, saying what the next run will redo, and
        switch to a substitute (a rebuilt file if corrupt, else an empty in-memory store)."""
        with self._mutex:
            try:
                return op(self._conn)
            except sqlite3.Error as first:
                exc = first
                self._rollback()
                if self._on_file and not _is_corrupt(exc):
                    for pause in RETRY_PAUSES:
                        time.sleep(pause)
                        try:
                            self._conn.close()
                            self._conn = self._connect(self.path)
                            return op(self._conn)
                        except (sqlite3.Error, _NewerSchema) as again:
                            self._rollback()
                            if isinstance(again, sqlite3.Error):
                                exc = again
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                if _is_corrupt(exc):
                    self._conn = self._rebuild(exc)
                else:
                    self._warn(self._fallback_text(what, exc))
                    self._conn = self._connect(":memory:")
                    self._on_file = False
            try:
                return op(self._conn)
            except sqlite3.Error as again:  # a rebuilt file failed too: last resort
                self._rollback()
                self._warn(f"{what} failed again ({again}); using an in-memory store")
                self._conn = self._connect(":memory:")
                return op(self._conn)

    def _fallback_text(self, what: str, exc: BaseException) -> str:
        tries = len(RETRY_PAUSES) + 1 if self._on_file else 1
        text = (f"{what} failed on {self.path} ({exc}; {tries} attempts); continuing with an "
                "empty in-memory store for the rest of this run: jobs finishing from now on "
                "leave no records (the next run judges their outputs by timestamps alone)")
        stranded = sorted(self._marked)
        if stranded:
            shown = ", ".join(stranded[:10]) + (f" and {len(stranded) - 10} more"
                                               if len(stranded) > 10 else "")
            text += (f"; {len(stranded)} output(s) of jobs started before stay marked "
                     f"incomplete in the file, so the next run redoes them: {shown}")
        return text

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _write(self, what: str, *batches: tuple[str, Sequence[Sequence[Any]]]) -> None:
        """Run each (sql, rows) batch with executemany, all in one transaction."""
        if not any(rows for _, rows in batches):
            return

        def op(conn: sqlite3.Connection) -> None:
            # IMMEDIATE: take the write lock now, waiting on busy_timeout; a deferred
            # transaction that upgrades later can fail at once with SQLITE_BUSY.
            conn.execute("BEGIN IMMEDIATE")
            for sql, rows in batches:
                if rows:
                    conn.executemany(sql, rows)
            conn.execute("COMMIT")

        self._run(op, what)

    def close(self) -> None:
        with self._mutex:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- output records -----------------------------------------------------------------

    def get(self, path: str) -> OutputRecord | None:
        def op(conn: sqlite3.Connection) -> OutputRecord | None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM outputs WHERE path=?", (path,)).fetchone()
            return StoredRecord(*row) if row else None

        return self._run(op, "reading a record")

    def get_many(self, paths: Iterable[str]) -> dict[str, OutputRecord]:
        """Records of those `paths` that have one. Big requests read the whole table once."""
        wanted = paths if isinstance(paths, (set, frozenset)) else set(paths)
        if len(wanted) > _SCAN_THRESHOLD:
            everything = self.all_records()
            if len(everything) <= len(wanted):
                return {p: r for p, r in everything.items() if p in wanted}
            return {p: everything[p] for p in wanted if p in everything}

        def op(conn: sqlite3.Connection) -> dict[str, OutputRecord]:
            rows: list[tuple[Any, ...]] = []
            ordered = list(wanted)
            for i in range(0, len(ordered), _CHUNK):
                chunk = ordered[i:i + _CHUNK]
                sql = (f"SELECT {_COLUMNS} FROM outputs WHERE path IN "
                       f"({','.join('?' * len(chunk))})")
                rows.extend(conn.execute(sql, chunk))
            return _decode_all(rows)

        return self._run(op, "reading records")

    def plan_records(self, paths: Iterable[str]) -> dict[str, OutputRecord | PlanRecord]:
        """get_many for the planner: a big request reads only params, code hash, inputs."""
        wanted = paths if isinstance(paths, (set, frozenset)) else set(paths)
        if len(wanted) <= _SCAN_THRESHOLD:
            return dict(self.get_many(wanted))

        def op(conn: sqlite3.Connection) -> dict[str, OutputRecord | PlanRecord]:
            rows = conn.execute("SELECT path, params, code_hash, inputs FROM outputs")
            return {r[0]: PlanRecord(r[1], r[2], r[3]) for r in rows if r[0] in wanted}

        return self._run(op, "reading records")

    def all_records(self) -> dict[str, OutputRecord]:
        def op(conn: sqlite3.Connection) -> dict[str, OutputRecord]:
            return _decode_all(conn.execute(f"SELECT {_COLUMNS} FROM outputs").fetchall())

        return self._run(op, "reading records")

    def put_many(self, records: Iterable[OutputRecord]) -> None:
        """Insert or replace records, all in one transaction."""
        self._write("saving records", (_PUT_OUTPUTS, [_encode(r) for r in records]))

    def remove(self, paths: Iterable[str]) -> None:
        """Forget records and incomplete markers of `paths` (for `rulekit clean`)."""
        rows = [(p,) for p in paths]
        self._write("removing records", ("DELETE FROM outputs WHERE path=?", rows),
                    ("DELETE FROM incomplete WHERE path=?", rows),
                    ("DELETE FROM jobprocs WHERE path=?", rows))

    # -- content hashes (rulekit.manifest) -------------------------------------------------
    def file_hashes(self, paths: Iterable[str]) -> dict[str, tuple[int, int, str]]:
        """path -> (mtime_ns, size, hash) of the content hashes taken earlier."""
        wanted = list(dict.fromkeys(paths))

        def op(conn: sqlite3.Connection) -> dict[str, tuple[int, int, str]]:
            sql = "SELECT path, mtime_ns, size, hash FROM filehashes"
            if len(wanted) > _SCAN_THRESHOLD:
                want = set(wanted)
                return {r[0]: (r[1], r[2], r[3]) for r in conn.execute(sql) if r[0] in want}
            found: dict[str, tuple[int, int, str]] = {}
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i:i + _CHUNK]
                for r in conn.execute(f"{sql} WHERE path IN ({','.join('?' * len(chunk))})",
                                      chunk):
                    found[r[0]] = (r[1], r[2], r[3])
            return found

        return self._run(op, "reading content hashes")

    def put_file_hashes(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        """Remember content hashes: (path, mtime_ns, size, hash) rows, one transaction."""
        self._write("saving content hashes",
                    ("INSERT OR REPLACE INTO filehashes VALUES (?, ?, ?, ?)", list(rows)))

    def finish_step(self, records: Iterable[OutputRecord], clear: Iterable[str],
                    finished: Iterable[JobRunRow], *, mark: Sequence[str] = (),
                    run_id: str | None = None,
                    procs: Sequence[tuple[str, int, int, int | None]] = (),
                    started: Iterable[JobRunRow] = ()) -> None:
        """One scheduler step in one transaction: the output records of the jobs that
        ended, their incomplete markers cleared, their rows in the run log; the processes
        (path, pid, group, start time) of jobs already running; the outputs of the jobs
        about to start (`mark`) marked incomplete, with their run-log rows."""
        put = [_encode(r) for r in records]
        gone = [(p,) for p in clear]
        self._marked.difference_update(r[0] for r in gone)
        # Process rows this store wrote go with their markers; a job that ended before
        # its process was recorded has none to delete. (A row left by an earlier, crashed
        # run means nothing without a marker, and is replaced when one is set again.)
        with_procs = self._with_procs
        gone_procs = [g for g in gone if g[0] in with_procs]
        with_procs.difference_update(g[0] for g in gone_procs)
        with_procs.update(row[0] for row in procs)
        now = time.time()
        marked = [(p, run_id, now) for p in mark]
        sql, ended = self.job_run_batch(finished)
        self._write("saving records" if put else "marking outputs incomplete",
                    (_PUT_OUTPUTS, put), ("DELETE FROM incomplete WHERE path=?", gone),
                    ("DELETE FROM jobprocs WHERE path=?", gone_procs),
                    ("INSERT OR REPLACE INTO jobprocs (path, pid, pgid, started) "
                     "VALUES (?, ?, ?, ?)", list(procs)),
                    ("INSERT OR REPLACE INTO incomplete (path, run_id, since) VALUES (?, ?, ?)",
                     marked),
                    (sql, ended + self.job_run_batch(started)[1]))   # ended rows first
        if self._on_file:
            self._marked.update(mark)
