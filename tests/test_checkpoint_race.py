"""Checkpoints running in parallel (issue 9 item 5): `checkpoints.NAME.get()` hands out an
output only once its checkpoint job has finished successfully, never because the path
exists while the job is still writing it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

# split[b] writes its first part, then waits (at most 10 s) until aggregate[a] has run, which
# happens only after split[a] finished and the run re-planned; then it writes the rest. A
# re-plan that read parts/b while split[b] was still running would aggregate only b0.
RULES = """\
import os

SAMPLES = ["a", "b"]

rule all:
    input: expand("agg/{s}.txt", s=SAMPLES)

checkpoint split:
    input: "n/{s}.txt"
    output: directory("parts/{s}")
    shell:
        "mkdir {output}; echo {wildcards.s}0 > {output}/0.txt; "
        "if [ {wildcards.s} = b ]; then "
        "  for i in $(seq 200); do [ -e agg/a.txt ] && break; sleep 0.05; done; fi; "
        "for i in $(seq 1 $(($(cat {input}) - 1))); do "
        "  echo {wildcards.s}$i > {output}/$i.txt; done"

def parts(wildcards):
    folder = checkpoints.split.get(s=wildcards.s).output[0]
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))

rule aggregate:
    input: parts
    output: "agg/{s}.txt"
    shell: "cat {input} > {output}"
"""


def rulekit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _setup(wf: Path, n_a: int = 3, n_b: int = 4) -> None:
    wf.mkdir(exist_ok=True)
    (wf / "Rulesfile").write_text(RULES)
    (wf / "n").mkdir(exist_ok=True)
    (wf / "n" / "a.txt").write_text(f"{n_a}\n")
    (wf / "n" / "b.txt").write_text(f"{n_b}\n")


def _expected(sample: str, n: int) -> str:
    return "".join(f"{sample}{i}\n" for i in range(n))


@pytest.mark.slow
def test_parallel_checkpoints_aggregate_exactly_twenty_times(tmp_path: Path) -> None:
    wf = tmp_path / "wf"
    _setup(wf)
    start = time.monotonic()
    for attempt in range(20):
        shutil.rmtree(wf / "parts", ignore_errors=True)
        shutil.rmtree(wf / "agg", ignore_errors=True)
        done = rulekit("run", "--cores", "2", "-q", cwd=wf)
        assert done.returncode == 0, (attempt, done.stdout, done.stderr)
        assert done.stdout == "rulekit: ok: 5 of 5 jobs done in " + \
            done.stdout.rsplit(" in ", 1)[1], done.stdout
        assert (wf / "agg" / "a.txt").read_text() == _expected("a", 3), attempt
        assert (wf / "agg" / "b.txt").read_text() == _expected("b", 4), attempt
    elapsed = time.monotonic() - start
    print(f"20 runs in {elapsed:.1f}s")
    again = rulekit("plan", cwd=wf)
    assert again.returncode == 0
    assert again.stdout == "Nothing to do: all outputs are up to date.\n"


def test_checkpoint_that_reruns_is_waited_for(tmp_path: Path) -> None:
    """An existing, recorded checkpoint output whose job must run again is not handed out:
    the aggregate waits and then sees the new parts."""
    wf = tmp_path / "wf"
    _setup(wf)
    first = rulekit("run", "--cores", "2", "-q", cwd=wf)
    assert first.returncode == 0, first.stderr
    assert (wf / "agg" / "b.txt").read_text() == _expected("b", 4)
    (wf / "n" / "b.txt").write_text("6\n")
    plan = rulekit("plan", cwd=wf)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert any(line.startswith("split ") and "s=b" in line and "older than input n/b.txt"
               in line for line in lines), plan.stdout
    assert any(line.startswith("aggregate ") and "s=b" in line and
               line.endswith("input made by split[s=b], which runs") for line in lines), \
        plan.stdout
    assert "waiting for checkpoint split; inputs are known once it has run" in plan.stdout
    assert "s=a" not in plan.stdout
    done = rulekit("run", "--cores", "2", cwd=wf)
    assert done.returncode == 0, done.stderr
    assert (wf / "agg" / "b.txt").read_text() == _expected("b", 6)
    assert (wf / "agg" / "a.txt").read_text() == _expected("a", 3)
    assert "start aggregate[s=a]" not in done.stdout
    assert rulekit("plan", cwd=wf).stdout == "Nothing to do: all outputs are up to date.\n"


def test_checkpoint_left_incomplete_is_not_ready(tmp_path: Path) -> None:
    """A checkpoint output that exists but carries an incomplete marker (the run was
    killed, or the job failed under --keep-incomplete) is made again before it is read."""
    wf = tmp_path / "wf"
    _setup(wf)
    rules = RULES.replace('"mkdir {output}; ', '"mkdir {output}; [ -e fail ] && exit 3; ')
    (wf / "Rulesfile").write_text(rules)
    (wf / "fail").write_text("")
    failed = rulekit("run", "--cores", "2", "--keep-incomplete", "-k", cwd=wf)
    assert failed.returncode == 1
    assert sorted(p.name for p in (wf / "parts").iterdir()) == ["a", "b"]
    assert not (wf / "agg").exists()
    (wf / "fail").unlink()
    plan = rulekit("plan", cwd=wf)
    assert "output parts/a is incomplete" in plan.stdout, plan.stdout
    assert "waiting for checkpoint split" in plan.stdout
    done = rulekit("run", "--cores", "2", "-q", cwd=wf)
    assert done.returncode == 0, done.stderr
    assert (wf / "agg" / "a.txt").read_text() == _expected("a", 3)
    assert (wf / "agg" / "b.txt").read_text() == _expected("b", 4)
    assert rulekit("plan", cwd=wf).stdout == "Nothing to do: all outputs are up to date.\n"
