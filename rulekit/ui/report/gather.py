"""Everything the report shows, read from the workflow, the plan and the metadata store.

Nothing here runs a job or writes the store. It works on any state: no run yet, a run that
failed, one that was interrupted or killed (the jobs it started and never finished are shown
as running when it stopped).
"""

from __future__ import annotations

import os
import platform
import socket
import time
from collections import defaultdict
from collections.abc import Sequence

from ...core.model import Job, Workflow
from ...core.version import rulekit_version
from ...planning.plan import DEFAULT_TRIGGERS, Plan, make_plan
from ...state.queries import summary_rows
from ...state.records import OutputRecord
from ...state.store import MetadataStore
from .embed import render_caption
from .facts import Graph, GraphNode, JobRun, OutputRow, ReportFacts, RunFacts
from .marked import marked_outputs
from .provenance import ProvenanceTable

__all__ = ["gather", "JOB_GRAPH_LIMIT", "JOB_GRAPH_WIDTH"]

JOB_GRAPH_LIMIT = 60        # above this many jobs, rules with several jobs are one box each,
JOB_GRAPH_WIDTH = 16        # and so with more jobs in one layer (sources to targets)


def _job_name(rule: str, wildcards: dict[str, str]) -> str:
    if not wildcards:
        return rule
    return f"{rule}[{', '.join(f'{k}={v}' for k, v in wildcards.items())}]"


def _record_key(rec: OutputRecord) -> str:
    return f"{_job_name(rec.rule, dict(rec.wildcards))}@{rec.start:.6f}"


# --------------------------------------------------------------------------- graphs

_SEVERITY = ("ok", "to run", "missing input", "incomplete", "failed")


def _job_status(job: Job, plan: Plan, statuses: dict[str, str], failed: set[str]) -> str:
    outs = [statuses.get(str(p), "") for p in job.output]
    if job.name in failed:
        return "failed"
    if "incomplete" in outs:
        return "incomplete"
    if "input missing" in outs:
        return "missing input"
    if plan.runs(job):
        return "to run"
    return "ok"


def _widest_layer(jobs: Sequence[Job]) -> int:
    depth: dict[int, int] = {}
    for job in jobs:  # in topological order: dependencies first
        depth[job.id] = max((depth[d.id] + 1 for d in job.deps), default=0)
    per_layer: dict[int, int] = defaultdict(int)
    for d in depth.values():
        per_layer[d] += 1
    return max(per_layer.values(), default=0)


def _graphs(plan: Plan, statuses: dict[str, str], failed: set[str]) -> tuple[Graph, Graph]:
    jobs = plan.dag.jobs
    status = {job.id: _job_status(job, plan, statuses, failed) for job in jobs}
    worst: dict[str, str] = {}
    count: dict[str, int] = defaultdict(int)
    for job in jobs:
        rule = job.rule.name
        count[rule] += 1
        if _SEVERITY.index(status[job.id]) > _SEVERITY.index(worst.get(rule, "ok")):
            worst[rule] = status[job.id]
        worst.setdefault(rule, status[job.id])
    rules = list(count)
    rule_graph = Graph([GraphNode(r, r, r, worst[r], count[r]) for r in rules],
                       [(a, b) for a, b in plan.dag.rule_edges()], total_jobs=len(jobs))
    if len(jobs) <= JOB_GRAPH_LIMIT and _widest_layer(jobs) <= JOB_GRAPH_WIDTH:
        nodes = [GraphNode(f"j{job.id}", job.name, job.rule.name, status[job.id])
                 for job in jobs]
        edges = [(f"j{d.id}", f"j{job.id}") for job in jobs for d in job.deps]
        return rule_graph, Graph(nodes, edges, total_jobs=len(jobs))

    def node_id(job: Job) -> str:
        return f"r:{job.rule.name}" if count[job.rule.name] > 1 else f"j{job.id}"

    nodes, seen = [], set()
    for job in jobs:
        nid = node_id(job)
        if nid not in seen:
            seen.add(nid)
            many = count[job.rule.name] > 1
            nodes.append(GraphNode(nid, job.rule.name if many else job.name, job.rule.name,
                                   worst[job.rule.name] if many else status[job.id],
                                   count[job.rule.name] if many else 1))
    edges = list(dict.fromkeys((node_id(d), node_id(job)) for job in jobs for d in job.deps
                               if node_id(d) != node_id(job)))
    return rule_graph, Graph(nodes, edges, collapsed=True, total_jobs=len(jobs))


# --------------------------------------------------------------------------- runs

def _pack_lanes(jobs: list[JobRun]) -> None:
    """Each job on the lowest lane free when it started: as many lanes as jobs ran at once
    at the busiest moment (the cores in use), and no two jobs of a lane overlap. The
    recorded times are when each job's process ran (jobs sent to a worker together run
    one after another there)."""
    ends: list[float] = []
    for j in sorted(jobs, key=lambda j: j.start):
        for lane, end in enumerate(ends):
            if end <= j.start:
                ends[lane] = j.end
                j.lane = lane
                break
        else:
            ends.append(j.end)
            j.lane = len(ends) - 1


def _last_run(store: MetadataStore, records: dict[str, OutputRecord]
              ) -> tuple[RunFacts | None, list[JobRun], dict[str, int]]:
    """The last run, its jobs that started (for the timeline), and its jobs per status
    (those that never started included)."""
    runs = [r for r in store.runs() if r.outcome != "touched"]
    if not runs:
        return None, [], {}
    last = runs[-1]
    run = RunFacts(last.run_id, list(last.argv), last.start, last.end, last.outcome, last.host)
    rows = store.job_runs(last.run_id)
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.status] += 1
    # On the timeline: the jobs that ran something; not those that never started, nor
    # rules without a body (done with no attempt).
    jobs = [JobRun(r.job, r.rule, -1, r.start, r.end, r.status, r.attempts, r.error)
            for r in rows if r.status != "not started" and (r.status != "done" or r.attempts)]
    if not jobs:  # recorded before the store kept job runs: the done jobs' records
        seen: dict[str, JobRun] = {}
        for rec in records.values():
            if rec.run_id == last.run_id:
                name = _job_name(rec.rule, dict(rec.wildcards))
                seen.setdefault(name, JobRun(name, rec.rule, -1, rec.start, rec.end, "done"))
        jobs = sorted(seen.values(), key=lambda j: j.start)
        counts["done"] = len(jobs)
    # A job still "running" in a run that ended was cut short with it (kill -9, power
    # loss); draw it up to the run's end, or the last sign of life.
    stop = last.end or max([j.end for j in jobs] + [j.start for j in jobs] + [last.start])
    for j in jobs:
        if j.status == "running":
            j.end = max(stop, j.start)
    _pack_lanes(jobs)
    order = ("done", "failed", "cancelled", "running", "not started")
    return run, jobs, {k: counts[k] for k in sorted(counts, key=lambda k: (
        order.index(k) if k in order else len(order), k))}


# --------------------------------------------------------------------------- all

def gather(workflow: Workflow, store: MetadataStore, targets: Sequence[str] = (),
           *, now: float | None = None) -> ReportFacts:
    warnings: list[str] = []
    plan = make_plan(workflow, targets, store=store, rerun_triggers=DEFAULT_TRIGGERS,
                     strict=False)
    rows = summary_rows(workflow, store, targets, warnings=warnings, plan=plan)
    records = store.all_records()
    run, timeline, job_counts = _last_run(store, records)
    made = next((r for r in records.values() if run is not None and r.run_id == run.run_id),
                None)
    failed = {j.name for j in timeline if j.status == "failed"}
    statuses = {r["path"]: r["status"] for r in rows}
    rule_graph, job_graph = _graphs(plan, statuses, failed)

    jobs_by_output = {str(p): job for job in plan.dag.jobs for p in job.output}
    provenance = ProvenanceTable(workflow)
    outputs: list[OutputRow] = []
    for row in rows:
        path = row["path"]
        rec = records.get(path)
        key = None
        if rec is not None:
            key = provenance.add(_record_key(rec), rec, jobs_by_output.get(path))
        try:
            size: int | None = os.stat(os.path.join(workflow.workdir, path)).st_size
        except OSError:
            size = None
        job = jobs_by_output.get(path)
        wildcards = dict(job.wildcards) if job is not None else (
            dict(rec.wildcards) if rec is not None else {})
        outputs.append(OutputRow(path, row["status"], row["rule"], row["job"], wildcards, size,
                                 rec.end if rec is not None else None,
                                 list(row["reasons"]), key))

    durations: dict[str, list[float]] = defaultdict(list)
    seen_jobs: set[str] = set()
    for rec in records.values():
        job_key = _record_key(rec)
        if job_key not in seen_jobs:
            seen_jobs.add(job_key)
            durations[rec.rule].append(max(rec.end - rec.start, 0.0))
    order = {name: i for i, name in enumerate(workflow.rules)}
    rules = sorted(set(workflow.rules) | set(durations), key=lambda r: order.get(r, 1 << 30))
    output_counts: dict[str, int] = defaultdict(int)
    for row in rows:
        output_counts[row["status"]] += 1
    return ReportFacts(
        workflow_file=os.path.relpath(workflow.path), workdir=workflow.workdir,
        generated=now if now is not None else time.time(), run=run,
        rulekit_version=made.rulekit_version if made else rulekit_version(),
        python_version=made.python_version if made else platform.python_version(),
        host=run.host if run is not None else socket.gethostname(), job_counts=job_counts,
        output_counts=dict(output_counts), rules=rules, rule_graph=rule_graph,
        job_graph=job_graph, timeline=timeline,
        durations={r: durations[r] for r in rules if durations.get(r)},
        outputs=outputs, provenance=provenance.as_json(),
        marked=marked_outputs(workflow, plan, records), warnings=warnings,
        description_html=_description(workflow, warnings))


def _description(workflow: Workflow, warnings: list[str]) -> str:
    """The rule file's `report: "workflow.rst"` as HTML (reStructuredText, as captions)."""
    path = workflow.report_description
    if path is None:
        return ""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"report description {path} cannot be read: {exc}")
        return ""
    return render_caption(text, {}, path, keep_title=True)
