"""rulekit.state.locks: output-set locks across real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from rulekit.core.errors import LockError
from rulekit.state.locks import OutputLock, lock_dir, unlock

REPO = Path(__file__).resolve().parents[1]

HOLDER = """
    import sys, time
    from rulekit.state.locks import OutputLock
    lock = OutputLock(sys.argv[1], sys.argv[2].split(","), ["rulekit", "run", "holder"])
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.readline()   # hold until the test closes stdin (or kills us)
    lock.release()
"""


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def hold(holders: list[subprocess.Popen[str]], root: Path, outputs: list[str]) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(root),
                             ",".join(outputs)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    holders.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "locked", proc.stderr.read() if proc.stderr else ""
    return proc


def test_overlap_conflicts_with_a_message(tmp_path: Path, holders: list) -> None:
    proc = hold(holders, tmp_path, [f"out/{i}.txt" for i in range(30)])
    lock = OutputLock(tmp_path, ["./out/3.txt", "mine.txt"] + [f"out/{i}.txt" for i in range(10, 25)])
    with pytest.raises(LockError) as info:
        lock.acquire()
    err = info.value
    assert err.exit_code == 3 and not lock.locked
    text = err.show()
    assert "outputs are locked by another rulekit run" in text
    assert f"pid {proc.pid} on {socket.gethostname()}, started " in text
    assert "rulekit run holder" in text
    assert "out/10.txt" in text and "mine.txt" not in text  # sorted, first ten shown
    assert "... and 6 more" in text  # 16 overlapping, 10 shown
    assert "rulekit unlock" in text


def test_absolute_paths_overlap_relative_ones(tmp_path: Path, holders: list) -> None:
    hold(holders, tmp_path, ["a/b.txt"])
    with pytest.raises(LockError):
        OutputLock(tmp_path, [str(tmp_path / "a" / "x" / ".." / "b.txt")]).acquire()


def test_disjoint_runs_proceed_together(tmp_path: Path, holders: list) -> None:
    hold(holders, tmp_path, ["a.txt", "b.txt"])
    hold(holders, tmp_path, ["c.txt"])
    with OutputLock(tmp_path, ["d.txt", "e.txt"]) as lock:
        assert lock.locked
        with pytest.raises(LockError):  # in-process locks see each other too
            OutputLock(tmp_path, ["e.txt"]).acquire()
    assert not lock.locked
    with OutputLock(tmp_path, ["e.txt"]):
        pass


def test_release_frees_outputs(tmp_path: Path, holders: list) -> None:
    proc = hold(holders, tmp_path, ["a.txt"])
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    with OutputLock(tmp_path, ["a.txt"]):
        pass
    assert [n for n in os.listdir(lock_dir(tmp_path)) if n.startswith("run-")] == []


def test_sigkilled_holder_blocks_nobody(tmp_path: Path, holders: list) -> None:
    proc = hold(holders, tmp_path, ["a.txt", "b.txt"])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with OutputLock(tmp_path, ["b.txt"]) as lock:
        assert lock.locked
    # The dead run's records were cleaned up on the way.
    assert [n for n in os.listdir(lock_dir(tmp_path)) if n.startswith("run-")] == []


def test_unlock_clears_records(tmp_path: Path) -> None:
    assert unlock(tmp_path) == []
    lock = OutputLock(tmp_path, ["a.txt"])
    lock.acquire()
    removed = unlock(tmp_path, force=True)   # a live holder (this process) needs --force
    assert any(n.endswith(".json") for n in removed)
    with OutputLock(tmp_path, ["a.txt"]):  # the record is gone, so nobody is blocked
        pass
    lock.release()  # releasing after unlock is harmless
