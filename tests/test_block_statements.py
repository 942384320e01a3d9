"""`include:` and the other statements inside Python blocks (`if`, `for`, function bodies),
through `rulekit run` twice: they take effect when Python reaches them, their values seen in
the enclosing scope; errors point at the statement's own line. Before, Python read them as
annotations and silently ignored them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jobhelp
import pytest
from jobhelp import rk

NOTHING = "Nothing to do: all outputs are up to date.\n"


def write(wf: Path, files: dict[str, str]) -> Path:
    jobhelp.write(wf, files)
    return wf


PART = """\
    rule {name}:
        output: "{name}.txt"
        shell: "echo {{config[{name}]}} > {{output}}"
    """


def test_include_and_configfile_in_blocks_run_twice(tmp_path: Path) -> None:
    wf = write(tmp_path, {
        "Rulesfile": """\
            parts = ["align", "call"]
            for part in parts:                      # a loop variable names the file
                include: f"rules/{part}.rules"

            def extra(name):
                configfile: f"{name}.yaml"          # in a function: at each call

            extra("settings")
            if config.get("qc"):
                include: "rules/qc.rules"
            else:
                localrules: all
                ruleorder: align > call

            rule all:
                input: [f"{p}.txt" for p in parts]
            """,
        "rules/align.rules": PART.format(name="align"),
        "rules/call.rules": PART.format(name="call"),
        "rules/qc.rules": PART.format(name="qc"),
        "settings.yaml": "align: 1\ncall: 2\n",
    })
    first = rk(wf, "run", "--cores", "2")
    assert first.returncode == 0, first.stderr
    assert (wf / "align.txt").read_text() == "1\n"
    assert (wf / "call.txt").read_text() == "2\n"
    assert not (wf / "qc.txt").exists()
    listed = rk(wf, "list")
    assert listed.returncode == 0, listed.stderr
    assert "qc" not in listed.stdout.split()
    again = rk(wf, "run", "--cores", "2")
    assert (again.returncode, again.stdout, again.stderr) == (0, NOTHING, "")
    # the config turns the qc branch on: its include now defines rule qc
    qc = rk(wf, "run", "--cores", "2", "qc.txt", "--config", "qc=3")
    assert qc.returncode == 0, qc.stderr
    assert (wf / "qc.txt").read_text() == "3\n"


@pytest.mark.parametrize("text, expected", [
    pytest.param(
        'if True:\n    include: "nope.rules"\n',
        'Rulesfile:2:14: error: included file not found: nope.rules\n'
        '        include: "nope.rules"\n                 ^\n  looked for: DIR/nope.rules\n',
        id="missing-include"),
    pytest.param(
        'def f():\n    include: undefined_name\nf()\n',
        "Rulesfile:2:14: error: NameError: name 'undefined_name' is not defined\n"
        "        include: undefined_name\n                 ^\n",
        id="name-error"),
    pytest.param(
        'if True:\n    container: "docker://x"\n',
        "Rulesfile:2:5: error: 'container' is not supported by rulekit\n"
        '        container: "docker://x"\n        ^\n'
        "  hint: see docs/snakemake.md for what rulekit supports\n",
        id="unsupported-in-block"),
])
def test_statement_errors_point_at_the_statement(tmp_path: Path, text: str,
                                                 expected: str) -> None:
    wf = write(tmp_path, {"Rulesfile": text})
    done = rk(wf, "check")
    assert done.returncode == 2
    assert done.stderr == expected.replace("DIR", str(wf))


def test_class_fields_and_values_stay_python(tmp_path: Path) -> None:
    """An annotation in a class body, or one with a value, is Python, not a statement;
    a statement over several lines keeps every later line number."""
    wf = write(tmp_path, {
        "Rulesfile": """\
            from dataclasses import dataclass

            @dataclass
            class Sample:
                include: bool
                container: str

            def pick():
                include: bool = True
                return include

            if pick():
                include: (
                    "rules/"
                    "a.rules")  # a comment after it
            x = Sample(True, "c")
            rule all:
                input: "a.txt"
                run:
                    raise ValueError("line 20")
            """,
        "rules/a.rules": PART.format(name="a"),
    })
    done = rk(wf, "run", "--cores", "1", "--config", "a=7")
    assert done.returncode == 1
    assert (wf / "a.txt").read_text() == "7\n"
    assert "Rulesfile\", line 20, in rule all" in done.stderr, done.stderr


def test_every_statement_form_in_blocks(tmp_path: Path) -> None:
    """Several names, values on the next lines, a value going on over deeper lines, and the
    statements whose values are keyword arguments, inside blocks; `report:` with its value
    on the next line at the top level."""
    wf = write(tmp_path, {
        "Rulesfile": """\
            rule all:
                input: "x.txt", "y.txt", "c.txt"

            rule y:
                output: "y.txt"
                shell: "echo {wildcards} > {output}"

            rule x:
                output: "x.txt"
                shell: "touch {output}"

            if True:
                localrules: y, all   # a comment
                envvars: "HOME", "PATH"
            def later():
                localrules: all,
                    x
            later()
            for name in ["c"]:
                include:
                    f"rules/{name}.rules"
                ruleorder: y > x
                scattergather:
                    split=3
                wildcard_constraints:
                    s="[a-z]+"
            report:
                "workflow.rst"
            """,
        "rules/c.rules": PART.format(name="c"),
        "workflow.rst": "About\\n=====\\n",
    })
    loaded = subprocess.run(
        [sys.executable, "-c", "import rulekit; m = rulekit.load('Rulesfile').model; "
         "print(sorted(m.localrules), m.ruleorder, m.scatter, "
         "m.wildcard_constraints['s'], m.report_description.endswith('workflow.rst'))"],
        cwd=wf, capture_output=True, text=True, timeout=60)
    assert loaded.stdout == ("['all', 'x', 'y'] [['y', 'x']] {'split': 3} [a-z]+ True\n"), \
        loaded.stderr
    first = rk(wf, "run", "--cores", "2", "--config", "c=1")
    assert first.returncode == 0, first.stderr
    assert (wf / "c.txt").read_text() == "1\n"
    again = rk(wf, "run", "--cores", "2", "--config", "c=1")
    assert (again.returncode, again.stdout) == (0, NOTHING)
