"""Workflow faults that used to crash: the exact message and exit 2 through the CLI (issue 10).

Each case is a folder of files and a command; stderr must be exactly the expected text
(DIR stands for the folder) and nothing may have run.
"""

import os
import subprocess
import sys

import pytest

RULE_A = 'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n'


def rulekit(folder, *args):
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=folder,
                          capture_output=True, text=True, timeout=120)


CASES = [
    pytest.param(
        {"Snakefile": 'include: "Snakefile"\n' + RULE_A}, ["run"],
        'Snakefile:1:10: error: include cycle: Snakefile -> Snakefile\n'
        '    include: "Snakefile"\n'
        '             ^\n'
        '  hint: a file cannot include itself, directly or through others\n',
        id="include_self"),
    pytest.param(
        {"Snakefile": 'include: "rules/a.smk"\n',
         "rules/a.smk": RULE_A + 'include: "b.smk"\n',
         "rules/b.smk": 'include: "../Snakefile"\n'}, ["check"],
        'rules/b.smk:1:10: error: include cycle: Snakefile -> rules/a.smk -> rules/b.smk -> '
        'Snakefile\n'
        '    include: "../Snakefile"\n'
        '             ^\n'
        '  hint: a file cannot include itself, directly or through others\n',
        id="include_cycle"),
    pytest.param(
        {"Snakefile": RULE_A.replace("{output}", "{output:>10}")}, ["run"],
        "Snakefile:3:12: error: rule a: shell command applies the format spec ':>10' to "
        "{output}, a list of paths; only :q (quoted) and :u (unquoted) apply to it\n"
        '        shell: "touch {output:>10}"\n'
        "               ^\n"
        "  hint: drop ':>10', or format one item: {output[0]:>10}\n",
        id="format_spec_output"),
    pytest.param(
        {"Snakefile": 'rule a:\n    input: "in.txt"\n    output: "a.txt"\n'
                      '    shell: "cp {input:%} {output}"\n', "in.txt": ""}, ["check"],
        "Snakefile:4:12: error: rule a: shell command applies the format spec ':%' to "
        "{input}, a list of paths; only :q (quoted) and :u (unquoted) apply to it\n"
        '        shell: "cp {input:%} {output}"\n'
        "               ^\n"
        "  hint: drop ':%', or format one item: {input[0]:%}\n",
        id="format_spec_input_check"),
    pytest.param(
        {"Snakefile": 'rule a:\n    output: "a.txt"\n    params: n=3\n'
                      '    shell: "echo {params.n:%%} > {output}"\n'}, ["run"],
        "Snakefile:4:12: error: rule a: shell command has an invalid format spec ':%%' in "
        "{params.n}\n"
        '        shell: "echo {params.n:%%} > {output}"\n'
        "               ^\n"
        "  hint: the only specs a command needs are :q (quoted) and :u (unquoted)\n",
        id="format_spec_invalid"),
    pytest.param(
        {"Snakefile": RULE_A.replace("{output}", "{ouptut}")}, ["check"],
        "Snakefile:3:12: error: rule a: shell command refers to {ouptut}, but no name "
        "'ouptut' is defined\n"
        '        shell: "touch {ouptut}"\n'
        "               ^\n"
        "  hint: did you mean {output}? (write {{ and }} for literal braces)\n",
        id="unknown_name_check"),
    pytest.param(
        {"Snakefile": 'rule a:\n    output: "{s}.txt"\n    shell: "echo {s} > {output}"\n'},
        ["run", "x.txt"],
        "Snakefile:3:12: error: rule a: shell command refers to {s}, but no name 's' is "
        "defined\n"
        '        shell: "echo {s} > {output}"\n'
        "               ^\n"
        "  hint: did you mean {wildcards.s}? (wildcards are reached through 'wildcards')\n",
        id="bare_wildcard"),
    pytest.param(
        {"Snakefile": 'rule a:\n    output: "{s}.txt"\n    message: "making {wildcards.S}"\n'
                      '    shell: "touch {output}"\n'}, ["check"],
        "Snakefile:3:14: error: rule a: message refers to {wildcards.S}, but wildcards has "
        "no name 'S'\n"
        '        message: "making {wildcards.S}"\n'
        "                 ^\n"
        "  hint: did you mean {wildcards.s}?\n",
        id="message_unknown_wildcard"),
    pytest.param(
        {"Snakefile": RULE_A.replace("{output}", "{output")}, ["check"],
        "Snakefile:3:12: error: rule a: shell command is malformed (expected '}' before end "
        "of string)\n"
        '        shell: "touch {output"\n'
        "               ^\n"
        "  hint: write {{ and }} for literal braces\n",
        id="malformed_braces"),
    pytest.param(
        {"Snakefile": 'shell.executable("/no/such/shell")\n' + RULE_A}, ["run"],
        "Snakefile:1:1: error: shell.executable('/no/such/shell'): no such file\n"
        '    shell.executable("/no/such/shell")\n'
        "    ^\n"
        "  hint: give the path of an installed shell, e.g. /bin/bash\n",
        id="shell_executable_missing"),
    pytest.param(
        {"Snakefile": 'shell.executable("no-such-shell-xyz")\n' + RULE_A}, ["run"],
        "Snakefile:1:1: error: shell.executable('no-such-shell-xyz'): not found on PATH\n"
        '    shell.executable("no-such-shell-xyz")\n'
        "    ^\n"
        "  hint: give the path of an installed shell, e.g. /bin/bash\n",
        id="shell_executable_not_on_path"),
    pytest.param(
        {"Snakefile": 'rule a:\n    input: unpack(lambda wc: {"x.txt"})\n'
                      '    output: "a.txt"\n    shell: "touch {output}"\n'}, ["run"],
        "Snakefile:2:12: error: unpack() function of rule a must return a dict or a list, "
        "got a set\n"
        '        input: unpack(lambda wc: {"x.txt"})\n'
        "               ^\n"
        "  Job: a\n"
        "  hint: return a dict (named inputs) or a list of paths\n",
        id="unpack_set"),
    pytest.param(
        {"Snakefile": 'def gen(wc):\n    yield "x.txt"\n\nrule a:\n    input: unpack(gen)\n'
                      '    output: "a.txt"\n    shell: "touch {output}"\n'}, ["run"],
        "Snakefile:5:12: error: unpack() function of rule a must return a dict or a list, "
        "got a generator\n"
        '        input: unpack(gen)\n'
        "               ^\n"
        "  Job: a\n"
        "  hint: return a dict (named inputs) or a list of paths\n",
        id="unpack_generator"),
    pytest.param(
        {"Snakefile": 'rule a:\n    input: unpack(lambda wc: lambda: 1)\n'
                      '    output: "a.txt"\n    shell: "touch {output}"\n'}, ["run"],
        "Snakefile:2:12: error: unpack() function of rule a must return a dict or a list, "
        "got a function\n"
        '        input: unpack(lambda wc: lambda: 1)\n'
        "               ^\n"
        "  Job: a\n"
        "  hint: return a dict (named inputs) or a list of paths\n",
        id="unpack_lambda"),
    pytest.param(
        {"Snakefile": 'rule a:\n    input: unpack(lambda wc: {"ref": 3})\n'
                      '    output: "a.txt"\n    shell: "touch {output}"\n'}, ["run"],
        "Snakefile:2:12: error: unpack() function of rule a returned a int for 'ref', "
        "not a path\n"
        '        input: unpack(lambda wc: {"ref": 3})\n'
        "               ^\n"
        "  Job: a\n"
        "  hint: return a dict (named inputs) or a list of paths\n",
        id="unpack_bad_value"),
    pytest.param(
        {"Snakefile": 'rule a:\n    input: unpack("x.txt")\n    output: "a.txt"\n'}, ["run"],
        "Snakefile:2:12: error: TypeError: unpack() expects an input function\n"
        '        input: unpack("x.txt")\n'
        "               ^\n",
        id="unpack_not_callable"),
    pytest.param(
        {"Snakefile": 'rule a:\n    input: "in.txt"\n    output: "a.txt"\n'
                      '    shell: "cp {input} {output}"\n', "@in.txt": "nowhere/x.txt"},
        ["run"],
        "Snakefile:2:12: error: no rule can make 'in.txt' and it is a broken symlink (it "
        "points to 'nowhere/x.txt', which does not exist)\n"
        '        input: "in.txt"\n'
        "               ^\n"
        "  File:        in.txt\n"
        "  Points to:   nowhere/x.txt\n"
        "  Needed by:   a (DIR/Snakefile:1:1)\n"
        "  Rules tried: rule a: output pattern 'a.txt' does not match\n"
        "  hint: fix or remove the link, or add a rule whose output pattern matches it\n",
        id="broken_symlink_input"),
]


def _write(folder, files):
    for name, text in files.items():
        if name.startswith("@"):            # "@link": a symlink to the given target
            os.symlink(text, folder / name[1:])
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize("files, args, expected", CASES)
def test_workflow_fault_is_a_located_error(tmp_path, files, args, expected):
    _write(tmp_path, files)
    proc = rulekit(tmp_path, *args)
    assert (proc.returncode, proc.stderr.replace(str(tmp_path), "DIR")) == (2, expected)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "a.txt").exists()


def test_helper_names_are_plain_python(tmp_path):
    """`rules = [...]` and other helper names rebound at the top level (issue 10 item 7)."""
    (tmp_path / "Snakefile").write_text(
        'rules = ["a.txt", "b.txt"]\n'
        'checkpoints = 3\n'
        'expand = "not a function"\n'
        'unpack = None\n'
        'rule all:\n    input: rules\n\n'
        'rule make:\n    output: "{x}.txt"\n    shell: "echo {wildcards.x} > {output}"\n')
    for expect in ("3 jobs to run", "Nothing to do"):
        proc = rulekit(tmp_path, "run")
        assert proc.returncode == 0, proc.stderr
        assert expect in proc.stdout + proc.stderr
    assert (tmp_path / "b.txt").read_text() == "b\n"


def test_repeated_include_is_loaded_once(tmp_path):
    """Snakemake ignores a second include of the same file (diamond includes)."""
    _write(tmp_path, {
        "Snakefile": 'include: "common.smk"\ninclude: "x.smk"\ninclude: "common.smk"\n'
                     'rule all:\n    input: "c.txt", "x.txt"\n',
        "common.smk": 'rule c:\n    output: "c.txt"\n    shell: "touch {output}"\n',
        "x.smk": 'include: "common.smk"\nrule x:\n    output: "x.txt"\n'
                 '    shell: "touch {output}"\n'})
    for expect in ("3 jobs to run", "Nothing to do"):
        proc = rulekit(tmp_path, "run", "all")
        assert proc.returncode == 0, proc.stderr
        assert expect in proc.stdout + proc.stderr


def test_shell_executable_that_exists_is_used(tmp_path):
    sh = tmp_path / "mysh"
    sh.write_text('#!/bin/sh\necho via-mysh > a.txt\n')
    sh.chmod(0o755)
    (tmp_path / "Snakefile").write_text(f'shell.executable("{sh}")\n' + RULE_A)
    proc = rulekit(tmp_path, "run")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a.txt").read_text() == "via-mysh\n"
