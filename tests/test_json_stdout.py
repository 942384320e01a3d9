"""`--format json` on every command: stdout is the JSON document alone, whatever the rule
file, its bodies or the commands they run print (issue 15); `plan --format markdown`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jobhelp import rk, write

NOISY = '''\
print("top level prints")
import sys
sys.stdout.write("more on stdout\\n")

rule all:
    input: "b.txt", "c.txt"

rule b:
    output: "b.txt"
    shell: "echo from-shell; touch {output}"

rule c:
    output: "c.txt"
    run:
        print("from-run")
        shell("echo from-shell-in-run; touch {output}")
'''


def parse(res) -> dict:
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("args", [
    ("list",),
    ("plan",),
    ("plan", "--check"),
    ("run", "-n"),
    ("dag",),
    ("dag", "--rules"),
    ("summary",),
])
def test_read_only_commands_print_only_json(tmp_path: Path, args: tuple[str, ...]) -> None:
    write(tmp_path, {"Rulesfile": NOISY})
    res = rk(tmp_path, *args, "--format", "json")
    doc = parse(res)
    assert isinstance(doc, dict) and doc
    assert "top level prints" in res.stderr


@pytest.mark.slow
def test_run_touch_provenance_print_only_json(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": NOISY})
    res = rk(tmp_path, "run", "--cores", "2", "--format", "json")
    doc = parse(res)
    assert sorted(j["rule"] for j in doc["jobs"]) == ["all", "b", "c"]
    for line in ("from-run", "from-shell-in-run", "top level prints", "rulekit: ok"):
        assert line in res.stderr
    assert parse(rk(tmp_path, "run", "--format", "json")) == {"jobs": []}
    doc = parse(rk(tmp_path, "provenance", "b.txt", "--format", "json"))
    assert doc["path"] == "b.txt"
    res = rk(tmp_path, "run", "--touch", "-F", "--format", "json")
    assert sorted(j["status"] for j in parse(res)["jobs"]) == ["done"] * 3
    assert "touched b.txt" in res.stderr
    res = rk(tmp_path, "run", "--delete-temp-output", "--format", "json")
    assert parse(res) == {"removed": []}


def test_failed_run_still_prints_its_json(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": 'rule a:\n    output: "a.txt"\n'
                                  '    shell: "echo oops; exit 3"\n'})
    res = rk(tmp_path, "run", "--format", "json")
    assert res.returncode == 1
    assert [j["status"] for j in json.loads(res.stdout)["jobs"]] == ["failed"]
    assert "oops" in res.stderr


def test_errors_leave_stdout_empty(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": 'rule a:\n    ouput: "a.txt"\n'})
    res = rk(tmp_path, "plan", "--format", "json")
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr.startswith("Rulesfile:2:5: error:")


CHAIN = '''\
rule all:
    input: "b/x.txt"

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


@pytest.mark.slow
def test_plan_markdown_and_step_summary(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": CHAIN, "raw/x.txt": "x\n"})
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    res = rk(tmp_path, "plan", "--format", "markdown",
             env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert res.returncode == 0, res.stderr
    assert res.stdout == (
        "### rulekit plan: 3 jobs to run\n"
        "\n"
        "| rule | wildcards | outputs | reasons |\n"
        "|---|---|---|---|\n"
        "| a | s=x | a/x.txt | missing output a/x.txt |\n"
        "| b | s=x | b/x.txt | missing output b/x.txt<br>input made by a[s=x], which runs |\n"
        "| all |  |  | input made by b[s=x], which runs |\n"
        "\n"
        "| rule | jobs |\n"
        "|---|---:|\n"
        "| all | 1 |\n"
        "| a | 1 |\n"
        "| b | 1 |\n"
        "| **(total)** | **3** |\n")
    assert summary.read_text() == "earlier step\n" + res.stdout + "\n"
    res = rk(tmp_path, "plan", "t.txt", "--format", "markdown", env={"GITHUB_STEP_SUMMARY": ""})
    assert "| total | 1 |\n| **(total)** | **1** |\n" in res.stdout
    assert rk(tmp_path, "run", "--cores", "1").returncode == 0
    res = rk(tmp_path, "plan", "--check", "--format", "markdown")
    assert (res.returncode, res.stdout) == (
        0, "### rulekit plan: nothing to do\n\nAll outputs are up to date.\n")


def test_markdown_cells_escape_pipes(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": 'rule a:\n    output: "a|b.txt"\n    shell: "touch {output}"\n'})
    res = rk(tmp_path, "plan", "--format", "markdown")
    assert "| a |  | a\\|b.txt | missing output a\\|b.txt |" in res.stdout


def test_every_command_with_a_json_format_reserves_stdout() -> None:
    """A command that offers --format json must keep stdout for the document (and be in the
    tests above): new commands are caught here."""
    from rulekit.ui.cli import cli

    with_json = sorted(name for name, cmd in cli.commands.items() for p in cmd.params
                       if p.name == "fmt" and "json" in getattr(p.type, "choices", ()))
    assert with_json == ["dag", "list", "plan", "provenance", "run", "summary"]
    for name in with_json:
        assert getattr(cli.commands[name].callback, "documents_stdout", False), name


def test_markdown_error_goes_to_the_step_summary(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": 'rule a:\n    ouput: "a.txt"\n'})
    summary = tmp_path / "summary.md"
    res = rk(tmp_path, "plan", "--format", "markdown", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert (res.returncode, res.stdout) == (2, "")
    assert summary.read_text() == (
        "### rulekit plan: error\n\n```\n" + res.stderr.rstrip("\n") + "\n```\n\n")
    assert res.stderr.startswith("Rulesfile:2:5: error: unknown directive 'ouput'")
