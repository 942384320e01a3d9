"""Small habits of the command line (issue 15, item 5): the plan's per-rule table and a rule
named `total`, summary as plain text off a terminal, CSV reasons as text, shell completion of
rule names and targets."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from jobhelp import rk, run_ok, write

CHAIN = '''\
rule all:
    input: "b/x.txt", "t.txt"

rule a:
    input: "raw/{s}.txt"
    output: "a/{s}.txt"
    shell: "cp {input} {output}"

rule b:
    input: "a/{s}.txt"
    output: "b/{s}.txt"
    shell: "cp {input} {output}"

rule total:
    output: "t.txt"
    shell: "touch {output}"
'''


def test_plan_counts_do_not_clash_with_a_rule_named_total(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": CHAIN, "raw/x.txt": "x\n"})
    res = rk(tmp_path, "plan")
    assert res.stdout.endswith(
        "4 jobs to run:\n"
        "  rule     jobs\n"
        "  all      1\n"
        "  a        1\n"
        "  b        1\n"
        "  total    1\n"
        "  (total)  4\n")


def test_summary_is_plain_text_off_a_terminal(tmp_path: Path) -> None:
    long_name = "t" + "d" * 80 + ".txt"
    write(tmp_path, {"Rulesfile": CHAIN.replace("t.txt", long_name), "raw/x.txt": "x\n"})
    run_ok(tmp_path)
    (tmp_path / "a" / "x.txt").unlink()
    res = rk(tmp_path, "summary")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["path", "exists", "rule", "last_run", "status", "reasons"]
    assert [line.split()[0] for line in lines[1:]] == ["a/x.txt", "b/x.txt", long_name]
    assert lines[2].endswith("would rerun  input made by a[s=x], which runs")
    assert not any(line.startswith(" ") for line in lines)
    assert "│" not in res.stdout and "━" not in res.stdout


def test_summary_csv_reasons_are_text(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": CHAIN, "raw/x.txt": "x\n"})
    run_ok(tmp_path)
    (tmp_path / "a" / "x.txt").unlink()
    (tmp_path / "raw" / "x.txt").write_text("changed\n")
    res = rk(tmp_path, "summary", "--format", "csv")
    rows = {r["path"]: r for r in csv.DictReader(io.StringIO(res.stdout))}
    assert rows["a/x.txt"]["reasons"] == "missing output a/x.txt"
    assert rows["b/x.txt"]["reasons"] == "input made by a[s=x], which runs"
    assert rows["t.txt"]["reasons"] == ""
    assert rows["t.txt"]["status"] == "ok"


def complete(cwd: Path, words: str) -> list[str]:
    env = dict(os.environ, _RULEKIT_COMPLETE="bash_complete", COMP_WORDS=words,
               COMP_CWORD=str(len(words.split(" ")) - 1))
    res = subprocess.run([sys.executable, "-m", "rulekit"], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return [line.split(",", 1)[1] for line in res.stdout.splitlines() if line]


def test_shell_completion_of_rule_names_and_targets(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": 'print("noise")\n' + CHAIN, "raw/x.txt": "x\n"})
    assert complete(tmp_path, "rulekit plan ") == [
        "all", "total", "a/x.txt", "b/x.txt", "t.txt"]
    assert complete(tmp_path, "rulekit run t") == ["total", "t.txt"]
    assert complete(tmp_path, "rulekit run -R ") == ["all", "a", "b", "total"]
    assert "plan" in complete(tmp_path, "rulekit p")
    os.mkdir(tmp_path / "elsewhere")
    assert complete(tmp_path / "elsewhere", "rulekit run -d .. a") == ["all", "a/x.txt"]
    # a broken rule file completes nothing, quietly
    (tmp_path / "Rulesfile").write_text("rule a:\n    ouput: 1\n")
    assert complete(tmp_path, "rulekit run ") == []
