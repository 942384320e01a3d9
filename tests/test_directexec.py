"""Direct exec of simple shell commands (rulekit/execution/directexec.py) gives exactly what
`bash -euo pipefail -c` gives: the same output, exit status and environment, for commands
run directly and for those that need the shell (quotes, globs, pipes, redirections, `&&`,
variables, `~`, a missing program, a script without `#!`, non-zero exits).

The end-to-end test runs one workflow through the CLI, each command a rule whose output
goes to its log, and compares each log and exit status with bash running the same text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rulekit.execution.directexec import DirectExec, split_simple
from rulekit.execution.shellrun import shell_argv

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or sys.platform == "win32",
                                reason="needs bash")

# (command, run directly?)
CASES = [
    ("cat plain.txt", True),
    ("cat 'a b.txt' \"c d.txt\" plain.txt", True),           # quotes
    ("cat\tplain.txt", True),                                 # a tab between words
    ("cat ''", True),                                         # an empty argument
    ("cat missing.txt", True),                                # exit 1, message on stderr
    ("sh -c 'exit 3'", True),                                 # exit 3
    ("env", True),                                            # the environment bash gives
    ("./script.sh one 'two three'", True),                    # a path with '/', a #! script
    ("./noshebang.sh x", True),                               # ENOEXEC: bash runs it
    ("ls -1 *.txt", False),                                   # glob
    ("cat plain.txt | tr a-z A-Z", False),                    # pipe
    ("tr a-z A-Z < plain.txt", False),                        # redirection
    ("cat plain.txt && cat 'a b.txt'", False),                # &&
    ("ls -d $HOME", False),                                   # variable
    ("ls -d ~", False),                                       # tilde
    ("cat plain.txt; false", False),                          # ; and a builtin failing
    ("nosuchprogram arg", True),                              # not found: bash says so
    ("printf '%s|' \"x y\" z", False),                        # a builtin
    ("FOO=1 env", False),                                     # an assignment
    ("cat \"$HOME\"", False),                                 # $ inside double quotes
    ("cat plain.txt # comment", False),                       # a comment
]


def test_split_simple() -> None:
    assert split_simple("cp a b") == ["cp", "a", "b"]
    assert split_simple("  cp  'a b'\t\"c d\"  ") == ["cp", "a b", "c d"]
    assert split_simple("x ''") == ["x", ""]
    assert split_simple("x a'b'\"c\"d") == ["x", "abcd"]
    assert split_simple("x --opt=1,2:3+4%5@6^7") == ["x", "--opt=1,2:3+4%5@6^7"]
    for text in ("x *", "x a?", "x [a]", "x {a,b}", "x ~", "x $A", "x \"$A\"", "x `y`",
                 "x | y", "x > y", "x < y", "x && y", "x; y", "x & ", "x # c", "x\\ y",
                 "x\ny", "x 'a", "x (y)", "x !", ""):
        assert split_simple(text) is None, text


def test_the_rule_picks_the_expected_commands(tmp_path: Path) -> None:
    _files(tmp_path)
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        direct = DirectExec(dict(os.environ))
        for command, expected in CASES:
            got = direct.command(shell_argv(command))
            if command.startswith(("nosuchprogram", "./noshebang")):
                continue  # decided at spawn time (not found / exec refuses)
            assert (got is not None) == expected, command
        # another shell, prefixes with syntax, or a bash-changing environment: the shell
        assert direct.command(shell_argv("cat x", "sh")) is None
        assert direct.command(shell_argv("cat x", prefix="set -x; ")) is None
        assert DirectExec({**os.environ, "BASH_ENV": "/x"}).command(shell_argv("cat x")) is None
        assert DirectExec({**os.environ, "BASH_FUNC_cat%%": "() { :; }"}).command(
            shell_argv("cat x")) is None
    finally:
        os.chdir(here)


def _files(root: Path) -> None:
    (root / "plain.txt").write_text("hello\n")
    (root / "a b.txt").write_text("spaced\n")
    (root / "c d.txt").write_text("also spaced\n")
    script = root / "script.sh"
    script.write_text("#!/bin/sh\necho \"script: $# args: $1|$2\"\n")
    script.chmod(0o755)
    bare = root / "noshebang.sh"
    bare.write_text("echo \"no shebang: $1\"\n")
    bare.chmod(0o755)


def _bash(root: Path, command: str, env: dict[str, str]) -> tuple[str, int]:
    """What bash itself makes of `command`: output (stdout and stderr) and exit status."""
    with open(root / "bash.out", "w+b") as out:
        proc = subprocess.run(shell_argv(command), cwd=root, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=out, env=env)
        out.seek(0)
        text = out.read().decode()
    return text, proc.returncode


def _normal(text: str) -> str:
    """The environment's lines sorted (their order is not part of what bash promises)."""
    lines = text.splitlines()
    if any(line.startswith("PATH=") for line in lines):
        return "\n".join(sorted(lines))
    return text


@pytest.mark.parametrize("spawn_threads", ["", "0"], ids=["helper-threads", "main-thread"])
def test_direct_exec_and_bash_agree_through_the_cli(tmp_path: Path, spawn_threads: str) -> None:
    """Jobs started on the spawner threads (the default) and on the driver's own thread
    (RULEKIT_SPAWN_THREADS=0) both give what bash gives."""
    _files(tmp_path)
    rules = []
    for i, (command, _) in enumerate(CASES):
        rules.append(textwrap.dedent(f"""\
            rule t{i}:
                output: touch("flags/t{i}")
                log: "logs/t{i}.txt"
                shell: {command!r}
            """))
    targets = " ".join(f'"flags/t{i}",' for i in range(len(CASES)))
    (tmp_path / "Rulesfile").write_text(f"rule all:\n    input: {targets}\n\n"
                                        + "\n".join(rules))
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("RULEKIT_SPAWN_THREADS", None)
    if spawn_threads:
        env["RULEKIT_SPAWN_THREADS"] = spawn_threads
    run = subprocess.run([sys.executable, "-m", "rulekit", "run", "-k", "--cores", "2"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 1, run.stderr   # the failing commands fail
    statuses = {int(m.group(1)): int(m.group(2)) for m in re.finditer(
        r"FAILED t(\d+) .*\n(?:  .*\n)*?  shell command failed \(exit status (\d+)\)",
        run.stdout + run.stderr)}
    for i, (command, _) in enumerate(CASES):
        expected_text, expected_code = _bash(tmp_path, command, env)
        got_text = (tmp_path / "logs" / f"t{i}.txt").read_text()
        got_code = statuses.get(i, 0)
        if got_code == 0:
            assert (tmp_path / "flags" / f"t{i}").exists(), command
        assert (got_code, _normal(got_text)) == (expected_code, _normal(expected_text)), command
    assert any(code != 0 for code in statuses.values())
    assert 0 in {statuses.get(i, 0) for i in range(len(CASES))}
