"""Fixes from a fresh-user trial, end to end through the CLI in temp dirs: jobs without
outputs, temp files another run reads, state leaking between run: bodies, unlock during a
live run, removed temps with changed params, clean of files rulekit never made, benchmark
files, script languages, and exact messages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX only")


def rk(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env=env)


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip())


def test_rule_with_inputs_and_a_body_but_no_outputs_runs_every_time(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule all:
            input: "in.txt"
            run:
                print("RUN BODY")
        ''')
    (tmp_path / "in.txt").write_text("x\n")
    for _ in range(2):
        done = rk(tmp_path, "run")
        assert done.returncode == 0, done.stderr
        assert "RUN BODY" in done.stdout
    plan = rk(tmp_path, "plan")
    assert "rule has no output files, so its body runs every time" in plan.stdout


def test_rule_all_without_a_body_plans_nothing_the_second_time(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule all:
            input: "out.txt"
        rule make:
            output: "out.txt"
            shell: "echo hi > {output}"
        ''')
    assert rk(tmp_path, "run").returncode == 0
    again = rk(tmp_path, "run")
    assert again.returncode == 0 and "Nothing to do" in again.stdout + again.stderr
    assert "Nothing to do" in rk(tmp_path, "plan").stdout
