"""`script:` jobs run in a fresh interpreter: nothing leaks into later jobs (issue 17.1)."""

from __future__ import annotations

from jobhelp import nothing_to_do, rk, run_ok, write

RULES = '''
rule all:
    input: expand("out/{i}.run", i=range(6)), expand("out/{i}.script", i=range(6)), "exit.txt"

rule leaky:
    output: "out/{i}.script"
    params: tag="p-{i}"
    threads: 1
    resources: mem_mb=10
    log: "logs/{i}.log"
    script: "leaky.py"

rule runbody:
    input: "out/{i}.script"
    output: "out/{i}.run"
    run:
        import os, sys
        assert os.getcwd() == workflow_dir, os.getcwd()
        assert "LEAK" not in os.environ
        assert "/leaked" not in sys.path
        with open(output[0], "w") as fh:
            fh.write("ok\\n")

rule exits:
    output: "exit.txt"
    script: "exits.py"
'''

LEAKY = '''
import os, sys
import json
here = os.getcwd()
data = {"input": list(snakemake.input), "output": list(snakemake.output),
        "params": dict(snakemake.params.items()), "tag": snakemake.params.tag,
        "wildcards": dict(snakemake.wildcards.items()), "i": snakemake.wildcards.i,
        "threads": snakemake.threads, "mem": snakemake.resources.mem_mb,
        "log": snakemake.log[0], "config": snakemake.config, "rule": snakemake.rule,
        "same": rulekit is snakemake, "name": __name__, "file": os.path.basename(__file__),
        "path0": os.path.basename(sys.path[0]), "attempt": snakemake.attempt,
        "fmt": snakemake.log_fmt_shell(stdout=False)}
print("hello from the script")
with open(snakemake.output[0], "w") as fh:
    json.dump(data, fh)
os.makedirs("sub", exist_ok=True)
os.chdir("sub")
os.environ["LEAK"] = "1"
sys.path.append("/leaked")
sys.exit(0)
'''

EXITS = '''
open(snakemake.output[0], "w").write("x")
raise SystemExit()
'''


def test_scripts_do_not_leak_and_exit_zero_is_success(tmp_path):
    write(tmp_path, {"Snakefile": f"workflow_dir = {str(tmp_path)!r}\n" + RULES,
                     "leaky.py": LEAKY, "exits.py": EXITS})
    res = run_ok(tmp_path, "--config", "k=v")
    assert "hello from the script" in res.stdout
    import json

    data = json.loads((tmp_path / "out" / "3.script").read_text())
    assert data == {"input": [], "output": ["out/3.script"], "params": {"tag": "p-3"},
                    "tag": "p-3", "wildcards": {"i": "3"}, "i": "3", "threads": 1, "mem": 10,
                    "log": "logs/3.log", "config": {"k": "v"}, "rule": "leaky", "same": True,
                    "name": "__main__", "file": "leaky.py", "path0": tmp_path.name,
                    "attempt": 1, "fmt": " 2> logs/3.log"}
    for i in range(6):
        assert (tmp_path / "out" / f"{i}.run").read_text() == "ok\n"
    nothing_to_do(tmp_path, "--config", "k=v")


def test_failing_script_reports_its_traceback_and_exit_status(tmp_path):
    write(tmp_path, {"Snakefile": 'rule a:\n    output: "a.txt"\n    script: "bad.py"\n'
                                  'rule b:\n    output: "b.txt"\n    script: "code.py"\n',
                     "bad.py": "def f():\n    raise ValueError('nope')\n\nf()\n",
                     "code.py": "import sys\nprint('partial')\nsys.exit(3)\n"})
    res = rk(tmp_path, "run", "a.txt")
    assert res.returncode == 1
    out = res.stdout + res.stderr
    assert "script failed (exit status 1)" in out
    assert 'bad.py", line 4, in <module>' in out and "ValueError: nope" in out
    assert "scriptjob" not in out and "internal error" not in out
    res = rk(tmp_path, "run", "b.txt")
    assert res.returncode == 1
    assert "script failed (exit status 3)" in res.stdout + res.stderr
    assert "partial" in res.stdout + res.stderr
