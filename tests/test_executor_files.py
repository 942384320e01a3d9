"""The executor on real rule files (loader + planner + store), and `rulekit run` end to end."""

import os
import signal
import subprocess
import sys
import time

import pytest

from rulekit.execution import ExecOptions, execute
from rulekit.lang.loader import load
from rulekit.planning.plan import make_plan
from rulekit.state.recorder import StateRecorder
from rulekit.state.store import MetadataStore
from rulekit.ui.runview import Reporter

RULES = '''\
SAMPLES = ["x", "y"]

rule all:
    input:
        expand("out/{s}.txt", s=SAMPLES),
        "bench.done"

rule make:
    output:
        "out/{s}.txt"
    message:
        "making {output}"
    run:
        n = len(wildcards.s)
        if wildcards.s == config.get("bad"):
            raise ValueError("bad sample " + wildcards.s)
        shell("echo {wildcards.s} > {output}")

rule scripted:
    output:
        "script.txt"
    script:
        "job.py"

rule timed:
    input:
        "script.txt"
    output:
        "bench.done"
    benchmark:
        "bench.tsv"
    shell:
        "cat {input} > {output}"
'''

SCRIPT = '''\
with open(snakemake.output[0], "w") as fh:
    fh.write(rulekit.rule + " " + str(rulekit.threads) + "\\n")
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Rulesfile").write_text(RULES)
    (tmp_path / "job.py").write_text(SCRIPT)
    cwd = os.getcwd()
    yield tmp_path
    os.chdir(cwd)


def run(path, config=None, **opts):
    wf = load(str(path / "Rulesfile"), config=config or {})
    store = MetadataStore(str(path))
    opts.setdefault("reporter", Reporter(quiet=True, progress=False))
    try:
        recorder = StateRecorder(store, wf, store.start_run([]))
        plan = make_plan(wf, store=store)
        return execute(wf, plan, ExecOptions(cores=2, observer=recorder, **opts)), store
    finally:
        store.close()


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_rule_file_runs_all_body_kinds(project, method):
    result, store = run(project, start_method=method)
    assert result.ok, [r.error for r in result.failed]
    assert (project / "out/x.txt").read_text() == "x\n"
    assert (project / "script.txt").read_text() == "scripted 1\n"
    header = (project / "bench.tsv").read_text().splitlines()[0].split("\t")
    assert header[:3] == ["s", "h:m:s", "max_rss"]
    again = MetadataStore(str(project))
    assert again.get("out/x.txt").rule == "make" and not again.incomplete()
    again.close()


def test_run_body_traceback_shows_rule_file_lines(project):
    result, _ = run(project, config={"bad": "y"}, keep_going=True)
    err = result.failed[0].error
    assert f'File "{project / "Rulesfile"}", line 16, in rule make' in err
    assert 'raise ValueError("bad sample " + wildcards.s)' in err
    assert "ValueError: bad sample y" in err
    assert "rulekit/" not in err.replace(str(project), "")
    assert (project / "out/x.txt").exists() and not (project / "out/y.txt").exists()


def rulekit_cmd(*args):
    return [sys.executable, "-m", "rulekit", "run", *args]


@pytest.mark.slow
def test_sigint_mid_run_cleans_up_and_exits_130(tmp_path):
    (tmp_path / "Rulesfile").write_text(
        'rule all:\n    input:\n        expand("o/{i}.txt", i=range(3))\n\n'
        'rule slow:\n    output:\n        "o/{i}.txt"\n    shell:\n'
        '        "echo partial > {output}; sleep 30; echo done >> {output}"\n')
    proc = subprocess.Popen(rulekit_cmd("--cores", "2"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while time.time() < deadline and len(list((tmp_path / "o").glob("*.txt"))) < 2:
        time.sleep(0.1)
    assert len(list((tmp_path / "o").glob("*.txt"))) == 2
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 130, out.decode()
    assert list((tmp_path / "o").glob("*.txt")) == []
    (tmp_path / "Rulesfile").write_text((tmp_path / "Rulesfile").read_text()
                                        .replace("sleep 30", "true"))
    again = subprocess.run(rulekit_cmd("--cores", "2"), cwd=tmp_path, capture_output=True)
    assert again.returncode == 0, again.stdout.decode() + again.stderr.decode()
    assert (tmp_path / "o/2.txt").read_text() == "partial\ndone\n"
