"""Snakemake constructs that only matter on clusters or to Snakemake's own machinery, the
Snakemake 8 helpers, and the CLI/profile spellings of issue 11, run through the CLI."""

from __future__ import annotations

from pathlib import Path

from jobhelp import nothing_to_do, rk, run_ok, write

NO_EFFECT = """\
envvars: "HOME"

rule all:
    input: "sorted.txt"

rule produce:
    output: pipe("numbers.txt")
    group: "stream"
    version: "2.1"
    shell: "printf '3\\\\n1\\\\n2\\\\n' > {output}"

rule consume:
    input: "numbers.txt"
    output: "sorted.txt"
    group: "stream"
    benchmark: repeat("bench/consume.tsv", 3)
    shell: "sort {input} > {output}"
"""


def test_group_version_envvars_pipe_repeat_are_accepted(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": NO_EFFECT})
    run_ok(tmp_path, "-f", "Snakefile", "--groups", "produce=g", "consume=g",
           "--group-components", "g=2")
    assert (tmp_path / "sorted.txt").read_text() == "1\n2\n3\n"
    assert not (tmp_path / "numbers.txt").exists()      # a pipe is a temp file here
    rows = (tmp_path / "bench/consume.tsv").read_text().splitlines()
    assert len(rows) == 2                                # header + one run, not three
    nothing_to_do(tmp_path, "-f", "Snakefile")


def test_envvars_missing_is_a_located_error(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": 'envvars:\n    "RULEKIT_TEST_UNSET_A",\n    "HOME"\n'})
    res = rk(tmp_path, "run", "-f", "Snakefile", env={"RULEKIT_TEST_UNSET_A": ""})
    assert res.returncode == 0, res.stderr                 # set (even empty) is enough
    res = rk(tmp_path, "run", "-f", "Snakefile")
    assert res.returncode == 2
    assert res.stderr == (
        "Snakefile:2:5: error: envvars: environment variable RULEKIT_TEST_UNSET_A is not set\n"
        '        "RULEKIT_TEST_UNSET_A",\n'
        "        ^\n"
        "  hint: set them before running (export NAME=value)\n")


UNSUPPORTED = [
    ('rule a:\n    input: storage.http("https://x.org/a")\n    output: "a"\n',
     "Snakefile:2:12: error: 'storage' (remote files) is not supported by rulekit\n"),
    ('rule a:\n    output: service("a.sock")\n    shell: "x"\n',
     "Snakefile:2:13: error: 'service()' is not supported by rulekit\n"),
    ('rule a:\n    output: ensure("a", non_empty=True)\n    shell: "x"\n',
     "Snakefile:2:13: error: 'ensure()' is not supported by rulekit\n"),
    ('rule a:\n    output: "a"\n    shadow: "minimal"\n    shell: "x"\n',
     "Snakefile:3:5: error: 'shadow' is not supported by rulekit: jobs run in the working "
     "directory, so the files a job writes besides its outputs would not be isolated\n"),
    ('rule a:\n    output: multiext("a", ".x", y=".y")\n',
     "Snakefile:2:13: error: ValueError: multiext: give the extensions either all by "
     "position or all by name\n"),
]


def test_unsupported_helpers_give_located_errors(tmp_path: Path) -> None:
    for text, first_line in UNSUPPORTED:
        write(tmp_path, {"Snakefile": text})
        res = rk(tmp_path, "run", "-f", "Snakefile")
        assert res.returncode == 2, res.stderr
        assert res.stderr.startswith(first_line), res.stderr
        assert "Traceback" not in res.stderr


def test_named_multiext_outputs_and_inputs(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": """\
        rule all:
            input: multiext("idx/ref", fai=".fai", dict=".dict")
            output: "done.txt"
            run:
                with open(output[0], "w") as fh:
                    fh.write(f"{input.fai} {input.dict}\\n")

        rule index:
            output: multiext("idx/{name}", fai=".fai", dict=".dict")
            shell: "echo {wildcards.name} > {output.fai}; echo d > {output.dict}"
        """})
    run_ok(tmp_path, "-f", "Snakefile")
    assert (tmp_path / "done.txt").read_text() == "idx/ref.fai idx/ref.dict\n"
    assert (tmp_path / "idx/ref.fai").read_text() == "ref\n"
    nothing_to_do(tmp_path, "-f", "Snakefile")


def test_restart_times_is_retries(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": """\
        rule a:
            output: "a.txt"
            shell: "echo x >> tries.txt; test $(wc -l < tries.txt) -ge 3; touch {output}"
        """, "prof/config.yaml": "restart-times: 2\n"})
    res = rk(tmp_path, "run", "-f", "Snakefile", "--restart-times", "1")
    assert res.returncode == 1
    assert (tmp_path / "tries.txt").read_text() == "x\nx\n"
    (tmp_path / "tries.txt").unlink()
    run_ok(tmp_path, "-f", "Snakefile", "--profile", "prof")
    assert (tmp_path / "tries.txt").read_text() == "x\nx\nx\n"


def test_profile_executor_values(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": 'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n',
                     "local/config.yaml": "executor: local\njobs: 2\n",
                     "lsf/config.yaml": "executor: lsf\njobs: 2\n"})
    res = run_ok(tmp_path, "-f", "Snakefile", "--profile", "local")
    assert "warning" not in res.stderr
    (tmp_path / "a.txt").unlink()
    res = run_ok(tmp_path, "-f", "Snakefile", "--profile", "lsf")
    assert "warning: profile lsf/config.yaml: executor: 'lsf' is not one of " in res.stderr
    assert "; ignored" in res.stderr
    assert (tmp_path / "a.txt").exists()


def test_dry_run_prints_shell_commands(tmp_path: Path) -> None:
    write(tmp_path, {"Snakefile": """\
        rule all:
            input: "b.txt"

        rule a:
            output: "a b.txt"
            params: n=3
            shell: "seq {params.n} > {output}"

        rule b:
            input: "a b.txt"
            output: "b.txt"
            run:
                pass
        """})
    for flags in (["-n", "-p"], ["--dryrun", "--printshellcmds"], ["-np"]):
        res = rk(tmp_path, "run", "-f", "Snakefile", *flags)
        assert res.returncode == 0, res.stderr
        assert res.stdout.endswith("\nShell commands:\nrule a (job 0):\n"
                                   "    seq 3 > 'a b.txt'\n"), res.stdout
    assert not (tmp_path / "a b.txt").exists()
    res = rk(tmp_path, "run", "-f", "Snakefile", "-n")
    assert "Shell commands" not in res.stdout
