"""report(...) marks: an output flagged for the HTML report, with its caption and category.

The mark travels as one flag string ("report:" + JSON), like rules.NAME.output's "rule:"
flag, so it survives everything that copies a path's flags (wildcard formatting, io lists,
pickling to workers) with no extra attribute to carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReportMark", "report_flag", "report_mark", "REPORT_PREFIX"]

REPORT_PREFIX = "report:"


@dataclass(frozen=True)
class ReportMark:
    caption: str | None              # absolute path of the caption file (reStructuredText)
    category: str | None = None      # may hold {wildcards}, filled per output
    subcategory: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def report_flag(mark: ReportMark) -> str:
    import json  # imported on use: most rule files mark no report (start-up time)

    return REPORT_PREFIX + json.dumps(
        {"caption": mark.caption, "category": mark.category,
         "subcategory": mark.subcategory, "labels": mark.labels}, sort_keys=True)


def report_mark(value: Any) -> ReportMark | None:
    """The mark an output path carries, else None."""
    for f in getattr(value, "flags", ()):
        if f.startswith(REPORT_PREFIX):
            import json

            data = json.loads(f[len(REPORT_PREFIX):])
            return ReportMark(data["caption"], data["category"], data["subcategory"],
                              dict(data["labels"]))
    return None
