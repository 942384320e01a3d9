"""Snakemake grammar that must run unchanged (issue 11 items 7-9), end to end through the CLI.

Docstrings, one-line rules, and rules (and checkpoints) inside if/else/for blocks and
functions. Each workflow runs twice: the second run must plan nothing.
"""

import subprocess
import sys

import pytest

from rulekit.lang.loader import load


def rulekit(folder, *args):
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=folder,
                          capture_output=True, text=True, timeout=120)


def run_twice(folder, *args, jobs):
    first = rulekit(folder, "run", *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"ok: {jobs} of {jobs} jobs done" in first.stdout
    second = rulekit(folder, "run", *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout == "Nothing to do: all outputs are up to date.\n"


def write(folder, text):
    (folder / "Snakefile").write_text(text)


def test_docstrings(tmp_path):
    write(tmp_path, '''\
rule all:
    """The final targets."""
    input: "a.txt", "b.txt"

rule a:
    """
    Make a.

    Several lines, with a colon: and a # hash.
    """
    output: "a.txt"
    shell: "echo a > {output}"

checkpoint b:
    'single-quoted docstring'
    output: "b.txt"
    shell: "echo b > {output}"
''')
    run_twice(tmp_path, jobs=3)
    assert (tmp_path / "a.txt").read_text() == "a\n"
    wf = load(tmp_path / "Snakefile")
    assert wf.rules["all"].docstring == "The final targets."
    assert wf.rules["a"].docstring.split() == \
        ["Make", "a.", "Several", "lines,", "with", "a", "colon:", "and", "a", "#", "hash."]
    assert wf.rules["b"].docstring == "single-quoted docstring"


def test_one_line_rules(tmp_path):
    write(tmp_path, '''\
rule all: input: "out/a.txt", "out/b.txt"

rule make: output: "out/{x}.txt"

rule copy:
    input: "in/{x}.txt"
    output: "in/{x}.copy"
    shell: "cp {input} {output}"

rule:  input: "in/a.copy"
''')
    wf = load(tmp_path / "Snakefile")
    assert wf.rules["all"].input == [(None, "out/a.txt"), (None, "out/b.txt")]
    assert wf.rules["make"].output == ["out/{x}.txt"]
    assert wf.rules["4"].input == [(None, "in/a.copy")]
    write(tmp_path, '''\
rule all: input: expand("out/{x}.txt", x=["a", "b"])
rule gen:
    output: "out/{x}.txt"
    shell: "echo {wildcards.x} > {output}"
''')
    run_twice(tmp_path, jobs=3)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt", "b.txt"]


def test_rules_in_for_loop_capture_the_loop_variable(tmp_path):
    write(tmp_path, '''\
rule all:
    input: expand("test.{i}.out", i=range(3))

for i in range(3):
    rule:
        output: f"test.{i}.out"
        params: n=i * 10
        shell: "echo {params.n} > {output}"
''')
    run_twice(tmp_path, jobs=4)
    assert [(tmp_path / f"test.{i}.out").read_text() for i in range(3)] == \
        ["0\n", "10\n", "20\n"]
    listed = rulekit(tmp_path, "list").stdout.split()
    assert [w for w in listed if w.isdigit()] == ["2", "3", "4"]


def test_rules_in_functions_and_if_else(tmp_path):
    write(tmp_path, '''\
MODE = config.get("mode", "fast")

def make_step(name, text):
    suffix = ".txt"
    rule:
        name: f"step_{name}"
        output: f"{name}" + suffix
        params: text=text
        run:
            with open(output[0], "w") as fh:
                fh.write(decorate(params.text) + suffix + "\\n")

if MODE == "fast":
    rule all:
        input: "one.txt", "two.txt"
else:
    rule all:
        input: "one.txt"

make_step("one", "first")
make_step("two", "second")

def decorate(text):                     # defined after the rules that call it at run time
    return f"<{text}>"
''')
    run_twice(tmp_path, jobs=3)
    assert (tmp_path / "one.txt").read_text() == "<first>.txt\n"
    assert (tmp_path / "two.txt").read_text() == "<second>.txt\n"
    wf = load(tmp_path / "Snakefile", config={"mode": "slow"})
    assert sorted(wf.rules) == ["all", "step_one", "step_two"]
    assert wf.rules["all"].input == [(None, "one.txt")]


def test_checkpoint_in_loop_and_wildcards(tmp_path):
    write(tmp_path, '''\
SAMPLES = ["x", "y"]

rule all:
    input: expand("res/{s}.{k}.txt", s=SAMPLES, k=["up", "down"])

for kind in ["up", "down"]:
    checkpoint:
        input: "data/{s}.txt"
        output: "res/{s}." + kind + ".txt"
        params: kind=kind
        shell: "tr a-z A-Z < {input} > {output}; echo {params.kind} >> {output}"

rule data:
    output: "data/{s}.txt"
    shell: "echo {wildcards.s} > {output}"
''')
    run_twice(tmp_path, "-j", "2", jobs=7)
    assert (tmp_path / "res/y.down.txt").read_text() == "Y\ndown\n"


def test_nested_rule_errors_are_located(tmp_path):
    write(tmp_path, 'for i in range(2):\n    rule r:\n        output: f"{i}.txt"\n')
    proc = rulekit(tmp_path, "check")
    assert proc.returncode == 2
    assert proc.stderr == (
        "Snakefile:2:10: error: two rules are named 'r' (the first is at "
        f"{tmp_path}/Snakefile:2:10)\n"
        "        rule r:\n"
        "             ^\n")
    write(tmp_path, 'def f():\n    rule:\n        output: undefined_name\n\nf()\n')
    proc = rulekit(tmp_path, "check")
    assert proc.returncode == 2
    assert proc.stderr == (
        "Snakefile:3:17: error: NameError: name 'undefined_name' is not defined\n"
        "            output: undefined_name\n"
        "                    ^\n")


@pytest.mark.parametrize("text, names", [
    ('if True:\n    rule:\n        output: "a"\nrule b:\n    output: "b"\n', ["1", "b"]),
    ('if False:\n    rule:\n        output: "a"\nrule:\n    output: "b"\n', ["1"]),
    ('rule a:\n    output: "a"\nfor x in "pq":\n    rule:\n        output: x\n',
     ["a", "2", "3"]),
    ('def f():\n    rule:\n        output: "f"\nrule:\n    output: "b"\nf()\n', ["1", "2"]),
])
def test_anonymous_rule_names_follow_definition_order(tmp_path, text, names):
    """Snakemake names an anonymous rule by its number among the rules defined so far."""
    write(tmp_path, text)
    assert list(load(tmp_path / "Snakefile").rules) == names
