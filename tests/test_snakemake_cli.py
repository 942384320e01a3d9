"""Issue 11 items 21-24: Snakemake's command-line options and profiles, through the CLI.

Each test writes a small Snakefile, runs rulekit as a user would (several times where it
matters: the second run must plan nothing) and checks files, messages and exit codes.
"""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path


def rk(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=folder,
                          capture_output=True, text=True, timeout=120)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def nothing_to_do(folder: Path, *args: str) -> None:
    assert "Nothing to do" in ok(rk(folder, "run", *args)).stdout


CONFIG_SNAKEFILE = """
    rule all:
        output: "config.txt"
        run:
            with open(output[0], "w") as fh:
                for key in sorted(config):
                    fh.write(f"{key}={config[key]!r}\\n")
    """


def test_config_takes_several_values_parsed_as_snakemake_does(tmp_path):
    write(tmp_path, {"Snakefile": CONFIG_SNAKEFILE})
    args = ("--config", "a=1", "b=true", "c=1.5", "d=True", "e=x y", "f=[1, 2]", "--cores", "1")
    ok(rk(tmp_path, "run", *args))
    assert (tmp_path / "config.txt").read_text() == (
        "a=1\nb='true'\nc=1.5\nd=True\ne='x y'\nf=['1', '2']\n")
    nothing_to_do(tmp_path, *args)


def test_configfile_takes_several_files_and_replace_workflow_config(tmp_path):
    write(tmp_path, {
        "Snakefile": 'configfile: "base.yaml"\n' + textwrap.dedent(CONFIG_SNAKEFILE),
        "base.yaml": "a: base\nkeep: 1\n", "one.yaml": "a: one\nb: 1\n", "two.yaml": "b: 2\n",
    })
    ok(rk(tmp_path, "run", "--configfile", "one.yaml", "two.yaml"))
    assert (tmp_path / "config.txt").read_text() == "a='one'\nb=2\nkeep=1\n"
    nothing_to_do(tmp_path, "--configfile", "one.yaml", "two.yaml")
    ok(rk(tmp_path, "run", "-F", "--configfile", "one.yaml", "two.yaml",
          "--replace-workflow-config"))
    assert (tmp_path / "config.txt").read_text() == "a='one'\nb=2\n"


CHAIN = """
    rule all:
        input: "c.txt", "x.txt"

    rule a:
        output: "a.txt"
        shell: "echo a > {output}"

    rule b:
        input: "a.txt"
        output: "b.txt"
        shell: "cat {input} > {output} && echo b >> {output}"

    rule c:
        input: "b.txt"
        output: "c.txt"
        shell: "cat {input} > {output} && echo c >> {output}"

    rule x:
        output: "x.txt"
        shell: "echo x > {output}"
    """


def test_until_and_omit_from_take_several_rules(tmp_path):
    write(tmp_path, {"Snakefile": CHAIN})
    ok(rk(tmp_path, "run", "--until", "a", "x"))
    assert sorted(p.name for p in tmp_path.glob("*.txt")) == ["a.txt", "x.txt"]
    nothing_to_do(tmp_path, "--until", "a", "x")
    ok(rk(tmp_path, "run", "--omit-from", "c", "all"))
    assert (tmp_path / "b.txt").exists() and not (tmp_path / "c.txt").exists()
    nothing_to_do(tmp_path, "--omit-from", "c", "all")
    ok(rk(tmp_path, "run"))
    nothing_to_do(tmp_path)
    result = ok(rk(tmp_path, "run", "-R", "a", "x", "--cores", "1"))
    assert all(f"start {r}" in result.stdout for r in ("a", "b", "c", "x"))
    nothing_to_do(tmp_path)


def test_until_and_omit_from_take_files_and_warn_on_unknown_items(tmp_path):
    write(tmp_path, {"Snakefile": CHAIN})
    result = ok(rk(tmp_path, "run", "--until", "b.txt", "nope"))
    assert "warning: --until nope: no rule of that name and no job makes that file" \
        in result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.txt")) == ["a.txt", "b.txt"]
    ok(rk(tmp_path, "run", "--omit-from", "./c.txt"))
    assert (tmp_path / "x.txt").exists() and not (tmp_path / "c.txt").exists()
    nothing_to_do(tmp_path, "--omit-from", "c.txt")


def test_set_threads_expression_and_profile_set_resources(tmp_path):
    write(tmp_path, {"Snakefile": """
        rule a:
            input: "test.in"
            output: "test.out"
            resources: extra="none"
            run:
                with open(output[0], "w") as f:
                    print(threads, resources.extra, file=f)
        """, "test.in": "x" * 10,
        "prof/config.yaml": "set-resources:\n  a:\n    extra: \"'--nice=150 --gres=gpu:1'\"\n"})
    ok(rk(tmp_path, "run", "--set-threads", "a=max(input.size, 5)", "-c", "5",
          "--profile", "prof"))
    assert (tmp_path / "test.out").read_text() == "5 '--nice=150 --gres=gpu:1'\n"
    nothing_to_do(tmp_path, "--set-threads", "a=max(input.size, 5)", "-c", "5")


def test_replace_workflow_config_without_configfile_changes_nothing(tmp_path):
    write(tmp_path, {"Snakefile": 'configfile: "wf.yaml"\n' + textwrap.dedent(CONFIG_SNAKEFILE),
                     "wf.yaml": "name: wf\n"})
    ok(rk(tmp_path, "run", "--replace-workflow-config", "--config", "value=v"))
    assert (tmp_path / "config.txt").read_text() == "name='wf'\nvalue='v'\n"


def test_touch_marks_outputs_up_to_date(tmp_path):
    write(tmp_path, {"Snakefile": """
        rule all:
            input: "out/b.txt"

        rule a:
            input: "in.txt"
            output: "out/a.txt"
            shell: "cat {input} > {output}"

        rule b:
            input: "out/a.txt"
            output: "out/b.txt"
            shell: "cat {input} > {output}"
        """, "in.txt": "one\n"})
    ok(rk(tmp_path, "run"))
    time.sleep(0.05)
    (tmp_path / "in.txt").write_text("two\n")
    result = ok(rk(tmp_path, "run", "--touch"))
    assert "touched out/a.txt" in result.stdout and "touched out/b.txt" in result.stdout
    assert (tmp_path / "out/b.txt").read_text() == "one\n"   # not rebuilt
    nothing_to_do(tmp_path)
    (tmp_path / "in.txt").write_text("three\n")
    ok(rk(tmp_path, "run", "-t", "-q"))                        # make's spelling
    nothing_to_do(tmp_path)
    assert (tmp_path / "out/b.txt").read_text() == "one\n"


TEMPS = """
    rule all:
        input: "final.txt"

    rule a:
        output: temp("mid.txt")
        shell: "echo mid > {output}"

    rule b:
        input: "mid.txt"
        output: "final.txt"
        shell: "cat {input} > {output}"
    """


def test_no_temp_keeps_and_delete_temp_output_removes(tmp_path):
    write(tmp_path, {"Snakefile": TEMPS})
    ok(rk(tmp_path, "run", "--notemp"))
    assert (tmp_path / "mid.txt").exists()
    nothing_to_do(tmp_path, "--no-temp")
    result = ok(rk(tmp_path, "run", "--delete-temp-output"))
    assert "removed mid.txt" in result.stdout
    assert not (tmp_path / "mid.txt").exists() and (tmp_path / "final.txt").exists()
    assert "Removed 0 temp outputs." in ok(rk(tmp_path, "run", "--delete-temp-output")).stdout


def test_all_temp_removes_intermediate_outputs(tmp_path):
    write(tmp_path, {"Snakefile": """
        rule all:
            input: "test2.txt"
            run:
                assert not os.path.exists("test1.txt"), "test1.txt still present"

        rule a:
            output: "test1.txt"
            shell: "touch {output}"

        rule b:
            input: "test1.txt"
            output: "test2.txt"
            shell: "touch {output}"
        """})
    ok(rk(tmp_path, "run", "--all-temp", "--cores", "1"))
    assert not (tmp_path / "test1.txt").exists()


def test_consider_ancient_by_index_and_name(tmp_path):
    write(tmp_path, {"Snakefile": """
        rule all:
            input: "out.txt"

        rule merge:
            input: "ref.txt", reads="reads.txt"
            output: "out.txt"
            shell: "cat {input} > {output}"
        """, "ref.txt": "r\n", "reads.txt": "x\n"})
    ok(rk(tmp_path, "run"))
    future = time.time() + 5
    # new content: a touched input with the same bytes is no change at all
    (tmp_path / "ref.txt").write_text("R\n")
    (tmp_path / "reads.txt").write_text("X\n")
    os.utime(tmp_path / "ref.txt", (future, future))
    os.utime(tmp_path / "reads.txt", (future, future))
    nothing_to_do(tmp_path, "--consider-ancient", "merge=0,reads")
    result = ok(rk(tmp_path, "plan", "--consider-ancient", "merge=0"))
    assert "reads.txt" in result.stdout and "merge" in result.stdout
    bad = rk(tmp_path, "run", "--consider-ancient", "merge=5")
    assert bad.returncode == 2 and "rule merge has only 2 input items" in bad.stderr


def test_threads_resources_and_retries_from_the_command_line(tmp_path):
    write(tmp_path, {"Snakefile": """
        rule all:
            input: "t.txt", "flaky.txt"

        rule t:
            output: "t.txt"
            threads: 8
            resources: mem_mb=100
            shell: "echo {threads} {resources.mem_mb} {resources.disk_mb} > {output}"

        rule flaky:
            output: "flaky.txt"
            shell: "if [ -e tried ]; then echo ok > {output}; else touch tried; exit 1; fi"
        """})
    args = ("--cores", "4", "--set-threads", "t=3", "--set-resources", "t:mem_mb=2000",
            "--default-resources", "mem_mb=5", "disk_mb=7", "--retries", "1")
    ok(rk(tmp_path, "run", *args))
    assert (tmp_path / "t.txt").read_text() == "3 2000 7\n"
    assert (tmp_path / "flaky.txt").read_text() == "ok\n"
    nothing_to_do(tmp_path, *args)
    (tmp_path / "t.txt").unlink()
    ok(rk(tmp_path, "run", *args, "--max-threads", "2", "t"))
    assert (tmp_path / "t.txt").read_text().split()[0] == "2"
    bad = rk(tmp_path, "run", "--set-threads", "nope=2")
    assert bad.returncode == 2 and "--set-threads names an unknown rule 'nope'" in bad.stderr


def test_snakefile_alias_cores_all_and_bare_j(tmp_path):
    write(tmp_path, {"workflow/Snakefile": """
        rule all:
            output: "cores.txt"
            shell: "echo {threads} > {output}"
        """})
    ok(rk(tmp_path, "run", "-s", "workflow/Snakefile", "--cores", "all"))
    assert (tmp_path / "workflow/cores.txt").exists()
    assert "Nothing to do" in ok(rk(tmp_path, "run", "--snakefile", "workflow/Snakefile", "-j")).stdout
    result = ok(rk(tmp_path, "run", "-s", "workflow/Snakefile", "-j", "--ri", "--rerun-incomplete"))
    assert result.stderr.count("--rerun-incomplete is not needed") == 1
    bad = rk(tmp_path, "run", "-s", "workflow/Snakefile", "--cores", "many")
    assert bad.returncode == 2 and "'many' is not a number of cores" in bad.stderr


def test_snakemake_spellings_of_subcommands(tmp_path):
    write(tmp_path, {"Snakefile": CHAIN})
    expected = {"--summary": "rulekit summary", "--dag": "rulekit dag",
                "--rulegraph": "rulekit dag --rules", "--unlock": "rulekit unlock",
                "--lint": "rulekit check", "--delete-all-output": "rulekit clean",
                "--list": "rulekit list", "-l": "rulekit list"}
    for option, command in expected.items():
        result = rk(tmp_path, "run", option)
        assert result.returncode == 2, option
        assert result.stderr.strip() == (
            f"error: {option} is a subcommand in rulekit: use `{command}`"), result.stderr
        assert "did you mean" not in result.stderr.lower()
    assert not list(tmp_path.glob("*.txt"))


def test_profile_and_pyproject_defaults_command_line_wins(tmp_path):
    write(tmp_path, {
        "Snakefile": CONFIG_SNAKEFILE.replace('"config.txt"', 'config["out"]'),
        "prof/config.yaml": """
            cores: 1
            printshellcmds: true
            config: {out: prof.txt, level: 2}
            rerun-incomplete: true
            """,
        "pyproject.toml": '[tool.rulekit]\nconfig = ["out=py.txt", "level=1"]\nprint-commands = true\n',
    })
    ok(rk(tmp_path, "run"))                          # pyproject.toml alone
    assert (tmp_path / "py.txt").read_text() == "level=1\nout='py.txt'\n"
    ok(rk(tmp_path, "run", "--profile", "prof"))     # the profile beats pyproject.toml
    assert (tmp_path / "prof.txt").read_text() == "level=2\nout='prof.txt'\n"
    nothing_to_do(tmp_path, "--profile", "prof")
    ok(rk(tmp_path, "run", "--profile", "prof", "--config", "out=cli.txt"))
    assert (tmp_path / "cli.txt").read_text() == "out='cli.txt'\n"   # command line wins
    missing = rk(tmp_path, "run", "--profile", "nowhere")
    assert missing.returncode == 2 and "error: profile not found: nowhere" in missing.stderr


def test_unknown_profile_key_is_a_warning(tmp_path):
    write(tmp_path, {"Snakefile": CONFIG_SNAKEFILE, "p/config.yaml": "frobnicate: 3\n"})
    result = ok(rk(tmp_path, "run", "--profile", "p"))
    assert "warning: profile p/config.yaml: option 'frobnicate' is not known to `rulekit run`; ignored" \
        in result.stderr


def test_bare_default_resources_give_snakemakes_defaults(tmp_path):
    write(tmp_path, {"Snakefile": """
        rule a:
            input: "in.bin"
            output: "r.txt"
            resources: disk_mb=3
            shell: "echo {resources.mem_mb} {resources.disk_mb} > {output}"
        """})
    (tmp_path / "in.bin").write_bytes(b"x" * 1024 * 1024 * 600)
    ok(rk(tmp_path, "run", "--default-resources", "--cores", "1"))
    assert (tmp_path / "r.txt").read_text() == "1200 3\n"
    nothing_to_do(tmp_path, "--default-resources")


def test_touch_creates_missing_outputs_and_folders(tmp_path):
    write(tmp_path, {"Snakefile": """
        rule all:
            input: "out/flag.txt", "output"

        rule a:
            output: directory('output/'),

        rule b:
            output: "out/flag.txt"
            shell: "exit 1"
        """})
    result = ok(rk(tmp_path, "run", "--touch"))
    assert "touched out/flag.txt" in result.stdout
    assert (tmp_path / "output").is_dir() and (tmp_path / "out/flag.txt").read_text() == ""
    nothing_to_do(tmp_path)


def test_config_values_merge_across_items(tmp_path):
    write(tmp_path, {
        "Snakefile": 'configfile: "wf.yaml"\n' + textwrap.dedent(CONFIG_SNAKEFILE),
        "wf.yaml": "block: {mario: wf, toad: wf}\n"})
    ok(rk(tmp_path, "run", "--config", "block={bowser: cmdline_bowser}",
          "block={toad: cmdline_toad}"))
    text = (tmp_path / "config.txt").read_text()
    assert text.startswith("block=") and eval(text[len("block="):]) == {
        "mario": "wf", "toad": "cmdline_toad", "bowser": "cmdline_bowser"}


def test_snakemake_output_switches_are_accepted(tmp_path):
    write(tmp_path, {"Snakefile": CHAIN})
    dry = ok(rk(tmp_path, "run", "--dryrun", "--verbose", "-r"))
    assert "5 jobs to run" in dry.stdout and not list(tmp_path.glob("*.txt"))
    result = ok(rk(tmp_path, "run", "--printshellcmds", "--show-failed-logs", "--nocolor",
                   "--cores", "1"))
    assert "echo a > a.txt" in result.stdout
    nothing_to_do(tmp_path, "--reason")
