"""Rebuild edge cases end to end (issue 9): changed inputs with older times, future times.

Every test drives `python -m rulekit` in a temp folder and runs the workflow twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rulekit.reasons import format_ns

RULES = """\
rule all:
    input: "out.txt"

rule make:
    input: "in.txt"
    output: "out.txt"
    shell: "cp {input} {output}"
"""


def rulekit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def ok(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = rulekit(*args, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _mtime(path: Path) -> int:
    return os.stat(path).st_mtime_ns


def test_input_restored_with_older_mtime_is_a_change(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(RULES)
    backup = tmp_path / "backup.txt"
    backup.write_text("old\n")
    old_t = 1_577_836_800 * 10**9  # 2020-01-01
    os.utime(backup, ns=(old_t, old_t))
    (tmp_path / "in.txt").write_text("new\n")
    ok("run", "-q", cwd=tmp_path)
    assert (tmp_path / "out.txt").read_text() == "new\n"
    made_t = _mtime(tmp_path / "in.txt")
    shutil.copy2(backup, tmp_path / "in.txt")  # cp -p: the old content, with its old mtime

    plan = rulekit("plan", "--check", cwd=tmp_path)
    assert plan.returncode == 1
    assert (f"input in.txt changed since out.txt was made: mtime {format_ns(made_t)} -> "
            f"{format_ns(old_t)}, size 4 -> 4 bytes") in plan.stdout
    ok("run", "-q", cwd=tmp_path)
    assert (tmp_path / "out.txt").read_text() == "old\n"
    assert ok("plan", cwd=tmp_path).stdout.strip() == "Nothing to do: all outputs are up to date."


def test_input_of_other_size_with_same_mtime_is_a_change(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(RULES)
    (tmp_path / "in.txt").write_text("one\n")
    ok("run", "-q", cwd=tmp_path)
    t = _mtime(tmp_path / "in.txt")
    (tmp_path / "in.txt").write_text("three\n")
    os.utime(tmp_path / "in.txt", ns=(t, t))  # same mtime, other size (e.g. tar x)
    plan = rulekit("plan", "--format", "json", cwd=tmp_path)
    reason = __import__("json").loads(plan.stdout)["jobs"][0]["reasons"][0]
    assert reason["kind"] == "input-changed"
    assert (reason["old_size"], reason["new_size"], reason["old_mtime"], reason["new_mtime"]) \
        == (4, 6, t, t)
    assert reason["text"] == (f"input in.txt changed since out.txt was made: mtime "
                              f"{format_ns(t)} -> {format_ns(t)}, size 4 -> 6 bytes")
    ok("run", "-q", cwd=tmp_path)
    assert (tmp_path / "out.txt").read_text() == "three\n"
    assert ok("plan", cwd=tmp_path).stdout.strip() == "Nothing to do: all outputs are up to date."


def test_future_mtime_warns_once_on_every_planning_command(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(RULES)
    (tmp_path / "in.txt").write_text("x\n")
    future = time.time_ns() + (5 * 86400 + 3600) * 10**9
    os.utime(tmp_path / "in.txt", ns=(future, future))
    warning = (f"warning: in.txt has a modification time 5 days in the future "
               f"({format_ns(future)}); check the clock\n")
    for args in (["plan"], ["plan", "--format", "json"], ["run", "-n"], ["dag"],
                 ["run", "-q"], ["run", "-q"], ["summary"]):
        done = ok(*args, cwd=tmp_path)
        assert done.stderr == warning, (args, done.stderr)
        assert "warning" not in done.stdout, args
    assert (tmp_path / "out.txt").read_text() == "x\n"
