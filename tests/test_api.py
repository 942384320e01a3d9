"""The public Python API: small, typed, and stable."""

import shutil
from pathlib import Path

import rulekit

EXAMPLE = Path(__file__).parent.parent / "examples" / "quickstart"


def test_public_names_do_not_drift():
    assert sorted(rulekit.__all__) == sorted([
        "load", "summary", "Workflow", "Plan", "PlannedJob", "RunResult", "JobResult",
        "RulekitError", "WorkflowError", "JobFailedError", "LockError", "__version__"])
    for name in rulekit.__all__:
        assert hasattr(rulekit, name)


def test_load_plan_run_and_frames(tmp_path):
    # without what a run of the example in the working tree leaves behind
    shutil.copytree(EXAMPLE, tmp_path / "qs", ignore=shutil.ignore_patterns("results", ".rulekit"))
    wf = rulekit.load(tmp_path / "qs" / "Rulesfile")
    plan = wf.plan()
    frame = plan.to_frame()
    assert len(frame) == len(plan) > 0
    assert list(frame["rule"]) == [pj.job.rule.name for pj in plan]
    assert [j["rule"] for j in plan.to_json()["jobs"]] == list(frame["rule"])
    result = wf.run(cores=2, quiet=True)
    assert result.ok and len(result.results) == len(plan)
    assert (tmp_path / "qs" / "results" / "summary.txt").exists()
    assert wf.plan().is_empty
