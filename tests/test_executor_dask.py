"""The Dask executor end to end through the CLI, on real `distributed` clusters on loopback:
the same outputs as the local executor, localrules in the driver, failures, batching, an
external scheduler, and a clear error without `distributed`."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import distributed  # the optional extra .[dask]; installed in the dev venv
import pytest

SRC = str(Path(__file__).resolve().parents[1])

# Outputs do not depend on where jobs ran; where/ records it (dask or driver).
WORKFLOW = """
import os
import signal
SAMPLES = ["a", "b", "c"]

localrules: all

def where():
    try:
        from distributed import get_worker
        get_worker()
        return "dask"
    except (ImportError, ValueError):
        return "driver"

rule all:
    input: "merged.txt", expand("py/{s}.txt", s=SAMPLES)

rule make:
    output: "raw/{s}.txt"
    shell: "echo {wildcards.s} > {output}"

rule py:
    input: "raw/{s}.txt"
    output: "py/{s}.txt", "where/py-{s}.txt"
    run:
        with open(output[0], "w") as fh:
            fh.write(open(input[0]).read().upper())
        with open(output[1], "w") as fh:
            fh.write(where())

rule merge:
    input: expand("py/{s}.txt", s=SAMPLES)
    output: "merged.txt", "where/merge.txt"
    localrule: True
    run:
        with open(output[0], "w") as fh:
            for p in input:
                fh.write(open(p).read())
        with open(output[1], "w") as fh:
            fh.write(where())
"""


def rk(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env=_env())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def write(dir: Path, text: str) -> Path:
    dir.mkdir(parents=True, exist_ok=True)
    (dir / "Rulesfile").write_text(textwrap.dedent(text))
    return dir


def tree(dir: Path, skip: str = "where") -> dict[str, str]:
    return {str(p.relative_to(dir)): p.read_text() for p in sorted(dir.rglob("*"))
            if p.is_file() and ".rulekit" not in p.parts and p.name != "Rulesfile"
            and p.parts[len(dir.parts)] != skip}


@pytest.mark.slow
def test_same_outputs_as_local_and_second_run_does_nothing(tmp_path: Path) -> None:
    local = write(tmp_path / "local", WORKFLOW)
    dask = write(tmp_path / "dask", WORKFLOW)
    r = rk(local, "run", "--cores", "2")
    assert r.returncode == 0, r.stderr + r.stdout
    r = rk(dask, "run", "--executor", "dask", "--cores", "2")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "8 of 8 jobs done" in r.stdout + r.stderr
    assert tree(dask) == tree(local)
    assert tree(dask)["merged.txt"] == "A\nB\nC\n"
    # run: jobs ran on Dask workers, the localrule in the driver
    assert {(dask / "where" / f"py-{s}.txt").read_text() for s in "abc"} == {"dask"}
    assert (dask / "where" / "merge.txt").read_text() == "driver"
    again = rk(dask, "run", "--executor", "dask", "--cores", "2")
    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stdout
    # the same metadata as the local executor: provenance knows the job
    prov = rk(dask, "provenance", "py/a.txt")
    assert prov.returncode == 0, prov.stderr
    assert "py" in prov.stdout


@pytest.mark.slow
def test_failing_jobs_exit_1_with_their_error_text(tmp_path: Path) -> None:
    d = write(tmp_path, """
        rule all:
            input: "ok.txt", "bad_shell.txt", "bad_run.txt"

        rule ok:
            output: "ok.txt"
            shell: "touch {output}"

        rule bad_shell:
            output: "bad_shell.txt"
            shell: "echo shell-went-wrong >&2; exit 3"

        rule bad_run:
            output: "bad_run.txt"
            run:
                raise ValueError("run-body-went-wrong")
        """)
    r = rk(d, "run", "--executor", "dask", "--cores", "1", "--keep-going")
    text = r.stdout + r.stderr
    assert r.returncode == 1, text
    assert "shell-went-wrong" in text
    assert "ValueError: run-body-went-wrong" in text
    assert "Rulesfile" in text          # the user's traceback points at the rule file
    assert (d / "ok.txt").exists()
    assert not (d / "bad_shell.txt").exists()


@pytest.mark.slow
def test_batching_packs_tiny_jobs_into_few_dask_tasks(tmp_path: Path) -> None:
    d = write(tmp_path, """
        N = range(30)

        rule all:
            input: expand("out/{i}.txt", i=N), expand("sh/{i}.txt", i=N)

        rule tiny:
            output: "out/{i}.txt"
            run:
                from distributed import get_worker
                with open(output[0], "w") as fh:
                    fh.write(get_worker().get_current_task())

        rule tiny_shell:
            output: "sh/{i}.txt"
            shell: "echo {wildcards.i} > {output}"
        """)
    r = rk(d, "run", "--executor", "dask", "--cores", "2", "--batch-size", "10")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "61 of 61 jobs done" in r.stdout + r.stderr
    keys = {(d / "out" / f"{i}.txt").read_text() for i in range(30)}
    assert 3 <= len(keys) <= 10, keys      # 30 jobs in a handful of Dask tasks
    assert all(k.startswith("rulekit-") for k in keys)
    assert sorted(int((d / "sh" / f"{i}.txt").read_text()) for i in range(30)) == list(range(30))


@pytest.mark.slow
def test_external_scheduler_address(tmp_path: Path) -> None:
    d = write(tmp_path / "wf", WORKFLOW)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None, host="127.0.0.1",
                                  silence_logs=logging.ERROR) as cluster:
        r = rk(d, "run", "--executor", "dask", "--scheduler", cluster.scheduler_address)
        assert r.returncode == 0, r.stderr + r.stdout
        with distributed.Client(cluster) as client:   # the run left the cluster running
            assert len(client.nthreads()) == 1
    assert (d / "merged.txt").read_text() == "A\nB\nC\n"
    assert (d / "where" / "py-a.txt").read_text() == "dask"
    assert (d / "where" / "merge.txt").read_text() == "driver"


def test_without_distributed_a_clear_error(tmp_path: Path) -> None:
    d = write(tmp_path, """
        rule a:
            output: "a.txt"
            shell: "touch {output}"
        """)
    code = ("import sys; sys.modules['distributed'] = None; sys.argv = ['rulekit'] + sys.argv[1:];"
            "from rulekit.ui.cli import main; main()")
    r = subprocess.run([sys.executable, "-c", code, "run", "--executor", "dask"], cwd=d,
                       text=True, capture_output=True, timeout=60, env=_env())
    assert r.returncode == 2, r.stderr
    assert "the dask executor needs the 'distributed' package" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr
    assert not (d / "a.txt").exists()


def test_rulekit_imports_without_distributed() -> None:
    code = ("import sys; sys.modules['distributed'] = None; import rulekit, rulekit.ui.cli, "
            "rulekit.ui.api, rulekit.execution; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True,
                       timeout=60, env=_env())
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_chunks_spread_over_free_slots_and_respect_batch_size(tmp_path: Path) -> None:
    from rulekit.core.model import NamedList, Workflow
    from rulekit.execution.base import Task
    from rulekit.execution.dask import DaskRunner

    wf = Workflow(path=str(tmp_path / "Rulesfile"), basedir=str(tmp_path), workdir=str(tmp_path))
    runner = DaskRunner(wf, client=None, slots=2, batch_size=10)
    try:
        def tasks(n: int) -> list[Task]:
            return [Task(i, "r", "shell", NamedList(), NamedList(), NamedList(), {}, 1, {},
                         NamedList()) for i in range(n)]

        assert [len(c) for c in runner._chunks(tasks(30))] == [10, 10, 10]
        assert [len(c) for c in runner._chunks(tasks(4))] == [2, 2]     # both slots busy
        assert [len(c) for c in runner._chunks(tasks(1))] == [1]
        assert [len(c) for c in runner._chunks(tasks(21))] == [7, 7, 7]
    finally:
        runner.close()


@pytest.mark.slow
def test_sigterm_stops_shell_jobs_on_the_workers(tmp_path: Path) -> None:
    d = write(tmp_path, """
        rule slow:
            output: "slow.txt"
            shell: "echo $$ > shell.pid; sleep 30; touch {output}"
        """)
    proc = subprocess.Popen([sys.executable, "-m", "rulekit", "run", "--executor", "dask",
                             "--cores", "1"], cwd=d, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (d / "shell.pid").exists() or not (d / "shell.pid").read_text().strip():
            assert time.monotonic() < deadline and proc.poll() is None, proc.stdout
            time.sleep(0.1)
        shell_pid = int((d / "shell.pid").read_text())
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    assert "interrupted" in out
    deadline = time.monotonic() + 10
    while _alive(shell_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(shell_pid), "the shell job on the Dask worker still runs"
    assert not (d / "slow.txt").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


FLAGS = """
rule all:
    input: expand("final/{s}.txt", s=["a", "b"]), "keep.txt"

rule make:
    output: temp("tmp/{s}.txt")
    shell: "echo {wildcards.s} > {output}"

rule use:
    input: "tmp/{s}.txt"
    output: protected("final/{s}.txt")
    run:
        with open(output[0], "w") as fh:
            fh.write(open(input[0]).read().upper())

rule marker:
    output: touch("keep.txt")
"""


@pytest.mark.slow
def test_temp_protected_touch_under_dask_run_twice(tmp_path: Path) -> None:
    """Output flags with wildcards on Dask workers: temps go once their readers are
    recorded, protected outputs end read-only, the second run plans nothing."""
    d = write(tmp_path / "flags", FLAGS)
    r = rk(d, "run", "--executor", "dask", "--cores", "2")
    assert r.returncode == 0, r.stderr + r.stdout
    assert {s: (d / "final" / f"{s}.txt").read_text() for s in "ab"} == {"a": "A\n", "b": "B\n"}
    assert not (d / "tmp" / "a.txt").exists() and not (d / "tmp" / "b.txt").exists()
    assert not os.access(d / "final" / "a.txt", os.W_OK) or os.geteuid() == 0
    assert not (os.stat(d / "final" / "a.txt").st_mode & 0o222)
    assert (d / "keep.txt").exists()
    again = rk(d, "run", "--executor", "dask", "--cores", "2")
    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stdout


@pytest.mark.slow
def test_outputs_record_the_worker_host_not_the_driver(tmp_path: Path) -> None:
    """A job run on a Dask worker on another host records that host (provenance says where
    the output was made). The worker runs in a UTS namespace of its own, named rk-node7."""
    d = write(tmp_path / "wf", """
        rule all:
            input: "a.txt", "b.txt"

        rule a:
            output: "a.txt"
            shell: "hostname > {output}"

        rule b:
            output: "b.txt"
            run:
                import socket
                open(output[0], "w").write(socket.gethostname() + "\\n")
        """)
    with distributed.LocalCluster(n_workers=0, dashboard_address=None, host="127.0.0.1",
                                  silence_logs=logging.ERROR) as cluster:
        worker = subprocess.Popen(
            ["unshare", "--uts", "sh", "-c",
             f"hostname rk-node7 && exec {sys.executable} -m distributed.cli.dask_worker "
             f"{cluster.scheduler_address} --nthreads 2 --no-dashboard"],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with distributed.Client(cluster) as client:
                client.wait_for_workers(1, timeout=60)
            r = rk(d, "run", "--executor", "dask", "--scheduler", cluster.scheduler_address,
                   "--cores", "2")
            assert r.returncode == 0, r.stderr + r.stdout
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert (d / "a.txt").read_text() == "rk-node7\n"
    assert (d / "b.txt").read_text() == "rk-node7\n"
    for name in ("a.txt", "b.txt"):
        prov = rk(d, "provenance", name, "--format", "json")
        assert prov.returncode == 0, prov.stderr
        assert '"host": "rk-node7"' in prov.stdout, prov.stdout
