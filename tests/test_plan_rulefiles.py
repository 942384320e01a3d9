"""Planning from real rule-file text: load a Rulesfile from tmp_path, plan, check exact texts.

Times are set with os.utime (T0 + t seconds), never with sleep. The CLI tests run
`python -m rulekit` in a subprocess on the same files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from test_plan import MadeTemps

from rulekit.core.errors import (
    AmbiguousRuleError,
    CycleError,
    MissingInputError,
    ProtectedOutputError,
    RulekitError,
)
from rulekit.lang.loader import load
from rulekit.planning.plan import make_plan
from rulekit.planning.reasons import format_ns
from rulekit.ui.planview import render_plan_text

T0 = 1_700_000_000


def ts(t: int) -> str:
    return format_ns((T0 + t) * 10**9)


def write(root: Path, text: str, **files: int) -> Path:
    """Write the Rulesfile and create `files` with mtime T0 + t: the keyword spells the
    path with `__` for `/` and its last `_` for `.` (raw__x_txt=0 -> raw/x.txt)."""
    rulefile = root / "Rulesfile"
    rulefile.write_text(textwrap.dedent(text).lstrip())
    for name, t in files.items():
        touch(root, ".".join(name.replace("__", "/").rsplit("_", 1)), t)
    return rulefile


def touch(root: Path, rel: str, t: int) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, ((T0 + t), (T0 + t)))


def plan_of(root: Path, targets: Any = (), **kw: Any) -> Any:
    return make_plan(load(root / "Rulesfile"), targets, **kw)


def summary(plan: Any) -> list[tuple[str, list[str]]]:
    return [(p.job.name, [r.describe() for r in p.reasons]) for p in plan]


def error_text(root: Path, targets: Any = (), **kw: Any) -> tuple[type, str]:
    with pytest.raises(RulekitError) as err:
        plan_of(root, targets, **kw)
    assert err.value.exit_code == 2
    return type(err.value), err.value.show().replace(str(root), "ROOT")


# --------------------------------------------------------------------------- wildcards

CONSTRAINED = """
    wildcard_constraints:
        sample="[a-z]+"

    rule a:
        input: "raw/{sample}.txt"
        output: "out/{sample}.txt"
        shell: "cp {input} {output}"

    rule b:
        input: "raw/{sample}.{n}.txt"
        output: "num/{sample}.{n,[0-9]+}.txt"
        shell: "cp {input} {output}"

    rule c:
        input: "raw/{id}.txt"
        output: "c/{id}.txt"
        wildcard_constraints:
            id="[A-Z]+"
        shell: "cp {input} {output}"
"""


def test_wildcard_constraints_global_inline_and_per_rule(tmp_path: Path) -> None:
    write(tmp_path, CONSTRAINED)
    for name in ("raw/x.txt", "raw/x.1.txt", "raw/X.txt", "raw/X1.txt", "raw/x.y.txt"):
        touch(tmp_path, name, 0)
    plan = plan_of(tmp_path, ["out/x.txt", "num/x.1.txt", "c/X.txt"])
    assert [(p.job.name, list(p.job.input)) for p in plan] == [
        ("a[sample=x]", ["raw/x.txt"]),
        ("b[sample=x, n=1]", ["raw/x.1.txt"]),
        ("c[id=X]", ["raw/X.txt"]),
    ]


@pytest.mark.parametrize(("target", "lines"), [
    ("out/X1.txt", ["rule a: wildcard {sample} value 'X1' fails constraint '[a-z]+'",
                    "rule b: output pattern 'num/{sample}.{n,[0-9]+}.txt' does not match",
                    "rule c: output pattern 'c/{id}.txt' does not match"]),
    ("num/x.y.txt", ["rule a: output pattern 'out/{sample}.txt' does not match",
                     "rule b: wildcard {n} value 'y' fails constraint '[0-9]+'",
                     "rule c: output pattern 'c/{id}.txt' does not match"]),
    ("c/x.txt", ["rule a: output pattern 'out/{sample}.txt' does not match",
                 "rule b: output pattern 'num/{sample}.{n,[0-9]+}.txt' does not match",
                 "rule c: wildcard {id} value 'x' fails constraint '[A-Z]+'"]),
])
def test_wildcard_constraints_explain_the_miss(tmp_path: Path, target: str,
                                               lines: list[str]) -> None:
    write(tmp_path, CONSTRAINED)
    kind, text = error_text(tmp_path, [target])
    assert kind is MissingInputError
    tried = ("\n" + " " * 15).join(lines)
    assert text == (
        f"error: no rule can make {target!r} and the file does not exist\n"
        f"  File:        {target}\n"
        "  Needed by:   the command line (a target)\n"
        f"  Rules tried: {tried}\n"
        "  hint: create the file, fix the path, or add a rule whose output pattern matches it")


def test_input_functions_unpack_multiext_and_params(tmp_path: Path) -> None:
    write(tmp_path, """
        def ref(wildcards):
            return "ref/" + wildcards.s + ".fa"

        def pair(wildcards):
            return {"r1": f"raw/{wildcards.s}_1.fq", "r2": f"raw/{wildcards.s}_2.fq"}

        rule map:
            input: unpack(pair), genome=ref
            output: multiext("out/{s}", ".bam", ".bai")
            params: prefix="out/{s}", fixed="n"
            shell: "map {input.r1} {input.r2} {input.genome} {params.prefix}"
    """, raw__x_1_fq=0, raw__x_2_fq=0, ref__x_fa=0)
    (job,) = [p.job for p in plan_of(tmp_path, ["out/x.bai"])]
    assert job.name == "map[s=x]"
    assert list(job.input) == ["raw/x_1.fq", "raw/x_2.fq", "ref/x.fa"]
    assert (job.input.r1, job.input.r2, job.input.genome) == (
        "raw/x_1.fq", "raw/x_2.fq", "ref/x.fa")
    assert list(job.output) == ["out/x.bam", "out/x.bai"]
    assert list(job.params) == ["out/x", "n"]
    assert job.params.prefix == "out/x"


def test_file_inside_a_directory_output(tmp_path: Path) -> None:
    write(tmp_path, """
        rule use:
            input: "unpacked/{ds}/table.csv"
            output: "summary/{ds}.txt"
            shell: "wc -l {input} > {output}"

        rule unpack_it:
            input: "data.tar"
            output: directory("unpacked/{ds}")
            shell: "mkdir -p {output}"
    """, data_tar=0)
    plan = plan_of(tmp_path, ["summary/d1.txt", "unpacked/d2/sub/deep.csv"])
    assert summary(plan) == [
        ("unpack_it[ds=d1]", ["missing output unpacked/d1"]),
        ("use[ds=d1]", ["missing output summary/d1.txt",
                        "input made by unpack_it[ds=d1], which runs"]),
        ("unpack_it[ds=d2]", ["missing output unpacked/d2"]),
    ]
    touch(tmp_path, "unpacked/d1/table.csv", 1)
    touch(tmp_path, "summary/d1.txt", 2)
    assert summary(plan_of(tmp_path, ["summary/d1.txt"])) == []


# --------------------------------------------------------------------------- resolution errors

TWO_RULES = """
    rule fast:
        input: "in/{x}.txt"
        output: "out/{x}.txt"
        shell: "cp {input} {output}"

    rule slow:
        input: "in/{x}.txt"
        output: "out/{x}.txt"
        shell: "cp {input} {output}"
"""


def test_ruleorder_resolves_the_ambiguity(tmp_path: Path) -> None:
    write(tmp_path, "ruleorder: slow > fast\n" + textwrap.dedent(TWO_RULES), in__a_txt=0)
    assert summary(plan_of(tmp_path, ["out/a.txt"])) == [
        ("slow[x=a]", ["missing output out/a.txt"])]


def test_ambiguous_rules_error(tmp_path: Path) -> None:
    write(tmp_path, TWO_RULES, in__a_txt=0)
    kind, text = error_text(tmp_path, ["out/a.txt"])
    assert kind is AmbiguousRuleError
    assert text == (
        "error: ambiguous rules for 'out/a.txt': fast, slow can all make it\n"
        "  File:      out/a.txt\n"
        "  Needed by: the command line (a target)\n"
        "  Rules:     rule fast: output 'out/{x}.txt' (ROOT/Rulesfile:1:1)\n"
        "             rule slow: output 'out/{x}.txt' (ROOT/Rulesfile:6:1)\n"
        "  hint: add 'ruleorder: fast > slow' to prefer one, or make the output patterns "
        "distinct (e.g. wildcard_constraints)")
    assert error_text(tmp_path, ["out/a.txt"])[1] == text   # the same on every run


def test_missing_input_error(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "b/x.txt"

        rule b:
            input: "a/{s}.txt"
            output: "b/{s}.txt"
            shell: "cp {input} {output}"
    """)
    kind, text = error_text(tmp_path)
    assert kind is MissingInputError
    assert text == (
        "ROOT/Rulesfile:5:12: error: no rule can make 'a/x.txt' and the file does not exist\n"
        '        input: "a/{s}.txt"\n'
        "               ^\n"
        "  File:        a/x.txt\n"
        "  Needed by:   b[s=x] (ROOT/Rulesfile:4:1)\n"
        "  Rules tried: rule b: output pattern 'b/{s}.txt' does not match\n"
        "  hint: create the file, fix the path, or add a rule whose output pattern matches it")


def test_cycle_error(tmp_path: Path) -> None:
    write(tmp_path, """
        rule x:
            input: "b.txt"
            output: "a.txt"
            shell: "cp {input} {output}"

        rule y:
            input: "a.txt"
            output: "b.txt"
            shell: "cp {input} {output}"
    """)
    kind, text = error_text(tmp_path, ["a.txt"])
    assert kind is CycleError
    assert text == (
        "ROOT/Rulesfile:2:12: error: cycle in the job graph: "
        "a.txt -> rule x -> b.txt -> rule y -> a.txt\n"
        '        input: "b.txt"\n'
        "               ^\n"
        "  Cycle: a.txt -> rule x -> b.txt -> rule y -> a.txt\n"
        "  hint: a rule's output must not be needed, directly or through other rules, "
        "by its own inputs")


# --------------------------------------------------------------------------- rebuild policy

def test_ancient_input_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, """
        rule a:
            input: ancient("ref.fa"), "raw/x.txt"
            output: "out/x.txt"
            shell: "cat {input} > {output}"
    """, ref_fa=10, raw__x_txt=0, out__x_txt=5)
    assert summary(plan_of(tmp_path)) == []
    touch(tmp_path, "raw/x.txt", 6)
    assert summary(plan_of(tmp_path)) == [
        ("a", [f"output out/x.txt older than input raw/x.txt ({ts(5)} < {ts(6)})"])]


TEMP = """
    rule all:
        input: "final.txt"

    rule a:
        input: "raw.txt"
        output: temp("mid.txt")
        shell: "cp {input} {output}"

    rule b:
        input: "mid.txt"
        output: "final.txt"
        shell: "cp {input} {output}"
"""


def test_removed_temp_output_does_not_force_a_rerun(tmp_path: Path) -> None:
    write(tmp_path, TEMP, raw_txt=0, final_txt=5)
    plan = plan_of(tmp_path, store=MadeTemps("mid.txt"), rerun_triggers=["mtime"])
    assert plan.is_empty and len(plan.dag) == 3
    assert render_plan_text(plan) == "Nothing to do: all outputs are up to date."


def test_removed_temp_output_is_remade_when_downstream_is_stale(tmp_path: Path) -> None:
    write(tmp_path, TEMP, raw_txt=9, final_txt=5)
    made = MadeTemps("mid.txt")
    assert summary(plan_of(tmp_path, store=made, rerun_triggers=["mtime"])) == [
        ("a", ["missing output mid.txt"]),
        ("b", [f"output final.txt older than input raw.txt ({ts(5)} < {ts(9)})",
               "input made by a, which runs"]),
        ("all", ["input made by b, which runs"]),
    ]


def test_protected_output_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, """
        rule a:
            input: "raw.txt"
            output: protected("out.txt")
            shell: "cp {input} {output}"
    """, raw_txt=9, out_txt=5)
    kind, text = error_text(tmp_path)
    assert kind is ProtectedOutputError
    assert text == (
        "ROOT/Rulesfile:3:13: error: job a would overwrite protected output 'out.txt'\n"
        '        output: protected("out.txt")\n'
        "                ^\n"
        "  Files:   out.txt\n"
        "  Job:     a\n"
        f"  Reasons: output out.txt older than input raw.txt ({ts(5)} < {ts(9)})\n"
        "  hint: protected() outputs are never rewritten; delete the file yourself if it "
        "really must be made again")


CHAIN = """
    rule all:
        input: "c/x.txt"

    rule a:
        input: "raw/{s}.txt"
        output: "a/{s}.txt"
        shell: "cp {input} {output}"

    rule b:
        input: "a/{s}.txt"
        output: "b/{s}.txt"
        shell: "cp {input} {output}"

    rule c:
        input: "b/{s}.txt"
        output: "c/{s}.txt"
        shell: "cp {input} {output}"
"""


def built_chain(root: Path) -> None:
    write(root, CHAIN, raw__x_txt=0, a__x_txt=1, b__x_txt=2, c__x_txt=3)


def test_until(tmp_path: Path) -> None:
    write(tmp_path, CHAIN, raw__x_txt=0)
    assert summary(plan_of(tmp_path, until="b")) == [
        ("a[s=x]", ["missing output a/x.txt"]),
        ("b[s=x]", ["missing output b/x.txt", "input made by a[s=x], which runs"]),
    ]


def test_forcerun(tmp_path: Path) -> None:
    built_chain(tmp_path)
    assert summary(plan_of(tmp_path, forcerun=["b"])) == [
        ("b[s=x]", ["forced: --forcerun names this rule"]),
        ("c[s=x]", ["input made by b[s=x], which runs"]),
        ("all", ["input made by c[s=x], which runs"]),
    ]


def test_forceall(tmp_path: Path) -> None:
    built_chain(tmp_path)
    assert summary(plan_of(tmp_path, forceall=True)) == [
        ("a[s=x]", ["forced: --forceall"]),
        ("b[s=x]", ["forced: --forceall", "input made by a[s=x], which runs"]),
        ("c[s=x]", ["forced: --forceall", "input made by b[s=x], which runs"]),
        ("all", ["forced: --forceall", "input made by c[s=x], which runs"]),
    ]


def test_force_on_a_target(tmp_path: Path) -> None:
    built_chain(tmp_path)
    assert summary(plan_of(tmp_path, ["b/x.txt"], force=True)) == [
        ("b[s=x]", ["forced: --force on a target"])]
    assert summary(plan_of(tmp_path, ["b/x.txt"])) == []


def test_checkpoint_downstream_waits(tmp_path: Path) -> None:
    write(tmp_path, """
        checkpoint split:
            input: "raw.txt"
            output: directory("parts")
            shell: "mkdir -p {output}"

        def parts(wildcards):
            folder = checkpoints.split.get().output[0]
            return sorted(glob_wildcards(folder + "/{p}.txt").p)

        rule merge:
            input: parts
            output: "merged.txt"
            shell: "cat {input} > {output}"
    """, raw_txt=0)
    plan = plan_of(tmp_path, ["merged.txt"])
    assert summary(plan) == [
        ("split", ["missing output parts"]),
        ("merge", ["missing output merged.txt", "input made by split, which runs",
                   "waiting for checkpoint split; inputs are known once it has run"]),
    ]
    assert plan.dag.waiting == {1: "split"}


# --------------------------------------------------------------------------- the CLI

def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "rulekit", *args, "-d", str(root)],
                          capture_output=True, text=True, env=env, cwd=root, check=False)


def test_cli_plan_json_equals_plan_to_json(tmp_path: Path) -> None:
    write(tmp_path, CHAIN, raw__x_txt=0, a__x_txt=1)
    proc = cli(tmp_path, "plan", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == plan_of(tmp_path).to_json()
    assert json.loads(proc.stdout)["counts"] == {"all": 1, "b": 1, "c": 1}


def test_cli_plan_check(tmp_path: Path) -> None:
    write(tmp_path, CHAIN, raw__x_txt=0, a__x_txt=1, b__x_txt=2)
    stale = cli(tmp_path, "plan", "--check")
    assert stale.returncode == 1
    assert stale.stdout == (
        "rule  wildcards  outputs  reasons\n"
        "c     s=x        c/x.txt  missing output c/x.txt\n"
        "all                       input made by c[s=x], which runs\n"
        "\n"
        "2 jobs to run:\n"
        "  rule     jobs\n"
        "  all      1\n"
        "  c        1\n"
        "  (total)  2\n")
    touch(tmp_path, "c/x.txt", 3)
    fresh = cli(tmp_path, "plan", "c/x.txt", "--check")
    assert (fresh.returncode, fresh.stdout) == (
        0, "Nothing to do: all outputs are up to date.\n")


def test_cli_run_dry_run_prints_the_plan_table(tmp_path: Path) -> None:
    write(tmp_path, CHAIN, raw__x_txt=0)
    plan = cli(tmp_path, "plan")
    dry = cli(tmp_path, "run", "-n")
    assert (plan.returncode, dry.returncode) == (0, 0)
    assert dry.stdout == plan.stdout
    assert plan.stdout.startswith("rule  wildcards  outputs  reasons\n"
                                  "a     s=x        a/x.txt  missing output a/x.txt\n")


def test_cli_dag_mermaid_and_rules(tmp_path: Path) -> None:
    write(tmp_path, CHAIN, raw__x_txt=0, a__x_txt=1)
    jobs = cli(tmp_path, "dag", "--format", "mermaid")
    assert jobs.returncode == 0, jobs.stderr
    tail = ("    n0 --> n1\n"
            "    n1 --> n2\n"
            "    n2 --> n3\n"
            "    classDef done stroke-dasharray: 5 5\n"
            "    class n0 done\n")
    assert jobs.stdout == ('flowchart TB\n'
                           '    n0["a[s=x]"]\n'
                           '    n1["b[s=x]"]\n'
                           '    n2["c[s=x]"]\n'
                           '    n3["all"]\n' + tail)
    rules = cli(tmp_path, "dag", "--format", "mermaid", "--rules")
    assert rules.returncode == 0, rules.stderr
    assert rules.stdout == ('flowchart TB\n'
                            '    n0["a"]\n'
                            '    n1["b"]\n'
                            '    n2["c"]\n'
                            '    n3["all"]\n' + tail)


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    write(tmp_path, TWO_RULES, in__a_txt=0)
    proc = cli(tmp_path, "plan", "out/a.txt")
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "error: ambiguous rules for 'out/a.txt': fast, slow can all make it\n")


def test_resource_functions_may_take_snakemakes_attempt(tmp_path: Path) -> None:
    write(tmp_path, """
        rule a:
            output: "out/{s}.txt"
            threads: 2
            resources: mem_mb=lambda wildcards, attempt: attempt * 1000, runtime=lambda wildcards, threads: threads * 10
            shell: "touch {output}"
        """)
    job = next(iter(plan_of(tmp_path, ["out/x.txt"]))).job
    assert job.resources == {"mem_mb": 1000, "runtime": 20, "mem_mib": 954}   # mem_mib as Snakemake
