"""`report(path, caption=..., category=...)` in a rule file: marks an output for the HTML
report (`rulekit report`), as Snakemake's report() does.

The caption file is found relative to the rule file that calls report() (an included file's
own folder), and must exist when the rule file loads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from ..core.errors import LoadError
from ..core.model import flag

__all__ = ["make_report"]


def _type(value: Any) -> str:
    return type(value).__name__


def _text(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise LoadError(f"report(): {name} must be a string, got {_type(value)}")


def make_report(files: list[str], basedir: str) -> Callable[..., Any]:
    """report() for one workflow: `files` are its rule files (to find the caller's folder)."""

    def report(value: Any, caption: str | os.PathLike[str] | None = None,
               category: str | None = None, subcategory: str | None = None,
               labels: dict[str, Any] | None = None) -> Any:
        paths = value if isinstance(value, (list, tuple)) else [value]
        for item in paths:
            if not isinstance(item, (str, os.PathLike)):
                raise LoadError(f"report() expects an output path (or a list of them), "
                                f"got {_type(item)}")
        if caption is not None and not isinstance(caption, (str, os.PathLike)):
            raise LoadError(f"report(): caption must be the path of a .rst file, "
                            f"got {_type(caption)}")
        if labels is not None and not (isinstance(labels, dict) and all(
                isinstance(k, str) for k in labels)):
            raise LoadError(f"report(): labels must be a dict of names to values, "
                            f"got {_type(labels)}")
        full = None
        if caption is not None:
            caller = sys._getframe(1).f_code.co_filename
            base = os.path.dirname(caller) if caller in files else (
                os.path.dirname(files[-1]) if files else basedir)
            full = os.path.normpath(os.path.join(base, os.fspath(caption)))
            if not os.path.isfile(full):
                raise LoadError(f"report(): caption file {os.fspath(caption)} not found "
                                f"(looked in {base})")
        from ..core.reportmark import ReportMark, report_flag  # on use (start-up time)

        mark = ReportMark(full, _text("category", category), _text("subcategory", subcategory),
                          {str(k): str(v) for k, v in (labels or {}).items()})
        return flag(value, report_flag(mark))

    report.__qualname__ = "report"  # Python's own errors (a bad keyword) name it so
    return report
