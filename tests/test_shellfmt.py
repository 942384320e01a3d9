import os
import subprocess

import pytest

from rulekit.core.model import NamedList
from rulekit.core.shellfmt import (
    ShellFormatError,
    format_command,
    format_message,
    job_names,
)
from rulekit.execution.shellrun import shell_argv


def names(**over):
    base = dict(input=NamedList(["in 1.txt", "b.txt"], {"table": 1}),
                output=NamedList(["out/x.txt"]), params=NamedList(["-v --fast", "a b"], {"flags": 0, "title": 1}),
                wildcards={"sample": "s 1"}, threads=4, resources={"mem_mb": 100},
                log=NamedList(["logs/a.log"]), config={"ref": "hg 38"}, rule="a", jobid=7)
    base.update(over)
    return job_names(**base)


def test_paths_are_quoted_one_by_one():
    assert format_command("cat {input} > {output}", names(), "a") == "cat 'in 1.txt' b.txt > out/x.txt"
    assert format_command("{input[0]} {input.table}", names(), "a") == "'in 1.txt' b.txt"
    assert format_command("{wildcards.sample} {log}", names(), "a") == "'s 1' logs/a.log"


def test_values_inserted_as_written_unless_q():
    ns = names()
    assert format_command("tool {params.flags} -t {threads}", ns, "a") == "tool -v --fast -t 4"
    assert format_command("{params.title:q} {config[ref]:q}", ns, "a") == "'a b' 'hg 38'"
    assert format_command("{config[ref]} {resources.mem_mb}", ns, "a") == "hg 38 100"
    assert format_command("{input:u} {rule} {jobid}", ns, "a") == "in 1.txt b.txt a 7"


def test_escaped_braces_and_format_spec():
    assert format_command("awk '{{print $1}}' {threads:03d}", names(), "a") == "awk '{print $1}' 004"


def test_message_is_never_quoted():
    assert format_message("making {output} from {input}", names(), "a") == \
        "making out/x.txt from in 1.txt b.txt"


@pytest.mark.parametrize("template, text", [
    ("{params.foo}", "rule a: shell command refers to {params.foo}, but params has no item 'foo'"),
    ("{inptu}", "rule a: shell command refers to {inptu}, but no name 'inptu' is defined"),
    ("{input[5]}", "rule a: shell command refers to {input[5]}, but input has no item 5"),
    ("{config[nope]}", "rule a: shell command refers to {config[nope]}, but config has no item 'nope'"),
    ("{}", "rule a: shell command has a positional field"),
    ("awk {print}", "rule a: shell command refers to {print}"),
    ("a } b", "rule a: shell command is malformed"),
])
def test_errors_name_rule_and_field(template, text):
    with pytest.raises(ShellFormatError) as info:
        format_command(template, names(), "a")
    assert text in str(info.value)


def test_hostile_file_name_is_one_argument(tmp_path):
    evil = "a b;echo pwned>x.txt"
    (tmp_path / evil).write_text("data\n")
    cmd = format_command("cat {input} > {output}", names(input=NamedList([evil]),
                                                         output=NamedList(["o.txt"])), "a")
    subprocess.run(shell_argv(cmd), cwd=tmp_path, check=True)
    assert (tmp_path / "o.txt").read_text() == "data\n"
    assert not (tmp_path / "x.txt").exists()


def test_shell_argv_uses_strict_bash_and_prefix():
    argv = shell_argv("false | true", "bash", "set -x; ", "")
    assert argv[1:4] == ["-euo", "pipefail", "-c"] and argv[4] == "set -x; false | true"
    assert subprocess.run(argv, capture_output=True).returncode == 1
    assert shell_argv("echo", "sh")[1:] == ["-c", "echo"]


def test_command_longer_than_one_argv_string_runs_from_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = [str(tmp_path / f"f{i:05d}_{'x' * 20}.txt") for i in range(5000)]
    command = "touch " + " ".join(paths)
    argv = shell_argv(command)
    assert len(argv) == 4 and argv[-1].endswith(".sh")
    subprocess.run(argv, check=True)
    assert all(os.path.exists(p) for p in paths[::500])
    assert not os.path.exists(argv[-1])   # the script removed itself
