"""-R after a checkpoint re-plan, and the Python API leaving the workflow as it was (17.9)."""

from __future__ import annotations

from jobhelp import rk, run_ok, write

import rulekit

CHECKPOINT = '''
def samples(wildcards):
    listing = checkpoints.choose.get().output[0]
    names = open(listing).read().split()
    return expand("proc/{s}.out", s=names)

rule all:
    input: samples

checkpoint choose:
    input: "wanted.txt"
    output: "chosen.txt"
    shell: "cp {input} {output}"

rule proc:
    input: "data/{s}.txt"
    output: "proc/{s}.out"
    shell: "echo {wildcards.s} >> runs.txt; cp {input} {output}"
'''


def test_forcerun_applies_to_jobs_found_after_a_checkpoint(tmp_path):
    write(tmp_path, {"Snakefile": CHECKPOINT, "wanted.txt": "a b\n",
                     "data/a.txt": "A\n", "data/b.txt": "B\n"})
    run_ok(tmp_path)
    assert sorted((tmp_path / "runs.txt").read_text().split()) == ["a", "b"]
    (tmp_path / "runs.txt").unlink()
    (tmp_path / "wanted.txt").write_text("a b\n")   # newer: the checkpoint reruns
    run_ok(tmp_path, "-R", "proc")
    assert sorted((tmp_path / "runs.txt").read_text().split()) == ["a", "b"]
    res = rk(tmp_path, "run")
    assert "Nothing to do" in res.stdout, res.stdout


def test_api_run_leaves_workflow_cores_alone(tmp_path):
    write(tmp_path, {"Snakefile": 'rule a:\n    output: "a.txt"\n'
                                  '    shell: "echo {threads} > {output}"\n'})
    wf = rulekit.load(tmp_path / "Snakefile")
    before = wf.model.cores
    result = wf.run(cores=1, quiet=True)
    assert result.ok
    assert wf.model.cores == before
