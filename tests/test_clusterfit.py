"""Worker sizes for the SLURM executor: the options' forms, their errors, and what a task
asks of a worker, and the error without dask-jobqueue (no SLURM needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rulekit.core.errors import UsageError
from rulekit.core.model import NamedList
from rulekit.execution.base import Task
from rulekit.execution.clusterfit import misfit, task_resources, worker_spec


@pytest.mark.parametrize(("text", "minutes"), [
    ("90", 90), ("30:00", 30), ("01:30:00", 90), ("2-00", 2880), ("1-02:03", 1563),
    ("1-00:00:30", 1441), ("2h", 120), ("90m", 90), ("1 day", 1440), (None, None)])
def test_walltime_forms(text: str | None, minutes: int | None) -> None:
    assert worker_spec(walltime=text).walltime_min == minutes


@pytest.mark.parametrize(("text", "mb"), [
    ("1GB", 1000), ("16GiB", 17180), ("4000", 4000), (4000, 4000), ("512 MB", 512),
    (None, 2000)])
def test_memory_forms(text: object, mb: int) -> None:
    assert worker_spec(mem=text).mem_mb == mb


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mem": "lots"}, "--worker-mem 'lots' is not a size"),
    ({"walltime": "soon"}, "--worker-walltime 'soon' is not a time"),
    ({"cores": 0}, "--worker-cores 0: must be at least 1"),
    ({"max_workers": 0}, "--max-workers 0: must be at least 1"),
    ({"gpus": -1}, "--worker-gpus -1: must be at least 0")])
def test_bad_sizes_are_usage_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as err:
        worker_spec(**kwargs)  # type: ignore[arg-type]
    assert err.value.message == message


def _task(threads: int, **resources: object) -> Task:
    empty = NamedList()
    return Task(7, "align", "shell", empty, empty, empty, {}, threads, dict(resources), empty)


def test_task_resources_and_misfits() -> None:
    spec = worker_spec(cores=4, mem="8GB", walltime="1h")
    assert task_resources([_task(0)]) == {"cpus": 1.0}
    assert task_resources([_task(2, mem_mb=3000), _task(3, gpu=1)]) == \
        {"cpus": 3.0, "mem_mb": 3000.0, "gpu": 1.0}
    assert misfit(_task(4, mem_mb=8000, runtime=60), spec) is None
    assert misfit(_task(5), spec) == ("job align (job 7) needs 5 threads, more than any worker "
                                      "has (--worker-cores 4), so it could never start")
    assert "needs runtime=61 minutes" in str(misfit(_task(1, runtime=61), spec))
    assert "needs gpu=1, more than any worker has (--worker-gpus 0)" in \
        str(misfit(_task(1, gpu=1), spec))


def test_without_dask_jobqueue_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text('rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n')
    code = ("import sys; sys.modules['dask_jobqueue'] = None; sys.argv = ['rulekit'] + sys.argv[1:];"
            "from rulekit.ui.cli import main; main()")
    r = subprocess.run([sys.executable, "-c", code, "run", "--executor", "slurm"], cwd=tmp_path,
                       text=True, capture_output=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "error: the slurm executor needs the 'dask-jobqueue' package" in r.stderr
    assert "hint: install the slurm extra from your rulekit checkout: pip install -e '.[slurm]'" \
        in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "a.txt").exists()


def test_docs_give_the_commands_the_slurm_tests_run() -> None:
    from test_executor_slurm import ENV, SLURM

    docs = (Path(__file__).resolve().parents[1] / "docs" / "cluster.md").read_text()
    assert "rulekit run -d examples/records " + " ".join(SLURM) in docs
    for name, value in ENV.items():
        assert f"export {name}={value}" in docs
    for command in ("tests/slurm/cluster.sh up", "tests/slurm/cluster.sh down",
                    "sacct --completion", "squeue"):
        assert command in docs
