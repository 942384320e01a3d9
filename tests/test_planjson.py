"""`plan --format json` is streamed (rulekit/ui/planjson.py) and is byte for byte the text
json.dumps(plan.to_json(), indent=2) gives: through the CLI on a workflow with wildcards,
several reasons, no-wildcard jobs and non-ASCII paths, an empty plan, and values of every
JSON kind through the encoder."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rulekit
from rulekit.ui import planjson


def _rk(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get(
        "PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd, text=True,
                          capture_output=True, env=env, timeout=120)


RULES = textwrap.dedent("""\
    SAMPLES = ["a", "b", "é ü"]

    rule all:
        input: expand("out/{s}.txt", s=SAMPLES), "extra.txt"

    rule copy:
        input: "raw/{s}.txt"
        output: "mid/{s}.txt"
        params: n=3
        shell: "cp {input} {output}"

    rule out:
        input: "mid/{s}.txt"
        output: "out/{s}.txt", "out/{s}.log"
        shell: "cp {input} {output[0]} && touch {output[1]}"

    rule extra:
        output: "extra.txt"
        shell: "touch {output}"
    """)


def test_cli_json_is_json_dumps_of_the_plan(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(RULES)
    (tmp_path / "raw").mkdir()
    for s in ("a", "b", "é ü"):
        (tmp_path / "raw" / f"{s}.txt").write_text(s)
    (tmp_path / "mid").mkdir()
    (tmp_path / "mid" / "a.txt").write_text("old")   # older than its input: two reasons
    os.utime(tmp_path / "mid" / "a.txt", (1, 1))
    got = _rk(tmp_path, "plan", "--format", "json")
    assert got.returncode == 0, got.stderr
    plan = rulekit.load(str(tmp_path / "Rulesfile")).plan()
    assert got.stdout == json.dumps(plan.to_json(), indent=2) + "\n"
    data = json.loads(got.stdout)
    assert len(data["jobs"]) == len(plan) == 8 and data["counts"]["copy"] == 3
    same = _rk(tmp_path, "run", "-n", "--format", "json")
    assert same.stdout == got.stdout


def test_empty_plan(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text("rule all:\n    input: 'x.txt'\n")
    (tmp_path / "x.txt").write_text("x")
    got = _rk(tmp_path, "plan", "--format", "json")
    assert got.returncode == 0, got.stderr
    assert got.stdout == json.dumps({"jobs": [], "counts": {}}, indent=2) + "\n"


@pytest.mark.parametrize("value", [
    "plain", "é\n\"\\\t\x01", 0, -5, 10**30, 1.5, -0.0, 1e300, float("nan"), float("inf"),
    float("-inf"), True, False, None, [], {}, [1, [2, []]], {"a": {"b": [None, {}]}},
    (1, "x"), {1: "int key"}, {"k": (True, 2.5)},
])
def test_encoder_matches_json(value: object) -> None:
    for level in (0, 2, 6):
        assert planjson.encode(value, level) == json.dumps(value, indent=2).replace(
            "\n", "\n" + " " * level)


def test_chunks_join_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk boundaries fall between jobs: any chunk size writes the same text."""
    (tmp_path / "Rulesfile").write_text(RULES)
    (tmp_path / "raw").mkdir()
    for s in ("a", "b", "é ü"):
        (tmp_path / "raw" / f"{s}.txt").write_text(s)
    plan = rulekit.load(str(tmp_path / "Rulesfile")).plan()
    expected = json.dumps(plan.to_json(), indent=2) + "\n"
    for size in (1, 2, 3, 7, 100):
        monkeypatch.setattr(planjson, "_CHUNK", size)
        out = io.StringIO()
        planjson.write_plan_json(plan, out)
        assert out.getvalue() == expected, size


def test_reasons_written_as_encoded() -> None:
    """The reasons list is written directly for its usual values; the text is what the
    general encoder writes for [r.to_json() for r in reasons], whatever the values."""
    from rulekit.planning import reasons as R

    cases = [
        (), (R.MissingOutput("a/é.txt"),),
        (R.Forced("forceall"), R.MissingOutput("x"), R.UpstreamRuns("a[s=1]", 2)),
        (R.Incomplete("x", None), R.Incomplete("y", 42), R.NoOutput(True)),
        (R.InputNewer("i", "o", 2_000_000_000, 1_000_000_000),
         R.InputSetChanged(("a", "b"), ()), R.CodeChanged("0" * 40, "1" * 40)),
        (R.ParamsChanged("p", {"k": [1, 2.5, None, True]}, {3: "int key"}),
         R.ParamsChanged("q", float("nan"), (1, "x")), R.WaitingForCheckpoint("cp")),
    ]
    for reasons in cases:
        assert planjson._reasons(reasons) == planjson.encode(
            [r.to_json() for r in reasons], 6)
