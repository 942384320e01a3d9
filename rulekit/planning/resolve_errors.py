"""The errors of job resolution (SPEC §2.3), built in the DESIGN §4 shape.

`Unresolvable` is the builder's internal record of a file nothing can make, with why each
candidate rule failed; `missing_error` turns it into the user-facing `MissingInputError`
(explaining, for every rule, why its output patterns do or do not fit). `ambiguous_error`
and `cycle_error` build the other two resolution errors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from ..core.errors import AmbiguousRuleError, CycleError, MissingInputError, display_path
from ..core.model import Job, Rule, Workflow
from ..core.patterns import _split

__all__ = ["Unresolvable", "ambiguous_error", "cycle_error", "duplicate_output_error",
           "hidden_error", "hidden_sources", "hidden_text", "missing_error"]

_MAX_TRIED = 8


class Unresolvable(Exception):
    """A file that does not exist and that no rule can make (internal control flow)."""

    def __init__(self, path: str, needed_by: Job | None,
                 matched: list[tuple[Rule, str, Unresolvable | None]]) -> None:
        super().__init__(path)
        self.path = path
        self.needed_by = needed_by
        # rules whose output matched, with why they failed: a deeper failure, or None with
        # a text (recursion) in the middle slot
        self.matched = matched



def _needer(job: Job | None) -> str:
    if job is None:
        return "the command line (a target)"
    return f"{job.name} ({job.rule.span})"


def _pattern_for(rule: Rule, path: str) -> str:
    for text, pat in zip(rule.output, rule.output_patterns):
        if pat.match(path) is not None:
            return str(text)
    return str(rule.output[0]) if rule.output else ""


def _explain(workflow: Workflow, rule: Rule, path: str) -> str:
    """Why `rule` cannot make `path` by its output patterns alone."""
    for text, pat in zip(rule.output, rule.output_patterns):
        if pat.match(path) is not None:
            return f"rule {rule.name}: output pattern {str(text)!r} matches"
        regex: list[str] = []
        constraints: dict[str, str] = {}
        seen: set[str] = set()
        for literal, name, constraint in _split(str(text)):
            regex.append(re.escape(literal))
            if name is None:
                continue
            if name in seen:
                regex.append(f"(?P={name})")
                continue
            seen.add(name)
            regex.append(f"(?P<{name}>.+)")
            rx = (constraint or rule.wildcard_constraints.get(name)
                  or workflow.wildcard_constraints.get(name))
            if rx:
                constraints[name] = rx
        m = re.fullmatch("".join(regex), path, re.DOTALL)
        if m is None:
            continue
        for name, rx in constraints.items():
            value = m.group(name)
            if re.fullmatch(rx, value, re.DOTALL) is None:
                return (f"rule {rule.name}: wildcard {{{name}}} value {value!r} "
                        f"fails constraint {rx!r}")
    if len(rule.output) == 1:
        return f"rule {rule.name}: output pattern {str(rule.output[0])!r} does not match"
    shown = ", ".join(repr(str(o)) for o in rule.output)
    return f"rule {rule.name}: no output pattern matches ({shown})"


def missing_error(workflow: Workflow, err: Unresolvable) -> MissingInputError:
    # Follow single-candidate chains down to the root cause, unless another rule came
    # close (its pattern fits but a constraint fails): then this level says more.
    while len(err.matched) == 1 and err.matched[0][2] is not None:
        near = [r for r in workflow.rules.values() if r.output and r is not err.matched[0][0]
                and "fails constraint" in _explain(workflow, r, err.path)]
        if near:
            break
        err = err.matched[0][2]
    path, needed_by = err.path, err.needed_by
    why = {r.name: (text, deeper) for r, text, deeper in err.matched}
    lines: list[str] = []
    rules = [r for r in workflow.rules.values() if r.output]
    for rule in rules:
        if rule.name in why:
            text, deeper = why[rule.name]
            lines.append(text if deeper is None else
                         f"rule {rule.name}: its input {deeper.path!r} is missing")
        else:
            lines.append(_explain(workflow, rule, path))
    if len(lines) > _MAX_TRIED:
        more = len(lines) - _MAX_TRIED
        lines = lines[:_MAX_TRIED] + [f"... and {more} more rule{'s' if more > 1 else ''}"]
    span = needed_by.rule.spans.get("input", needed_by.rule.span) if needed_by else None
    link = _broken_link(workflow, path)
    facts = [("File", path)]
    if link is not None:
        facts.append(("Points to", link))
    facts += [("Needed by", _needer(needed_by)),
              ("Rules tried", "\n".join(lines) if lines else "none (no rule has outputs)")]
    if os.path.normpath(path) == "." or os.path.isdir(os.path.join(workflow.workdir, path)):
        # the folder exists (the file index lists no "."); a folder no rule makes is not
        # a target
        default = workflow.default_rule()
        return MissingInputError(
            f"no rule can make {path!r}: it is "
            + ("the working directory itself" if os.path.normpath(path) == "."
               else "an existing folder") + ", not a file a rule makes", span, facts=facts,
            hint="give output files or rule names as targets, or none for the default "
                 f"target{f' (rule {default.name})' if default else ''}")
    if link is not None:
        return MissingInputError(
            f"no rule can make {path!r} and it is a broken symlink (it points to {link!r}, "
            "which does not exist)", span, facts=facts,
            hint="fix or remove the link, or add a rule whose output pattern matches it")
    return MissingInputError(
        f"no rule can make {path!r} and the file does not exist", span, facts=facts,
        hint="create the file, fix the path, or add a rule whose output pattern matches it")


def _broken_link(workflow: Workflow, path: str) -> str | None:
    """Where `path` points if it is a symlink whose target does not exist."""
    full = os.path.join(workflow.workdir, path)
    try:
        if os.path.islink(full) and not os.path.exists(full):
            return os.readlink(full)
    except OSError:
        pass
    return None


def _bottom(err: Unresolvable) -> Unresolvable:
    """The missing file at the end of a chain of single-rule failures."""
    while len(err.matched) == 1 and err.matched[0][2] is not None:
        err = err.matched[0][2]
    return err


def _where(rule: Rule) -> str:
    return f"{display_path(rule.span.path)}:{rule.span.line}:{rule.span.col}"


def hidden_text(path: str, rule: Rule, err: Unresolvable) -> str:
    """One line: an existing file is used as a source because its rule cannot run."""
    return (f"{path} exists and is used as it is: rule {rule.name} would make it, but its "
            f"input {_bottom(err).path} is missing")


def hidden_error(path: str, rule: Rule, err: Unresolvable, why: str) -> MissingInputError:
    """A target (or a file of a forced rule) that exists but whose rule cannot run."""
    bottom = _bottom(err)
    needer = bottom.needed_by
    span = needer.rule.spans.get("input", needer.rule.span) if needer else rule.span
    return MissingInputError(
        f"rule {rule.name} cannot make {path!r}: its input {bottom.path!r} is missing",
        span,
        facts=[("File", f"{path} (exists, but would not be remade)"), ("Asked by", why),
               ("Missing", bottom.path),
               ("Needed by", f"{needer.name} ({_where(needer.rule)})" if needer
                else _needer(None))],
        hint="fix the input path or create the input; rulekit will not pass off the "
             "existing file as up to date")


def hidden_sources(dag: Any, forcerun: set[str], force: bool, strict: bool) -> list[str]:
    """Warnings for `dag.hidden` (files used as sources because their rule cannot run);
    with `strict`, a MissingInputError when one is a target or its rule is forced."""
    hidden: dict[str, tuple[Rule, Unresolvable]] = dag.hidden
    if strict:
        for path in dag.target_files:
            if path in hidden:
                why = ("the command line (--force)" if force
                       else "the command line (a target)")
                raise hidden_error(path, *hidden[path], why)
        for path, (rule, err) in hidden.items():
            if rule.name in forcerun:
                raise hidden_error(path, rule, err, f"--forcerun {rule.name}")
    lines = [hidden_text(path, rule, err) for path, (rule, err) in list(hidden.items())[:5]]
    if len(hidden) > 5:
        lines.append(f"... and {len(hidden) - 5} more files used as they are because the "
                     "rules that make them miss an input")
    return lines


def ambiguous_error(path: str, needed_by: Job | None, rules: list[Rule]) -> AmbiguousRuleError:
    """Several rules can make `path` and ruleorder does not pick one."""
    names = ", ".join(r.name for r in rules)
    lines = "\n".join(
        f"rule {r.name}: output {_pattern_for(r, path)!r} ({r.span})" for r in rules)
    return AmbiguousRuleError(
        f"ambiguous rules for {path!r}: {names} can all make it",
        facts=[("File", path), ("Needed by", _needer(needed_by)), ("Rules", lines)],
        hint=f"add 'ruleorder: {' > '.join(r.name for r in rules)}' to prefer one, "
             "or make the output patterns distinct (e.g. wildcard_constraints)")


def duplicate_output_error(path: str, first: Job, second: Job) -> AmbiguousRuleError:
    """Two jobs of the DAG declare the same output file: they would both write it."""
    return AmbiguousRuleError(
        f"jobs {first.name} and {second.name} both declare the output {path!r}",
        second.rule.spans.get("output", second.rule.span),
        facts=[("File", path),
               ("Jobs", "\n".join(f"{j.name}: output {_pattern_for(j.rule, path)!r} "
                                   f"({display_path(j.rule.span.path)}:{j.rule.span.line}:"
                                   f"{j.rule.span.col})" for j in (first, second)))],
        hint="give each job its own output path, or let one rule make the file and the "
             "other read it as an input")


def cycle_error(stack: Sequence[tuple[str | None, Job]], path: str | None) -> CycleError:
    """The jobs on `stack` (file asked for, job) lead back to the first one via `path`."""
    parts: list[str] = []
    for file, job in stack:
        if file is not None:
            parts.append(file)
        parts.append(f"rule {job.rule.name}")
    parts.append(path or "?")
    text = " -> ".join(parts)
    first = stack[0][1]
    return CycleError(
        f"cycle in the job graph: {text}",
        first.rule.spans.get("input", first.rule.span),
        facts=[("Cycle", text)],
        hint="a rule's output must not be needed, directly or through other rules, "
             "by its own inputs")
