"""`rulekit run --executor slurm` end to end on a real one-node SLURM (tests/slurm/cluster.sh):
the records example gives the outputs and metadata of a local run, the worker jobs show in
`sacct` and are gone from `squeue` afterwards; jobs bigger than any worker are refused before
anything runs; Ctrl-C cancels the worker jobs and exits 130. The commands are the ones
docs/cluster.md gives."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jobhelp import rk, write
from slurmhelp import slurm  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("slurm")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# docs/cluster.md, "Try it on one machine": everything on the loopback interface
ENV = {"DASK_JOBQUEUE__SLURM__INTERFACE": "lo"}
SLURM = ["--executor", "slurm", "--max-workers", "2", "--worker-cores", "1",
         "--worker-mem", "1GB"]
VOLATILE = {"mtime", "mtime_ns", "start", "end", "duration", "run_id", "last_run"}


def squeue_names(folder: Path) -> list[str]:
    """Names of the queued or running jobs submitted from `folder` (a test's workflow):
    other test sessions may share the cluster, so only a test's own jobs count."""
    out = subprocess.run(["squeue", "-h", "-o", "%j|%Z"], capture_output=True, text=True,
                         check=True).stdout
    rows = [line.split("|", 1) for line in out.splitlines() if "|" in line]
    return [name for name, workdir in rows if Path(workdir) == folder]


def worker_jobs(stderr: str) -> tuple[str, list[str]]:
    """The run's worker job name and ids, from its closing SLURM line."""
    m = re.search(r"SLURM worker jobs ([0-9, ]+) \((rulekit-[0-9a-f]+)\)", stderr)
    assert m, stderr
    return m.group(2), m.group(1).split(", ")


def sacct(ids: list[str]) -> dict[str, tuple[str, str]]:
    """id -> (job name, state) from the job-completion log (no slurmdbd on the test node)."""
    out = subprocess.run(["sacct", "--completion", "-n", "-P", "-o", "JobID,JobName,State",
                          "-j", ",".join(ids)], capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in out.stdout.splitlines() if line.strip()]
    return {r[0]: (r[1], r[2]) for r in rows}


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".rulekit" not in p.parts}


def stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def metadata(folder: Path) -> tuple[Any, Any]:
    summary = rk(folder, "summary", "--format", "json")
    prov = rk(folder, "provenance", "results/merged.csv", "--format", "json")
    assert summary.returncode == 0 and prov.returncode == 0, summary.stderr + prov.stderr
    return stable(json.loads(summary.stdout)), stable(json.loads(prov.stdout))


@pytest.mark.slow
def test_records_on_slurm_same_as_local(tmp_path: Path) -> None:
    local, cluster = tmp_path / "local", tmp_path / "slurm"
    for folder in (local, cluster):
        shutil.copytree(EXAMPLES / "records", folder,
                        ignore=shutil.ignore_patterns("results", ".rulekit"))
    done = rk(local, "run", "--cores", "2")
    assert done.returncode == 0, done.stderr
    done = rk(cluster, "run", *SLURM, env=ENV, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "14 of 14 jobs done" in done.stdout
    assert tree(cluster) == tree(local)
    got, want = metadata(cluster), metadata(local)
    assert got[0] == want[0]
    assert got[1] == want[1]
    name, ids = worker_jobs(done.stderr)
    assert 1 <= len(ids) <= 2
    assert squeue_names(cluster) == []
    accounted = sacct(ids)
    assert {accounted[i][0] for i in ids} == {name}
    assert {accounted[i][1] for i in ids} <= {"COMPLETED", "CANCELLED"}, accounted
    for i in ids:   # the worker's own log, where docs/cluster.md says it is
        assert (cluster / ".rulekit" / "slurm" / f"{name}-{i}.err").exists()
    again = rk(cluster, "run", *SLURM, env=ENV)
    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stdout
    assert "SLURM worker jobs" not in again.stderr   # no cluster for nothing to do


WHERE = """
    localrules: all

    rule all:
        input: "wide.txt", "summary.txt"

    rule wide:
        output: "wide.txt"
        threads: 2
        resources: mem_mb=500
        shell: "echo $SLURM_JOB_ID {threads} > {output}"

    rule summary:
        input: "wide.txt"
        output: "summary.txt"
        localrule: True
        shell: "echo ${{SLURM_JOB_ID:-driver}} > {output}"
"""


@pytest.mark.slow
def test_pyproject_settings_threads_on_a_worker_and_localrules_in_the_driver(
        tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": WHERE, "pyproject.toml": """
        [tool.rulekit]
        executor = "slurm"
        max-workers = 1
        worker-cores = 2
        worker-mem = "1GB"
        worker-walltime = "00:10:00"
        slurm-partition = "debug"
        """})
    done = rk(tmp_path, "run", env=ENV, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    _, ids = worker_jobs(done.stderr)
    job, threads = (tmp_path / "wide.txt").read_text().split()
    assert job in ids and threads == "2"    # inside the worker's SLURM job, with 2 threads
    assert (tmp_path / "summary.txt").read_text() == "driver\n"
    assert squeue_names(tmp_path) == []


def test_job_bigger_than_any_worker_refused_before_anything_runs(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": """
        rule all:
            input: "small.txt", "big.txt"

        rule small:
            output: "small.txt"
            shell: "touch {output}"

        rule big:
            output: "big.txt"
            resources: mem_mb=64000
            shell: "touch {output}"
        """})
    done = rk(tmp_path, "run", *SLURM, env=ENV)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Rulesfile:11:" in done.stderr   # the resources line
    assert ("error: job big needs mem_mb=64000, more than any worker has (--worker-mem gives "
            "1000 MB), so it could never start") in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "small.txt").exists()
    assert not (tmp_path / ".rulekit" / "slurm").exists()   # no worker job was submitted


def test_resources_known_only_at_run_time_fail_the_job(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": """
        localrules: size

        rule all:
            input: "big.txt"

        rule size:
            output: "size.txt"
            shell: "echo 64000 > {output}"

        rule big:
            input: "size.txt"
            output: "big.txt"
            resources: mem_mb=lambda wildcards, input: int(open(input[0]).read())
            shell: "touch {output}"
        """})
    done = rk(tmp_path, "run", *SLURM, env=ENV, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("needs mem_mb=64000, more than any worker has (--worker-mem "
            "gives 1000 MB), so it could never start") in done.stderr, done.stderr
    assert not (tmp_path / "big.txt").exists()
    assert squeue_names(tmp_path) == []


def test_partition_slurm_refuses_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": """
        rule one:
            output: "one.txt"
            shell: "touch {output}"
        """})
    done = rk(tmp_path, "run", *SLURM, "--slurm-partition", "nosuch", env=ENV, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error: SLURM refuses the worker job: invalid partition specified: nosuch" \
        in done.stderr
    assert "-p nosuch" in done.stderr
    assert not (tmp_path / "one.txt").exists()
    assert squeue_names(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_cancels_worker_jobs_and_exits_130(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": """
        rule all:
            input: "a.txt", "b.txt"

        rule sleepy:
            output: "{x}.txt"
            shell: "touch started-{wildcards.x}; sleep 117.5; touch {output}"
        """})
    env = dict(os.environ, **ENV)
    proc = subprocess.Popen([sys.executable, "-m", "rulekit", "run", *SLURM], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # two 1-core jobs, --max-workers 2 of 1 core each: adaptive scaling starts both
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("started-*"))) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        assert len(list(tmp_path.glob("started-*"))) == 2, "the jobs did not start on 2 workers"
        queued = squeue_names(tmp_path)
        assert len(set(queued)) == 1 and len(queued) == 2, queued
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    assert squeue_names(tmp_path) == []
    assert not (tmp_path / "a.txt").exists() and not (tmp_path / "b.txt").exists()
    # the job's shell is gone with its worker job, not left sleeping on the node
    left = subprocess.run(["pgrep", "-f", "sleep 117.5"], capture_output=True, text=True)
    assert left.stdout == "", left.stdout


@pytest.mark.slow
def test_worker_that_cannot_start_stops_the_run_naming_its_log(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": """
        rule one:
            output: "one.txt"
            shell: "touch {output}"
        """})
    env = dict(ENV, DASK_JOBQUEUE__SLURM__PYTHON="/nonexistent/python")
    done = rk(tmp_path, "run", *SLURM, "--worker-timeout", "5", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    name, ids = worker_jobs(done.stderr)
    log = tmp_path / ".rulekit" / "slurm" / f"{name}-{ids[0]}.err"
    assert "/nonexistent/python: No such file or directory" in log.read_text()
    assert "error: no Dask worker left for 5 s; stopped with 1 job(s) unfinished" in done.stderr
    assert f"hint: see the worker jobs' logs ({tmp_path}/.rulekit/slurm/{name}-*.err)" \
        in done.stderr
    assert squeue_names(tmp_path) == []
