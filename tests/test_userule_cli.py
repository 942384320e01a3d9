"""`use rule` (rule inheritance) and `module` statements, run through the CLI (issue 11)."""

from __future__ import annotations

from pathlib import Path

from jobhelp import nothing_to_do, rk, run_ok, write

INHERIT = """\
rule all:
    input: "a.txt", "b.txt", "c.txt", "d.txt"

rule a:
    output: "a.txt"
    params: "pos", word="hi", n=1
    threads: 1
    shell: "echo {params[0]} {params.word} {params.n} {threads} > {output}"

# named params are replaced one by one; positional ones only when given
use rule a as b with:
    output:
        "b.txt"
    params: n=2
    threads: 2

use rule a as c with:
    output: "c.txt"
    params: "other"

rule d_base:
    input: "{x}.txt"
    output: "{x}.copy"
    shell: "cp {input} {output}"

use rule d_base as d with:
    input: "b.txt"
    output: "d.txt"

use rule d_base as e
"""


def test_use_rule_with_overrides_and_plain_copy(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": INHERIT})
    run_ok(tmp_path, "-f", "Snakefile")
    assert (tmp_path / "a.txt").read_text() == "pos hi 1 1\n"
    assert (tmp_path / "b.txt").read_text() == "pos hi 2 2\n"
    assert (tmp_path / "c.txt").read_text() == "other hi 1 1\n"
    assert (tmp_path / "d.txt").read_text() == "pos hi 2 2\n"
    nothing_to_do(tmp_path, "-f", "Snakefile")
    # The plain copy `e` has d_base's wildcard output; both rules fit, so ruleorder is
    # needed, as in Snakemake.
    res = rk(tmp_path, "run", "-f", "Snakefile", "a.copy")
    assert res.returncode == 2
    assert res.stderr.startswith("error: ambiguous rules for 'a.copy': d_base, e can all make it\n")
    assert "rule e: output '{x}.copy' (" in res.stderr


MAIN = """\
configfile: "config.yaml"

rule all:
    input: "results/other.txt", "results/final.txt", "special.txt"

module other:
    snakefile: "other/Snakefile"
    config: config["other"]
    prefix: "results"

use rule * from other as other_*

use rule final from other as other_final with:
    params: extra="!"

rule special:
    input: rules.other_final.output
    output: "special.txt"
    shell: "cat {input} > {output}; echo {config[main]} {other.GREETING} >> {output}"
"""

MODULE = """\
configfile: "ignored.yaml"   # config: given above: this statement is ignored
GREETING = config["greeting"]

rule first:
    output: "other.txt"
    shell: "echo {GREETING} {config[greeting]} > {output}"

rule final:
    input: rules.first.output
    output: "final.txt"
    params: extra="?"
    script: "scripts/final.py"
"""

SCRIPT = """\
with open(snakemake.output[0], "w") as f:
    f.write(open(snakemake.input[0]).read().strip() + snakemake.params.extra
            + " " + snakemake.config["greeting"] + "\\n")
"""


def test_module_rules_in_their_own_namespace(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": MAIN, "config.yaml": "main: 1\nother:\n  greeting: hello\n",
                     "other/Snakefile": MODULE, "other/scripts/final.py": SCRIPT})
    res = run_ok(tmp_path, "-f", "Snakefile")
    assert "other_first" in res.stdout and "other_final" in res.stdout
    assert (tmp_path / "results/other.txt").read_text() == "hello hello\n"
    assert (tmp_path / "results/final.txt").read_text() == "hello hello! hello\n"
    assert (tmp_path / "special.txt").read_text() == "hello hello! hello\n1 hello\n"
    nothing_to_do(tmp_path, "-f", "Snakefile")
    res = ok_list(tmp_path)
    assert "other_first" in res and "other_final" in res


def ok_list(folder: Path) -> str:
    res = rk(folder, "list", "-f", "Snakefile")
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_module_without_config_shares_the_main_config(tmp_path: Path) -> None:
    write(tmp_path, {
        "Snakefile": """\
            configfile: "config.yaml"
            module m:
                snakefile: "m.smk"
            use rule greet from m
            """,
        "m.smk": """\
            rule greet:
                output: "greet.txt"
                shell: "echo {config[who]} > {output}"
            """,
        "config.yaml": "who: world\n"})
    run_ok(tmp_path, "-f", "Snakefile")
    assert (tmp_path / "greet.txt").read_text() == "world\n"
    run_ok(tmp_path, "-f", "Snakefile", "--config", "who=you", "-F")
    assert (tmp_path / "greet.txt").read_text() == "you\n"


def test_use_rule_errors_through_the_cli(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": """\
        rule a:
            output: "a"
            shell: "touch {output}"
        use rule a as b with:
            run:
                pass
        """})
    res = rk(tmp_path, "run", "-f", "Snakefile")
    assert res.returncode == 2
    assert res.stderr.startswith(
        "Snakefile:5:5: error: 'use rule ... with:' cannot replace the rule's body 'run:'\n")


def test_module_replace_prefix_ruleorder_localrules_constraints(tmp_path: Path) -> None:
    write(tmp_path, {
        "Snakefile": """\
            module m:
                snakefile: "m/Snakefile"
                replace_prefix: {"results/": "results/m/"}
            use rule * from m as m_*
            """,
        "m/Snakefile": """\
            wildcard_constraints:
                n="[0-9]+"
            localrules: all
            ruleorder: special > generic

            rule all:
                input: "results/1.txt", "results/x.txt"

            rule special:
                output: "results/{n}.txt"
                shell: "echo special {wildcards.n} > {output}"

            rule generic:
                output: "results/{name}.txt"
                shell: "echo generic {wildcards.name} > {output}"
            """})
    run_ok(tmp_path, "-f", "Snakefile")
    assert (tmp_path / "results/m/1.txt").read_text() == "special 1\n"
    assert (tmp_path / "results/m/x.txt").read_text() == "generic x\n"
    nothing_to_do(tmp_path, "-f", "Snakefile")


def test_checkpoint_in_a_module(tmp_path: Path) -> None:
    write(tmp_path, {
        "Snakefile": 'module m:\n    snakefile: "m/Snakefile"\nuse rule * from m as m_*\n',
        "m/Snakefile": """\
            rule all:
                input: "agg.txt"

            checkpoint split:
                output: directory("parts")
                shell: "mkdir -p {output}; echo 1 > {output}/a.txt; echo 2 > {output}/b.txt"

            def parts(wildcards):
                out = checkpoints.split.get().output[0]
                return expand("parts/{p}.txt", p=glob_wildcards(out + "/{p}.txt").p)

            rule agg:
                input: parts
                output: "agg.txt"
                shell: "cat {input} > {output}"
            """})
    res = run_ok(tmp_path, "-f", "Snakefile")
    assert "m_split" in res.stdout and "m_agg" in res.stdout
    assert (tmp_path / "agg.txt").read_text() == "1\n2\n"
    nothing_to_do(tmp_path, "-f", "Snakefile")


def test_star_alias_with_block_and_expand_of_rules_output(tmp_path: Path) -> None:
    write(tmp_path, {
        "Snakefile": """\
            module m:
                snakefile: "m/Snakefile"
                replace_prefix: {"out/": "out/m/"}
            use rule * from m as m_*
            use rule make from m as m_* with:
                params: word="changed"
            rule all:
                input: "out/m/joined.txt"
            """,
        "m/Snakefile": """\
            rule make:
                output: temp("out/parts/{n}.txt")
                params: word="orig"
                shell: "echo {params.word} {wildcards.n} > {output}"

            rule join:
                input: expand(rules.make.output, n=[1, 2])
                output: "out/joined.txt"
                shell: "cat {input} > {output}"
            """})
    run_ok(tmp_path, "-f", "Snakefile", "all")
    assert (tmp_path / "out/m/joined.txt").read_text() == "changed 1\nchanged 2\n"
    assert not (tmp_path / "out/m/parts/1.txt").exists()       # temp() kept its meaning
    nothing_to_do(tmp_path, "-f", "Snakefile", "all")


PREFIXED_MAIN = """\
rule all:
    input: "m/merged.txt"

module m:
    snakefile: "mod/Snakefile"
    prefix: "m"

use rule * from m as m_*
"""

PREFIXED_MODULE = """\
SAMPLES = ["a", "b"]

def raw(wildcards):
    return f"raw/{wildcards.s}.txt"          # a module path: moves under the prefix

def both(wildcards):
    return {"first": "raw/a.txt", "second": Path("raw/b.txt")}

rule make:
    output: "raw/{s}.txt"
    shell: "echo {wildcards.s} > {output}"

rule upper:
    input: raw
    output: "up/{s}.txt"
    shell: "tr a-z A-Z < {input} > {output}"

rule pair:
    input: unpack(both)
    output: "pair.txt"
    shell: "cat {input.first} {input.second} > {output}"

rule merge:
    input: lambda wildcards: expand("up/{s}.txt", s=SAMPLES), "pair.txt"
    output: "merged.txt"
    shell: "cat {input} > {output}"
"""


def test_module_prefix_moves_what_input_functions_return(tmp_path: Path) -> None:
    """As in Snakemake, a module's prefix applies to the paths its input functions (plain,
    lambda, unpack) return, not only to the paths written out."""
    write(tmp_path, {"Snakefile": PREFIXED_MAIN, "mod/Snakefile": PREFIXED_MODULE})
    run_ok(tmp_path, "-f", "Snakefile")
    assert (tmp_path / "m/merged.txt").read_text() == "A\nB\na\nb\n"
    assert not (tmp_path / "raw").exists() and not (tmp_path / "up").exists()
    nothing_to_do(tmp_path, "-f", "Snakefile")
