"""A checkpoint end to end: the plan waits for it, the run re-plans after it."""

import shutil
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data" / "checkpoint"


def rulekit(*args, cwd):
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_checkpoint_replans_and_aggregates(tmp_path):
    shutil.copytree(DATA, tmp_path / "wf", ignore=shutil.ignore_patterns(".rulekit"))
    wf = tmp_path / "wf"
    plan = rulekit("plan", cwd=wf)
    assert "waiting for checkpoint split; inputs are known once it has run" in plan.stdout
    assert "double" not in plan.stdout  # unknown until the checkpoint has run
    done = rulekit("run", "--cores", "2", cwd=wf)
    assert done.returncode == 0, done.stderr
    assert "start double[p=p3]" in done.stdout
    assert (wf / "total.txt").read_text() == "12\n"
    assert "Nothing to do" in rulekit("plan", cwd=wf).stdout
