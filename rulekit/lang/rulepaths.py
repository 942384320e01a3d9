"""Checks of a rule's paths once it is defined, before any job exists.

Outputs compile to `Pattern`s (with the workflow's and the rule's wildcard constraints) and
all carry the same wildcards; inputs, logs and the benchmark use only those wildcards; no
path is listed twice as an output or holds a NUL character. Every problem is a LoadError at
the directive's line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.errors import LoadError
from ..core.model import Rule, Unpack
from ..core.patterns import Pattern, WildcardError, wildcard_names
from ..core.source import Span

__all__ = ["check_rule_paths", "no_nul"]


def check_rule_paths(rule: Rule, global_constraints: Mapping[str, str]) -> None:
    """Compile the outputs to patterns (`rule.output_patterns`, `rule.wildcard_names`) and
    check every path of the rule; LoadError at the directive on the first problem."""
    constraints = {**global_constraints, **rule.wildcard_constraints}
    out_span = rule.spans.get("output", rule.span)
    names: set[str] | None = None
    first = ""
    seen: set[str] = set()
    for path in rule.output:
        if callable(path):
            raise LoadError("output must be paths, not a function", out_span)
        if str(path) in seen:
            raise LoadError(f"output {str(path)!r} is listed twice in rule {rule.name}",
                            out_span, hint="list each output once")
        seen.add(str(path))
        no_nul("output", path, out_span)
        try:
            these = set(wildcard_names(path))
            rule.output_patterns.append(Pattern(path, constraints))
        except (WildcardError, Exception) as err:
            raise LoadError(f"bad output pattern {path!r}: {err}", out_span) from None
        if names is None:
            names, first = these, path
        elif these != names:
            raise LoadError(
                f"all outputs of a rule must carry the same wildcards: {first!r} has "
                f"{_fmt_names(names)}, {path!r} has {_fmt_names(these)}", out_span)
    rule.wildcard_names = frozenset(names or ())
    checks: list[tuple[str, Any]] = [("input", v) for _, v in rule.input]
    checks += [("log", v) for v in rule.log]
    if rule.benchmark:
        checks.append(("benchmark", rule.benchmark))
    for key, value in checks:
        for path in value if isinstance(value, (list, tuple)) else [value]:
            if not isinstance(path, str):
                if key != "input" or not (callable(path) or isinstance(path, Unpack)):
                    raise LoadError(f"{key} items must be paths, got {type(path).__name__}", rule.spans[key])
                continue
            if getattr(path, "flags", None) and _report_mark(path) is not None:
                raise LoadError(f"report() marks outputs only, not {key}", rule.spans[key])
            no_nul(key, path, rule.spans[key])
            try:
                missing = [n for n in wildcard_names(path) if n not in rule.wildcard_names]
            except WildcardError as err:
                raise LoadError(f"bad {key} pattern {path!r}: {err}", rule.spans[key]) from None
            if missing:
                raise LoadError(
                    f"wildcard {{{missing[0]}}} in {key} {path!r} does not appear in the output",
                    rule.spans[key],
                    hint="every wildcard must be determined by the output; use {{ }} for a literal brace")


def no_nul(key: str, path: str, span: Span) -> None:
    if "\0" in path:   # no file name can hold one: every use of the path would fail
        raise LoadError(f"{key} {path!r} holds a NUL character", span)


def _fmt_names(names: set[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names)) if names else "none"


def _report_mark(path: str) -> Any:
    from ..core.reportmark import report_mark  # for flagged paths only (start-up time)

    return report_mark(path)
