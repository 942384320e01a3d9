"""Shell jobs started on helper threads (rulekit/execution/spawner.py): the child that
`posix_spawn_nogil` makes on a helper thread is the child `os.posix_spawn` makes on the main
thread with the same arguments (output, exit status, process group, signal mask and
dispositions, environment), failures raise the same OSError, and SpawnPool hands every
result and error back.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from rulekit.execution.spawner import SpawnPool, nogil_available, posix_spawn_nogil, spawn_threads

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

_DEFAULTS = (signal.SIGPIPE, signal.SIGXFSZ)
# What the child reports about itself: its process group against its pid,
# the ignored and caught signals, its arguments and one variable of its environment.
_PROBE = ('echo "pgid=$(($(cut -d" " -f5 /proc/self/stat) == $$))"; '
          "grep -E '^(SigIgn|SigCgt)' /proc/$$/status; "
          'echo "args=$#:$1|$2 var=$PROBE_VAR"; seq 1 100000 | head -1; exit 7')
_COMMANDS = [
    ["/bin/sh", "-c", _PROBE, "probe", "one", "two three"],
    ["/bin/sh", "-c", "echo out; echo err >&2; exit 0"],
    ["/bin/sh", "-c", "kill -TERM $$"],
    ["/bin/cat", "/nonexistent/file"],
    ["/bin/grep", "-E", "^(SigBlk|SigIgn|SigCgt)", "/proc/self/status"],   # the child itself
]


def _run(spawn: Any, argv: list[str], out: Path, on_thread: bool) -> tuple[str, int]:
    env = {**os.environ, "PROBE_VAR": "x y"}
    with open(out, "w+b") as fh:
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, fh.fileno(), 1), (os.POSIX_SPAWN_DUP2, fh.fileno(), 2)]
        got: list[int] = []

        def start() -> None:
            got.append(spawn(argv[0], argv, env, file_actions=actions, setpgroup=0,
                             setsigdef=_DEFAULTS))

        if on_thread:
            t = threading.Thread(target=start)
            t.start()
            t.join()
        else:
            start()
        _, status = os.waitpid(got[0], 0)
        fh.seek(0)
        return fh.read().decode(), os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(not nogil_available(), reason="needs glibc's posix_spawn through ctypes")
@pytest.mark.parametrize("argv", _COMMANDS, ids=["probe", "streams", "signalled", "failing", "signals"])
def test_helper_thread_child_is_the_os_posix_spawn_child(tmp_path: Path, argv: list[str]) -> None:
    old = signal.signal(signal.SIGUSR1, lambda *_: None)   # a caught signal is reset in both
    try:
        expected = _run(os.posix_spawn, argv, tmp_path / "a", on_thread=False)
        got = _run(posix_spawn_nogil, argv, tmp_path / "b", on_thread=True)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert got == expected
    if _PROBE in argv:
        assert "pgid=1" in got[0] and "args=2:one|two three var=x y" in got[0]
        assert got[0].splitlines()[-1] == "1" and got[1] == 7   # SIGPIPE at default: no error


@pytest.mark.skipif(not nogil_available(), reason="needs glibc's posix_spawn through ctypes")
def test_failures_raise_the_same_oserror(tmp_path: Path) -> None:
    for path in (str(tmp_path / "missing"), str(tmp_path)):
        errors = []
        for spawn in (os.posix_spawn, posix_spawn_nogil):
            with pytest.raises(OSError) as info:
                spawn(path, [path], dict(os.environ))
            errors.append(info.value.errno)
        assert errors[0] == errors[1] and errors[0] in (errno.ENOENT, errno.EACCES)


def test_pool_hands_back_results_and_errors() -> None:
    def start(n: int) -> int:
        if n == 3:
            raise OSError(errno.ENOENT, "no such program")
        return n * 10

    pool = SpawnPool(start, threads=2)
    try:
        for n in range(6):
            pool.submit(n)
        got = pool.take(block=True)
        assert pool.busy == 0
        assert sorted(r for _, r, e in got if e is None) == [0, 10, 20, 40, 50]
        assert [(n, type(e)) for n, _, e in got if e is not None] == [(3, FileNotFoundError)]
        assert pool.take() == []
    finally:
        pool.close()


def test_the_switch_turns_threads_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RULEKIT_SPAWN_THREADS", "0")
    assert spawn_threads(8) == 0
    monkeypatch.setenv("RULEKIT_SPAWN_THREADS", "1")
    assert spawn_threads(8) == (1 if nogil_available() else 0)
    monkeypatch.delenv("RULEKIT_SPAWN_THREADS")
    assert spawn_threads(2) == (2 if nogil_available() else 0)
