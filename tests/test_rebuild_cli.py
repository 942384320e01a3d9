"""Rebuild edge cases end to end (issue 9): changed inputs with older times, future times.

Every test drives `python -m rulekit` in a temp folder and runs the workflow twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rulekit.planning.reasons import format_ns

RULES = """\
rule all:
    input: "out.txt"

rule make:
    input: "in.txt"
    output: "out.txt"
    shell: "cp {input} {output}"
"""


def rulekit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def ok(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = rulekit(*args, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _mtime(path: Path) -> int:
    return os.stat(path).st_mtime_ns


def test_input_restored_with_older_mtime_is_a_change(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(RULES)
    backup = tmp_path / "backup.txt"
    backup.write_text("old\n")
    old_t = 1_577_836_800 * 10**9  # 2020-01-01
    os.utime(backup, ns=(old_t, old_t))
    (tmp_path / "in.txt").write_text("new\n")
    ok("run", "-q", cwd=tmp_path)
    assert (tmp_path / "out.txt").read_text() == "new\n"
    made_t = _mtime(tmp_path / "in.txt")
    shutil.copy2(backup, tmp_path / "in.txt")  # cp -p: the old content, with its old mtime

    plan = rulekit("plan", "--check", cwd=tmp_path)
    assert plan.returncode == 1
    assert (f"input in.txt changed since out.txt was made: mtime {format_ns(made_t)} -> "
            f"{format_ns(old_t)}, size 4 -> 4 bytes") in plan.stdout
    ok("run", "-q", cwd=tmp_path)
    assert (tmp_path / "out.txt").read_text() == "old\n"
    assert ok("plan", cwd=tmp_path).stdout.strip() == "Nothing to do: all outputs are up to date."


def test_input_of_other_size_with_same_mtime_is_a_change(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(RULES)
    (tmp_path / "in.txt").write_text("one\n")
    ok("run", "-q", cwd=tmp_path)
    t = _mtime(tmp_path / "in.txt")
    (tmp_path / "in.txt").write_text("three\n")
    os.utime(tmp_path / "in.txt", ns=(t, t))  # same mtime, other size (e.g. tar x)
    plan = rulekit("plan", "--format", "json", cwd=tmp_path)
    reason = __import__("json").loads(plan.stdout)["jobs"][0]["reasons"][0]
    assert reason["kind"] == "input-changed"
    assert (reason["old_size"], reason["new_size"], reason["old_mtime"], reason["new_mtime"]) \
        == (4, 6, t, t)
    assert reason["text"] == (f"input in.txt changed since out.txt was made: mtime "
                              f"{format_ns(t)} -> {format_ns(t)}, size 4 -> 6 bytes")
    ok("run", "-q", cwd=tmp_path)
    assert (tmp_path / "out.txt").read_text() == "three\n"
    assert ok("plan", cwd=tmp_path).stdout.strip() == "Nothing to do: all outputs are up to date."


def test_future_mtime_warns_once_on_every_planning_command(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(RULES)
    (tmp_path / "in.txt").write_text("x\n")
    future = time.time_ns() + (5 * 86400 + 3600) * 10**9
    os.utime(tmp_path / "in.txt", ns=(future, future))
    warning = (f"warning: in.txt has a modification time 5 days in the future "
               f"({format_ns(future)}); check the clock\n")
    for args in (["plan"], ["plan", "--format", "json"], ["run", "-n"], ["dag"],
                 ["run", "-q"], ["run", "-q"], ["summary"]):
        done = ok(*args, cwd=tmp_path)
        assert done.stderr == warning, (args, done.stderr)
        assert "warning" not in done.stdout, args
    assert (tmp_path / "out.txt").read_text() == "x\n"


# --------------------------------------------------------------------------- item 6

DUPLICATE = """\
rule all:
    input: "A/x.txt", "B/x.txt"

rule A:
    output: "A/{s}.txt", temp("C/{s}.txt")
    shell: "echo A > {output[0]}; echo A > {output[1]}"

rule B:
    output: "B/{s}.txt", temp("C/{s}.txt")
    shell: "echo B > {output[0]}; echo B > {output[1]}"
"""


def test_two_jobs_declaring_one_output_is_an_error_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(DUPLICATE)
    expected = (
        "Rulesfile:9:13: error: jobs A[s=x] and B[s=x] both declare the output 'C/x.txt'\n"
        '        output: "B/{s}.txt", temp("C/{s}.txt")\n'
        "                ^\n"
        "  File: C/x.txt\n"
        "  Jobs: A[s=x]: output 'C/{s}.txt' (Rulesfile:4:1)\n"
        "        B[s=x]: output 'C/{s}.txt' (Rulesfile:8:1)\n"
        "  hint: give each job its own output path, or let one rule make the file and the "
        "other read it as an input\n")
    for args in (["run", "--cores", "2"], ["run", "--cores", "2"], ["plan"], ["plan", "--check"]):
        done = rulekit(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr == expected, args
        assert done.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rulekit", "Rulesfile"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["Rulesfile"]
    # Only one of them needed: no clash, and the run is ordinary.
    ok("run", "-q", "A/x.txt", cwd=tmp_path)
    assert (tmp_path / "A" / "x.txt").read_text() == "A\n"
    assert ok("plan", "A/x.txt", cwd=tmp_path).stdout.strip() == \
        "Nothing to do: all outputs are up to date."


LOAD_ERRORS = [
    ('rule a:\n    output: "x.txt", "x.txt"\n    shell: "touch {output}"\n',
     "Rulesfile:2:13: error: output 'x.txt' is listed twice in rule a\n"
     '        output: "x.txt", "x.txt"\n'
     "                ^\n"
     "  hint: list each output once\n"),
    ('rule a:\n    output: expand(temp("x{i}.txt"), i=[1, 2])\n    shell: "touch {output}"\n',
     "Rulesfile:2:13: error: temp() inside expand() would be lost: expand() makes plain paths\n"
     '        output: expand(temp("x{i}.txt"), i=[1, 2])\n'
     "                ^\n"
     "  hint: flag the expanded paths instead: temp(expand('x{i}.txt', ...))\n"),
    ('rule a:\n    input: "in.txt"\n    output: expand(protected("{i}.txt"), i=[1])\n'
     '    shell: "touch {output}"\n',
     "Rulesfile:3:13: error: protected() inside expand() would be lost: expand() makes plain "
     "paths\n"
     '        output: expand(protected("{i}.txt"), i=[1])\n'
     "                ^\n"
     "  hint: flag the expanded paths instead: protected(expand('{i}.txt', ...))\n"),
    ('rule a:\n    output: "x.txt"\n    shell: "touch {output}"\n    threads: 2\n',
     "Rulesfile:4:5: error: directive 'threads' comes after the rule's body 'shell:' (line 3)\n"
     "        threads: 2\n"
     "        ^\n"
     "  hint: move 'threads:' above 'shell:'; the body is the rule's last directive\n"),
    ('rule a:\n    output: "x.txt"\n    run:\n        open(output[0], "w").close()\n'
     '    params: n=1\n',
     "Rulesfile:5:5: error: directive 'params' comes after the rule's body 'run:' (line 3)\n"
     "        params: n=1\n"
     "        ^\n"
     "  hint: move 'params:' above 'run:'; the body is the rule's last directive\n"),
]


def test_located_load_errors(tmp_path: Path) -> None:
    for text, expected in LOAD_ERRORS:
        (tmp_path / "Rulesfile").write_text(text)
        for args in (["check"], ["run"]):
            done = rulekit(*args, cwd=tmp_path)
            assert done.returncode == 2, (text, args, done.stderr)
            assert done.stderr == expected, (text, args)
        assert not (tmp_path / "x.txt").exists()
    # The fixed spellings load and run twice.
    (tmp_path / "Rulesfile").write_text(
        'rule a:\n    output: temp(expand("x{i}.txt", i=[1, 2])), "y.txt"\n    threads: 2\n'
        '    shell: "touch {output}"\n')
    assert ok("check", cwd=tmp_path).stdout == "Rulesfile: ok (1 rules)\n"
    ok("run", "-q", cwd=tmp_path)
    assert (tmp_path / "y.txt").exists()
    assert ok("plan", cwd=tmp_path).stdout.strip() == "Nothing to do: all outputs are up to date."


# --------------------------------------------------------------------------- item 7

TYPO = """\
rule all:
    input: "out/x.txt"

rule make:
    input: "raw/{s}.txt"
    output: "out/{s}.txt"
    shell: "cp {input} {output}"
"""

HIDDEN_WARNING = ("warning: out/x.txt exists and is used as it is: rule make would make it, "
                  "but its input raw/x.txtt is missing\n")


def _hidden_error(asked_by: str) -> str:
    return (
        "Rulesfile:5:12: error: rule make cannot make 'out/x.txt': its input 'raw/x.txtt' "
        "is missing\n"
        '        input: "raw/{s}.txtt"\n'
        "               ^\n"
        "  File:      out/x.txt (exists, but would not be remade)\n"
        f"  Asked by:  {asked_by}\n"
        "  Missing:   raw/x.txtt\n"
        "  Needed by: make[s=x] (Rulesfile:4:1)\n"
        "  hint: fix the input path or create the input; rulekit will not pass off the "
        "existing file as up to date\n")


def test_typo_in_an_input_path_does_not_hide_the_job(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(TYPO)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "x.txt").write_text("1\n")
    ok("run", "-q", cwd=tmp_path)
    assert (tmp_path / "out" / "x.txt").read_text() == "1\n"
    (tmp_path / "Rulesfile").write_text(TYPO.replace("raw/{s}.txt", "raw/{s}.txtt"))
    (tmp_path / "raw" / "x.txt").write_text("2\n")

    # Asked for explicitly, or forced: an error naming the missing input, nothing runs.
    for args, asked_by in ((["run", "out/x.txt"], "the command line (a target)"),
                           (["run", "--force", "out/x.txt"], "the command line (--force)"),
                           (["plan", "out/x.txt"], "the command line (a target)"),
                           (["run", "-R", "make"], "--forcerun make"),
                           (["run", "-R", "make"], "--forcerun make")):
        done = rulekit(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr == _hidden_error(asked_by), args
        assert done.stdout == ""
    # Reached through another target: used as it is, with a warning on every planning command.
    for args in (["plan"], ["plan", "--check"], ["run"], ["run"]):
        done = ok(*args, cwd=tmp_path)
        assert done.stderr == HIDDEN_WARNING, args
        assert done.stdout == "Nothing to do: all outputs are up to date.\n"
    summary = ok("summary", "--format", "json", cwd=tmp_path)
    row = __import__("json").loads(summary.stdout)["outputs"][0]
    assert (row["path"], row["status"], row["rule"]) == ("out/x.txt", "input missing", "make")
    assert row["reasons"] == [HIDDEN_WARNING[len("warning: "):-1]]
    assert (tmp_path / "out" / "x.txt").read_text() == "1\n"

    # Fixed: the job runs again (its input set changed) and then is up to date.
    (tmp_path / "Rulesfile").write_text(TYPO)
    done = ok("run", "-q", "out/x.txt", cwd=tmp_path)
    assert done.stderr == ""
    assert (tmp_path / "out" / "x.txt").read_text() == "2\n"
    assert ok("plan", cwd=tmp_path).stdout == "Nothing to do: all outputs are up to date.\n"
    assert __import__("json").loads(ok("summary", "--format", "json", cwd=tmp_path).stdout)[
        "outputs"][0]["status"] == "ok"
