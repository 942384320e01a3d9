"""Static checks of `shell:` commands and `message:` texts, before anything runs.

A command is a format string filled per job (rulekit.core.shellfmt). Everything that does not
depend on a job's values is checked when the rule file has loaded, so `rulekit check`
finds it and a run stops before the first job:

- malformed braces (`{input`, `}`), positional fields (`{}`, `{0}`);
- a name that is neither one of the job's names nor a rule-file global (`{ouptut}`), with
  a "did you mean" hint (a wildcard written bare, `{sample}`, suggests `{wildcards.sample}`);
- `.x` on input/output/log/params/wildcards where the rule's names are known;
- a format spec on a whole list of paths (`{output:>10}`, `{input:%}`): only `:q` (quote)
  and `:u` (unquoted) apply to lists; a spec Python rejects for every value type.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]
import string
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.errors import LoadError
from ..core.model import Rule, Unpack

__all__ = ["check_rule_texts", "JOB_NAMES"]

#: The names every job's command may use (rulekit.core.shellfmt.job_names).
JOB_NAMES = ("input", "output", "params", "wildcards", "threads", "resources", "log", "config",
             "rule", "jobid", "benchmark")
_LISTS = frozenset({"input", "output", "log"})


def check_rule_texts(rules: Iterable[Rule], namespace: Mapping[str, Any]) -> None:
    """Raise a located LoadError for the first bad field of any shell: or message: text."""
    for rule in rules:
        # A rule used from a module sees the module's globals, not the main file's.
        names = rule.home.namespace if rule.home is not None else namespace
        if rule.body is not None and rule.body.kind == "shell" and rule.body.command:
            _check(rule, rule.body.command, "shell command", rule.body.span, names)
        if rule.message:
            _check(rule, rule.message, "message", rule.spans.get("message", rule.span),
                   names)


def _check(rule: Rule, text: str, what: str, span: Any, namespace: Mapping[str, Any]) -> None:
    prefix = f"rule {rule.name}: {what}"

    def fail(message: str, hint: str | None = None) -> LoadError:
        return LoadError(f"{prefix} {message}", span,
                         hint=hint or "write {{ and }} for literal braces")
    try:
        fields = [f for f in string.Formatter().parse(text) if f[1] is not None]
    except ValueError as exc:
        raise fail(f"is malformed ({exc})") from None
    for _, field, spec, _conversion in fields:
        assert field is not None
        try:
            first, rest = _string.formatter_field_name_split(field)
            rest = list(rest)
        except ValueError as exc:
            raise fail(f"has a malformed field {{{field}}} ({exc})") from None
        if first == "" or isinstance(first, int):
            raise fail(f"has a positional field {{{field}}}; use a name such as {{input}}")
        if first not in JOB_NAMES and first not in namespace:
            raise fail(f"refers to {{{field}}}, but no name {first!r} is defined",
                       _unknown_hint(rule, first, namespace))
        _check_attribute(rule, first, rest, field, fail)
        if spec and "{" not in spec:
            _check_spec(first, rest, field, spec, fail)


def _unknown_hint(rule: Rule, name: str, namespace: Mapping[str, Any]) -> str:
    if name in rule.wildcard_names:
        return f"did you mean {{wildcards.{name}}}? (wildcards are reached through 'wildcards')"
    import difflib  # for errors only (start-up time)

    known = [*JOB_NAMES, *(k for k in namespace if not k.startswith("_"))]
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {{{close[0]}}}? (write {{{{ and }}}} for literal braces)"
    return f"known names: {', '.join(JOB_NAMES)}; write {{{{ and }}}} for literal braces"


def _static_names(rule: Rule, first: str) -> set[str] | None:
    """The attribute names `first` has for every job of `rule`, or None if not known."""
    if first == "output":
        return set(rule.output_names)
    if first == "log":
        return set(rule.log_names)
    if first == "wildcards":
        return set(rule.wildcard_names)
    if first == "params":
        return {n for n, _ in rule.params if n}
    if first == "input":
        if any(isinstance(v, Unpack) for _, v in rule.input):
            return None
        return {n for n, _ in rule.input if n}
    return None


def _check_attribute(rule: Rule, first: str, rest: list[tuple[bool, Any]], field: str,
                     fail: Any) -> None:
    if not rest or not rest[0][0]:
        return
    attr = rest[0][1]
    names = _static_names(rule, first)
    if names is None or attr in names:
        return
    if first == "params" and attr in ("keys", "items", "values", "get"):
        return
    import difflib

    close = [n for n in sorted(names) if n.lower() == attr.lower()] \
        or difflib.get_close_matches(attr, sorted(names), n=1)
    if close:
        hint = f"did you mean {{{first}.{close[0]}}}?"
    elif names:
        hint = f"{first} names: {', '.join(sorted(names))}"
    elif first == "wildcards":
        raise fail(f"refers to {{{field}}}, but this rule has no wildcards",
                   "its output paths have no {name} parts; write the value itself, or put "
                   f"{{{attr}}} in the output paths")
    else:
        hint = f"this rule's {first} has no names; use {{{first}}} or {{{first}[0]}}"
    raise fail(f"refers to {{{field}}}, but {first} has no name {attr!r}", hint)


def _check_spec(first: str, rest: list[tuple[bool, Any]], field: str, spec: str,
                fail: Any) -> None:
    if spec in ("q", "u"):
        return
    if first in _LISTS and not rest:
        raise fail(f"applies the format spec ':{spec}' to {{{field}}}, a list of paths; "
                   "only :q (quoted) and :u (unquoted) apply to it",
                   f"drop ':{spec}', or format one item: {{{field}[0]:{spec}}}")
    for sample in ("", 0, 0.0):
        try:
            format(sample, spec)
            return
        except (ValueError, TypeError):
            continue
    raise fail(f"has an invalid format spec ':{spec}' in {{{field}}}",
               "the only specs a command needs are :q (quoted) and :u (unquoted)")
