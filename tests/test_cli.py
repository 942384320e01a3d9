"""The command line through click's CliRunner: rule-file lookup, options, exit codes."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rulekit import __version__
from rulekit.core.errors import UsageError
from rulekit.ui.cli import cli
from rulekit.ui.cliargs import parse_config_items

DATA = Path(__file__).parent / "data" / "everything"


def invoke(*args, cwd=None):
    runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_version_and_help():
    assert invoke("--version").output.strip() == f"rulekit, version {__version__}"
    out = invoke("--help").output
    for command in ["run", "plan", "dag", "list", "summary", "provenance", "check", "unlock", "clean"]:
        assert command in out


def test_check_ok_and_list_json(tmp_path):
    shutil.copytree(DATA, tmp_path / "wf", ignore=shutil.ignore_patterns(".rulekit"))
    result = invoke("check", "-d", tmp_path / "wf")
    assert result.exit_code == 0 and result.output.endswith(": ok (11 rules)\n")
    data = json.loads(invoke("list", "-d", tmp_path / "wf", "--format", "json").output)
    process = next(r for r in data["rules"] if r["name"] == "process")
    assert process["output"] == ["work/{sample}.tmp", "work/{sample}.idx", "work/{sample}.log"]
    assert process["input"] == ["<function sample_input>", "ref.txt"]
    assert process["body"] == "shell"


def test_list_table(tmp_path):
    shutil.copytree(DATA, tmp_path / "wf", ignore=shutil.ignore_patterns(".rulekit"))
    out = invoke("list", "-d", tmp_path / "wf").output
    assert "renamed" in out and "anonymous.txt" in out


def test_check_reports_error_with_exit_2(tmp_path):
    (tmp_path / "Rulesfile").write_text('rule a:\n    ouput: "a.txt"\n')
    result = invoke("check", "-d", tmp_path)
    assert result.exit_code == 2
    assert result.output.endswith(
        "Rulesfile:2:5: error: unknown directive 'ouput' - did you mean 'output'?\n"
        '        ouput: "a.txt"\n'
        "        ^\n")
    assert "Traceback" not in result.output


def test_snakefile_runs_unchanged(tmp_path):
    (tmp_path / "Snakefile").write_text(
        'SAMPLES = ["a", "b"]\n\nrule all:\n    input: expand("out/{s}.txt", s=SAMPLES)\n\n'
        'rule make:\n    output: "out/{s}.txt"\n    shell: "echo {wildcards.s} > {output}"\n')
    assert invoke("check", "-f", tmp_path / "Snakefile").exit_code == 0
    assert invoke("check", "-d", tmp_path).exit_code == 0   # found without -f


def test_rule_file_lookup_errors(tmp_path):
    result = invoke("check", "-d", tmp_path)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: no rule file in {tmp_path}\n  looked for: Rulesfile, *.rules, Snakefile")
    (tmp_path / "a.rules").write_text("")
    (tmp_path / "b.rules").write_text("")
    result = invoke("check", "-d", tmp_path)
    assert result.output.startswith(f"error: several *.rules files in {tmp_path}: a.rules, b.rules")
    assert invoke("check", "-d", tmp_path, "-f", "a.rules").exit_code == 0
    result = invoke("check", "-f", tmp_path / "missing.rules")
    assert result.exit_code == 2 and "error: rule file not found:" in result.output


def test_only_rules_file_is_found(tmp_path):
    (tmp_path / "pipeline.rules").write_text('rule a:\n    output: "a"\n')
    result = invoke("check", "-d", tmp_path)
    assert result.exit_code == 0 and "pipeline.rules: ok (1 rules)" in result.output


def test_config_overrides_from_command_line(tmp_path):
    (tmp_path / "Rulesfile").write_text(
        'configfile: "c.yaml"\nrule a:\n    output: f"{config[\'name\']}-{config[\'n\']}-{config[\'deep\'][\'x\']}.txt"\n')
    (tmp_path / "c.yaml").write_text("name: base\nn: 1\ndeep: {x: 0, y: 1}\n")
    out = invoke("list", "-d", tmp_path, "--config", "n=5", "--config", "deep.x=yes",
                 "--format", "json").output
    assert json.loads(out)["rules"][0]["output"] == ["base-5-yes.txt"]


def test_config_item_without_equals_is_a_usage_error(tmp_path):
    (tmp_path / "Rulesfile").write_text('rule a:\n    output: "a"\n')
    result = invoke("check", "-d", tmp_path, "--config", "oops")
    assert result.exit_code == 2
    assert result.output == "error: --config item 'oops' has no '=' (expected KEY=VALUE)\n"


def test_parse_config_items_as_snakemake_does():
    assert parse_config_items(("a=1", "b=true", "c=x y", "d.e=2.5", "f=", "g=True",
                               "h=[1, x]", "i=1e3")) == {
        "a": 1, "b": "true", "c": "x y", "d": {"e": 2.5}, "f": None, "g": True,
        "h": ["1", "x"], "i": 1000.0}
    with pytest.raises(UsageError):
        parse_config_items(("=1",))


@pytest.mark.internal_error_expected
def test_internal_error_is_one_line_without_traceback(tmp_path, monkeypatch):
    import rulekit.ui.clisupport as cli_module

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(cli_module, "find_rule_file", broken)
    monkeypatch.delenv("RULEKIT_DEBUG", raising=False)
    result = CliRunner().invoke(cli, ["check", "-d", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("error: internal error in rulekit: RuntimeError: simulated bug\n")
    assert "Traceback" not in result.output


def test_internal_error_guard_sees_subprocesses(tmp_path, monkeypatch):
    """The suite-wide guard (tests/conftest.py) catches an internal error in a child process."""
    import os
    import subprocess
    import sys

    log = tmp_path / "internal.log"
    env = {**os.environ, "RULEKIT_INTERNAL_ERROR_LOG": str(log)}
    env.pop("RULEKIT_DEBUG", None)
    code = ("import rulekit.ui.cli as c, rulekit.ui.clisupport as s\n"
            "def broken(*a, **k): raise RuntimeError('simulated bug')\n"
            "s.find_rule_file = broken\n"
            "c.cli(['check', '-d', '.'])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "internal error in rulekit: RuntimeError: simulated bug" in proc.stderr
    text = log.read_text()
    assert "RuntimeError: simulated bug" in text and "Traceback" in text
