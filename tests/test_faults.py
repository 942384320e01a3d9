"""Fault injection with real processes (issue 10 items 1-4, issue 17 items 5 and 7).

kill -9 of rulekit's whole process group in the middle of a job, Ctrl-C while a `shell()`
command that ignores SIGTERM runs under a `run:` body, two runs where one reads what the other
rewrites, and the store deleted after a crash or during a run. Each scenario runs several
times with the fault landing at a different moment, to catch races.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from test_state_cli import ok, plan_json, rk, rk_bg, wait_for, write

from rulekit.execution.procs import start_time

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc"),
              pytest.mark.slow]

# A job that writes part1, waits while `hang` exists (until `release` appears), then part2.
# An orphan of a killed run would append a second part2 once `release` appears.
SLOW_SHELL = """
rule all:
    input: "final.txt"

rule slow:
    output: "out.txt"
    shell: "echo $$ > jobpid; echo part1 > {output}; if [ -e hang ]; then while [ ! -e release ]; do sleep 0.02; done; fi; echo part2 >> {output}"

rule after:
    input: "out.txt"
    output: "final.txt"
    shell: "cat {input} > {output}"
"""

SLOW_RUN = """
rule all:
    input: "final.txt"

rule slow:
    output: "out.txt"
    run:
        shell("echo $$ > jobpid; echo part1 > {output}; if [ -e hang ]; then while [ ! -e release ]; do sleep 0.02; done; fi; echo part2 >> {output}")

rule after:
    input: "out.txt"
    output: "final.txt"
    shell: "cat {input} > {output}"
"""


@pytest.fixture(autouse=True)
def _no_job_outlives_its_test(tmp_path: Path):
    """A test that fails midway must not leave its waiting job behind (a stray loop would
    load the machine for the rest of the suite): release it and kill what is left."""
    yield
    (tmp_path / "release").touch()
    pidfile = tmp_path / "jobpid"
    try:
        pid = int(pidfile.read_text().strip())
        if os.readlink(f"/proc/{pid}/cwd") != str(tmp_path):
            return   # gone, or the pid now belongs to someone else
    except (OSError, ValueError):
        return
    for kill, target in ((os.killpg, pid), (os.kill, pid)):
        try:
            kill(target, signal.SIGKILL)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    """True for a live process (a zombie waiting for its parent counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return data[data.rindex(b")") + 2:data.rindex(b")") + 3] != b"Z"


def _children(pid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if int(data[data.rindex(b")") + 2:].split()[1]) == pid:
                out.append(int(name))
    return out


def _watchdog_of(driver: int) -> int | None:
    for pid in _children(driver):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if b"killpg" in cmd:
            return pid
    return None


def _job_pid(root: Path) -> int:
    wait_for(lambda: (root / "jobpid").exists() and (root / "jobpid").read_text().strip()
             and (root / "out.txt").exists())
    return int((root / "jobpid").read_text())


def _kill_mid_job(root: Path, rules: str, *, kill_watchdog: bool) -> int:
    """Start a run, SIGKILL its whole process group while the job runs; the job's pid."""
    write(root, "Rulesfile", rules)
    (root / "hang").touch()
    with rk_bg(root, "run", "--cores", "1") as proc:
        pid = _job_pid(root)
        time.sleep(random.uniform(0, 0.2))
        if kill_watchdog:
            dog = _watchdog_of(proc.pid)
            assert dog is not None
            os.kill(dog, signal.SIGKILL)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert (root / "out.txt").read_text() == "part1\n"
    return pid


def _rerun_is_exact(root: Path, orphan: int) -> None:
    (root / "hang").unlink()
    res = ok(rk(root, "run", "--cores", "1"))
    assert not _alive(orphan), "the orphan survived the rerun's start"
    (root / "release").touch()   # a surviving orphan would now append a second part2
    time.sleep(0.2)
    assert (root / "out.txt").read_text() == "part1\npart2\n"
    assert (root / "final.txt").read_text() == "part1\npart2\n"
    assert plan_json(root) == []
    return res  # type: ignore[return-value]


@pytest.mark.parametrize("rules", [SLOW_SHELL, SLOW_RUN], ids=["shell", "run-shell"])
@pytest.mark.parametrize("trial", range(2))
def test_kill9_group_jobs_die_with_rulekit(tmp_path: Path, rules: str, trial: int) -> None:
    """The watchdog ends the job's whole group when rulekit dies."""
    pid = _kill_mid_job(tmp_path, rules, kill_watchdog=False)
    wait_for(lambda: not _alive(pid), timeout=10)
    _rerun_is_exact(tmp_path, pid)


@pytest.mark.parametrize("trial", range(3))
def test_kill9_orphan_ended_by_rerun(tmp_path: Path, trial: int) -> None:
    """Even when nothing killed the job (watchdog killed too), the rerun ends it first."""
    pid = _kill_mid_job(tmp_path, SLOW_SHELL, kill_watchdog=True)
    assert _alive(pid)
    try:
        res = _rerun_is_exact(tmp_path, pid)
        assert "ended process group" in res.stderr  # type: ignore[attr-defined]
    finally:
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)


def test_orphan_check_spares_a_reused_pid(tmp_path: Path) -> None:
    from rulekit.execution.procs import end_group

    me = os.getpid()
    assert end_group(me, os.getpgid(0), start_time(me)) is False     # never our own group
    assert end_group(me, me, (start_time(me) or 0) + 1) is False      # another start time


IGNORES_TERM = """
rule all:
    input: "out.txt"

rule slow:
    output: "out.txt"
    run:
        shell("trap '' TERM; echo $$ > jobpid; echo part1 > {output}; while [ ! -e release ]; do sleep 0.02; done; echo part2 >> {output}")
"""


@pytest.mark.parametrize(("keep", "trial"), [(False, 0), (False, 1), (True, 0)],
                         ids=["remove-0", "remove-1", "keep-incomplete"])
def test_ctrl_c_kills_term_ignoring_shell_in_run_body(tmp_path: Path, trial: int,
                                                      keep: bool) -> None:
    write(tmp_path, "Rulesfile", IGNORES_TERM)
    args = ["run", "--cores", "1"] + (["--keep-incomplete"] if keep else [])
    with rk_bg(tmp_path, *args) as proc:
        pid = _job_pid(tmp_path)
        time.sleep(random.uniform(0, 0.2))
        os.killpg(proc.pid, signal.SIGINT)   # what a terminal's Ctrl-C does
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert not _alive(pid), "a SIGTERM-ignoring command outlived exit 130"
    if keep:
        assert (tmp_path / "out.txt").read_text() == "part1\n"
        assert "kept (--keep-incomplete)" in err
        assert plan_json(tmp_path)[0][1] == [
            "output out.txt is incomplete (an earlier run was interrupted or failed)"]
    else:
        assert not (tmp_path / "out.txt").exists()
    (tmp_path / "release").touch()
    ok(rk(tmp_path, "run", "--cores", "1"))
    assert (tmp_path / "out.txt").read_text() == "part1\npart2\n"


READER = """
rule all:
    input: "b.txt"

rule a:
    output: "a.txt"
    shell: "echo a1 > {output}; while [ ! -e go-a ]; do sleep 0.02; done; echo a2 >> {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "touch b-started; while [ ! -e go-b ]; do sleep 0.02; done; cat {input} > {output}"
"""


@pytest.mark.parametrize("trial", range(2))
def test_writer_blocked_while_reader_runs(tmp_path: Path, trial: int) -> None:
    write(tmp_path, "Rulesfile", READER)
    (tmp_path / "go-a").touch()
    ok(rk(tmp_path, "run", "a.txt"))
    (tmp_path / "go-a").unlink()
    with rk_bg(tmp_path, "run", "b.txt", "--cores", "1") as reader:   # reads a.txt
        wait_for(lambda: (tmp_path / "b-started").exists())
        writer = rk(tmp_path, "run", "a.txt", "--force", timeout=30)
        assert writer.returncode == 3, writer.stdout + writer.stderr
        assert "error: outputs are being read by another rulekit run" in writer.stderr
        assert f"pid {reader.pid}" in writer.stderr
        assert "a.txt" in writer.stderr
        (tmp_path / "go-b").touch()
        out, err = reader.communicate(timeout=30)
        assert reader.returncode == 0, out + err
    assert (tmp_path / "b.txt").read_text() == "a1\na2\n"


def test_reader_blocked_while_writer_runs(tmp_path: Path) -> None:
    write(tmp_path, "Rulesfile", READER)
    (tmp_path / "go-a").touch()
    (tmp_path / "go-b").touch()
    ok(rk(tmp_path, "run"))
    (tmp_path / "go-a").unlink()
    with rk_bg(tmp_path, "run", "a.txt", "--force", "--cores", "1") as writer:
        wait_for(lambda: (tmp_path / "a.txt").exists()
                 and (tmp_path / "a.txt").read_text() == "a1\n")
        # b.txt's job must not run on the half-written a.txt, whatever the plan says.
        reader = rk(tmp_path, "run", "b.txt", "--forcerun", "b", timeout=30)
        assert reader.returncode == 3, reader.stdout + reader.stderr
        assert f"pid {writer.pid}" in reader.stderr
        assert "a.txt" in reader.stderr
        assert (tmp_path / "b.txt").read_text() == "a1\na2\n"   # untouched
        (tmp_path / "go-a").touch()
        out, err = writer.communicate(timeout=30)
        assert writer.returncode == 0, out + err
    ok(rk(tmp_path, "run"))
    assert (tmp_path / "b.txt").read_text() == "a1\na2\n"
    assert plan_json(tmp_path) == []


@pytest.mark.parametrize("trial", range(2))
def test_store_deleted_after_crash(tmp_path: Path, trial: int) -> None:
    pid = _kill_mid_job(tmp_path, SLOW_SHELL, kill_watchdog=False)
    wait_for(lambda: not _alive(pid), timeout=10)
    shutil.rmtree(tmp_path / ".rulekit")
    (tmp_path / "hang").unlink()
    res = ok(rk(tmp_path, "run", "--cores", "1"))
    assert "treated as incomplete and will be rebuilt: out.txt" in res.stderr
    assert (tmp_path / "out.txt").read_text() == "part1\npart2\n"
    assert (tmp_path / "final.txt").read_text() == "part1\npart2\n"
    assert plan_json(tmp_path) == []


@pytest.mark.parametrize("trial", range(2))
def test_store_deleted_during_run(tmp_path: Path, trial: int) -> None:
    write(tmp_path, "Rulesfile", SLOW_SHELL)
    (tmp_path / "hang").touch()
    with rk_bg(tmp_path, "run", "--cores", "1") as first:
        _job_pid(tmp_path)
        shutil.rmtree(tmp_path / ".rulekit")
        second = rk(tmp_path, "run", "--cores", "1", timeout=30)   # the lock survived
        assert second.returncode == 3, second.stdout + second.stderr
        assert "outputs are locked by another rulekit run" in second.stderr
        (tmp_path / "release").touch()
        out, err = first.communicate(timeout=30)
        assert first.returncode == 0, out + err
        assert "was deleted or replaced during this run" in err
    assert (tmp_path / "final.txt").read_text() == "part1\npart2\n"
    (tmp_path / "hang").unlink()
    ok(rk(tmp_path, "run", "--cores", "1"))
    assert (tmp_path / "final.txt").read_text() == "part1\npart2\n"


def test_clean_waits_for_no_one_and_removes_nothing_a_run_reads(tmp_path: Path) -> None:
    write(tmp_path, "Rulesfile", READER)
    (tmp_path / "go-a").touch()
    ok(rk(tmp_path, "run", "a.txt"))
    with rk_bg(tmp_path, "run", "b.txt", "--cores", "1") as reader:   # reads a.txt
        wait_for(lambda: (tmp_path / "b-started").exists())
        res = rk(tmp_path, "clean", "a.txt", timeout=30)
        assert res.returncode == 3, res.stdout + res.stderr
        assert "error: outputs are being read by another rulekit run" in res.stderr
        assert res.stdout == ""
        assert (tmp_path / "a.txt").read_text() == "a1\na2\n"
        (tmp_path / "go-b").touch()
        out, err = reader.communicate(timeout=30)
        assert reader.returncode == 0, out + err
    assert (tmp_path / "b.txt").read_text() == "a1\na2\n"
