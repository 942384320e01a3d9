"""Log capture: a command that writes its own log is not also redirected there (issue 17.6)."""

from __future__ import annotations

from jobhelp import nothing_to_do, rk, run_ok, write

RULES = r'''
rule all:
    input: "own.txt", "captured.txt", "both.txt"

rule own:
    output: "own.txt"
    log: "logs/own.log"
    shell: "echo stdout-line-1; echo E 2> {log} >&2; echo out > {output}"

rule own_stderr:
    output: "both.txt"
    log: err="logs/err.log"
    shell: "(echo to-stdout; echo to-stderr >&2) 2> {log.err}; touch {output}"

rule captured:
    output: "captured.txt"
    log: "logs/captured.log"
    shell: "echo stdout-line-1; echo E >&2; touch {output}"
'''


def test_command_that_mentions_log_owns_it(tmp_path):
    write(tmp_path, {"Snakefile": RULES})
    res = run_ok(tmp_path, "--cores", "1")
    assert (tmp_path / "logs" / "own.log").read_text() == "E\n"
    assert (tmp_path / "logs" / "err.log").read_text() == "to-stderr\n"
    assert (tmp_path / "logs" / "captured.log").read_text() == "stdout-line-1\nE\n"
    # what the command did not send to its log is captured and shown under its done line
    assert "stdout-line-1" in res.stdout and "to-stdout" in res.stdout
    nothing_to_do(tmp_path)


def test_failing_command_with_own_log_shows_log_tail(tmp_path):
    write(tmp_path, {"Snakefile": 'rule a:\n    output: "a.txt"\n    log: "a.log"\n'
                                  '    shell: "echo boom-text 2> {log} >&2; exit 4"\n'})
    res = rk(tmp_path, "run")
    assert res.returncode == 1
    out = res.stdout + res.stderr
    assert "shell command failed (exit status 4)" in out
    assert "log a.log (last lines):" in out and "boom-text" in out
