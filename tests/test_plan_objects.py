"""The planner's fast constructors (reasons.missing_output, reasons.upstream_runs,
planned.planned_job) make objects equal in every way to the dataclasses' own; reasons
have no __dict__ (slots) and stay frozen."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from rulekit.planning.planned import PlannedJob, planned_job
from rulekit.planning.reasons import (
    InputNewer,
    MissingOutput,
    UpstreamRuns,
    missing_output,
    upstream_runs,
)


@pytest.mark.parametrize(("fast", "made"), [
    (lambda: missing_output("a/x.txt"), lambda: MissingOutput("a/x.txt")),
    (lambda: upstream_runs("a[s=x]", 3), lambda: UpstreamRuns("a[s=x]", 3)),
    (lambda: planned_job(None, (MissingOutput("y"),)),  # type: ignore[arg-type]
     lambda: PlannedJob(None, (MissingOutput("y"),))),  # type: ignore[arg-type]
])
def test_fast_constructors_match(fast: object, made: object) -> None:
    a, b = fast(), made()  # type: ignore[operator]
    assert type(a) is type(b) and a == b and hash(a) == hash(b) and repr(a) == repr(b)
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    assert pickle.loads(pickle.dumps(a)) == b
    if hasattr(b, "describe"):
        assert a.describe() == b.describe() and a.to_json() == b.to_json()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(a, dataclasses.fields(b)[0].name, "other")


def test_reasons_have_slots() -> None:
    reason = InputNewer("in.txt", "out.txt", 2_000_000_000, 1_000_000_000)
    assert not hasattr(reason, "__dict__")
    data = reason.to_json()
    assert list(data) == ["kind", "input", "output", "t_in", "t_out", "text", "t_in_iso",
                          "t_out_iso"]
    assert data["kind"] == "input-newer" and data["t_in"] == 2_000_000_000
