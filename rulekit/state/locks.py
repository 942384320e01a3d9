"""Run locks: a run may not write what another live run writes or reads, nor read what
another live run writes.

Why not one lock file per path: exact, but 30,000 outputs would mean 30,000 files to create
and flock per run. Instead `.rulekit-locks/` (beside `.rulekit/`, so deleting the store does
not drop the locks of live runs) holds a registry:

    registry.lock        held only for the few milliseconds of acquire/release
    run-<pid>-<host>-<token>.json   one per live run: pid, host, start, argv, its outputs,
                                    the inputs it reads that it does not make, and the
                                    identity (device, inode, id) of the store it keeps markers in
    run-<pid>-<host>-<token>.lock   flocked by that run for its whole life

Acquire: take registry.lock; for each run file, try its .lock without blocking. If we get it,
the holder is gone (the OS dropped its flock when it died, SIGKILL included): hand its run
file to `on_stale` (crash recovery, see api.py) and delete its files. Otherwise compare: its
outputs with our outputs and inputs, its inputs with our outputs; any overlap raises LockError
naming the holder and the files. No overlap: write our JSON, flock our .lock, release the
registry. `extend()` adds the jobs a checkpoint re-plan adds, with the same checks.

On a filesystem without OS locks filelock falls back to lock files whose existence is the
lock, so a killed holder stays "alive"; `unlock()` (`rulekit unlock`) removes every run file.
Dry runs do not lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from filelock import FileLock, Timeout

from ..core.errors import LockError
from ..core.liveness import run_alive
from .folders import LOCK_DIR, lock_dir, private_folder

__all__ = ["OutputLock", "Holder", "StaleRun", "unlock", "lock_dir", "recover_stale",
           "unusable", "LOCK_DIR", "remove_unless_read", "live_holders"]

REGISTRY_TIMEOUT = 10.0  # others hold the registry for milliseconds; waiting is fine
_SHOW_FILES = 10


@dataclass(frozen=True)
class StaleRun:
    """A run that died without releasing its lock: what it was going to write."""

    holder: Holder
    outputs: frozenset[str]
    store: list[int] | None


@dataclass(frozen=True)
class Holder:
    """Another live run, as its run file describes it."""

    pid: int
    host: str
    start: float
    argv: list[str]

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.start))
        return f"pid {self.pid} on {self.host}, started {when}"


def _normalize(root: str, path: str) -> str:
    # Overlap is decided on these strings, so "./a/../b" and "b" must meet. Absolute paths
    # under the root become relative; the common relative case stays cheap.
    if os.path.isabs(path):
        path = os.path.relpath(path, root)
    return os.path.normpath(path)


def _same_host_dead(holder: Holder) -> bool:
    # Extra evidence for filesystems without flock: a pid that no longer exists on this
    # very host cannot hold anything.
    if holder.host != socket.gethostname():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but not ours (EPERM)
        return False
    return False


def live_holders(root_dir: str | os.PathLike[str]) -> list[Holder]:
    """The runs holding locks in `root_dir` that are alive on this host."""
    directory = lock_dir(root_dir)
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.startswith("run-") and entry.endswith(".json"):
            holder, _info = _read_run(os.path.join(directory, entry))
            if holder is not None and run_alive(holder.pid, holder.host, holder.start):
                found.append(holder)
    return found


class OutputLock:
    """Lock what a run writes (`outputs`) and reads (`inputs`). Use as a context manager or
    acquire()/release().

    Raises LockError (exit code 3) from acquire() when a live run writes one of our outputs
    or inputs, or reads one of our outputs. `store` is the identity of the metadata store
    holding our incomplete markers; `on_stale` sees each dead run's file before it goes.
    """

    def __init__(self, root_dir: str | os.PathLike[str], outputs: Iterable[str],
                 argv: Sequence[str] = (), inputs: Iterable[str] = (),
                 store: Sequence[int] | None = None,
                 on_stale: Callable[[StaleRun], None] | None = None) -> None:
        self.root = os.path.abspath(os.fspath(root_dir))
        self.dir = lock_dir(self.root)
        self.outputs = {_normalize(self.root, p) for p in outputs}
        self.inputs = {_normalize(self.root, p) for p in inputs} - self.outputs
        self.argv = list(argv)
        self.store = list(store) if store is not None else None
        self.on_stale = on_stale
        token = uuid.uuid4().hex[:8]  # several locks in one process (API use, tests)
        self.name = f"run-{os.getpid()}-{socket.gethostname()}-{token}"
        self._run_lock: FileLock | None = None
        self._start = time.time()

    @property
    def locked(self) -> bool:
        return self._run_lock is not None

    def _registry(self) -> FileLock:
        return FileLock(os.path.join(self.dir, "registry.lock"), timeout=REGISTRY_TIMEOUT)

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            with self._registry():
                action()
        except Timeout:
            raise LockError(
                "cannot take the rulekit lock registry",
                facts=[("lock", os.path.join(self.dir, "registry.lock"))],
                hint=f"another rulekit process held it for over {REGISTRY_TIMEOUT:.0f} s; "
                     "if none is running, run 'rulekit unlock'",
            ) from None
        except OSError as exc:
            raise unusable(self.dir, exc) from None

    def acquire(self) -> None:
        if self._run_lock is not None:
            return
        try:
            private_folder(self.dir)
        except OSError as exc:
            raise unusable(self.dir, exc) from None

        def take() -> None:
            self._check_others(self.outputs, self.inputs)
            self._register()

        self._guard(take)

    def extend(self, outputs: Iterable[str], inputs: Iterable[str] = ()) -> None:
        """Add paths to a held lock (jobs a checkpoint re-plan added), with the same checks."""
        new_out = {_normalize(self.root, p) for p in outputs} - self.outputs
        new_in = {_normalize(self.root, p) for p in inputs} - self.outputs - self.inputs - new_out
        if not new_out and not new_in:
            return
        if self._run_lock is None:
            self.outputs |= new_out
            self.inputs |= new_in
            return

        def grow() -> None:
            self._check_others(new_out, new_in)
            self.outputs |= new_out
            self.inputs = (self.inputs | new_in) - self.outputs
            self._write_info(os.path.join(self.dir, self.name))

        self._guard(grow)

    def _check_others(self, outputs: set[str], inputs: set[str]) -> None:
        for entry in sorted(os.listdir(self.dir)):
            if not (entry.startswith("run-") and entry.endswith(".json")):
                continue
            base = os.path.join(self.dir, entry[:-5])
            if base == os.path.join(self.dir, self.name):
                continue
            holder, info = _read_run(base + ".json")
            if holder is None or _is_stale(base, holder):
                if holder is not None and self.on_stale is not None:
                    self.on_stale(StaleRun(holder, frozenset(info.get("outputs", ())),
                                           info.get("store")))
                _remove_run(base)
                continue
            theirs_out = info.get("outputs", ())
            theirs_in = info.get("inputs", ())
            for mine, theirs, what in (
                    (outputs, theirs_out, "outputs are locked by another rulekit run"),
                    (inputs, theirs_out, "inputs are being written by another rulekit run"),
                    (outputs, theirs_in, "outputs are being read by another rulekit run")):
                overlap = sorted(p for p in theirs if p in mine)
                if overlap:
                    raise _conflict(holder, overlap, what)

    def _write_info(self, base: str) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "start": self._start,
                "argv": self.argv, "outputs": sorted(self.outputs),
                "inputs": sorted(self.inputs), "store": self.store}
        # Write then rename: a reader never sees half a run file.
        tmp = base + ".json.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(info, f)
            os.replace(tmp, base + ".json")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _register(self) -> None:
        base = os.path.join(self.dir, self.name)
        run_lock = FileLock(base + ".lock", timeout=0)
        run_lock.acquire()
        try:
            self._write_info(base)
        except BaseException:
            run_lock.release()
            _remove_run(base)
            raise
        self._run_lock = run_lock

    def release(self) -> None:
        run_lock, self._run_lock = self._run_lock, None
        if run_lock is None:
            return
        base = os.path.join(self.dir, self.name)
        # Under the registry so no one reads a half-removed run; if the registry is stuck
        # (or gone), removing our own files is still safe: a run file without a live lock
        # is stale.
        with contextlib.suppress(Timeout, OSError), self._registry():
            _remove_json(base)
        _remove_json(base)
        run_lock.release()
        with contextlib.suppress(OSError):
            os.unlink(base + ".lock")

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def recover_stale(root_dir: str | os.PathLike[str],
                  on_stale: Callable[[StaleRun], None]) -> None:
    """Hand every dead run's file to `on_stale`, then delete it (before planning, so the
    plan sees what the crash left). Quietly does nothing when the folder is unusable."""
    probe = OutputLock(root_dir, (), on_stale=on_stale)
    if not os.path.isdir(probe.dir):
        return
    with contextlib.suppress(LockError):
        probe._guard(lambda: probe._check_others(set(), set()))


def remove_unless_read(root_dir: str | os.PathLike[str], paths: Sequence[str],
                       remove: Callable[[list[str]], object]) -> dict[str, Holder]:
    """Call `remove` on the `paths` no other live run reads; return the kept ones with the
    run that reads them. For temp() removal: another run may read a temp file this run
    made or found (it locked it as an input). Runs of this very process are not "other"
    (our own run file lists the temps we read). Done under the registry, so no run can
    start reading a file between the check and the removal."""
    root = os.path.abspath(os.fspath(root_dir))
    directory = lock_dir(root)
    if not paths:
        return {}
    try:
        entries = [e for e in os.listdir(directory)
                   if e.startswith("run-") and e.endswith(".json")]
    except OSError:
        entries = []
    me = f"run-{os.getpid()}-{socket.gethostname()}-"
    if not any(not e.startswith(me) for e in entries):
        remove(list(paths))   # no other run registered: nothing to ask (the common case)
        return {}
    kept: dict[str, Holder] = {}

    def check_and_remove() -> None:
        wanted = {_normalize(root, p): p for p in paths}
        for entry in sorted(os.listdir(directory)):
            if not (entry.startswith("run-") and entry.endswith(".json")) \
                    or entry.startswith(me):
                continue
            base = os.path.join(directory, entry[:-5])
            holder, info = _read_run(base + ".json")
            if holder is None or _is_stale(base, holder):
                continue
            for norm in wanted.keys() & info["inputs"]:
                kept.setdefault(wanted[norm], holder)
        remove([p for p in paths if p not in kept])

    OutputLock(root, ())._guard(check_and_remove)
    return kept


def unusable(directory: str, exc: OSError) -> LockError:
    """The lock folder cannot be created or written (read-only, disk full, ...)."""
    reason = exc.strerror or str(exc)
    if os.path.exists(directory) and not os.path.isdir(directory):
        reason = "a file is in the way"
    return LockError(
        f"cannot use the lock folder {directory}: {reason}",
        facts=[("path", getattr(exc, "filename", None) or directory)],
        hint="make it a writable folder (or free some disk space) and run again; rulekit "
             "needs it to keep concurrent runs apart",
    )


def _read_run(path: str) -> tuple[Holder | None, dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
        holder = Holder(int(info["pid"]), str(info["host"]), float(info["start"]),
                        list(info.get("argv", [])))
        info["outputs"] = frozenset(info["outputs"])
        info["inputs"] = frozenset(info.get("inputs", ()))
        return holder, info
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}  # unreadable: written by a crashed run mid-way


def _is_stale(base: str, holder: Holder) -> bool:
    probe = FileLock(base + ".lock", timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return _same_host_dead(holder)
    probe.release()  # we got it: its owner is gone
    return True


def _remove_json(base: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(base + ".json")


def _remove_run(base: str) -> None:
    for suffix in (".json", ".lock", ".json.tmp"):
        with contextlib.suppress(OSError):
            os.unlink(base + suffix)


def _conflict(holder: Holder, overlap: list[str], what: str) -> LockError:
    shown = "\n".join(overlap[:_SHOW_FILES])
    if len(overlap) > _SHOW_FILES:
        shown += f"\n... and {len(overlap) - _SHOW_FILES} more"
    facts = [("holder", holder.describe())]
    if holder.argv:
        facts.append(("command", " ".join(holder.argv)))
    facts.append(("files", shown))
    return LockError(
        what,
        facts=facts,
        hint="wait for it to finish; if it is gone (e.g. on a shared filesystem without "
             "OS locks) run 'rulekit unlock'",
    )


def unlock(root_dir: str | os.PathLike[str], force: bool = False) -> list[str]:
    """Remove every run's lock record; return the removed run file names.

    For `rulekit unlock`: only needed where OS locks do not work (some network
    filesystems); elsewhere a dead holder's record is already ignored. Raises LockError
    (exit 3), removing nothing, while a holder is alive on this host, unless `force`.
    """
    directory = lock_dir(root_dir)
    live = [] if force else live_holders(root_dir)
    if live:
        facts = [("holder", h.describe()) for h in live]
        facts += [("command", " ".join(h.argv)) for h in live[:1] if h.argv]
        raise LockError(
            f"the locks are held by a live rulekit run (pid {live[0].pid} on {live[0].host})",
            facts=facts,
            hint="wait for it to finish or stop it; 'rulekit unlock --force' releases its "
                 "locks anyway, and a run started then may write the same files")
    try:
        entries = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    removed = []
    for entry in entries:
        if entry.startswith("run-"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))
                removed.append(entry)
    return removed
