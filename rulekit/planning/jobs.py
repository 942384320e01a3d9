"""Jobs from rules: everything the DAG builder does to turn a rule plus wildcards into a Job.

A rule is prepared once (`RuleInfo`: output formats, compiled input/params/log strings);
per job, `job_inputs` evaluates the inputs (strings, lists, input functions, `unpack()`,
checkpoint waits) and `finish_job` fills in log, benchmark, threads, resources and params
once the inputs are known. `call_with_known_args` calls a user function with the
arguments it asks for (Snakemake's convention).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from typing import Any

from ..core.errors import LoadError
from ..core.iopaths import io_list
from ..core.jobvalues import (
    call_user,
    call_with_known_args,
    check_threads,
    function_error,
    normalize_resources,
    resources_view,
)
from ..core.model import (
    AnnotatedPath,
    IncompleteCheckpoint,
    Job,
    NamedList,
    Rule,
    ShellText,
    Unpack,
    Wildcards,
    named_list,
)
from ..core.patterns import Pattern, WildcardError

__all__ = ["EMPTY", "RuleInfo", "call_with_known_args", "finish_job", "flatten",
           "job_inputs", "job_key", "job_outputs", "new_job", "priority_of"]

# Shared by every job without params/log/resources: treat job io as read-only.
EMPTY = NamedList()
_NO_RESOURCES: dict[str, Any] = {}
class Fmt:
    """A string value formatted with wildcards, compiled once."""

    __slots__ = ("text", "fmt", "flags")

    def __init__(self, text: str) -> None:
        self.text = text
        self.flags = getattr(text, "flags", None) or None
        self.fmt: str | None = None if ("{" not in text and "}" not in text) else Pattern(text).fmt

    def __call__(self, wc: dict[str, str]) -> str:
        value = self.text if self.fmt is None else self.fmt.format_map(wc)
        if self.flags is not None and self.fmt is not None:
            return AnnotatedPath(value, self.flags)
        return value

    def param(self, wc: dict[str, str]) -> str:
        """A params string: as written, plus the shell text with wildcard values quoted."""
        if self.fmt is None:
            return self.text
        value = self.fmt.format_map(wc)
        quoted = {k: shlex.quote(v) for k, v in wc.items()}
        shell = self.fmt.format_map(quoted)
        return value if shell == value else ShellText(value, shell)


class RuleInfo:
    """Everything about a rule the DAG builder needs per job, prepared once."""

    __slots__ = ("rule", "out_fmts", "flagged_out", "inputs", "static_names", "params",
                 "params_names", "log", "benchmark", "has_wildcards", "simple_params",
                 "plain_inputs", "input_fmts", "one_out", "one_in",
                 "plain_job", "threads")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        # (format or None for a plain path, text, flags or None): a flagged output keeps
        # its flags once its wildcards are filled in (job.output holds AnnotatedPaths).
        # Flags come from rule.output, which command-line overrides (--all-temp) may change.
        self.out_fmts = [(p.fmt if not p.is_plain else None, text,
                          getattr(text, "flags", None) or None)
                         for text, p in zip(rule.output, rule.output_patterns)]
        self.flagged_out = any(f is not None and flags for f, _, flags in self.out_fmts)
        self.has_wildcards = any(not p.is_plain for p in rule.output_patterns)
        # inputs: (kind, name, payload): "s" one pattern, "l" a list, "f" function, "u" unpack
        self.inputs: list[tuple[str, str | None, Any]] = []
        static = True
        names: dict[str, int | tuple[int, int]] = {}
        pos = 0
        for name, value in rule.input:
            if isinstance(value, Unpack):
                self.inputs.append(("u", name, value.func))
                static = False
            elif callable(value):
                self.inputs.append(("f", name, value))
                static = False
            elif isinstance(value, str):
                self.inputs.append(("s", name, Fmt(value)))
                if name is not None:
                    names[name] = pos
                pos += 1
            else:
                items = [Fmt(v) for v in flatten(value)]
                self.inputs.append(("l", name, items))
                if name is not None:
                    names[name] = (pos, pos + len(items))
                pos += len(items)
        self.static_names = names if static else None
        self.params: list[tuple[str | None, Any]] = []
        pnames: dict[str, int | tuple[int, int]] = {}
        self.simple_params = True
        for i, (name, value) in enumerate(rule.params):
            if name is not None:
                pnames[name] = i
            if isinstance(value, str):
                try:
                    self.params.append((name, Fmt(value)))
                except WildcardError:
                    self.params.append((name, value))
            else:
                self.params.append((name, value))
                if callable(value):
                    self.simple_params = False
        self.params_names = pnames
        self.log = [Fmt(p) for p in rule.log]
        self.benchmark = Fmt(rule.benchmark) if rule.benchmark else None
        # Fast paths: static inputs without flags as (format or None, text) pairs, and a
        # job that needs nothing from finish_job but its (constant) threads.
        fmts = [f for kind, _, payload in self.inputs
                for f in ([payload] if kind == "s" else payload)] if static else []
        self.plain_inputs = ([(f.fmt, f.text) for f in fmts]
                             if static and not any(f.flags for f in fmts) else None)
        # Per static input, its format when it has wildcards (the DAG passes values by name
        # to a producer whose output pattern is the same); None when no input has any.
        self.input_fmts: list[str | None] | None = (
            [f.fmt for f in fmts] if any(f.fmt is not None for f in fmts) else None)
        # The commonest rule of all (one output and one input, both with wildcards and
        # without flags): their formats, for a job made without list comprehensions.
        self.one_out = (self.out_fmts[0][0] if len(self.out_fmts) == 1
                        and not self.flagged_out else None)
        self.one_in = (self.plain_inputs[0][0] if self.plain_inputs is not None
                       and len(self.plain_inputs) == 1 else None)
        self.plain_job = (not self.log and self.benchmark is None and not rule.resources
                          and not self.params and type(rule.threads) is int)
        self.threads: int = (rule.threads if self.plain_job and isinstance(rule.threads, int)
                             else 1)


def flatten(value: Any) -> list[Any]:
    """Nested lists, tuples and other iterables (generators, sets) -> a flat list; strings
    and paths are single items."""
    if isinstance(value, (list, tuple)) or (
            not isinstance(value, (str, bytes, dict, os.PathLike))
            and isinstance(value, Iterable)):
        out: list[Any] = []
        for v in value:
            if type(v) is str:   # the common item (10^5 of an expand())
                out.append(v)
            else:
                out.extend(flatten(v))
        return out
    if isinstance(value, os.PathLike) and not isinstance(value, str):
        return [os.fspath(value)]   # an input function may return pathlib.Paths
    return [value]


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


def _concrete(info: RuleInfo, job: Job, value: Any) -> str:
    """An input function's result item as a path: `Path`s become strings, and `{name}`
    is filled from the job's wildcards (as Snakemake does)."""
    if isinstance(value, os.PathLike) and not isinstance(value, str):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise LoadError(
            f"input function of rule {info.rule.name} returned "
            f"{type(value).__name__}, not a path (use unpack() for a dict)",
            info.rule.spans.get("input", info.rule.span), facts=[("Job", job.name)])
    return _fill(info, job, value)


def _fill(info: RuleInfo, job: Job, value: str) -> str:
    """`{name}` in a path an input function returned, filled from the job's wildcards."""
    if "{" not in value and "}" not in value:
        return value
    try:
        text = Pattern(value).format(job.wildcards)
    except WildcardError as err:
        raise LoadError(f"input function of rule {info.rule.name} returned {value!r}: {err}",
                        info.rule.spans.get("input", info.rule.span),
                        facts=[("Job", job.name)]) from None
    return AnnotatedPath(text, value.flags) if isinstance(value, AnnotatedPath) else text


def job_outputs(info: RuleInfo, wc: dict[str, str]) -> list[str]:
    """The job's output paths; flagged ones stay AnnotatedPaths with the rule's flags."""
    if info.one_out is not None:
        return [info.one_out.format_map(wc)]
    if not info.flagged_out:
        return [f.format_map(wc) if f is not None else text for f, text, _ in info.out_fmts]
    return [text if f is None else AnnotatedPath(f.format_map(wc), flags) if flags
            else f.format_map(wc) for f, text, flags in info.out_fmts]


def new_job(rule: Rule, wc: dict[str, str], outputs: list[str]) -> Job:
    """A job with its outputs set; inputs, params etc. come from job_inputs/finish_job."""
    return Job(rule, wc, EMPTY, named_list(outputs, rule.output_names),
               EMPTY, EMPTY, None, 1, _NO_RESOURCES)


def job_inputs(info: RuleInfo, job: Job) -> tuple[NamedList, tuple[str, str] | None]:
    """The job's inputs, and (checkpoint rule, its output) if an input function waits."""
    wc = job.wildcards
    plain = info.plain_inputs
    if plain is not None and info.static_names is not None:   # (plain inputs are static)
        if info.one_in is not None:
            return named_list([info.one_in.format_map(wc)], info.static_names), None
        return named_list([t if f is None else f.format_map(wc) for f, t in plain],
                          info.static_names), None
    if info.static_names is not None:
        items: list[str] = []
        for kind, _, payload in info.inputs:
            if kind == "s":
                items.append(payload(wc))
            else:
                items.extend(f(wc) for f in payload)
        return NamedList(items, info.static_names), None
    items = []
    names: dict[str, int | tuple[int, int]] = {}
    waiting: tuple[str, str] | None = None
    wcs = Wildcards.from_dict(wc)
    for kind, name, payload in info.inputs:
        start = len(items)
        if kind == "s":
            items.append(payload(wc))
        elif kind == "l":
            items.extend(f(wc) for f in payload)
        else:
            try:
                result = payload(wcs)
            except IncompleteCheckpoint as exc:
                if waiting is None:
                    waiting = (exc.rule, exc.path)
                continue
            except Exception as exc:  # noqa: BLE001 - user code
                raise function_error("input", job, exc, "input") from exc
            if kind == "u":
                _unpack(info, job, result, items, names)
                continue
            flags = getattr(payload, "flags", None)
            for v in flatten(result):
                v = _concrete(info, job, v)
                items.append(AnnotatedPath(v, flags) if flags else v)
            if name is not None:
                names[name] = start if _is_path(result) else (start, len(items))
            continue
        if name is not None:
            names[name] = start if kind == "s" else (start, len(items))
    return NamedList(items, names), waiting

def _unpack(info: RuleInfo, job: Job, result: Any, items: list[Any],
            names: dict[str, int | tuple[int, int]]) -> None:
    """Add an unpack() function's result: a dict gives named inputs, a list positional ones."""
    def fail(what: str) -> LoadError:
        return LoadError(f"unpack() function of rule {info.rule.name} {what}",
                         info.rule.spans.get("input", info.rule.span),
                         facts=[("Job", job.name)],
                         hint="return a dict (named inputs) or a list of paths")
    if isinstance(result, dict):
        pairs: list[tuple[str | None, Any]] = list(result.items())
    elif isinstance(result, (list, tuple)):
        pairs = [(None, v) for v in result]
    else:
        raise fail(f"must return a dict or a list, got {_kind(result)}")
    for key, value in pairs:
        if key is not None and not (isinstance(key, str) and key.isidentifier()):
            raise fail(f"returned the key {key!r}; input names must be Python identifiers")
        start = len(items)
        for v in flatten(value):
            if isinstance(v, os.PathLike):
                v = os.fspath(v)
            if not isinstance(v, str):
                raise fail(f"returned {_kind(v)}"
                           + (f" for {key!r}" if key is not None else "") + ", not a path")
            items.append(_fill(info, job, v))
        if key is not None:
            names[key] = start if not isinstance(value, (list, tuple)) else (start, len(items))


def _kind(value: Any) -> str:
    if callable(value):
        return "a function"
    return f"a {type(value).__name__}"


def finish_job(info: RuleInfo, job: Job) -> None:
    """params, log, benchmark, threads, resources once inputs are known (see jobvalues for
    when functions run and what happens when they fail)."""
    rule = info.rule
    if info.plain_job:
        job.threads = info.threads
        return
    wc = job.wildcards
    if info.log:
        job.log = NamedList([f(wc) for f in info.log], rule.log_names)
    if info.benchmark is not None:
        job.benchmark = info.benchmark(wc)
    values: dict[str, Any] | None = None
    threads = rule.threads
    if callable(threads):
        values = _values(job)
        threads = call_user(threads, values, "threads", job, "threads", False)
    job.threads = check_threads(threads, job)
    if rule.resources:
        res = {}
        for k, v in rule.resources.items():
            if callable(v):
                values = values or _values(job)
                values["threads"] = job.threads
                v = call_user(v, values, f"resources {k}", job, "resources", True)
            res[k] = v
        job.resources = normalize_resources(res, job)
    if info.params:
        items = []
        for _, v in info.params:
            if isinstance(v, Fmt):
                try:
                    v = v.param(wc)
                except (KeyError, IndexError, ValueError):
                    v = v.text
            elif callable(v):
                values = values or _values(job)
                values["threads"] = job.threads
                values["resources"] = resources_view(job.resources)
                v = call_user(v, values, "params", job, "params", True)
            items.append(v)
        job.params = NamedList(items, info.params_names)


def _values(job: Job) -> dict[str, Any]:
    return {"wildcards": Wildcards.from_dict(job.wildcards), "input": io_list(job.input),
            "output": io_list(job.output), "threads": job.threads,
            "resources": resources_view(job.resources),
            # Snakemake's `attempt`: 1 while planning; the scheduler re-evaluates params
            # and resources functions with 2, 3, ... on retries.
            "attempt": 1}


def priority_of(job: Job) -> Any:
    """The job's priority: `priority:` may be a function of the wildcards (and input...)."""
    value = job.rule.priority
    if callable(value):
        value = call_with_known_args(value, _values(job))
    return value


def job_key(job: Job) -> tuple[str, ...]:
    """(rule name, *outputs), or (rule name, *wildcard values) for a job without outputs
    (a rule's jobs all have outputs or none do): one flat tuple per job of a big DAG."""
    if job.output:
        return (job.rule.name, *job.output)
    return (job.rule.name, *job.wildcards.values())
