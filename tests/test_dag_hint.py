"""An input whose pattern is its producer's output pattern hands its wildcard values over by
name (rulekit/planning/resolve.py: _hinted), without a regex when every wildcard of the
output is unconstrained. Checked through the CLI: values with the separator inside them
(a regex split would differ), wildcards in another order, and a constrained output
pattern the value does not fit (no job, as before)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path


def _rk(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get(
        "PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd, text=True,
                          capture_output=True, env=env, timeout=120)


def _jobs(tmp_path: Path, rules: str) -> list[tuple[str, dict[str, str]]]:
    (tmp_path / "Rulesfile").write_text(textwrap.dedent(rules))
    got = _rk(tmp_path, "plan", "--format", "json")
    assert got.returncode == 0, got.stderr
    return [(j["rule"], j["wildcards"]) for j in json.loads(got.stdout)["jobs"]]


def test_values_by_name_in_the_producers_order(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path, """\
        rule all:
            input: "out/p_q_r.txt"

        rule out:
            input: "mid/{b}-{a}.txt"
            output: "out/{a}_{b}.txt"
            shell: "cp {input} {output}"

        rule mid:
            output: "mid/{b}-{a}.txt"
            shell: "touch {output}"
        """)
    # out's own split is the regex's (a greedy first wildcard); mid gets out's values
    # by name, in its own pattern's order (b before a)
    assert jobs == [("mid", {"b": "r", "a": "p_q"}), ("out", {"a": "p_q", "b": "r"}),
                    ("all", {})]


def test_separator_inside_a_value(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path, """\
        rule all:
            input: "final/p.q_r.txt"

        rule final:
            input: "x/{a}_{b}.txt"
            output: "final/{a,[a-z]+}.{b}.txt"
            shell: "cp {input} {output}"

        rule x:
            output: "x/{a}_{b}.txt"
            shell: "touch {output}"
        """)
    # x/p_q_r.txt split by x's own regex would be a=p_q, b=r; by name it is a=p, b=q_r
    assert jobs == [("x", {"a": "p", "b": "q_r"}), ("final", {"a": "p", "b": "q_r"}),
                    ("all", {})]
    again = _rk(tmp_path, "plan")
    assert again.returncode == 0 and "a=p, b=q_r" in again.stdout


def test_constrained_output_still_checked(tmp_path: Path) -> None:
    rules = """\
        rule all:
            input: "c/{name}.txt"

        rule c:
            input: "b/{s}.txt"
            output: "c/{s}.txt"
            shell: "cp {input} {output}"

        rule b:
            output: "b/{s,[0-9]+}.txt"
            shell: "touch {output}"
        """
    assert _jobs(tmp_path, rules.replace("{name}", "12")) == [
        ("b", {"s": "12"}), ("c", {"s": "12"}), ("all", {})]
    (tmp_path / "Rulesfile").write_text(textwrap.dedent(rules.replace("{name}", "x")))
    got = _rk(tmp_path, "plan")
    assert got.returncode != 0
    assert "b/x.txt" in got.stderr and "Traceback" not in got.stderr
