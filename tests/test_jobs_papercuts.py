"""Papercuts a new user hit (issue 17.10)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jobhelp import rk, run_ok, write

import rulekit

ROOT = Path(__file__).parent.parent


def _tree(folder: Path) -> set[str]:
    out = set()
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in (".rulekit", ".rulekit-locks")]
        rel = os.path.relpath(root, folder)
        out.update(os.path.join(rel, n) for n in dirs + files)
    return out


def test_clean_leaves_the_example_as_checked_out(tmp_path):
    folder = tmp_path / "qs"
    shutil.copytree(ROOT / "examples" / "quickstart", folder,
                    ignore=shutil.ignore_patterns("results", ".rulekit"))
    before = _tree(folder)
    run_ok(folder)
    assert _tree(folder) != before
    res = rk(folder, "clean")
    assert res.returncode == 0, res.stderr
    assert _tree(folder) == before


@pytest.mark.slow
def test_readme_quick_start_then_tests_pass(tmp_path):
    """README: run the quick start in the checkout, then the test command."""
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", ".rulekit", "results")
    shutil.copytree(ROOT / "examples", repo / "examples", ignore=ignore)
    shutil.copytree(ROOT / "tests", repo / "tests", ignore=ignore)
    run_ok(repo, "-d", "examples/quickstart")
    assert (repo / "examples" / "quickstart" / "results").is_dir()
    assert (repo / "examples" / "quickstart" / ".rulekit").is_dir()
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_api.py", "tests/test_examples.py"],
                         cwd=repo, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:]


FAILING = '''
rule all:
    input: "down.txt", "ok.txt"

rule ok:
    output: "ok.txt"
    shell: "touch {output}"

rule bad:
    output: "bad.txt"
    shell: "exit 3"

rule down:
    input: "bad.txt"
    output: "down.txt"
    shell: "touch {output}"
'''


def test_jobs_that_never_started_are_not_started(tmp_path):
    write(tmp_path, {"Snakefile": FAILING})
    res = rk(tmp_path, "run", "-k", "--cores", "1")
    assert res.returncode == 1
    assert "rulekit: FAILED: 1 of 4 jobs done, 1 failed, 2 not started in " in res.stderr
    assert "skipped" not in res.stdout + res.stderr


def test_api_results_have_short_reprs(tmp_path):
    write(tmp_path, {"Snakefile": FAILING})
    wf = rulekit.load(tmp_path / "Snakefile")
    result = wf.run(cores=1, quiet=True, keep_going=True)
    text = repr(result)
    assert text.startswith("<RunResult FAILED: 1 of 4 jobs done, 1 failed, 2 not started in ")
    assert "\n" not in text and len(text) < 100
    bad = next(r for r in result.results if r.job.rule.name == "bad")
    assert repr(bad).startswith("<JobResult bad: failed, ") and "\n" not in repr(bad)
    assert {r.job.rule.name: r.status for r in result.results}["down"] == "not started"


def test_run_format_json_writes_only_json_to_stdout(tmp_path):
    write(tmp_path, {"Snakefile": 'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n'})
    res = rk(tmp_path, "run", "--format", "json")
    assert res.returncode == 0
    doc = json.loads(res.stdout)
    assert [(j["rule"], j["status"], j["outputs"]) for j in doc["jobs"]] == \
        [("a", "done", ["a.txt"])]
    assert "rulekit: ok: 1 of 1 jobs done" in res.stderr
    res = rk(tmp_path, "run", "--format", "json")
    assert json.loads(res.stdout) == {"jobs": []}
