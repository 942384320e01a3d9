"""Dask worker loss (issue 10.15): a job lost with its worker fails and its `retries:` apply;
with no worker left for --worker-timeout seconds the run stops with a clear error, exit 1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_executor_dask import rk, write

pytestmark = pytest.mark.slow

DIES = """
import os
import signal

rule all:
    input: "out.txt"

rule victim:
    output: "out.txt"
    retries: {retries}
    run:
        if not os.path.exists("died-once"):
            open("died-once", "w").close()
            {kill}
        with open(output[0], "w") as fh:
            fh.write("ok\\n")
"""


@pytest.mark.parametrize(("retries", "code"), [(1, 0), (0, 1)])
def test_job_lost_with_its_worker_fails_and_retries_apply(tmp_path: Path, retries: int,
                                                         code: int) -> None:
    d = write(tmp_path, DIES.format(retries=retries, kill="os._exit(1)"))
    r = rk(d, "run", "--executor", "dask", "--cores", "1", "--latency-wait", "0")
    assert r.returncode == code, r.stdout + r.stderr
    assert "the Dask worker running this job died" in r.stderr
    if code == 0:
        assert (d / "out.txt").read_text() == "ok\n"
    else:
        assert "error: 1 job failed: victim" in r.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_worker_left_stops_the_run(tmp_path: Path) -> None:
    """One worker without a nanny; the job takes it down, so no worker is left."""
    d = write(tmp_path / "wf", DIES.format(retries=1, kill="os._exit(1)"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                                       address, "--no-nanny", "--nthreads", "1",
                                       "--no-dashboard"], cwd=tmp_path,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        t0 = time.monotonic()
        r = rk(d, "run", "--executor", "dask", "--scheduler", address,
               "--worker-timeout", "2", "--latency-wait", "0", timeout=90)
        assert time.monotonic() - t0 < 60
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert r.returncode == 1, r.stdout + r.stderr
    assert ("error: no Dask worker left for 2 s; stopped with 1 job(s) unfinished (they stay "
            "marked incomplete and rerun next time)") in r.stderr
    assert "Traceback" not in r.stderr
    assert procs[1].returncode == 1   # the worker really went away
