"""The outputs marked with report(...) in the targets' DAG, embedded with their captions."""

from __future__ import annotations

import html
import os
import string
from collections.abc import Mapping
from typing import Any

from ...core.reportmark import report_mark
from .embed import embed_file, render_caption
from .facts import Marked

__all__ = ["marked_outputs", "UNCATEGORISED"]

UNCATEGORISED = "Other results"


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: str | None, wildcards: Mapping[str, str]) -> str | None:
    """`{sample}` in a category or label filled with the output's wildcard value."""
    if text is None:
        return None
    try:
        return string.Formatter().vformat(text, (), _Keep(wildcards))
    except (ValueError, IndexError, AttributeError):
        return text


def marked_outputs(workflow: Any, plan: Any, records: Mapping[str, Any]) -> list[Marked]:
    found: list[Marked] = []
    captions: dict[str, str] = {}
    for job in plan.dag.jobs:
        for out in job.output:
            mark = report_mark(out)
            if mark is None:
                continue
            path = str(out)
            caption_html = ""
            if mark.caption:
                try:
                    if mark.caption not in captions:
                        with open(mark.caption, encoding="utf-8") as fh:
                            captions[mark.caption] = fh.read()
                    caption_html = render_caption(captions[mark.caption], dict(job.wildcards),
                                                  mark.caption)
                except OSError as exc:
                    caption_html = (f"<p class='note'>caption {html.escape(mark.caption)} "
                                    f"could not be read: {html.escape(str(exc.strerror))}</p>")
            kind, body = embed_file(os.path.join(workflow.workdir, path), path)
            if kind == "missing" and path not in records:
                body = "<p class='note'>not made yet</p>"
            found.append(Marked(
                path=path, category=_fill(mark.category, job.wildcards) or UNCATEGORISED,
                subcategory=_fill(mark.subcategory, job.wildcards), caption_html=caption_html,
                kind=kind, html=body, rule=job.rule.name,
                labels={k: _fill(v, job.wildcards) or "" for k, v in mark.labels.items()}))
    return found
