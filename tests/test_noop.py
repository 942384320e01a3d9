"""The no-op run (everything up to date, store in use): what it compares and what it skips.

The planner compares each job with the record of its outputs through
`triggers.RecordTriggers`, which takes a short path for a job whose one input is the
record's one row; these tests hold that path to the general one (the four trigger
functions) on every case it handles. A no-op run through the CLI plans nothing, and
touches neither the lock registry nor the lock module when no run file exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from test_dag import T0, make_rule, make_wf

from rulekit.core.model import AnnotatedPath, Body
from rulekit.core.source import Span
from rulekit.planning.fs import FakeFileSystem
from rulekit.planning.reasons import Reason
from rulekit.planning.resolve import build_dag
from rulekit.planning.triggers import (
    RecordTriggers,
    changed_inputs,
    code_changed,
    input_set_changed,
    params_changed,
)
from rulekit.state.records import PlanRecord

ALL = {"mtime", "params", "input", "code"}
S = 10**9


def _job(tmp_path: Path, inp: Any = "in.txt", params: Any = (), code: str = "h-now") -> Any:
    rule = make_rule("a", "out.txt", [inp], params=list(params))
    rule.body = Body("shell", Span("Rulesfile", 2, 5), "echo", code)
    wf = make_wf(tmp_path, rule)
    fs = FakeFileSystem()
    fs.touch("in.txt", mtime_ns=T0, size=4)
    fs.touch("out.txt", mtime_ns=T0 + 5 * S, size=1)
    return build_dag(wf, ("out.txt",), fs).jobs[0], fs


def _general(job: Any, record: Any, fs: Any, triggers: set[str], waiting: bool) -> list[Reason]:
    """What the planner found before RecordTriggers: the four functions, in order."""
    rows = record.input_rows()
    found: list[Reason] = []
    oldest = fs.stat("out.txt")
    if "mtime" in triggers:
        found += changed_inputs(job, rows, fs.stat, oldest.mtime_ns, "out.txt", fs.root)
    if "params" in triggers:
        found += params_changed(job, record)
    if "input" in triggers and not waiting:
        found += input_set_changed(job, rows)
    if "code" in triggers:
        found += code_changed(job, record)
    return found


CASES = {
    "unchanged": {},
    "older input (a restored backup)": {"rows": [["in.txt", T0 + 3 * S, 4, None]]},
    "input size differs": {"rows": [["in.txt", T0, 9, None]]},
    "input newer than the output": {"rows": [["in.txt", T0 - S, 4, None]], "in_mtime": 7},
    "another input recorded": {"rows": [["old.txt", T0, 4, None]]},
    "no input recorded": {"rows": []},
    "params changed": {"params": '{"n": 1}'},
    "params added": {"job_params": [("n", 2)]},
    "params unchanged": {"job_params": [("n", 2)], "params": '{"n": 2}'},
    "code changed": {"code": "h-old"},
    "code unknown": {"code": None},
    "everything changed": {"rows": [["in.txt", T0 + 3 * S, 9, None]], "params": '{"n": 1}',
                           "code": "h-old"},
    "ancient input": {"rows": [["in.txt", T0 + 3 * S, 4, None]], "ancient": True},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("triggers", [ALL, {"mtime"}, {"params", "input", "code"}])
@pytest.mark.parametrize("waiting", [False, True])
def test_one_input_path_finds_what_the_trigger_functions_find(
        tmp_path: Path, case: str, triggers: set[str], waiting: bool) -> None:
    spec = CASES[case]
    inp = AnnotatedPath("in.txt", ["ancient"]) if spec.get("ancient") else "in.txt"
    job, fs = _job(tmp_path, inp, spec.get("job_params", ()))
    if "in_mtime" in spec:
        fs.touch("in.txt", mtime_ns=T0 + spec["in_mtime"] * S, size=4)
    rows = spec.get("rows", [["in.txt", T0, 4, None]])
    record = PlanRecord(spec.get("params", "{}"), spec.get("code", "h-now"), json.dumps(rows))
    found: list[Reason] = []
    RecordTriggers(triggers, fs.stat, fs.root).check(job, record, fs.stat("out.txt"),
                                                     "out.txt", waiting, found)
    assert found == _general(job, record, fs, triggers, waiting)
    if case == "unchanged":
        assert found == []


def _rulekit(cwd: Path, *args: str, code: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RULEKIT_PROFILE"}
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "rulekit",
                                                            *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_noop_run_plans_nothing_and_leaves_the_locks_alone(tmp_path: Path) -> None:
    (tmp_path / "Rulesfile").write_text(textwrap.dedent("""\
        rule all:
            input: "b.txt"

        rule b:
            input: "a.txt"
            output: "b.txt"
            params: n=3
            shell: "cp {input} {output}"

        rule a:
            output: "a.txt"
            shell: "echo a > {output}"
        """))
    first = _rulekit(tmp_path, "run", "--cores", "1")
    assert first.returncode == 0, first.stderr
    locks = tmp_path / ".rulekit-locks"
    registry = locks / "registry.lock"
    registry.unlink(missing_ok=True)
    # the no-op in-process, to see which modules it needed
    probe = textwrap.dedent("""\
        import sys
        from rulekit.ui.cli import main
        sys.argv = ["rulekit", "run", "--cores", "1"]
        try:
            main()
        except SystemExit as end:
            assert not end.code, end.code
        print(sorted(m for m in ("filelock", "rulekit.state.locks",
                                 "rulekit.execution.runguard") if m in sys.modules))
        """)
    again = _rulekit(tmp_path, code=probe)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["Nothing to do: all outputs are up to date.", "[]"]
    assert not registry.exists()
    assert [p.name for p in locks.iterdir() if p.name.startswith("run-")] == []
