"""Params are recorded in a form that does not change between processes (issue 17.4, 17.9)."""

from __future__ import annotations

import sqlite3

from jobhelp import rk, run_ok, write

SETS = '''
rule all:
    input: "a.txt", "b.txt"

rule make:
    output: "{x}.txt"
    params:
        names={"alpha", "beta", "gamma", "delta", "epsilon", "zeta"},
        nested=lambda wc: {"k": frozenset({"one", "two", "three"}), "v": [1, 2]}
    shell: "echo {params.names:q} > {output}"
'''


def test_set_valued_params_do_not_rerun_across_hash_seeds(tmp_path):
    write(tmp_path, {"Snakefile": SETS})
    res = rk(tmp_path, "run", env={"PYTHONHASHSEED": "1"})
    assert res.returncode == 0, res.stdout + res.stderr
    for seed in ("2", "3", "4", "5"):
        res = rk(tmp_path, "run", env={"PYTHONHASHSEED": seed})
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Nothing to do" in res.stdout, (seed, res.stdout)
    assert "warning" not in res.stderr


UNSTABLE = '''
class Opaque:
    pass

rule all:
    input: expand("{x}.txt", x="abc")

rule make:
    output: "{x}.txt"
    params: thing=Opaque(), fine="text"
    shell: "touch {output}"
'''


def test_params_without_stable_text_warn_once(tmp_path):
    write(tmp_path, {"Snakefile": UNSTABLE})
    res = rk(tmp_path, "run")
    assert res.returncode == 0, res.stdout + res.stderr
    res = rk(tmp_path, "plan")
    lines = [ln for ln in res.stderr.splitlines() if "no stable text" in ln]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("warning: rule make: params thing has no stable text (<")
    assert "Opaque object at 0x" in lines[0]


CACHE = '''
rule all:
    input: "a.txt", "b.txt"

rule make:
    output: "{x}.txt"
    params: p=lambda wc: (1,) if wc.x == "a" else (1.0,)
    shell: "touch {output}"
'''


def test_params_cache_tells_nested_int_from_float(tmp_path):
    write(tmp_path, {"Snakefile": CACHE})
    run_ok(tmp_path)
    (db,) = (tmp_path / ".rulekit").glob("*.db")
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT path, params FROM outputs"))
    assert rows == {"a.txt": '{"p": [1]}', "b.txt": '{"p": [1.0]}'}
    res = rk(tmp_path, "run")
    assert res.returncode == 0 and "Nothing to do" in res.stdout, res.stdout
