"""Every example in examples/ really runs, and a second run has nothing to do."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"

EXPECTED = {
    "quickstart": ["results/summary.txt"],
    "records": ["results/merged.csv"],
    "sweep": ["results/table.csv", "results/best.txt"],
}


def rulekit(*args, cwd):
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_then_is_up_to_date(tmp_path, name):
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder, ignore=shutil.ignore_patterns("results", ".rulekit"))
    done = rulekit("run", "--cores", "2", cwd=folder)
    assert done.returncode == 0, done.stderr + done.stdout
    for path in EXPECTED[name]:
        assert (folder / path).stat().st_size > 0
    again = rulekit("plan", "--check", cwd=folder)
    assert again.returncode == 0, again.stdout
    assert "Nothing to do" in again.stdout
