"""`rulekit report`: one self-contained HTML file about a workflow and its last run.

    gather.py   facts from the workflow, the plan and the metadata store (facts.py: the data)
    graphs.py   rule graph and job graph: layout (dot or networkx) and drawing
    charts.py   timeline of the last run, durations per rule
    marked.py   outputs marked with report(...), embedded by embed.py with their captions
    page.py     the page: template.html, report.css, report.js, all inlined

Drawing needs matplotlib (and captions docutils): the `report` extra.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["write_report", "missing_extra_text"]


def missing_extra_text() -> str | None:
    """What to run when the report's libraries are missing, else None."""
    missing = []
    for name in ("matplotlib", "docutils"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if not missing:
        return None
    root = Path(__file__).resolve().parents[3]
    where = (f"in the rulekit checkout ({root})" if (root / "pyproject.toml").is_file()
             else "in the rulekit checkout you installed from")
    return (f"rulekit report needs {' and '.join(missing)} (the 'report' extra): "
            f"run pip install '.[report]' {where}")


def write_report(workflow: Any, store: Any, output: str | os.PathLike[str],
                 targets: Sequence[str] = ()) -> dict[str, Any]:
    """Write the report of `targets` (the default target if none) to `output`; returns
    {"path", "bytes", "outputs", "jobs"}."""
    from ...core.errors import UsageError
    from .gather import gather
    from .page import render_page

    facts = gather(workflow, store, targets)
    text = render_page(facts)
    out = Path(output)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)  # never a half-written report under the real name
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write the report to {output}: {exc.strerror or exc}") from None
    return {"path": str(out), "bytes": len(text.encode("utf-8")), "outputs": len(facts.outputs),
            "jobs": facts.job_graph.total_jobs}
