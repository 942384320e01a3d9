"""What the metadata store knows, as the commands show it (SPEC §2.6, §3).

    summary_rows      every known output: exists, rule, last run, status, why it would rerun
    summary_frame     the same as a pandas DataFrame (`rulekit.summary()`)
    provenance        how a file was made, recursively back to source files (a dict)
    format_provenance that tree as indented text

Paths are workdir-relative strings exactly as the planner uses them (the store's keys).
The run recorder is state/recorder.py, `rulekit clean`'s query state/clean.py.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from typing import Any

from ..core.errors import RulekitError
from ..core.model import Job, Workflow, has_flag
from ..planning.fs import FileSystem
from ..planning.plan import DEFAULT_TRIGGERS, Plan, make_plan
from ..planning.resolve_errors import hidden_text
from .store import MetadataStore, OutputRecord

__all__ = ["summary_rows", "summary_frame", "provenance", "format_provenance",
           "STATUSES"]


STATUSES = ("ok", "missing", "incomplete", "would rerun", "no record", "input missing",
            "temp removed")


def _iso(t: float | None) -> str | None:
    if not t:
        return None
    return _dt.datetime.fromtimestamp(t).isoformat(timespec="seconds")


def _iso_ns(t_ns: int | None) -> str | None:
    if t_ns is None:
        return None
    return _dt.datetime.fromtimestamp(t_ns / 1e9).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------- summary

def summary_rows(workflow: Workflow, store: MetadataStore,
                 targets: Sequence[str] | str = (), *,
                 warnings: list[str] | None = None, plan: Plan | None = None
                 ) -> list[dict[str, Any]]:
    """Every known output, the targets' DAG first (in job order) then the store's other
    records (sorted): path, exists, rule, job, last_run, status, reasons.

    status is "incomplete" (a marker is set), "missing", "temp removed" (a temp() output that
    was made, then removed after use, and need not be made again), "input missing" (exists, but the
    rule that makes it cannot run: one of its inputs is missing), "would rerun", "no record"
    (exists, up to date by timestamps, never recorded) or "ok". The plan's warnings are added to
    `warnings` when given. Store records the current rule file
    cannot make any more are listed with the reason "no rule makes this file now". `plan`:
    the targets' plan when the caller made it already."""
    fs = FileSystem(workflow.workdir)
    if plan is None:
        plan = make_plan(workflow, targets, fs=fs, store=store, rerun_triggers=DEFAULT_TRIGGERS)
    if warnings is not None:
        warnings.extend(plan.warnings)
    records = store.all_records()
    incomplete = store.incomplete()
    extra = sorted((set(records) | set(incomplete)) - set(plan.dag.producer))
    extra_plans = []
    try:
        if extra:
            extra_plans.append(make_plan(workflow, extra, fs=fs, store=store, strict=False))
    except RulekitError:  # some recorded file cannot be made now: judge them one by one
        for path in extra:
            try:
                extra_plans.append(make_plan(workflow, [path], fs=fs, store=store,
                                             strict=False))
            except RulekitError:
                pass
    hidden = {path: hidden_text(path, *h) for the_plan in (plan, *extra_plans)
              for path, h in the_plan.dag.hidden.items()}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(path: str, job: Job | None, texts: list[str]) -> None:
        if path in seen:
            return
        seen.add(path)
        record = records.get(path)
        exists = fs.stat(path) is not None or os.path.lexists(os.path.join(fs.root, path))
        if path in incomplete:
            status = "incomplete"
        elif not exists:
            status = ("temp removed" if record is not None and job is not None and not texts
                      and any(o == path and has_flag(o, "temp") for o in job.output)
                      else "missing")
        elif path in hidden:
            status, texts = "input missing", [hidden[path]]
        elif texts and job is not None:
            status = "would rerun"
        elif record is None:
            status = "no record"
        else:
            status = "ok"
        rows.append({"path": path, "exists": exists,
                     "rule": job.rule.name if job else (record.rule if record else None),
                     "job": job.name if job else None,
                     "last_run": _iso(record.end) if record else None,
                     "status": status, "reasons": texts})

    for the_plan in (plan, *extra_plans):
        for job in the_plan.dag.jobs:
            texts = [r.describe() for r in the_plan.reasons_for(job)]
            for out in job.output:
                add(str(out), job, texts)
    for path in extra:
        if path not in seen:
            add(path, None, ["no rule makes this file now"])
    return rows


def summary_frame(directory: str | os.PathLike[str] = ".", file: str | None = None) -> Any:
    """`rulekit.summary()`: summary_rows of the workflow in `directory` as a DataFrame."""
    import pandas as pd

    from ..lang.loader import load
    from ..lang.rulefiles import find_rule_file

    directory = os.fspath(directory)
    path = os.path.join(directory, file) if file else find_rule_file(
        None, directory, option="file=...")
    workflow = load(path)
    with MetadataStore(workflow.workdir) as store:
        rows = summary_rows(workflow, store)
    return pd.DataFrame(rows, columns=["path", "exists", "rule", "job", "last_run",
                                       "status", "reasons"])


# --------------------------------------------------------------------------- provenance

def _producible(workflow: Workflow, path: str) -> str | None:
    for rule in workflow.rules.values():
        if any(p.match(path) is not None for p in rule.output_patterns):
            return rule.name
    return None


def provenance(workflow: Workflow, store: MetadataStore, path: str) -> dict[str, Any]:
    """How `path` was made, recursively back to source files, from the store's records.

    A made file: path, exists, mtime, rule, wildcards, params, code_hash, start, end,
    duration, host, user, exit_status, versions, logs, run_id, and inputs (each a node of
    the same kind plus `recorded`: the mtime/size/checksum seen when `path` was made, and
    `changed_since`). A source file: {"path", "source": True, "exists", "mtime"}. A file a
    rule makes but without a record: "source": False, "record": False. A file already
    expanded elsewhere in the tree (shared input, or a cycle) appears once; later
    occurrences carry "repeated": True only."""
    root = workflow.workdir
    records: dict[str, OutputRecord | None] = {}
    expanded: set[str] = set()

    def record_of(p: str) -> OutputRecord | None:
        if p not in records:
            records[p] = store.get(p)
        return records[p]

    def node(p: str) -> dict[str, Any]:
        try:
            st: os.stat_result | None = os.stat(os.path.join(root, p))
        except OSError:
            st = None
        out: dict[str, Any] = {"path": p, "exists": st is not None,
                               "mtime": _iso_ns(st.st_mtime_ns) if st else None}
        rec = record_of(p)
        if rec is None:
            rule = _producible(workflow, p)
            folder = _recorded_folder(p, record_of) if rule is None else None
            if folder is not None:
                # a file inside a directory() output: made by the job that made the folder
                out.update(source=False, inside=node(folder))
            elif rule is None:
                out["source"] = True
            else:
                out.update(source=False, record=False, rule=rule)
            return out
        if p in expanded:
            out.update(rule=rec.rule, repeated=True)
            return out
        expanded.add(p)
        try:
            params = json.loads(rec.params)
        except ValueError:
            params = rec.params
        out.update(
            source=False, rule=rec.rule, wildcards=dict(rec.wildcards), params=params,
            code_hash=rec.code_hash, start=_iso(rec.start), end=_iso(rec.end),
            duration=round(max(rec.end - rec.start, 0.0), 6), host=rec.host, user=rec.user,
            exit_status=rec.exit_status, rulekit_version=rec.rulekit_version,
            python_version=rec.python_version, logs=list(rec.logs), run_id=rec.run_id,
            changed_since=bool(st and st.st_mtime > rec.end + 1.0))
        inputs = []
        for inp in rec.inputs:
            child = node(inp[0])
            checksum = inp[3] if len(inp) > 3 else None
            child["recorded"] = {"mtime": _iso_ns(inp[1]), "mtime_ns": inp[1],
                                 "size": inp[2], "checksum": checksum}
            try:
                now = os.stat(os.path.join(root, inp[0]))
                child["changed_since"] = (now.st_mtime_ns, now.st_size) != (inp[1], inp[2])
            except OSError:
                child["changed_since"] = True
            inputs.append(child)
        out["inputs"] = inputs
        return out

    return node(os.path.normpath(path))


def _recorded_folder(path: str, record_of: Any) -> str | None:
    """The closest folder above `path` that the store has a record of (a directory()
    output), else None."""
    folder = os.path.dirname(path)
    while folder and folder not in (os.sep, "."):
        if record_of(folder) is not None:
            return folder
        folder = os.path.dirname(folder)
    return None


def unknown_path(tree: dict[str, Any]) -> bool:
    """True when provenance found nothing: no such file, no record, no rule makes it."""
    return bool(tree.get("source")) and not tree.get("exists")


def format_provenance(tree: dict[str, Any]) -> str:
    """The provenance tree as indented text: one block per file, inputs as nested bullets."""
    lines: list[str] = []

    def emit(n: dict[str, Any], pad: str, bullet: str) -> None:
        flags = [] if n.get("exists") else ["missing now"]
        if n.get("changed_since"):
            flags.append("changed since")
        note = f" ({', '.join(flags)})" if flags else ""
        head = f"{pad}{bullet}{n['path']}"
        sub = pad + " " * len(bullet) + "  "
        if n.get("source"):
            head += f"  [source file, modified {n.get('mtime') or '-'}]{note}"
        elif "inside" in n:
            head += f"  [inside {n['inside']['path']}/, a directory() output]{note}"
        elif n.get("repeated"):
            head += f"  <- rule {n['rule']} (shown above){note}"
        elif n.get("record") is False:
            head += f"  <- rule {n['rule']}, no record (made by hand or before rulekit){note}"
        else:
            head += f"  <- rule {n['rule']}{note}"
        lines.append(head)
        rec = n.get("recorded")
        if rec:
            used = f"{sub}when used: size {rec.get('size')}, mtime {rec.get('mtime')}"
            lines.append(used + (f", blake2b {rec['checksum']}" if rec.get("checksum") else ""))
        if "inside" in n:
            emit(n["inside"], sub, "")
            return
        if n.get("source") or n.get("repeated") or "inputs" not in n:
            return
        if n.get("wildcards"):
            lines.append(sub + "wildcards: " + ", ".join(
                f"{k}={v}" for k, v in n["wildcards"].items()))
        if n.get("params"):
            lines.append(sub + "params: " + json.dumps(n["params"], sort_keys=True,
                                                       default=str))
        lines.append(f"{sub}code: {n.get('code_hash') or '-'}")
        lines.append(f"{sub}ran: {n.get('start')} -> {n.get('end')} ({n.get('duration')} s)"
                     f" on {n.get('host')} as {n.get('user')}, exit {n.get('exit_status')}")
        lines.append(f"{sub}versions: rulekit {n.get('rulekit_version')}, "
                     f"Python {n.get('python_version')}; run {n.get('run_id')}")
        if n.get("logs"):
            lines.append(sub + "logs: " + ", ".join(n["logs"]))
        for child in n["inputs"]:
            emit(child, sub, "- ")

    emit(tree, "", "")
    return "\n".join(lines)
