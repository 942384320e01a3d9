"""Output-set locks: two runs whose planned outputs overlap cannot both proceed.

Why not one lock file per output path: exact, but 30,000 outputs would mean 30,000 files to
create and flock per run. Instead `.rulekit/locks/` holds a registry:

    registry.lock        held only for the few milliseconds of acquire/release
    run-<pid>-<host>-<token>.json   one per live run: pid, host, start, argv, its outputs
    run-<pid>-<host>-<token>.lock   flocked by that run for its whole life

Acquire: take registry.lock; for each run file, try its .lock without blocking. If we get it,
the holder is gone (the OS dropped its flock when it died, SIGKILL included): delete its
files. Otherwise load its outputs and intersect with ours; any overlap raises LockError naming
the holder and the files. No overlap: write our JSON, flock our .lock, release the registry.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from filelock import FileLock, Timeout

from .errors import LockError

__all__ = ["OutputLock", "Holder", "unlock", "lock_dir"]

REGISTRY_TIMEOUT = 10.0  # others hold the registry for milliseconds; waiting is fine
_SHOW_FILES = 10


def lock_dir(root_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(root_dir), ".rulekit", "locks")


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


class OutputLock:
    """Lock the planned output set of a run. Use as a context manager or acquire()/release().

    Raises LockError (exit code 3) from acquire() when a live run holds an overlapping output.
    """

    def __init__(self, root_dir: str | os.PathLike[str], outputs: Iterable[str],
                 argv: Sequence[str] = ()) -> None:
        self.root = os.path.abspath(os.fspath(root_dir))
        self.dir = lock_dir(self.root)
        self.outputs = {_normalize(self.root, p) for p in outputs}
        self.argv = list(argv)
        token = uuid.uuid4().hex[:8]  # several locks in one process (API use, tests)
        self.name = f"run-{os.getpid()}-{socket.gethostname()}-{token}"
        self._run_lock: FileLock | None = None

    @property
    def locked(self) -> bool:
        return self._run_lock is not None

    def _registry(self) -> FileLock:
        return FileLock(os.path.join(self.dir, "registry.lock"), timeout=REGISTRY_TIMEOUT)

    def acquire(self) -> None:
        if self._run_lock is not None:
            return
        os.makedirs(self.dir, exist_ok=True)
        try:
            with self._registry():
                self._check_others()
                self._register()
        except Timeout:
            raise LockError(
                "cannot take the rulekit lock registry",
                facts=[("lock", os.path.join(self.dir, "registry.lock"))],
                hint=f"another rulekit process held it for over {REGISTRY_TIMEOUT:.0f} s; "
                     "if none is running, run 'rulekit unlock'",
            ) from None

    def _check_others(self) -> None:
        for entry in sorted(os.listdir(self.dir)):
            if not (entry.startswith("run-") and entry.endswith(".json")):
                continue
            base = os.path.join(self.dir, entry[:-5])
            holder, outputs = _read_run(base + ".json")
            if holder is None or _is_stale(base, holder):
                _remove_run(base)
                continue
            if len(outputs) < len(self.outputs):
                overlap = sorted(p for p in outputs if p in self.outputs)
            else:
                overlap = sorted(p for p in self.outputs if p in outputs)
            if overlap:
                raise _conflict(holder, overlap)

    def _register(self) -> None:
        base = os.path.join(self.dir, self.name)
        run_lock = FileLock(base + ".lock", timeout=0)
        run_lock.acquire()
        info = {"pid": os.getpid(), "host": socket.gethostname(), "start": time.time(),
                "argv": self.argv, "outputs": list(self.outputs)}
        try:
            # Write then rename: a reader never sees half a run file.
            tmp = base + ".json.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(info, f)
            os.replace(tmp, base + ".json")
        except BaseException:
            run_lock.release()
            raise
        self._run_lock = run_lock

    def release(self) -> None:
        run_lock, self._run_lock = self._run_lock, None
        if run_lock is None:
            return
        base = os.path.join(self.dir, self.name)
        # Under the registry so no one reads a half-removed run; if the registry is stuck,
        # removing our own files is still safe: a run file without a live lock is stale.
        with contextlib.suppress(Timeout), self._registry():
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


def _read_run(path: str) -> tuple[Holder | None, frozenset[str]]:
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
        holder = Holder(int(info["pid"]), str(info["host"]), float(info["start"]),
                        list(info.get("argv", [])))
        return holder, frozenset(info["outputs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, frozenset()  # unreadable: written by a crashed run mid-way


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


def _conflict(holder: Holder, overlap: list[str]) -> LockError:
    shown = "\n".join(overlap[:_SHOW_FILES])
    if len(overlap) > _SHOW_FILES:
        shown += f"\n... and {len(overlap) - _SHOW_FILES} more"
    facts = [("holder", holder.describe())]
    if holder.argv:
        facts.append(("command", " ".join(holder.argv)))
    facts.append(("files", shown))
    return LockError(
        "outputs are locked by another rulekit run",
        facts=facts,
        hint="wait for it to finish; if it is gone (e.g. on a shared filesystem without "
             "OS locks) run 'rulekit unlock'",
    )


def unlock(root_dir: str | os.PathLike[str]) -> list[str]:
    """Remove every run's lock record; return the removed run file names.

    For `rulekit unlock`: only needed where OS locks do not work (some network
    filesystems); elsewhere a dead holder's record is already ignored.
    """
    directory = lock_dir(root_dir)
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
