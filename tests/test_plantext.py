"""The plan table (`rulekit plan`, not a terminal) is written in pieces as it is made
(rulekit/ui/planview.py: plan_text_pieces). Its text is the one the table had when it was
built whole: checked against that algorithm (kept here as the reference) on a workflow with
several wildcards, long values that get clipped, jobs with many outputs, jobs without
wildcards, several reasons per job and non-ASCII paths, for any piece size, and through the
CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rulekit
from rulekit.ui import planview
from rulekit.ui.planview import TOTAL, plan_text_pieces, render_plan_text

LONG = "x" * 70   # longer than the 60-column clip

RULES = textwrap.dedent(f"""\
    PAIRS = [("a", "1"), ("é ü", "2"), ("{LONG}", "3")]

    rule all:
        input: [f"out/{{s}}_{{n}}.txt" for s, n in PAIRS], "many/0.txt", "single.txt"

    rule copy:
        input: "raw/{{s}}.txt"
        output: "mid/{{s}}_{{n}}.txt", "mid/{{s}}_{{n}}.log"
        shell: "cp {{input}} {{output[0]}} && touch {{output[1]}}"

    rule out:
        input: "mid/{{s}}_{{n}}.txt"
        output: "out/{{s}}_{{n}}.txt"
        shell: "cp {{input}} {{output}}"

    rule many:
        output: [f"many/{{i}}.txt" for i in range(5)]
        shell: "touch {{output}}"

    rule single:
        output: "single.txt"
        shell: "touch {{output}}"
    """)


def _reference(plan: rulekit.Plan, max_width: int = 60) -> str:
    """The table as it was built before it was streamed (rows first, then lines)."""
    if plan.is_empty:
        return planview.NOTHING_TO_DO
    rows = []
    for p in plan.jobs:
        job = p.job
        wc = ", ".join([f"{k}={v}" for k, v in job.wildcards.items()])
        outs = job.output
        if len(outs) == 1:
            shown = str(outs[0])
        else:
            shown = ", ".join(outs[:3])
            if len(outs) > 3:
                shown += f" (+{len(outs) - 3} more)"
        rows.append((job.rule.name, wc, shown, [r.describe() for r in p.reasons]))

    def clip(text: str) -> str:
        return text if len(text) <= max_width else text[:max_width - 3] + "..."

    rows = [(r, clip(w), clip(o), why) for r, w, o, why in rows]
    w_rule = max(4, *(len(r[0]) for r in rows))
    w_wc = max(9, *(len(r[1]) for r in rows))
    w_out = max(7, *(len(r[2]) for r in rows))
    lines = [f"{'rule':<{w_rule}}  {'wildcards':<{w_wc}}  {'outputs':<{w_out}}  reasons"]
    pad = " " * (w_rule + w_wc + w_out + 6)
    for rule, wc, outs, reasons in rows:
        first = reasons[0] if reasons else ""
        lines.append(f"{rule:<{w_rule}}  {wc:<{w_wc}}  {outs:<{w_out}}  {first}".rstrip())
        lines.extend(pad + more for more in reasons[1:])
    counts = plan.counts()
    width = max([len(r) for r in counts] + [len(TOTAL)])
    n = len(plan)
    lines += ["", f"{n} job{'s' if n != 1 else ''} to run:", f"  {'rule':<{width}}  jobs"]
    lines += [f"  {rule:<{width}}  {k}" for rule, k in counts.items()]
    lines.append(f"  {TOTAL:<{width}}  {n}")
    return "\n".join(lines)


def _workflow(tmp_path: Path) -> Path:
    (tmp_path / "Rulesfile").write_text(RULES)
    (tmp_path / "raw").mkdir()
    for s in ("a", "é ü", LONG):
        (tmp_path / "raw" / f"{s}.txt").write_text(s)
    (tmp_path / "mid").mkdir()
    (tmp_path / "mid" / "a_1.txt").write_text("old")   # older than its input: two reasons
    os.utime(tmp_path / "mid" / "a_1.txt", (1, 1))
    return tmp_path / "Rulesfile"


@pytest.mark.parametrize("forced", [False, True])
def test_pieces_are_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              forced: bool) -> None:
    wf = rulekit.load(str(_workflow(tmp_path)))
    plan = wf.plan(forceall=forced)
    expected = _reference(plan)
    assert "s=" + LONG[:55] + "..." in expected and "(+2 more)" in expected
    assert "é ü" in expected and len(plan) == 9
    assert render_plan_text(plan) == expected
    for size in (1, 2, 3, 7, 100):
        monkeypatch.setattr(planview, "_CHUNK", size)
        assert "".join(plan_text_pieces(plan)) == expected, size
        assert "".join(plan_text_pieces(plan, max_width=20)) == _reference(plan, 20), size


def test_cli_writes_the_table(tmp_path: Path) -> None:
    rules = _workflow(tmp_path)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get(
        "PYTHONPATH", "")
    got = subprocess.run([sys.executable, "-m", "rulekit", "plan"], cwd=tmp_path, text=True,
                         capture_output=True, env=env, timeout=120)
    assert got.returncode == 0, got.stderr
    assert got.stdout == _reference(rulekit.load(str(rules)).plan()) + "\n"
