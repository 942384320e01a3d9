"""The one-node SLURM cluster for the SLURM tests (tests/slurm/cluster.sh), as a fixture.

The cluster is started once per session when it is not up yet (CI starts it before pytest
and stops it after), and stopped at the end only when this session started it. When it
cannot be started the tests skip, saying why; with RULEKIT_REQUIRE_SLURM=1 (set by .ci/run)
they fail instead, so CI never passes without having run them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

CLUSTER = Path(__file__).resolve().parent / "slurm" / "cluster.sh"


def _cluster(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(CLUSTER), action], capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def slurm() -> Iterator[None]:
    """A running one-node SLURM cluster, or a skip (a failure under RULEKIT_REQUIRE_SLURM)."""
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        _unavailable("dask-jobqueue is not installed (pip install -e '.[test]')")
    if _cluster("status").returncode == 0:
        yield
        return
    started = _cluster("up")
    if started.returncode != 0:
        _unavailable("the one-node SLURM test cluster could not be started "
                     f"(tests/slurm/cluster.sh up):\n{started.stderr.strip()}")
    try:
        yield
    finally:
        _cluster("down")


def _unavailable(why: str) -> None:
    if os.environ.get("RULEKIT_REQUIRE_SLURM") == "1":
        pytest.fail(f"SLURM tests required (RULEKIT_REQUIRE_SLURM=1), but {why}")
    pytest.skip(f"no SLURM: {why}")
