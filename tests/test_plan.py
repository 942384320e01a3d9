"""The rebuild policy: every reason and error on real files with os.utime."""

from __future__ import annotations

import json
import os
import stat
import time
from typing import Any

import pytest
from test_dag import T0, chain_wf, make_rule, make_wf, touch

from rulekit.core.errors import ProtectedOutputError, UsageError
from rulekit.core.model import AnnotatedPath, IncompleteCheckpoint
from rulekit.planning.fs import FakeFileSystem, FileSystem
from rulekit.planning.plan import job_params, make_plan
from rulekit.planning.reasons import (
    CodeChanged,
    Forced,
    InputNewer,
    InputSetChanged,
    MissingOutput,
    ParamsChanged,
    UpstreamRuns,
    WaitingForCheckpoint,
    format_ns,
)
from rulekit.ui.planview import render_plan_text


def plan_of(wf: Any, targets: Any = (), **kw: Any) -> Any:
    return make_plan(wf, targets, fs=FileSystem(wf.workdir), **kw)


def summary(plan: Any) -> list[tuple[str, list[str]]]:
    return [(p.job.name, [r.describe() for r in p.reasons]) for p in plan]


def built_chain(root: Any) -> Any:
    """raw at t=0, a at 1, b at 2, c at 3, result at 4: everything up to date."""
    touch(root, "raw/x.txt", t=0)
    touch(root, "a/x.txt", t=1)
    touch(root, "b/x.txt", t=2)
    touch(root, "c/x.txt", t=3)
    touch(root, "result.txt", t=4)
    return chain_wf(root, ["x"])


def test_missing_outputs_and_upstream(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    plan = plan_of(chain_wf(tmp_path, ["x"]))
    assert summary(plan) == [
        ("a[s=x]", ["missing output a/x.txt"]),
        ("b[s=x]", ["missing output b/x.txt", "input made by a[s=x], which runs"]),
        ("c[s=x]", ["missing output c/x.txt", "input made by b[s=x], which runs"]),
        ("agg", ["missing output result.txt", "input made by c[s=x], which runs"]),
    ]
    assert plan.counts() == {"agg": 1, "a": 1, "b": 1, "c": 1}
    assert plan.jobs[0].reasons == (MissingOutput("a/x.txt"),)


def test_up_to_date_is_empty(tmp_path: Any) -> None:
    plan = plan_of(built_chain(tmp_path))
    assert plan.is_empty and len(plan.dag) == 4
    assert render_plan_text(plan) == "Nothing to do: all outputs are up to date."


def test_input_newer_names_files_and_times(tmp_path: Any) -> None:
    wf = built_chain(tmp_path)
    touch(tmp_path, "a/x.txt", t=10)
    plan = plan_of(wf)
    reason = plan.jobs[0].reasons[0]
    assert reason == InputNewer("a/x.txt", "b/x.txt", T0 + 10 * 10**9, T0 + 2 * 10**9)
    assert reason.describe() == (f"output b/x.txt older than input a/x.txt "
                                 f"({format_ns(T0 + 2 * 10**9)} < {format_ns(T0 + 10 * 10**9)})")
    assert summary(plan)[1:] == [
        ("c[s=x]", ["input made by b[s=x], which runs"]),
        ("agg", ["input made by c[s=x], which runs"]),
    ]


def test_upstream_count(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt", "raw/y.txt", t=0)
    wf = chain_wf(tmp_path, ["x", "y"])
    plan = plan_of(wf)
    assert plan.jobs[-1].reasons[-1] == UpstreamRuns("c[s=x]", 2)
    assert plan.jobs[-1].reasons[-1].describe() == (
        "inputs made by 2 jobs that run, e.g. c[s=x]")


def test_forced(tmp_path: Any) -> None:
    wf = built_chain(tmp_path)
    assert [p.reasons for p in plan_of(wf, forceall=True)][0] == (Forced("forceall"),)
    plan = plan_of(wf, forcerun=["b"])
    assert summary(plan) == [
        ("b[s=x]", ["forced: --forcerun names this rule"]),
        ("c[s=x]", ["input made by b[s=x], which runs"]),
        ("agg", ["input made by c[s=x], which runs"]),
    ]
    assert summary(plan_of(wf, ["c/x.txt"], force=True)) == [
        ("c[s=x]", ["forced: --force on a target"])]
    with pytest.raises(UsageError) as err:
        plan_of(wf, forcerun=["nope"])
    assert err.value.show() == ("error: --forcerun names an unknown rule 'nope'\n"
                                "  Rules: agg, a, b, c\n"
                                "  hint: use one of the rule names above (rulekit list shows them)")


def test_until(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    plan = plan_of(chain_wf(tmp_path, ["x"]), until="b")
    assert [p.job.name for p in plan] == ["a[s=x]", "b[s=x]"]


def test_ancient_inputs_are_ignored(tmp_path: Any) -> None:
    touch(tmp_path, "ref.fa", t=10)
    touch(tmp_path, "raw/x.txt", t=0)
    touch(tmp_path, "out/x.txt", t=5)
    wf = make_wf(tmp_path, make_rule("a", "out/{s}.txt",
                                     ["raw/{s}.txt", AnnotatedPath("ref.fa", ["ancient"])]))
    assert plan_of(wf, ["out/x.txt"]).is_empty
    wf.rules["a"].input[1] = (None, "ref.fa")
    assert plan_of(wf, ["out/x.txt"]).jobs[0].reasons[0].kind == "input-newer"


def temp_wf(root: Any) -> Any:
    return make_wf(root,
                   make_rule("all", "final.txt", "mid.txt"),
                   make_rule("mid", "mid.txt", AnnotatedPath("tmp.txt", [])),
                   make_rule("tmp", AnnotatedPath("tmp.txt", ["temp"]), "src.txt"))


class MadeTemps:
    """A store that knows only that `paths` were made (their records exist)."""

    def __init__(self, *paths: str) -> None:
        self.paths = set(paths)

    def incomplete_paths(self) -> set[str]:
        return set()

    def get_many(self, paths: Any) -> dict[str, Any]:
        return {p: object() for p in paths if p in self.paths}


def test_removed_temp_output_does_not_rerun(tmp_path: Any) -> None:
    touch(tmp_path, "src.txt", t=0)
    touch(tmp_path, "mid.txt", t=2)
    touch(tmp_path, "final.txt", t=3)
    made = MadeTemps("tmp.txt")
    assert plan_of(temp_wf(tmp_path), store=made, rerun_triggers=["mtime"]).is_empty
    # downstream must run: now the temp file is needed again
    touch(tmp_path, "final.txt", t=1)
    os.remove(os.path.join(tmp_path, "mid.txt"))
    assert summary(plan_of(temp_wf(tmp_path), store=made, rerun_triggers=["mtime"])) == [
        ("tmp", ["missing output tmp.txt"]),
        ("mid", ["missing output mid.txt", "input made by tmp, which runs"]),
        ("all", ["input made by mid, which runs"]),
    ]


def test_missing_temp_output_never_made_is_missing(tmp_path: Any) -> None:
    touch(tmp_path, "src.txt", t=0)
    touch(tmp_path, "mid.txt", t=2)
    touch(tmp_path, "final.txt", t=3)
    # no record of tmp.txt (and no store at all): it is simply missing
    for store in (MadeTemps(), None):
        assert summary(plan_of(temp_wf(tmp_path), store=store, rerun_triggers=["mtime"])) == [
            ("tmp", ["missing output tmp.txt"]),
            ("mid", ["input made by tmp, which runs"]),
            ("all", ["input made by mid, which runs"]),
        ]


def test_protected_output_is_an_error_before_running(tmp_path: Any) -> None:
    touch(tmp_path, "in.txt", t=5)
    touch(tmp_path, "out.txt", t=1)
    wf = make_wf(tmp_path, make_rule("p", AnnotatedPath("out.txt", ["protected"]), "in.txt"))
    with pytest.raises(ProtectedOutputError) as err:
        plan_of(wf)
    text = err.value.show()
    assert text.startswith("Rulesfile:1:1: error: job p would overwrite protected output "
                           "'out.txt'\n  Files:   out.txt\n  Job:     p\n  Reasons: output out.txt")
    assert err.value.exit_code == 2
    touch(tmp_path, "out.txt", t=9)
    assert plan_of(wf).is_empty


def test_future_mtime_warns(tmp_path: Any) -> None:
    touch(tmp_path, "in.txt", t=0)
    future = time.time_ns() + (3 * 3600 + 60) * 10**9
    touch(tmp_path, "out.txt")
    os.utime(os.path.join(tmp_path, "out.txt"), ns=(future, future))
    plan = plan_of(make_wf(tmp_path, make_rule("a", "out.txt", "in.txt")))
    assert plan.is_empty
    assert plan.warnings == [f"out.txt has a modification time 3 hours in the future "
                             f"({format_ns(future)}); check the clock"]


def test_no_output_rule_runs(tmp_path: Any) -> None:
    wf = make_wf(tmp_path, make_rule("hello"))
    assert summary(plan_of(wf)) == [
        ("hello", ["rule has neither input nor output files, so it always runs"])]


def test_waiting_for_checkpoint(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")

    def after(wc: Any) -> list[str]:
        raise IncompleteCheckpoint("split", f"split/{wc.s}")

    wf = make_wf(tmp_path,
                 make_rule("merge", "merged/{s}.txt", [after]),
                 make_rule("split", AnnotatedPath("split/{s}", ["directory"]), "raw/{s}.txt",
                           checkpoint=True))
    plan = plan_of(wf, ["merged/x.txt"])
    assert plan.jobs[1].reasons[-1] == WaitingForCheckpoint("split")
    assert summary(plan)[1][1][-1] == (
        "waiting for checkpoint split; inputs are known once it has run")


def test_plan_is_identical_and_json_matches_frame(tmp_path: Any) -> None:
    touch(tmp_path, *(f"raw/{s}.txt" for s in "pqrs"))
    wf = chain_wf(tmp_path, list("srqp"))
    first = json.dumps(plan_of(wf).to_json())
    for _ in range(3):
        assert json.dumps(plan_of(wf).to_json()) == first
    plan = plan_of(wf)
    frame = plan.to_frame()
    data = plan.to_json()["jobs"]
    assert list(frame.columns[:5]) == ["rule", "wildcards", "inputs", "outputs", "reasons"]
    assert len(frame) == len(data) == 13
    for row, job in zip(frame.to_dict("records"), data):
        assert row["rule"] == job["rule"] and row["wildcards"] == job["wildcards"]
        assert row["inputs"] == job["inputs"] and row["outputs"] == job["outputs"]
        assert row["reasons"] == [r["text"] for r in job["reasons"]]
        assert row["reason_kinds"] == [r["kind"] for r in job["reasons"]]
    assert data[0] == {"rule": "a", "wildcards": {"s": "s"}, "inputs": ["raw/s.txt"],
                       "outputs": ["a/s.txt"],
                       "reasons": [{"kind": "missing-output", "path": "a/s.txt",
                                    "text": "missing output a/s.txt"}]}


def test_plan_text_table(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    text = render_plan_text(plan_of(chain_wf(tmp_path, ["x"]), until="b"))
    assert text == (
        "rule  wildcards  outputs  reasons\n"
        "a     s=x        a/x.txt  missing output a/x.txt\n"
        "b     s=x        b/x.txt  missing output b/x.txt\n"
        "                          input made by a[s=x], which runs\n"
        "\n"
        "2 jobs to run:\n"
        "  rule     jobs\n"
        "  a        1\n"
        "  b        1\n"
        "  (total)  2")


def test_fake_filesystem_ticks(tmp_path: Any) -> None:
    wf = chain_wf(tmp_path, ["x"])
    fake = FakeFileSystem()
    fake.touch("raw/x.txt", "a/x.txt", "b/x.txt", "c/x.txt", "result.txt")
    assert make_plan(wf, fs=fake).is_empty
    fake.touch("raw/x.txt")
    plan = make_plan(wf, fs=fake)
    assert [p.job.name for p in plan] == ["a[s=x]", "b[s=x]", "c[s=x]", "agg"]


# --------------------------------------------------------------------------- store triggers

store_mod = pytest.importorskip("rulekit.state.store")


def record(path: str, job: Any, root: Any = None, **kw: Any) -> Any:
    """A record of `path` made by `job`; with `root`, the inputs' times and sizes on disk."""
    def seen(p: str) -> tuple[int, int]:
        if root is None:
            return 0, 0
        st = os.stat(os.path.join(root, p))
        return st.st_mtime_ns, st.st_size

    inputs = [store_mod.InputRecord(str(p), *seen(str(p))) for p in job.input]
    fields = {"path": path, "rule": job.rule.name, "wildcards": dict(job.wildcards),
              "params": store_mod.canonical_params(job_params(job)),
              "code_hash": job.rule.code_hash, "inputs": inputs}
    fields.update(kw)
    return store_mod.OutputRecord(**fields)


def test_store_triggers(tmp_path: Any) -> None:
    touch(tmp_path, "in.txt", "extra.txt", t=0)
    touch(tmp_path, "out.txt", t=1)
    wf = make_wf(tmp_path, make_rule("a", "out.txt", "in.txt", params=[("n", 2)]))
    from rulekit.core.model import Body
    from rulekit.core.source import Span
    wf.rules["a"].body = Body("shell", Span("Rulesfile", 2, 5), "echo", "hash-new")
    job = plan_of(wf, forceall=True).jobs[0].job
    with store_mod.MetadataStore(tmp_path) as store:
        store.put_many([record("out.txt", job, tmp_path)])
        assert plan_of(wf, store=store).is_empty
        store.put_many([record("out.txt", job, tmp_path, params='{"n": 1}', code_hash="hash-old",
                               inputs=[store_mod.InputRecord("old.txt", 0, 0)])])
        reasons = plan_of(wf, store=store).jobs[0].reasons
        assert reasons == (ParamsChanged("n", 1, 2),
                           InputSetChanged(("in.txt",), ("old.txt",)),
                           CodeChanged("hash-old", "hash-new"))
        assert [r.describe() for r in reasons] == [
            "param n changed: 1 -> 2",
            "input files changed: added in.txt; removed old.txt",
            "rule code changed (hash-old -> hash-new)"]
        assert plan_of(wf, store=store, rerun_triggers=["mtime"]).is_empty
        store.mark_incomplete(["out.txt"], None)
        assert [r.kind for r in plan_of(wf, store=store).jobs[0].reasons][0] == "incomplete"


def test_checksum_early_cutoff(tmp_path: Any) -> None:
    from rulekit.core.hashing import file_checksum

    (tmp_path / "in.txt").write_text("same\n")
    touch(tmp_path, "in.txt", t=5)
    touch(tmp_path, "out.txt", t=1)
    wf = make_wf(tmp_path, make_rule("a", "out.txt", "in.txt"))
    job = plan_of(wf).jobs[0].job
    checksum = file_checksum(tmp_path / "in.txt")
    with store_mod.MetadataStore(tmp_path) as store:
        store.put_many([record("out.txt", job, inputs=[
            store_mod.InputRecord("in.txt", T0, 5, checksum)])])
        triggers = ["mtime", "params", "input", "code", "checksum"]
        assert plan_of(wf, store=store, rerun_triggers=triggers).is_empty
        (tmp_path / "in.txt").write_text("diff\n")
        touch(tmp_path, "in.txt", t=5)
        assert [r.describe() for r in plan_of(wf, store=store, rerun_triggers=triggers)
                .jobs[0].reasons] == ["content of input in.txt changed"]
        # without checksums, timestamps decide
        assert plan_of(wf, store=store).jobs[0].reasons[0].kind == "input-newer"


def test_protected_readonly_file_mode_untouched(tmp_path: Any) -> None:
    touch(tmp_path, "in.txt", t=0)
    touch(tmp_path, "out.txt", t=1)
    os.chmod(tmp_path / "out.txt", stat.S_IRUSR)
    wf = make_wf(tmp_path, make_rule("p", AnnotatedPath("out.txt", ["protected"]), "in.txt"))
    assert plan_of(wf).is_empty
