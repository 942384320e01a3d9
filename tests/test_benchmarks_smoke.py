"""Smoke tests for benchmarks/: the generator at size 10, and run.py end to end.

The full benchmark is not part of the test suite (see docs/performance.md).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _load_generate():
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


gen = _load_generate()
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed")


@pytest.mark.parametrize("variant", gen.VARIANTS)
@pytest.mark.parametrize("workflow", gen.WORKFLOWS)
def test_generated_rule_files_are_identical_for_rulekit_and_snakemake(tmp_path, workflow,
                                                                      variant):
    rk = gen.generate(workflow, 10, tmp_path / "rk", variant=variant, tool="rulekit")
    sm = gen.generate(workflow, 10, tmp_path / "sm", variant=variant, tool="snakemake")
    assert rk.rule_file.name == "Rulesfile" and sm.rule_file.name == "Snakefile"
    assert rk.rule_file.read_text() == sm.rule_file.read_text()
    assert rk.jobs == sm.jobs
    compile(rk.rule_file.read_text().split("\nrule ")[0], "header", "exec")


@pytest.mark.parametrize("workflow", gen.WORKFLOWS)
def test_generator_writes_sources_and_no_outputs(tmp_path, workflow):
    g = gen.generate(workflow, 10, tmp_path, tool="make")
    assert g.rule_file.is_file()
    assert not any((tmp_path / o).exists() for o in g.outputs)
    if workflow == "chain":
        assert len(list((tmp_path / "raw").glob("*.txt"))) == 10
        assert g.jobs == 31
    elif workflow == "fan":
        assert (tmp_path / "input.txt").is_file()
        assert g.jobs == 12
    else:
        assert len(list((tmp_path / "raw").glob("*.txt"))) == 10


@needs_make
@pytest.mark.parametrize("workflow", gen.WORKFLOWS)
def test_makefile_dry_run_and_build(tmp_path, workflow):
    g = gen.generate(workflow, 10, tmp_path, tool="make")
    dry = subprocess.run(["make", "-n"], cwd=tmp_path, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert "cp " in dry.stdout
    build = subprocess.run(["make", "-j2"], cwd=tmp_path, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert all((tmp_path / o).exists() for o in g.outputs)
    # everything up to date: `make -q` exits 0
    assert subprocess.run(["make", "-q"], cwd=tmp_path).returncode == 0


@needs_make
def test_prebuild_makes_everything_up_to_date(tmp_path):
    g = gen.generate("chain", 10, tmp_path, tool="make")
    gen.prebuild(g)
    assert subprocess.run(["make", "-q"], cwd=tmp_path).returncode == 0


def test_big_rule_file(tmp_path):
    path = gen.generate_big(tmp_path, 1000)
    text = path.read_text()
    assert text.count("\nrule r") == 1000
    for directive in ("input:", "output:", "params:", "shell:"):
        assert text.count(f"    {directive}") == 1000


def _run_bench(tmp_path, tools):
    out = tmp_path / "report.md"
    cmd = [sys.executable, str(BENCH / "run.py"), "--sizes", "10", "--tools", tools,
           "--repeat", "1", "--timeout", "120", "--out", str(out), "--big-rules", "50",
           "--workdir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out.read_text()


@pytest.mark.slow
@needs_make
def test_run_py_with_make(tmp_path):
    report = _run_bench(tmp_path, "make")
    assert "| chain | plan | 10 |" in report
    assert "GNU Make" in report
    rows = [line for line in report.splitlines() if line.startswith("| chain ")]
    assert rows
    for row in rows:
        assert "failed" not in row and "timeout" not in row, row


@pytest.mark.slow
@needs_make
def test_run_py_with_rulekit_and_make(tmp_path):
    """Requires a working `rulekit` CLI (plan, run, check)."""
    report = _run_bench(tmp_path, "rulekit,make")
    rows = [line for line in report.splitlines() if line.startswith("| chain ")
            or line.startswith("| fan ") or line.startswith("| big ")]
    assert rows
    for row in rows:
        rulekit_cell = row.split("|")[4].strip()
        assert "failed" not in rulekit_cell and "timeout" not in rulekit_cell, row
        assert "REBUILT" not in rulekit_cell, row
    assert "rulekit/make" in report
