"""State end to end through the CLI, in subprocesses: crash recovery after SIGKILL of the
whole process group, locks between concurrent runs, a corrupt store, rerun triggers and
checksum early cutoff (issue 5, "Done when")."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rulekit.state.locks import lock_dir

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")


def rk(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env=_env())


@contextlib.contextmanager
def rk_bg(cwd: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """rulekit in the background, in a session of its own (the driver, its workers and
    their shells form one process group); the group is killed if it outlives the block."""
    proc = subprocess.Popen([sys.executable, "-m", "rulekit", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
                            start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def plan_json(root: Path, *args: str) -> list[tuple[str, list[str]]]:
    out = ok(rk(root, "plan", "--format", "json", *args)).stdout
    jobs = json.loads(out)["jobs"]
    return [(j["rule"], [r["text"] for r in j["reasons"]]) for j in jobs]


def started(output: str) -> list[str]:
    return [line.split("start ", 1)[1].strip() for line in output.splitlines()
            if "] start " in line]


# --------------------------------------------------------------------------- crash recovery

def test_sigkill_of_process_group_then_rerun(tmp_path: Path) -> None:
    write(tmp_path, "Rulesfile", """
        rule all:
            input: "final.txt"

        rule slow:
            output: "out.txt"
            shell: "echo partial > {output}; if [ -e hang ]; then sleep 60; fi; echo done >> {output}"

        rule after:
            input: "out.txt"
            output: "final.txt"
            shell: "cat {input} > {output}"
    """)
    (tmp_path / "hang").touch()
    with rk_bg(tmp_path, "run", "--cores", "1") as proc:
        wait_for(lambda: (tmp_path / "out.txt").exists())
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "out.txt").read_text() == "partial\n"  # a half-written output
    (tmp_path / "hang").unlink()
    # The next plan knows, with no extra flag; the next run reruns it and gets it right.
    plan = plan_json(tmp_path)
    assert plan[0] == ("slow", ["output out.txt is incomplete (an earlier run was "
                                "interrupted or failed)"])
    ok(rk(tmp_path, "run", "--cores", "1"))
    assert (tmp_path / "out.txt").read_text() == "partial\ndone\n"
    assert (tmp_path / "final.txt").read_text() == "partial\ndone\n"
    assert plan_json(tmp_path) == []


# --------------------------------------------------------------------------- locks

LOCKED = """
rule all:
    input: "a.txt", "b.txt"

rule make:
    output: "{name}.txt"
    shell: "while [ ! -e go-{wildcards.name} ]; do sleep 0.02; done; echo {wildcards.name} > {output}"
"""


def _holding(root: Path) -> bool:
    locks = Path(lock_dir(root))
    return locks.is_dir() and any(p.suffix == ".json" for p in locks.iterdir())


def test_overlapping_runs_second_exits_3(tmp_path: Path) -> None:
    write(tmp_path, "Rulesfile", LOCKED)
    with rk_bg(tmp_path, "run", "a.txt", "--cores", "1") as holder:
        wait_for(lambda: _holding(tmp_path))
        t0 = time.monotonic()
        second = rk(tmp_path, "run", "--cores", "2", timeout=30)
        assert time.monotonic() - t0 < 15  # at once, not after the holder
        assert second.returncode == 3, second.stdout + second.stderr
        err = second.stderr
        assert "outputs are locked by another rulekit run" in err
        assert f"pid {holder.pid}" in err
        assert "a.txt" in err
        assert not (tmp_path / "b.txt").exists()  # nothing ran
        (tmp_path / "go-a").touch()
        out, err = holder.communicate(timeout=30)
        assert holder.returncode == 0, out + err
    (tmp_path / "go-b").touch()
    ok(rk(tmp_path, "run", "--cores", "2"))
    assert (tmp_path / "a.txt").read_text() == "a\n"
    assert (tmp_path / "b.txt").read_text() == "b\n"


def test_disjoint_runs_proceed_together(tmp_path: Path) -> None:
    write(tmp_path, "Rulesfile", LOCKED)
    with rk_bg(tmp_path, "run", "a.txt", "--cores", "1") as first:
        wait_for(lambda: _holding(tmp_path))
        (tmp_path / "go-b").touch()
        ok(rk(tmp_path, "run", "b.txt", "--cores", "1", timeout=30))  # while first holds a.txt
        assert first.poll() is None
        (tmp_path / "go-a").touch()
        out, err = first.communicate(timeout=30)
        assert first.returncode == 0, out + err
    assert (tmp_path / "a.txt").read_text() == "a\n"
    assert (tmp_path / "b.txt").read_text() == "b\n"
    assert plan_json(tmp_path) == []


def test_killed_holder_blocks_nobody(tmp_path: Path) -> None:
    write(tmp_path, "Rulesfile", LOCKED)
    with rk_bg(tmp_path, "run", "a.txt", "--cores", "1") as holder:
        wait_for(lambda: _holding(tmp_path))
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    (tmp_path / "go-a").touch()
    (tmp_path / "go-b").touch()
    ok(rk(tmp_path, "run", "--cores", "2"))
    assert (tmp_path / "a.txt").read_text() == "a\n"
    assert "Released" in ok(rk(tmp_path, "unlock")).stdout


# --------------------------------------------------------------------------- store

CHAIN = """
rule all:
    input: "c.txt"

rule a:
    input: "raw.txt"
    output: "a.txt"
    params: n=1
    shell: "wc -l < {input} > {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "cat {input} {input} > {output}"

rule c:
    input: "b.txt"
    output: "c.txt"
    shell: "cat {input} > {output}"
"""


def chain(root: Path) -> None:
    write(root, "Rulesfile", CHAIN)
    write(root, "raw.txt", "one\ntwo\n")


def test_corrupt_store_is_survived(tmp_path: Path) -> None:
    chain(tmp_path)
    ok(rk(tmp_path, "run", "--cores", "1"))
    mtimes = {n: os.stat(tmp_path / n).st_mtime_ns for n in ("a.txt", "b.txt", "c.txt")}
    db = tmp_path / ".rulekit" / "metadata.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database at all" * 200)
    proc = ok(rk(tmp_path, "run", "--cores", "1"))
    assert "corrupt" in proc.stderr and "warning" in proc.stderr.lower()
    # Every output kept, nothing rerun (timestamps say up to date), the store rebuilt.
    assert {n: os.stat(tmp_path / n).st_mtime_ns for n in mtimes} == mtimes
    assert list((tmp_path / ".rulekit").glob("metadata.db.corrupt-*"))
    again = ok(rk(tmp_path, "run", "--cores", "1"))
    assert "corrupt" not in again.stderr
    ok(rk(tmp_path, "summary", "--format", "json"))


def test_triggers_through_the_cli(tmp_path: Path) -> None:
    chain(tmp_path)
    ok(rk(tmp_path, "run", "--cores", "1"))
    rules = tmp_path / "Rulesfile"
    rules.write_text(rules.read_text().replace("n=1", "n=2"))
    assert plan_json(tmp_path)[0] == ("a", ["param n changed: 1 -> 2"])
    assert plan_json(tmp_path, "--rerun-triggers", "mtime") == []
    check = rk(tmp_path, "plan", "--check")
    assert check.returncode == 1
    assert started(ok(rk(tmp_path, "run", "--cores", "1")).stdout) == ["a", "b", "c", "all"]
    assert plan_json(tmp_path) == []


def test_checksum_early_cutoff_skips_downstream(tmp_path: Path) -> None:
    chain(tmp_path)
    ok(rk(tmp_path, "run", "--cores", "1", "--rerun-triggers", "checksum"))
    b_before = os.stat(tmp_path / "b.txt").st_mtime_ns
    # New content, same line count: a reruns and writes the very same a.txt.
    time.sleep(0.01)
    write(tmp_path, "raw.txt", "uno\ndos\n")
    proc = ok(rk(tmp_path, "run", "--cores", "1", "--rerun-triggers", "checksum"))
    ran = started(proc.stdout)
    assert "a" in ran and "b" not in ran and "c" not in ran, proc.stdout
    assert os.stat(tmp_path / "b.txt").st_mtime_ns == b_before
    assert (tmp_path / "c.txt").read_text() == "2\n2\n"
    assert plan_json(tmp_path, "--rerun-triggers", "checksum") == []
    # Different content does run downstream.
    write(tmp_path, "raw.txt", "one\ntwo\nthree\n")
    proc = ok(rk(tmp_path, "run", "--cores", "1", "--rerun-triggers", "checksum"))
    assert started(proc.stdout)[:3] == ["a", "b", "c"]
    assert (tmp_path / "c.txt").read_text() == "3\n3\n"


# --------------------------------------------------------------------------- commands

def test_summary_provenance_clean_commands(tmp_path: Path) -> None:
    chain(tmp_path)
    ok(rk(tmp_path, "run", "--cores", "1"))
    rows = json.loads(ok(rk(tmp_path, "summary", "--format", "json")).stdout)["outputs"]
    assert [(r["path"], r["status"]) for r in rows] == [
        ("a.txt", "ok"), ("b.txt", "ok"), ("c.txt", "ok")]
    csv = ok(rk(tmp_path, "summary", "--format", "csv")).stdout
    assert csv.splitlines()[0].startswith("path,exists,rule")
    tree = json.loads(ok(rk(tmp_path, "provenance", "c.txt", "--format", "json")).stdout)
    assert tree["rule"] == "c"
    assert tree["inputs"][0]["inputs"][0]["inputs"][0]["path"] == "raw.txt"
    assert tree["inputs"][0]["inputs"][0]["inputs"][0]["source"] is True
    text = ok(rk(tmp_path, "provenance", "c.txt")).stdout
    assert "raw.txt  [source file" in text
    dry = ok(rk(tmp_path, "clean", "--dry-run")).stdout
    assert "raw.txt" not in dry and "would remove a.txt" in dry
    assert (tmp_path / "a.txt").exists()
    ok(rk(tmp_path, "clean"))
    assert not (tmp_path / "a.txt").exists() and (tmp_path / "raw.txt").exists()
    rows = json.loads(ok(rk(tmp_path, "summary", "--format", "json")).stdout)["outputs"]
    assert {r["status"] for r in rows} == {"missing"}
    assert all(r["last_run"] is None for r in rows)  # records went with the files
