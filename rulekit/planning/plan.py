"""(dag, fs, store) -> the jobs that must run, each with its reasons (SPEC §2.4).

`make_plan(workflow, targets, ...)` builds the DAG (or takes one), stats every file once
through the batched `FileSystem`, and walks the jobs in topological order deciding for each
whether it runs and why. Reasons are the small dataclasses of `reasons.py`; every reason that
holds is listed, in a fixed order. The store triggers (params, input set, code, checksum)
apply only to outputs the metadata store has a record for; without a record, or with
`store=None`, timestamps decide alone. Incomplete markers always count.

A `temp()` output that is gone does not make its job run when the store has a record of it
(it was made, then removed after use) and no job that reads it runs; one never made is missing;
rewriting an existing `protected()` output raises `ProtectedOutputError` before anything runs;
mtimes in the future give a warning (in `plan.warnings`), never an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..core.errors import UsageError
from ..core.liveness import run_alive
from ..core.model import CheckpointState, Workflow
from .content import ContentJudge
from .dag import Dag, no_gc
from .fs import FileSystem
from .planned import Plan, PlannedJob
from .planner import Planner
from .resolve import build_dag
from .resolve_errors import hidden_sources
from .triggers import (
    DEFAULT_TRIGGERS,
    RERUN_TRIGGERS,
    job_params,
)

__all__ = ["PlannedJob", "Plan", "make_plan", "job_params", "RERUN_TRIGGERS",
           "DEFAULT_TRIGGERS"]


def _check_rules(workflow: Workflow, names: Iterable[str], option: str) -> None:
    for name in names:
        if name not in workflow.rules:
            raise UsageError(f"{option} names an unknown rule {name!r}",
                             facts=[("Rules", ", ".join(workflow.rules) or "none")],
                             hint="use one of the rule names above (rulekit list shows them)")


def make_plan(workflow: Workflow, targets: Sequence[str] | str = (), *,
              fs: FileSystem | None = None, store: Any = None, forceall: bool = False,
              forcerun: Iterable[str] = (), force: bool = False,
              until: str | Sequence[str] | None = None,
              rerun_triggers: Iterable[str] = DEFAULT_TRIGGERS,
              dag: Dag | None = None, checkpoints: CheckpointState | None = None,
              omit_from: Sequence[str] = (), strict: bool = True) -> Plan:
    """Decide which jobs run for `targets`, and why. See the module docstring.

    An existing file that a rule would make but cannot (an input is missing) is used as a
    source with a warning; when it is a target, or its rule is in `forcerun`, that is an
    error (MissingInputError) unless `strict` is false.

    `checkpoints`: what a run knows about its checkpoint jobs (pending, done); a plan on
    its own starts from nothing. Outputs of checkpoint jobs this plan runs are never handed
    out by `checkpoints.NAME.get()`; their consumers wait. `until`: only jobs of these rules
    and what they need; `omit_from`: no job of these rules nor anything downstream of them.
    """
    fs = fs if fs is not None else FileSystem(workflow.workdir)
    forcerun = set(forcerun)
    _check_rules(workflow, forcerun, "--forcerun")
    until = [os.path.normpath(u) if u not in workflow.rules else u
             for u in ([until] if isinstance(until, str) else list(until or ()))]
    omit_from = [os.path.normpath(u) if u not in workflow.rules else u for u in omit_from]
    triggers = set(rerun_triggers)
    unknown = triggers - set(RERUN_TRIGGERS)
    if unknown:
        raise UsageError(f"unknown rerun trigger {sorted(unknown)[0]!r}",
                         hint=f"choose from {', '.join(RERUN_TRIGGERS)}")
    incomplete = set(store.incomplete_paths()) if store is not None else set()
    # by content against rulekit.manifest, for outputs without a record (None: no manifest)
    content = ContentJudge.open(workflow, fs.root, fs.stat, store, triggers)
    writers = _live_writers(store) if incomplete else {}
    with no_gc():
        if dag is not None:
            plan = Planner(dag, fs, store, forceall, forcerun, force, until, triggers,
                           incomplete, omit_from, content, writers).plan()
        else:
            def plan_dag(dag: Dag) -> Plan:
                return Planner(dag, fs, store, forceall, forcerun, force, until, triggers,
                               incomplete, omit_from, content, writers).plan()

            plan = _plan_with_checkpoints(workflow, targets, fs, checkpoints, incomplete,
                                          plan_dag)
    if content is not None:
        plan.warnings.extend(content.warnings())
        content.finish()
    if plan.dag.hidden:
        plan.warnings.extend(hidden_sources(plan.dag, forcerun, force, strict))
    return plan


def _live_writers(store: Any) -> dict[str, int]:
    """Incomplete outputs a live rulekit run (another process) is writing -> its pid."""
    owners = getattr(store, "marker_owners", None)
    if owners is None:
        return {}
    me = os.getpid()
    return {path: pid for path, (pid, host, start) in owners().items()
            if pid != me and run_alive(pid, host, start)}


def _plan_with_checkpoints(workflow: Workflow, targets: Sequence[str] | str, fs: FileSystem,
                           checkpoints: CheckpointState | None, incomplete: set[str],
                           plan_dag: Callable[[Dag], Plan]) -> Plan:
    """Build the DAG and plan it; again while a checkpoint job that runs had its old
    outputs handed out to an input function."""
    if checkpoints is None:
        checkpoints = workflow.checkpoint_state = CheckpointState()
    else:
        workflow.checkpoint_state = checkpoints
    checkpoints.incomplete = incomplete
    while True:
        checkpoints.handed.clear()
        plan = plan_dag(build_dag(workflow, targets, fs))
        if not checkpoints.handed:
            return plan
        # A checkpoint job that runs now must not have its (old) outputs handed out:
        # mark them pending and plan again (at most once per checkpoint job).
        runs = {str(o) for p in plan for o in p.job.output if p.job.rule.checkpoint}
        runs -= checkpoints.done
        again = bool(runs & (checkpoints.handed - checkpoints.pending))
        checkpoints.pending |= runs
        if not again:
            return plan
