"""Starting shell jobs without stalling the driver: posix_spawn on helper threads.

posix_spawn (glibc: clone with CLONE_VM|CLONE_VFORK) returns only once the child has
exec'd, and on a loaded machine the child may first wait for a CPU: 0.5-2 ms during which
Python's `os.posix_spawn` holds the GIL and the driver can do nothing else. GNU make waits
just as long per job, one job after the other. Here the call goes through ctypes, which
releases the GIL around it, on one of a few threads: the driver meanwhile records finished
jobs and prepares the next ones, and two jobs can be exec'ing at once.

The child is the same as `os.posix_spawn` with the same arguments would make: the same
file actions, process group, default signals, and an empty signal mask (the mask the driver's
main thread has; a helper thread's mask is not passed on). Where glibc's posix_spawn cannot
be called this way (another C library, no ctypes), `os.posix_spawn` is used on the calling
thread, as before.

    posix_spawn_nogil(path, argv, env, file_actions=, setpgroup=, setsigdef=)  -> pid
    SpawnPool(start, threads)   run start(request) on helper threads; results come back
                                through take(), and fileno() is readable when some are due
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["posix_spawn_nogil", "nogil_available", "spawn_threads", "SpawnPool"]

_libc: Any = None
_checked = False
_lock = threading.Lock()

# glibc's opaque types are at most this big on any 64-bit target (file actions 80 bytes,
# attributes 336, sigset_t 128); the buffers are larger so that a size change cannot overrun.
_FA_SIZE = 256
_ATTR_SIZE = 1024
_SIGSET_SIZE = 256
_SETPGROUP = 0x02
_SETSIGDEF = 0x04
_SETSIGMASK = 0x08


def _load() -> Any:
    """glibc via ctypes, or None (not Linux with glibc, or no ctypes)."""
    global _libc, _checked
    with _lock:
        if _checked:
            return _libc
        _checked = True
        if not sys.platform.startswith("linux"):
            return None
        try:
            if not os.confstr("CS_GNU_LIBC_VERSION"):
                return None
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)   # calls release the GIL
            quick = ctypes.PyDLL(None)   # calls keep it: no wait to take it back afterwards
            for name in ("posix_spawn", "posix_spawn_file_actions_init",
                         "posix_spawn_file_actions_addopen", "posix_spawn_file_actions_adddup2",
                         "posix_spawn_file_actions_addclose", "posix_spawn_file_actions_destroy",
                         "posix_spawnattr_init", "posix_spawnattr_setflags",
                         "posix_spawnattr_setpgroup", "posix_spawnattr_setsigdefault",
                         "posix_spawnattr_setsigmask", "posix_spawnattr_destroy",
                         "sigemptyset", "sigaddset"):
                getattr(libc, name)
                getattr(quick, name)
            quick.posix_spawnattr_setflags.argtypes = [ctypes.c_void_p, ctypes.c_short]
            quick.posix_spawnattr_setpgroup.argtypes = [ctypes.c_void_p, ctypes.c_int]
            quick.posix_spawn_file_actions_addopen.argtypes = [
                ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
        except (OSError, ValueError, AttributeError, ImportError):
            return None
        _libc = (libc.posix_spawn, quick)
        return _libc


def nogil_available() -> bool:
    return _load() is not None


def spawn_threads(cores: int) -> int:
    """How many spawner threads a runner of `cores` uses: one per core up to 4, or 0 (jobs
    start on the driver's thread) without a GIL-free posix_spawn or when the environment
    says RULEKIT_SPAWN_THREADS=0 (a diagnostic switch; a number caps the threads)."""
    wanted = min(max(1, cores), 4)
    setting = os.environ.get("RULEKIT_SPAWN_THREADS", "").strip()
    if setting.isdigit():
        wanted = min(wanted, int(setting))
    return wanted if wanted and nogil_available() else 0


def _c_strings(items: Sequence[bytes]) -> Any:
    import ctypes

    return (ctypes.c_char_p * (len(items) + 1))(*items, None)


def posix_spawn_nogil(path: str, argv: Sequence[str], env: Mapping[str, str], *,
                      file_actions: Sequence[tuple[Any, ...]] = (),
                      setpgroup: int | None = None,
                      setsigdef: Sequence[int] = ()) -> int:
    """`os.posix_spawn` with the GIL released during the call (see the module docstring).
    Supports the file actions OPEN, DUP2 and CLOSE. Raises OSError as os.posix_spawn does."""
    loaded = _load()
    if loaded is None:
        kwargs: dict[str, Any] = {"setsigdef": setsigdef}
        if setpgroup is not None:
            kwargs["setpgroup"] = setpgroup
        return os.posix_spawn(path, list(argv), env, file_actions=list(file_actions), **kwargs)
    import ctypes

    spawn, libc = loaded   # only the spawn itself lets other threads run
    fencode = os.fsencode
    args = _c_strings([fencode(a) for a in argv])
    envp = _c_strings([fencode(k) + b"=" + fencode(v) for k, v in env.items()])
    fa = ctypes.create_string_buffer(_FA_SIZE)
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    libc.posix_spawn_file_actions_init(fa)
    libc.posix_spawnattr_init(attr)
    try:
        for action in file_actions:
            kind = action[0]
            if kind == os.POSIX_SPAWN_OPEN:
                _, fd, name, flags, mode = action
                rc = libc.posix_spawn_file_actions_addopen(fa, fd, fencode(name), flags, mode)
            elif kind == os.POSIX_SPAWN_DUP2:
                rc = libc.posix_spawn_file_actions_adddup2(fa, action[1], action[2])
            elif kind == os.POSIX_SPAWN_CLOSE:
                rc = libc.posix_spawn_file_actions_addclose(fa, action[1])
            else:
                raise ValueError(f"unknown file action {kind!r}")
            if rc:
                raise OSError(rc, os.strerror(rc))
        flags = _SETSIGMASK
        mask = ctypes.create_string_buffer(_SIGSET_SIZE)
        libc.sigemptyset(mask)
        libc.posix_spawnattr_setsigmask(attr, mask)
        if setsigdef:
            default = ctypes.create_string_buffer(_SIGSET_SIZE)
            libc.sigemptyset(default)
            for sig in setsigdef:
                libc.sigaddset(default, int(sig))
            libc.posix_spawnattr_setsigdefault(attr, default)
            flags |= _SETSIGDEF
        if setpgroup is not None:
            libc.posix_spawnattr_setpgroup(attr, setpgroup)
            flags |= _SETPGROUP
        libc.posix_spawnattr_setflags(attr, flags)
        pid = ctypes.c_int()
        rc = spawn(ctypes.byref(pid), fencode(path), fa, attr, args, envp)
        if rc:
            raise OSError(rc, os.strerror(rc), path)
        return pid.value
    finally:
        libc.posix_spawn_file_actions_destroy(fa)
        libc.posix_spawnattr_destroy(attr)


class SpawnPool:
    """Runs `start(request)` on up to `threads` helper threads, started on first use.

    take() hands back (request, result, error) for every finished start, error being the
    exception it raised (result None then); fileno() becomes readable when take() has
    something; `busy` counts requests not yet taken back."""

    def __init__(self, start: Callable[[Any], Any], threads: int = 2) -> None:
        self._start = start
        self._want = max(1, threads)
        self._threads: list[threading.Thread] = []
        self._todo: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[Any, Any, BaseException | None]] = queue.SimpleQueue()
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        self.busy = 0

    def fileno(self) -> int:
        return self._rfd

    def submit(self, request: Any) -> None:
        if len(self._threads) < min(self._want, self.busy + 1):
            t = threading.Thread(target=self._work, name="rulekit-spawn", daemon=True)
            t.start()
            self._threads.append(t)
        self.busy += 1
        self._todo.put(request)

    def _work(self) -> None:
        while True:
            request = self._todo.get()
            if request is None:
                return
            try:
                result, error = self._start(request), None
            except BaseException as exc:  # handed to the driver's thread, raised there
                result, error = None, exc
            self._done.put((request, result, error))
            try:
                os.write(self._wfd, b"x")
            except OSError:
                pass

    def take(self, block: bool = False) -> list[tuple[Any, Any, BaseException | None]]:
        """Finished starts; with `block`, wait until every submitted one has finished."""
        try:   # first: a result put after the queue is read leaves its byte for later
            os.read(self._rfd, 4096)
        except (BlockingIOError, InterruptedError):
            pass
        out = []
        while self.busy:
            try:
                item = self._done.get(block=block)
            except queue.Empty:
                break
            self.busy -= 1
            out.append(item)
        return out

    def close(self) -> None:
        """Wait for the starts under way and stop the threads."""
        for _ in self._threads:
            self._todo.put(None)
        for t in self._threads:
            t.join()
        self._threads.clear()
        for fd in (self._rfd, self._wfd):
            try:
                os.close(fd)
            except OSError:
                pass
