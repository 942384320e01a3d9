"""Run lines on output that is not a terminal: held only while the scheduler is busy and
written once per step, so a running job's "start" line is out before the job ends, and
lines keep their order with what the rule file's handlers print."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

RULES = """
onstart:
    print("onstart handler", flush=True)

onsuccess:
    print("onsuccess handler", flush=True)

rule all:
    input: "b.txt"

rule a:
    output: "a.txt"
    shell: "while [ ! -e release ]; do sleep 0.02; done; echo a > {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "cp {input} {output}"
"""


def test_start_line_is_out_while_the_job_runs_and_order_is_kept(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(RULES)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("PYTHONUNBUFFERED", None)
    proc = subprocess.Popen([sys.executable, "-m", "rulekit", "run", "--cores", "1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        deadline = time.time() + 60
        while not any(line.rstrip().endswith("start a") for line in list(seen)):
            assert time.time() < deadline and proc.poll() is None, "".join(seen)
            time.sleep(0.05)
        assert not (tmp_path / "a.txt").exists()   # the job is still waiting
    finally:
        (tmp_path / "release").touch()
        proc.wait(timeout=60)
        reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr.read()
    lines = [line.rstrip() for line in seen]
    steps = [line.split("] ", 1)[1] if line.startswith("[") else line for line in lines]
    assert steps[:3] == ["rulekit: 3 jobs to run", "onstart handler", "start a"]
    assert [s.split(" (")[0] for s in steps if s.startswith(("start", "done"))] == [
        "start a", "done  a", "start b", "done  b", "start all", "done  all"]
    assert steps[-1] == "onsuccess handler"
