"""The state layer on real files: StateRecorder -> store -> the next plan's reasons,
incomplete markers, summary rows, provenance and clean targets."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from rulekit.core.hashing import file_checksum
from rulekit.execution import ExecOptions, execute
from rulekit.execution.base import JobResult
from rulekit.lang.loader import load
from rulekit.planning.plan import make_plan
from rulekit.state.clean import clean_targets
from rulekit.state.queries import format_provenance, provenance, summary_frame, summary_rows
from rulekit.state.recorder import StateRecorder
from rulekit.state.store import InputRecord, MetadataStore, OutputRecord
from rulekit.ui.runview import Reporter

CHAIN = """
rule all:
    input: "c/x.txt"

rule a:
    input: "raw/{s}.txt"
    output: "a/{s}.txt"
    params: n=1, mode="fast"
    shell: "tr a-z A-Z < {input} > {output}"

rule b:
    input: "a/{s}.txt"
    output: "b/{s}.txt"
    log: "logs/b/{s}.log"
    run:
        # double it
        with open(output[0], "w") as f:
            f.write(open(input[0]).read() * 2)

rule c:
    input: "b/{s}.txt"
    output: "c/{s}.txt"
    shell: "cat {input} > {output}"
"""


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = MetadataStore(root)
        self.write("raw/x.txt", "hello\n")
        self.rules(CHAIN)

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def rules(self, text: str) -> None:
        self.write("Rulesfile", textwrap.dedent(text))

    def edit(self, old: str, new: str) -> None:
        text = (self.root / "Rulesfile").read_text()
        assert old in text
        (self.root / "Rulesfile").write_text(text.replace(old, new))

    def wf(self) -> Any:
        return load(self.root / "Rulesfile")

    def plan(self, targets: Any = (), **kw: Any) -> list[tuple[str, list[str]]]:
        plan = make_plan(self.wf(), targets, store=self.store, **kw)
        return [(p.job.name, [r.describe() for r in p.reasons]) for p in plan]

    def run(self, targets: Any = (), checksums: bool = False, **kw: Any) -> Any:
        wf = self.wf()
        plan = make_plan(wf, targets, store=self.store, **kw)
        run_id = self.store.start_run(["test"])
        recorder = StateRecorder(self.store, wf, run_id, checksums=checksums)
        result = execute(wf, plan, ExecOptions(
            cores=2, observer=recorder, reporter=Reporter(quiet=True, progress=False),
            start_method="fork", handle_signals=False))
        self.store.end_run(run_id, "ok" if result.ok else "failed")
        assert result.ok, [r.error for r in result.results]
        return result


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    p = Project(tmp_path)
    yield p
    p.store.close()


# --------------------------------------------------------------------------- recording

def test_recorder_writes_full_records(proj: Any) -> None:
    proj.run()
    assert (proj.root / "c/x.txt").read_text() == "HELLO\nHELLO\n"
    rec = proj.store.get("a/x.txt")
    assert rec.rule == "a" and rec.wildcards == {"s": "x"}
    assert json.loads(rec.params) == {"n": 1, "mode": "fast"}
    assert rec.code_hash == proj.wf().rules["a"].code_hash
    st = os.stat(proj.root / "raw/x.txt")
    # small inputs get a content checksum by default (docs/planning.md, Snakemake 9)
    assert rec.inputs == [InputRecord("raw/x.txt", st.st_mtime_ns, st.st_size,
                                      file_checksum(proj.root / "raw/x.txt"))]
    assert 0 < rec.start <= rec.end and rec.exit_status == 0
    run = proj.store.runs()[-1]
    assert rec.run_id == run.run_id and run.outcome == "ok"
    assert proj.store.get("b/x.txt").logs == ["logs/b/x.log"]
    assert proj.store.incomplete() == {}
    assert proj.plan() == []


def test_checksums_recorded_when_on(proj: Any) -> None:
    from rulekit.core.hashing import file_checksum

    proj.run(checksums=True)
    rec = proj.store.get("b/x.txt")
    assert rec.inputs[0].checksum == file_checksum(proj.root / "a/x.txt")


def test_params_change_gives_reason_and_mtime_trigger_ignores_it(proj: Any) -> None:
    proj.run()
    proj.edit("params: n=1,", "params: n=2,")
    assert proj.plan() == [
        ("a[s=x]", ["param n changed: 1 -> 2"]),
        ("b[s=x]", ["input made by a[s=x], which runs"]),
        ("c[s=x]", ["input made by b[s=x], which runs"]),
        ("all", ["input made by c[s=x], which runs"]),
    ]
    assert proj.plan(rerun_triggers=("mtime",)) == []
    proj.run()
    assert proj.plan() == []
    assert json.loads(proj.store.get("a/x.txt").params)["n"] == 2


def test_code_change_gives_reason_but_comments_do_not(proj: Any) -> None:
    proj.run()
    proj.edit("# double it", "# double the text, carefully")
    assert proj.plan() == []
    old = proj.wf().rules["b"].code_hash
    proj.edit("read() * 2", "read() * 3")
    new = proj.wf().rules["b"].code_hash
    assert proj.plan() == [
        ("b[s=x]", [f"rule code changed ({old[:12]} -> {new[:12]})"]),
        ("c[s=x]", ["input made by b[s=x], which runs"]),
        ("all", ["input made by c[s=x], which runs"]),
    ]
    assert proj.plan(rerun_triggers=("mtime", "params", "input")) == []
    assert proj.plan(rerun_triggers=("mtime",)) == []


def test_input_set_change_gives_reason(proj: Any) -> None:
    proj.run()
    proj.write("raw/extra.txt", "x\n")
    os.utime(proj.root / "raw/extra.txt", (1, 1))  # old: timestamps alone see nothing
    proj.edit('input: "b/{s}.txt"', 'input: "b/{s}.txt", "raw/extra.txt"')
    assert proj.plan() == [("c[s=x]", ["input files changed: added raw/extra.txt"]),
                           ("all", ["input made by c[s=x], which runs"])]
    assert proj.plan(rerun_triggers=("mtime",)) == []
    proj.run()
    proj.edit('input: "b/{s}.txt", "raw/extra.txt"', 'input: "b/{s}.txt"')
    assert proj.plan()[0] == ("c[s=x]", ["input files changed: removed raw/extra.txt"])


def test_output_without_record_falls_back_to_timestamps(proj: Any) -> None:
    proj.run()
    proj.store.remove(["a/x.txt"])
    proj.edit("params: n=1,", "params: n=2,")
    assert proj.plan() == []


def _job(wf: Any, name: str) -> Any:
    plan = make_plan(wf, (), forceall=True)
    return next(p.job for p in plan if p.job.name == name)


def test_incomplete_markers(proj: Any) -> None:
    proj.run()
    wf = proj.wf()
    rec = StateRecorder(proj.store, wf, "r1")
    job = _job(wf, "b[s=x]")
    rec.jobs_started([job])
    assert proj.store.incomplete() == {"b/x.txt": "r1"}
    # Planned again (as after a crash): the job reruns with the reason, downstream too.
    assert proj.plan() == [
        ("b[s=x]", ["output b/x.txt is incomplete (an earlier run was interrupted or failed)"]),
        ("c[s=x]", ["input made by b[s=x], which runs"]),
        ("all", ["input made by c[s=x], which runs"]),
    ]
    # --keep-incomplete: the failed job's output stays, and stays marked.
    rec.jobs_finished([JobResult(job, "failed", 1.0, 2.0)])
    assert proj.store.incomplete_paths() == {"b/x.txt"}
    # Removed by the executor: the marker goes (a missing output reruns anyway).
    os.remove(proj.root / "b/x.txt")
    rec.jobs_finished([JobResult(job, "cancelled", 1.0, 2.0)])
    assert proj.store.incomplete() == {}
    # A skipped job never started: nothing to do.
    rec.jobs_finished([JobResult(_job(wf, "c[s=x]"), "not started")])
    proj.run()
    assert proj.plan() == [] and proj.store.incomplete() == {}


def test_done_batch_is_one_write(proj: Any) -> None:
    wf = proj.wf()
    calls: list[str] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(proj.store, name)

    proj.run()
    rec = StateRecorder(Spy(), wf, "r2")  # type: ignore[arg-type]
    jobs = [_job(wf, n) for n in ("a[s=x]", "b[s=x]", "c[s=x]")]
    rec.jobs_started(jobs)
    rec.jobs_finished([JobResult(j, "done", 1.0, 2.0) for j in jobs])
    assert calls == ["mark_incomplete", "finish_step"]  # records, markers, run log: one transaction
    assert {r.run_id for r in proj.store.all_records().values()} == {"r2"}


def test_early_cutoff(proj: Any) -> None:
    proj.run(checksums=True)
    wf = proj.wf()
    rec = StateRecorder(proj.store, wf, "r3", checksums=True)
    c = _job(wf, "c[s=x]")
    from rulekit.planning.reasons import UpstreamRuns

    upstream = [UpstreamRuns("b[s=x]")]
    assert rec.early_cutoff(c, upstream)  # nothing changed at all: the fast path
    # b rewritten with the same bytes, newer mtime: content equal -> skip, record refreshed.
    (proj.root / "b/x.txt").write_text("HELLO\nHELLO\n")
    os.utime(proj.root / "b/x.txt", (2e9, 2e9))
    assert rec.early_cutoff(c, upstream)
    assert proj.store.get("c/x.txt").inputs[0].mtime_ns == 2 * 10**18
    assert proj.plan(rerun_triggers=("mtime", "checksum")) == []
    # Different content -> must run; other reasons or checksums off -> never cut off.
    (proj.root / "b/x.txt").write_text("HELLO\nWORLD\n")
    assert not rec.early_cutoff(c, upstream)
    assert not StateRecorder(proj.store, wf, "r4").early_cutoff(c, upstream)
    from rulekit.planning.reasons import Forced

    assert not rec.early_cutoff(c, [Forced("forceall")])


# --------------------------------------------------------------------------- summary

def test_summary_rows_statuses(proj: Any) -> None:
    rows = summary_rows(proj.wf(), proj.store)
    assert [(r["path"], r["exists"], r["rule"], r["status"]) for r in rows] == [
        ("a/x.txt", False, "a", "missing"),
        ("b/x.txt", False, "b", "missing"),
        ("c/x.txt", False, "c", "missing"),
    ]
    assert rows[0]["reasons"] == ["missing output a/x.txt"]
    assert rows[0]["last_run"] is None
    proj.run()
    rows = summary_rows(proj.wf(), proj.store)
    assert [r["status"] for r in rows] == ["ok", "ok", "ok"]
    assert all(r["last_run"] and r["reasons"] == [] for r in rows)
    proj.edit("params: n=1,", "params: n=2,")
    proj.store.mark_incomplete(["c/x.txt"], "r9")
    proj.store.remove(["b/x.txt"])
    proj.store.put_many([OutputRecord("old/gone.txt", "oldrule", end=1.0)])
    rows = {r["path"]: r for r in summary_rows(proj.wf(), proj.store)}
    assert rows["a/x.txt"]["status"] == "would rerun"
    assert rows["a/x.txt"]["reasons"] == ["param n changed: 1 -> 2"]
    assert rows["b/x.txt"]["status"] == "would rerun"
    assert rows["b/x.txt"]["last_run"] is None
    assert rows["c/x.txt"]["status"] == "incomplete"
    assert rows["old/gone.txt"] == {
        "path": "old/gone.txt", "exists": False, "rule": "oldrule", "job": None,
        "last_run": rows["old/gone.txt"]["last_run"], "status": "missing",
        "reasons": ["no rule makes this file now"]}
    assert list(rows) == ["a/x.txt", "b/x.txt", "c/x.txt", "old/gone.txt"]
    proj.write("old/gone.txt", "still here")
    gone = summary_rows(proj.wf(), proj.store)[-1]
    assert (gone["status"], gone["reasons"]) == ("ok", ["no rule makes this file now"])


def test_summary_no_record_and_other_targets(proj: Any) -> None:
    proj.write("raw/y.txt", "y\n")
    proj.run(["c/y.txt"])
    proj.run()
    proj.store.remove(["a/x.txt"])
    rows = {r["path"]: r for r in summary_rows(proj.wf(), proj.store)}
    assert rows["a/x.txt"]["status"] == "no record"
    # outputs of other targets known to the store are planned too
    assert rows["c/y.txt"]["status"] == "ok" and rows["c/y.txt"]["job"] == "c[s=y]"


def test_summary_frame(proj: Any) -> None:
    proj.run()
    proj.store.close()
    frame = summary_frame(proj.root)
    assert list(frame.columns) == ["path", "exists", "rule", "job", "last_run", "status",
                                   "reasons"]
    assert frame["status"].tolist() == ["ok", "ok", "ok"]
    proj.store = MetadataStore(proj.root)


# --------------------------------------------------------------------------- provenance

def test_provenance_of_a_chain(proj: Any) -> None:
    proj.run(checksums=True)
    tree = provenance(proj.wf(), proj.store, "c/x.txt")
    assert tree["rule"] == "c" and tree["exists"] and tree["source"] is False
    assert tree["wildcards"] == {"s": "x"} and tree["params"] == {}
    assert tree["code_hash"] == proj.wf().rules["c"].code_hash
    assert tree["duration"] >= 0 and tree["host"] and tree["user"]
    assert tree["rulekit_version"] and tree["python_version"] and tree["run_id"]
    (b,) = tree["inputs"]
    assert b["path"] == "b/x.txt" and b["rule"] == "b" and b["logs"] == ["logs/b/x.log"]
    assert b["recorded"]["size"] == 12 and b["recorded"]["checksum"]
    assert b["changed_since"] is False
    (a,) = b["inputs"]
    assert a["rule"] == "a" and a["params"] == {"n": 1, "mode": "fast"}
    (raw,) = a["inputs"]
    st = os.stat(proj.root / "raw/x.txt")
    assert raw["path"] == "raw/x.txt" and raw["source"] is True and raw["exists"]
    assert raw["recorded"]["mtime_ns"] == st.st_mtime_ns
    assert "inputs" not in raw and "rule" not in raw
    json.dumps(tree)  # plain data
    text = format_provenance(tree)
    assert text.splitlines()[0] == "c/x.txt  <- rule c"
    assert "  - b/x.txt  <- rule b" in text
    assert "      - a/x.txt  <- rule a" in text
    assert '          params: {"mode": "fast", "n": 1}' in text
    assert "          - raw/x.txt  [source file, modified " in text


def test_provenance_changed_since_and_no_record(proj: Any) -> None:
    proj.run()
    (proj.root / "a/x.txt").write_text("tampered\n")
    proj.store.remove(["a/x.txt"])
    tree = provenance(proj.wf(), proj.store, "./b/x.txt")
    (a,) = tree["inputs"]
    assert a["changed_since"] is True
    assert a["record"] is False and a["source"] is False and a["rule"] == "a"
    assert "no record" in format_provenance(tree)
    unknown = provenance(proj.wf(), proj.store, "nowhere.txt")
    assert unknown == {"path": "nowhere.txt", "exists": False, "mtime": None, "source": True}


def test_provenance_is_cycle_safe(proj: Any) -> None:
    # Records left by older rule files can loop; each file is expanded once.
    proj.write("p.txt", "p")
    proj.write("q.txt", "q")
    proj.store.put_many([
        OutputRecord("p.txt", "a", inputs=[InputRecord("q.txt", 1, 1)]),
        OutputRecord("q.txt", "b", inputs=[InputRecord("p.txt", 1, 1),
                                           InputRecord("q.txt", 1, 1)]),
    ])
    tree = provenance(proj.wf(), proj.store, "p.txt")
    (q,) = tree["inputs"]
    assert [c["path"] for c in q["inputs"]] == ["p.txt", "q.txt"]
    assert all(c["repeated"] for c in q["inputs"])
    assert "(shown above)" in format_provenance(tree)


# --------------------------------------------------------------------------- clean

def test_clean_targets_never_lists_sources(proj: Any) -> None:
    wf = proj.wf()
    assert clean_targets(wf, []) == []
    proj.run()
    proj.write("stray.txt", "not made by any rule")
    assert clean_targets(wf, []) == ["a/x.txt", "b/x.txt", "c/x.txt"]
    assert clean_targets(wf, ["b/x.txt"]) == ["a/x.txt", "b/x.txt"]
    assert clean_targets(wf, ["a/x.txt"]) == ["a/x.txt"]
    os.remove(proj.root / "b/x.txt")
    assert clean_targets(wf, []) == ["a/x.txt", "c/x.txt"]


def test_clean_targets_source_matching_an_output_pattern(proj: Any) -> None:
    # raw/x.txt would match "{name}.txt", but nothing makes its input: it stays a source.
    proj.rules("""
        rule all:
            input: "raw/x.out"

        rule up:
            input: "{name}.txt"
            output: "{name}.out"
            shell: "cp {input} {output}"

        rule fetch:
            input: "{name}.url"
            output: "{name}.txt"
            shell: "cp {input} {output}"

        rule keep:
            input: "raw/x.out"
            output: protected("keep.txt")
            shell: "cp {input} {output}"
    """)
    proj.run()
    wf = proj.wf()
    assert clean_targets(wf, []) == ["raw/x.out"]
    proj.run(["keep"])
    assert clean_targets(wf, ["keep"]) == ["raw/x.out"]
    assert clean_targets(wf, ["keep"], include_protected=True) == ["keep.txt", "raw/x.out"]
    assert (proj.root / "raw/x.txt").exists()


def test_params_encoded_per_job_even_when_equal_across_types(proj: Any) -> None:
    # 1 == True == 1.0 in Python, but the store must keep each as written.
    proj.rules("""
        VALUES = {"x": 1, "y": True, "z": 1.0, "w": [1, 2]}

        rule all:
            input: "a/x.txt", "a/y.txt", "a/z.txt", "a/w.txt"

        rule a:
            output: "a/{s}.txt"
            params: v=lambda wc: VALUES[wc.s]
            shell: "echo {params.v} > {output}"
    """)
    proj.run()
    assert {s: json.loads(proj.store.get(f"a/{s}.txt").params)["v"]
            for s in "xyzw"} == {"x": 1, "y": True, "z": 1.0, "w": [1, 2]}
    assert proj.store.get("a/y.txt").params == '{"v": true}'
    assert proj.plan() == []
