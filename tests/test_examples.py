"""Every example in examples/ really runs, and a second run has nothing to do."""

import json
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
    "modules": ["results/stats/report.txt", "results/stats/weights.txt"],
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


def test_readme_things_to_try_rerun_only_the_changed_session(tmp_path):
    """examples/README.md: after a run, the line that changes s03_recording.csv makes the
    plan list session S03 and the merge only; a touch alone plans nothing."""
    readme = (EXAMPLES / "README.md").read_text()
    [change] = [line.split("#")[0].strip() for line in readme.splitlines()
                if "s03_recording.csv" in line and line.strip().startswith("echo")]
    shutil.copytree(EXAMPLES / "records", tmp_path / "examples" / "records",
                    ignore=shutil.ignore_patterns("results", ".rulekit"))
    wf = ("-d", "examples/records")
    assert rulekit("run", *wf, "--cores", "2", cwd=tmp_path).returncode == 0
    assert "Nothing to do" in rulekit("plan", *wf, cwd=tmp_path).stdout
    subprocess.run(["touch", "examples/records/data/s03_recording.csv"], cwd=tmp_path,
                   check=True)
    assert "Nothing to do" in rulekit("plan", *wf, cwd=tmp_path).stdout
    subprocess.run(change, shell=True, cwd=tmp_path, check=True)
    plan = rulekit("plan", *wf, "--format", "json", cwd=tmp_path)
    jobs = json.loads(plan.stdout)["jobs"]
    assert sorted((j["rule"], j["wildcards"].get("session")) for j in jobs) == [
        ("all", None), ("clean", "S03"), ("features", "S03"), ("merge", None), ("qc", "S03")]
