"""Snakemake semantics that real Snakefiles rely on (issue 11), end to end through the CLI.

Each test writes a small Snakefile in Snakemake's style to a temp dir, runs
`python -m rulekit run` in a subprocess, checks the files it made, and runs again to see
that nothing is left to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

UP_TO_DATE = "Nothing to do: all outputs are up to date."


def write(root: Path, snakefile: str, **files: str) -> None:
    (root / "Snakefile").write_text(textwrap.dedent(snakefile).lstrip())
    for name, text in files.items():
        path = root / name.replace("__", "/").replace("_DOT_", ".")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def rulekit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=root,
                          capture_output=True, text=True, timeout=120)


def run(root: Path, *targets: str, cores: str = "2") -> subprocess.CompletedProcess[str]:
    return rulekit(root, "run", "-f", "Snakefile", "--cores", cores, *targets)


def run_twice(root: Path, *targets: str) -> str:
    first = run(root, *targets)
    assert first.returncode == 0, first.stdout + first.stderr
    again = run(root, *targets)
    assert again.returncode == 0, again.stdout + again.stderr
    assert UP_TO_DATE in again.stdout, again.stdout
    return first.stdout


def read(root: Path, name: str) -> str:
    return (root / name).read_text()


# --------------------------------------------------------------------- item 10

def test_default_target_comes_from_the_main_file(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "common.smk").write_text(textwrap.dedent("""
        rule helper:
            output: "helper.txt"
            shell: "echo helper > {output}"

        rule shout:
            input: "{name}.txt"
            output: "{name}.loud"
            shell: "tr a-z A-Z < {input} > {output}"
        """).lstrip())
    write(tmp_path, """
        include: "rules/common.smk"

        rule all:
            input: "hello.loud"

        rule hello:
            output: "hello.txt"
            shell: "echo hello > {output}"
        """)
    out = run_twice(tmp_path)
    assert read(tmp_path, "hello.loud") == "HELLO\n"
    assert not (tmp_path / "helper.txt").exists()
    assert "helper" not in out


# --------------------------------------------------------------------- item 11

def test_shell_sees_rule_file_globals_and_wildcards_as_pairs(tmp_path: Path) -> None:
    write(tmp_path, """
        GREETING = "hello"
        input = "a global that the job's own input hides"

        rule all:
            input: "greet/world.txt", "pairs/a.r1.txt"

        rule greet:
            input: "names.txt"
            output: "greet/{who}.txt"
            shell: "echo {GREETING} {wildcards.who} {input} cores={workflow.cores} > {output}"

        rule pairs:
            output: "pairs/{sample}.{read}.txt"
            shell: "echo {wildcards} > {output}"
        """, names_DOT_txt="n\n")
    run_twice(tmp_path)
    assert read(tmp_path, "greet/world.txt") == "hello world names.txt cores=2\n"
    assert read(tmp_path, "pairs/a.r1.txt") == "read=r1,sample=a\n"


def test_message_sees_globals_too(tmp_path: Path) -> None:
    write(tmp_path, """
        TOOL = "sorter"

        rule sort:
            output: "sorted.txt"
            message: "running {TOOL} for {output}"
            shell: "echo x > {output}"
        """)
    assert "running sorter for sorted.txt" in run_twice(tmp_path)



def test_io_names_that_are_list_methods_format_as_files(tmp_path: Path) -> None:
    write(tmp_path, """
        rule stats:
            output:
                table="stats/table.tsv",
                count="stats/count.txt",
                index="stats/index.txt"
            shell:
                "echo t > {output.table}; echo c > {output.count}; echo i > {output.index}"
        """)
    run_twice(tmp_path)
    assert read(tmp_path, "stats/count.txt") == "c\n"
    assert read(tmp_path, "stats/index.txt") == "i\n"

# --------------------------------------------------------------------- item 13

def test_input_functions_return_generators_paths_and_patterns(tmp_path: Path) -> None:
    write(tmp_path, """
        from pathlib import Path

        SAMPLES = ["a", "b"]

        def per_sample(wildcards):
            for s in SAMPLES:
                yield f"raw/{s}.{{kind}}.txt"

        def reference(wildcards):
            return Path("ref") / f"{wildcards.kind}.fa"

        rule all:
            input: "merged/x.txt", "listed/y.txt"

        rule merge:
            input: per_sample, ref=reference
            output: "merged/{kind}.txt"
            shell: "cat {input} > {output}"

        rule listing:
            input: expand("raw/{s}.{{kind}}.txt", s=lambda wildcards: SAMPLES)
            output: "listed/{kind}.txt"
            shell: "echo {input} > {output}"
        """, raw__a_DOT_x_DOT_txt="ax\n", raw__b_DOT_x_DOT_txt="bx\n",
        raw__a_DOT_y_DOT_txt="ay\n", raw__b_DOT_y_DOT_txt="by\n", ref__x_DOT_fa=">x\n")
    run_twice(tmp_path)
    assert read(tmp_path, "merged/x.txt") == "ax\nbx\n>x\n"
    assert read(tmp_path, "listed/y.txt") == "raw/a.y.txt raw/b.y.txt\n"


def test_input_function_pattern_with_unknown_wildcard_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "out/a.txt"

        rule make:
            input: lambda wildcards: "raw/{nope}.txt"
            output: "out/{s}.txt"
            shell: "cp {input} {output}"
        """)
    res = run(tmp_path)
    assert res.returncode == 2
    assert "input function of rule make returned 'raw/{nope}.txt'" in res.stderr
    assert "Traceback" not in res.stderr


# --------------------------------------------------------------------- item 14

def test_rule_without_wildcards_wins_over_one_with(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "special.txt", "plain.txt"

        rule generic:
            output: "{name}.txt"
            shell: "echo generic > {output}"

        rule special:
            output: "special.txt"
            shell: "echo special > {output}"
        """)
    run_twice(tmp_path)
    assert read(tmp_path, "special.txt") == "special\n"
    assert read(tmp_path, "plain.txt") == "generic\n"


def test_ruleorder_still_beats_the_wildcard_preference(tmp_path: Path) -> None:
    write(tmp_path, """
        ruleorder: generic > special

        rule all:
            input: "special.txt"

        rule generic:
            output: "{name}.txt"
            shell: "echo generic > {output}"

        rule special:
            output: "special.txt"
            shell: "echo special > {output}"
        """)
    run_twice(tmp_path)
    assert read(tmp_path, "special.txt") == "generic\n"


def test_input_from_rules_output_pins_the_producer(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "report/s1.txt"

        rule fast:
            output: "calls/{sample}.vcf"
            shell: "echo fast > {output}"

        rule careful:
            output: "calls/{sample}.vcf"
            shell: "echo careful > {output}"

        rule report:
            input: rules.careful.output
            output: "report/{sample}.txt"
            shell: "cat {input} > {output}"
        """)
    run_twice(tmp_path)
    assert read(tmp_path, "report/s1.txt") == "careful\n"


def test_global_wildcard_constraints_apply_to_earlier_rules(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "a.txt", "sub/1.txt"

        rule letters:
            output: "{name}.txt"
            shell: "echo letters {wildcards.name} > {output}"

        rule numbers:
            output: "sub/{n}.txt"
            shell: "echo numbers {wildcards.n} > {output}"

        wildcard_constraints:
            name="[a-z]+"
        """)
    run_twice(tmp_path)
    assert read(tmp_path, "a.txt") == "letters a\n"
    assert read(tmp_path, "sub/1.txt") == "numbers 1\n"


# --------------------------------------------------------------------- item 15

def test_same_pattern_passes_wildcards_by_name(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "a/r1.done"

        rule fastq:
            output: "foo.{sample}{read}.fq"
            shell: "echo sample={wildcards.sample} read={wildcards.read} > {output}"

        rule done:
            input: "foo.{sample}{read}.fq"
            output: "{sample}/{read}.done"
            shell: "cat {input} > {output}"
        """)
    run_twice(tmp_path)
    assert read(tmp_path, "a/r1.done") == "sample=a read=r1\n"


# --------------------------------------------------------------------- item 16

CYCLE = """
    rule all:
        input: "x.out"

    rule convert:
        input: "{s}.in"
        output: "{s}.out"
        shell: "cat {input} > {output}"

    rule back:
        input: "{s}.out"
        output: "{s}.in"
        shell: "cat {input} > {output}"
    """


def test_candidate_closing_a_cycle_is_dropped_for_an_existing_file(tmp_path: Path) -> None:
    write(tmp_path, CYCLE, x_DOT_in="hi\n")
    out = run_twice(tmp_path)
    assert read(tmp_path, "x.out") == "hi\n"
    assert "back" not in out


def test_candidate_closing_a_cycle_is_dropped_for_another_rule(tmp_path: Path) -> None:
    write(tmp_path, CYCLE + """
    rule fetch:
        output: "{s}.in"
        shell: "echo fetched > {output}"
    """)
    run_twice(tmp_path)
    assert read(tmp_path, "x.out") == "fetched\n"


def test_a_real_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, CYCLE)
    res = run(tmp_path)
    assert res.returncode == 2
    assert ("error: cycle in the job graph: x.out -> rule convert -> x.in -> rule back -> "
            "x.out") in res.stderr


# --------------------------------------------------------------------- item 17

def test_log_files_are_producible(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "summary.txt"

        rule align:
            output: "aligned/{s}.bam"
            log: "logs/align/{s}.log"
            shell: "echo bam > {output}; echo aligned {wildcards.s} > {log}"

        rule summary:
            input: "logs/align/s1.log"
            output: "summary.txt"
            shell: "cat {input} > {output}"
        """)
    run_twice(tmp_path)
    assert read(tmp_path, "summary.txt") == "aligned s1\n"
    assert read(tmp_path, "aligned/s1.bam") == "bam\n"
    # a log file as a target
    res = run(tmp_path, "logs/align/s2.log")
    assert res.returncode == 0, res.stderr
    assert read(tmp_path, "logs/align/s2.log") == "aligned s2\n"
    assert read(tmp_path, "aligned/s2.bam") == "bam\n"
    assert UP_TO_DATE in run(tmp_path, "logs/align/s2.log").stdout


def test_an_output_and_a_log_of_the_same_name_are_ambiguous(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "notes/a.txt"

        rule writer:
            output: "notes/{s}.txt"
            shell: "echo written > {output}"

        rule other:
            output: "other/{s}.txt"
            log: "notes/{s}.txt"
            shell: "echo o > {output}; echo logged > {log}"
        """)
    res = run(tmp_path)
    assert res.returncode == 2
    assert "ambiguous rules for 'notes/a.txt': writer, other" in res.stderr


# --------------------------------------------------------------------- item 19

def test_symlink_outputs_are_judged_and_touched_as_links(tmp_path: Path) -> None:
    write(tmp_path, """
        rule all:
            input: "final.txt"

        rule link:
            input: "data/raw.txt"
            output: "linked.txt"
            shell: "cp -P --preserve=timestamps template.lnk {output}"

        rule final:
            input: "linked.txt"
            output: "final.txt"
            shell: "cat {input} > {output}"
        """, data__raw_DOT_txt="raw\n")
    # the job copies a link whose own mtime is years older than the input
    os.symlink("data/raw.txt", tmp_path / "template.lnk")
    os.utime(tmp_path / "template.lnk", (1e9, 1e9), follow_symlinks=False)
    run_twice(tmp_path)
    link = tmp_path / "linked.txt"
    assert link.is_symlink() and read(tmp_path, "final.txt") == "raw\n"
    assert os.lstat(link).st_mtime > os.stat(tmp_path / "data/raw.txt").st_mtime
    # the link's own mtime counts, not its target's: with the input (the link's target)
    # rewritten, following the link would see an output exactly as new as its input
    (tmp_path / "data/raw.txt").write_text("new\n")
    plan = rulekit(tmp_path, "plan", "-f", "Snakefile")
    assert "output linked.txt older than input data/raw.txt" in plan.stdout
    run_twice(tmp_path)
    assert read(tmp_path, "final.txt") == "new\n"


def test_dangling_symlink_output_counts_as_made(tmp_path: Path) -> None:
    write(tmp_path, """
        rule pointer:
            output: "current"
            shell: "ln -s releases/v2 {output}"
        """)
    run_twice(tmp_path)
    assert os.readlink(tmp_path / "current") == "releases/v2"


# --------------------------------------------------------------------- item 20

SORT = """
    rule sort:
        input: "names.txt"
        output: "sorted.txt"
        shell: "sort {input} > {output}"
    """


def backdate(root: Path, **ages: float) -> None:
    """Set each file's mtime to `age` seconds ago (names as in write())."""
    now = os.stat(root / "Snakefile").st_mtime
    for name, age in ages.items():
        path = root / name.replace("__", "/").replace("_DOT_", ".")
        os.utime(path, (now - age, now - age))


def test_touched_input_with_same_content_does_not_rerun(tmp_path: Path) -> None:
    write(tmp_path, SORT, names_DOT_txt="b\na\n")
    run_twice(tmp_path)
    backdate(tmp_path, sorted_DOT_txt=100, names_DOT_txt=50)     # newer input, same bytes
    assert UP_TO_DATE in run(tmp_path).stdout
    backdate(tmp_path, sorted_DOT_txt=100, names_DOT_txt=5000)   # older than recorded
    assert UP_TO_DATE in run(tmp_path).stdout
    (tmp_path / "names.txt").write_text("c\na\n")               # same size, other bytes
    backdate(tmp_path, sorted_DOT_txt=100, names_DOT_txt=50)
    plan = rulekit(tmp_path, "plan", "-f", "Snakefile")
    assert "output sorted.txt older than input names.txt" in plan.stdout
    out = run_twice(tmp_path)
    assert "sort" in out and read(tmp_path, "sorted.txt") == "a\nc\n"


def test_large_touched_input_has_no_checksum_and_reruns(tmp_path: Path) -> None:
    write(tmp_path, SORT, names_DOT_txt="x\n" * 600_000)         # 1.2 MB: over the limit
    run_twice(tmp_path)
    backdate(tmp_path, sorted_DOT_txt=100, names_DOT_txt=50)
    plan = rulekit(tmp_path, "plan", "-f", "Snakefile")
    assert "output sorted.txt older than input names.txt" in plan.stdout
    run_twice(tmp_path)
