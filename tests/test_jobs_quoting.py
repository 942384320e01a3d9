"""Hostile file names through every substitution route never run as commands (issue 17.3)."""

from __future__ import annotations

import os

from jobhelp import nothing_to_do, run_ok, write

HOSTILE = [
    "a b", "two  spaces", "x;touch pwned;", "$(touch pwned)", "`touch pwned`", "'",
    '"', "a'b\"c", "&& touch pwned", "| touch pwned", "> pwned", "< x", "*", "?", "[ab]",
    "-rf", "--help", "-n", "$HOME", "$IFS;touch pwned #", "line\nbreak", "tab\there",
    "!!", "#hash", "~", "back\\slash", "%s %n", "a=b c", "(touch pwned)", "é ü",
    "$'\\x41'", "a\\\n;touch pwned",
]

RULES = '''
NAMES, = glob_wildcards("in/{name}.txt")

rule all:
    input: expand("out/{name}.txt", name=NAMES), expand("py/{name}.txt", name=NAMES)

rule copy:
    input: "in/{name}.txt"
    output: "out/{name}.txt"
    params: prefix="p/{name}", raw="{name}", plain="-v"
    log: "logs/{name}.log"
    shell:
        "cat {input} > {output}; printf '%s|' {wildcards.name} {log} > {log};"
        " printf '%s\\\\n' {params.prefix} {params.raw} {params} >> {output}"

rule frompython:
    input: "out/{name}.txt"
    output: "py/{name}.txt"
    params: prefix="p/{name}"
    run:
        assert params.prefix == "p/" + wildcards.name, params.prefix
        shell("printf '%s\\\\n' {params.prefix} {wildcards.name} > {output}")
'''


def test_hostile_names_never_execute(tmp_path):
    write(tmp_path, {"Snakefile": RULES})
    (tmp_path / "in").mkdir()
    for name in HOSTILE:
        (tmp_path / "in" / f"{name}.txt").write_text("data\n")
    run_ok(tmp_path)
    for root, _dirs, files in os.walk(tmp_path):
        assert "pwned" not in files, root
    assert not (tmp_path / "pwned").exists()
    for name in HOSTILE:
        out = (tmp_path / "out" / f"{name}.txt").read_text()
        assert out == f"data\np/{name}\n{name}\np/{name}\n{name}\n-v\n", (name, out)
        py = (tmp_path / "py" / f"{name}.txt").read_text()
        assert py == f"p/{name}\n{name}\n", (name, py)
        log = (tmp_path / "logs" / f"{name}.log").read_text()
        assert log == f"{name}|logs/{name}.log|", log
    nothing_to_do(tmp_path)
