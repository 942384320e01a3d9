"""What rulekit does not have of Snakemake's language, and the located errors that say so.

Rule directives (`conda:`, `shadow:`, ...) and top-level statements (`container:`,
`pepfile:`, `use rule` inside a Python block, ...) stop loading at their line with
"'NAME' is not supported by rulekit", never a generic syntax error (SPEC 2.1).
"""

from __future__ import annotations

import re

from ..core.errors import WorkflowError
from ..core.source import Span, source_line
from .syntax import Directive

__all__ = ["UNSUPPORTED", "UNSUPPORTED_STATEMENTS", "check_directive_name",
           "check_unsupported_statement"]

UNSUPPORTED = ("conda", "container", "singularity", "wrapper", "notebook", "cache", "handover",
               "envmodules", "shadow", "cwl", "template_engine", "containerized",
               "pathvars", "localrules_")
# Snakemake top-level statements rulekit does not have; named in a clear error.
UNSUPPORTED_STATEMENTS = ("container", "containerized", "conda", "singularity",
                          "pepfile", "pepschema", "storage",
                          "resource_scopes", "inputflags", "outputflags")
_UNSUPPORTED_LINE = re.compile(
    r"(use\s+rule|module\s+\w+\s*:|subworkflow\s+\w+\s*:|(?:"
    + "|".join(UNSUPPORTED_STATEMENTS) + r")\s*:)")


def check_directive_name(d: Directive, directives: tuple[str, ...]) -> None:
    """A rule directive rulekit does not have: a located error (shadow: with its reason)."""
    if d.name == "shadow":
        raise WorkflowError(
            "'shadow' is not supported by rulekit: jobs run in the working directory, "
            "so the files a job writes besides its outputs would not be isolated",
            d.span, hint="remove 'shadow:' if the job writes only its outputs (and "
                         "its log); else give its scratch files per-job names")
    if d.name in UNSUPPORTED:
        raise WorkflowError(f"'{d.name}' is not supported by rulekit", d.span,
                            hint="see docs/snakemake.md for what rulekit supports")
    if d.name not in directives:
        import difflib  # for errors only (start-up time)

        close = difflib.get_close_matches(d.name, directives, n=1)
        hint = f" - did you mean '{close[0]}'?" if close else ""
        raise WorkflowError(f"unknown directive '{d.name}'{hint}", d.span)


def check_unsupported_statement(path: str, line: int | None) -> None:
    """The line is a Snakemake statement rulekit does not have: a located error."""
    text = source_line(path, line) if line else None
    m = _UNSUPPORTED_LINE.match(text.lstrip()) if text else None
    if m is None:
        return
    word = re.split(r"[\s:]", m.group(1))[0]
    what = "use rule" if word == "use" else word
    if word in ("use", "module") and text and text[0].isspace():
        raise WorkflowError(f"'{what}' inside a Python block is not supported by rulekit",
                            Span(path, line or 1, len(text) - len(text.lstrip()) + 1),
                            hint=f"write '{what}' at the top level (indentation 0)")
    col = len(text) - len(text.lstrip()) + 1 if text else 1
    raise WorkflowError(f"'{what}' is not supported by rulekit", Span(path, line or 1, col),
                        hint="see docs/snakemake.md for what rulekit supports")
