"""`rulekit clean`: the existing outputs of the targets' jobs, which clean removes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..core.model import Workflow, has_flag
from ..planning.fs import FileSystem
from ..planning.resolve import build_dag

__all__ = ["clean_targets", "split_unrecorded"]


def clean_targets(workflow: Workflow, targets: Sequence[str] | str = (), *,
                  include_protected: bool = False) -> list[str]:
    """Existing outputs of the jobs the targets need (default target if none), sorted.

    Only paths a job of the DAG produces: source files (inputs no rule makes) never appear.
    protected() outputs are left out unless `include_protected`."""
    fs = FileSystem(workflow.workdir)
    dag = build_dag(workflow, targets, fs)
    found: set[str] = set()
    for job in dag.jobs:
        protected = {i for i, o in enumerate(job.rule.output) if has_flag(o, "protected")}
        for i, out in enumerate(job.output):
            if i in protected and not include_protected:
                continue
            path = str(out)
            if fs.stat(path) is not None or os.path.lexists(os.path.join(fs.root, path)):
                found.add(path)
    return sorted(found)


def split_unrecorded(store: Any, paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """(paths rulekit made, paths it has no record of making). Made: the store has a
    record of the file, or an incomplete marker (a run was writing it when it stopped).
    A file an output pattern matches but that was put there by hand, or before rulekit,
    or whose record went with a deleted `.rulekit/`, has neither."""
    known = set(store.get_many(paths)) | (store.incomplete_paths() & set(paths))
    return [p for p in paths if p in known], [p for p in paths if p not in known]
