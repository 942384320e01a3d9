"""docs/ci.md's recipes really work: every command of the GitHub Actions and GitLab CI
examples runs in a fresh clone of a repository with committed results (install and cache
steps aside), and the problem matcher matches rulekit's error lines."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jobhelp import rk, run_ok
from test_manifest_cli import git

pytestmark = [pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
              pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ci.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(DOC.read_text()) if kind == lang]


def recipe(first_line: str) -> Any:
    found = [b for b in blocks("yaml") if b.startswith(first_line + "\n")]
    assert len(found) == 1, f"docs/ci.md needs one yaml block starting {first_line!r}"
    return yaml.safe_load(found[0])


def github_commands() -> list[str]:
    workflow = recipe("# .github/workflows/rulekit.yml")
    (job,) = workflow["jobs"].values()
    return [step["run"] for step in job["steps"] if "run" in step]


def gitlab_commands() -> list[str]:
    (job,) = (v for k, v in recipe("# .gitlab-ci.yml").items() if isinstance(v, dict))
    return list(job["script"])


def matcher() -> dict[str, Any]:
    (found,) = [json.loads(b) for b in blocks("json") if '"problemMatcher"' in b]
    return found  # type: ignore[no-any-return]


def shell(cwd: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = os.path.dirname(sys.executable)
    full = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"], **env)
    return subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


def installs(command: str) -> bool:
    return "pip install" in command


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone of a repository holding the quick start with its results committed."""
    origin = tmp_path / "origin"
    shutil.copytree(ROOT / "examples" / "quickstart", origin,
                    ignore=shutil.ignore_patterns("results", ".rulekit"))
    run_ok(origin)
    assert rk(origin, "manifest").returncode == 0
    (origin / ".github").mkdir()
    (origin / ".github" / "rulekit-problem-matcher.json").write_text(json.dumps(matcher()))
    git(origin, "init", "-q")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "results")
    dest = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(dest))
    for path in (dest / "results").rglob("*.txt"):
        os.utime(path, (1_600_000_000, 1_600_000_000))
    for path in (dest / "data").iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return dest


def test_github_actions_recipe(clone: Path, tmp_path: Path) -> None:
    commands = github_commands()
    assert any(installs(c) for c in commands)
    assert any("rulekit check" in c for c in commands)
    assert any("plan --check" in c for c in commands)
    summary = tmp_path / "step-summary.md"
    summary.touch()
    for command in commands:
        if installs(command):
            continue
        res = shell(clone, command, GITHUB_STEP_SUMMARY=str(summary))
        assert res.returncode == 0, (command, res.stdout, res.stderr)
    assert "### rulekit plan: nothing to do" in summary.read_text()
    # the same steps fail the build once an input changed, naming the job in the summary
    (clone / "data" / "fox.txt").write_text("a quick brown fox\n")
    results = [shell(clone, c, GITHUB_STEP_SUMMARY=str(summary))
               for c in commands if not installs(c)]
    assert any(r.returncode == 1 for r in results)
    assert "| count_words | name=fox |" in summary.read_text()
    assert "content of input data/fox.txt differs from rulekit.manifest" in summary.read_text()


def test_gitlab_recipe(clone: Path) -> None:
    commands = gitlab_commands()
    assert any(installs(c) for c in commands)
    for command in commands:
        if installs(command):
            continue
        res = shell(clone, command)
        assert res.returncode == 0, (command, res.stdout, res.stderr)
    assert "nothing to do" in (clone / "rulekit-plan.md").read_text()


def test_problem_matcher_matches_rulekit_errors(tmp_path: Path) -> None:
    (pattern,) = matcher()["problemMatcher"][0]["pattern"]
    (tmp_path / "Rulesfile").write_text('rule a:\n    ouput: "a.txt"\n')
    res = rk(tmp_path, "check")
    assert res.returncode == 2
    found = re.match(pattern["regexp"], res.stderr.splitlines()[0])
    assert found is not None
    groups = {k: found.group(v) for k, v in pattern.items() if isinstance(v, int)}
    assert groups["file"] == "Rulesfile" and groups["line"] == "2"
    assert groups["column"] == "5" and groups["message"].startswith("unknown directive")
    assert all(re.match(pattern["regexp"], line) is None for line in res.stderr.splitlines()[1:])


def test_ci_page_is_linked_from_the_index() -> None:
    assert "(ci.md)" in (ROOT / "docs" / "index.md").read_text()
