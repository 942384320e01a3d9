"""A job's threads, resources and params: evaluated, checked and normalised.

When: `jobs.finish_job` evaluates them while the DAG is built (the dry run shows them, the
`params` trigger compares them, `--resources` bounds are checked before anything runs).
A params or resources function that fails with a missing-file error while one of the job's
inputs does not exist yet (an upstream job of this run makes it) gives `TBD` ("<TBD>", as in
Snakemake) instead of an error: such a job runs anyway, because its input is being made.
Just before a job runs (when it becomes ready, all its inputs made), the scheduler calls
`evaluate_for_run` again for rules with params or resources functions, with
`attempt` = 1, 2, 3, ... on retries; those values are what the job sees and the store records.
Threads are evaluated once, while the DAG is built.

Resources follow Snakemake's units: `mem` and `disk` may be sizes ("5GB", "500 MiB"), giving
`mem_mb`/`disk_mb` (megabytes, 10^6 bytes, rounded up) and `mem_mib`/`disk_mib`; `runtime`
may be a timespan ("1h", "90m", "2d") in minutes. Other resources are numbers, or text kept as
written (usable in commands; text cannot be bounded by --resources).

A function that raises, or a value of the wrong type, is a located `LoadError`: the line that
raised (in the rule file or a helper module) or else the directive's line, naming the rule
and the job.
"""

from __future__ import annotations

import inspect
import math
import os
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeGuard

from .errors import LoadError, RulekitError
from .iopaths import io_list
from .model import FlaggedCallable, Job, NamedList, Wildcards
from .source import Span

__all__ = ["TBD", "call_with_known_args", "user_span", "function_error", "call_user", "normalize_resources",
           "resources_view", "parse_size_mb", "parse_minutes", "evaluate_for_run",
           "has_functions", "check_threads"]


class _TBD(str):
    """A value that can only be known once the job's inputs exist."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_tbd, ())


def _tbd() -> _TBD:
    return TBD


TBD = _TBD("<TBD>")

_KNOWN_ARGS = ("wildcards", "input", "output", "threads", "resources")

def _arg_plan(func: Callable[..., Any]) -> list[str]:
    """Which of wildcards/input/output/threads/resources `func` takes, in its order.

    A parameter with a known name gets that value; any other positional parameter gets
    the value at its position in Snakemake's order (wildcards, input, output, ...).
    """
    target = func.func if isinstance(func, FlaggedCallable) else func
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return ["wildcards"]
    plan: list[str] = []
    for i, p in enumerate(sig.parameters.values()):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            break
        if p.name in _KNOWN_ARGS or p.name == "attempt":
            plan.append(p.name)
        elif p.default is not p.empty:
            break
        elif i < len(_KNOWN_ARGS):
            plan.append(_KNOWN_ARGS[i])
    return plan


_ARG_PLANS: dict[int, tuple[Callable[..., Any], list[str]]] = {}


def call_with_known_args(func: Callable[..., Any], values: dict[str, Any]) -> Any:
    """Call an input/params/threads function with the arguments it asks for."""
    cached = _ARG_PLANS.get(id(func))
    if cached is None or cached[0] is not func:
        cached = (func, _arg_plan(func))
        _ARG_PLANS[id(func)] = cached
    return func(*(values[name] for name in cached[1]))


_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # rulekit/
_STDLIB = tuple({os.path.dirname(os.__file__), sys.base_prefix, sys.prefix})


def user_span(exc: BaseException, fallback: Span) -> Span:
    """Where user code raised: the innermost frame outside rulekit, the standard library and
    installed packages (a lambda on the rule's line, a helper module's line), else fallback."""
    span = fallback
    for frame in traceback.extract_tb(exc.__traceback__):
        name = frame.filename
        if not frame.lineno or name.startswith("<") or name.startswith(_PKG) \
                or name.startswith(_STDLIB) or "site-packages" in name:
            continue
        col = getattr(frame, "colno", None)
        span = Span(name, frame.lineno, (col + 1) if col is not None else 1)
    return span


def _wildcards_text(job: Job) -> str:
    return ", ".join(f"{k}={v}" for k, v in job.wildcards.items()) or "none"


def function_error(what: str, job: Job, exc: BaseException, directive: str) -> LoadError:
    """A located error for a failing input/params/threads/resources function."""
    rule = job.rule
    fallback = rule.spans.get(directive, rule.span)
    text = exc.message if isinstance(exc, RulekitError) else str(exc)   # (no 2nd "error:")
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return LoadError(f"{what} function of rule {rule.name} failed: {message}",
                     user_span(exc, fallback),
                     facts=[("Job", job.name), ("Wildcards", _wildcards_text(job))])


def value_error(what: str, job: Job, text: str, directive: str) -> LoadError:
    rule = job.rule
    return LoadError(f"{what} of rule {rule.name} {text}",
                     rule.spans.get(directive, rule.span),
                     facts=[("Job", job.name), ("Wildcards", _wildcards_text(job))])


def _missing_input(job: Job) -> bool:
    return any(not os.path.lexists(p) for p in job.input)


def call_user(func: Any, values: dict[str, Any], what: str, job: Job, directive: str,
              defer: bool) -> Any:
    """Call a params/resources/threads function; TBD when `defer` allows it and the
    function failed on a file that an upstream job has not made yet."""
    try:
        return call_with_known_args(func, values)
    except Exception as exc:  # noqa: BLE001 - user code
        if defer and isinstance(exc, OSError) and _missing_input(job):
            return TBD
        raise function_error(what, job, exc, directive) from exc


# -- units -----------------------------------------------------------------------------------

_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")
_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6,
               "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12, "p": 10**15, "pb": 10**15,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50}
_TIME_UNITS = {"": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
               "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
               "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
               "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
               "weeks": 604800}


def parse_size_mb(text: str) -> int | None:
    """'5GB' -> 5000, '1 GiB' -> 1074 (megabytes, rounded up, at least 1); None if not a size.
    A bare number is bytes, as in Snakemake."""
    m = _SIZE.match(text.strip("'\""))
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        return None
    return max(int(math.ceil(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()] / 1e6)), 1)


def parse_minutes(text: str) -> int | None:
    """'1h' -> 60, '90s' -> 2, '2 days' -> 2880 (minutes, rounded, at least 1); None if not
    a timespan. A bare number is seconds, as in Snakemake."""
    m = _SIZE.match(text.strip("'\""))
    if not m or m.group(2).lower() not in _TIME_UNITS:
        return None
    return max(int(round(float(m.group(1)) * _TIME_UNITS[m.group(2).lower()] / 60)), 1)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def normalize_resources(values: dict[str, Any], job: Job) -> dict[str, Any]:
    """Check resource values and add Snakemake's derived ones (mem -> mem_mb, mem_mib)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is TBD:
            out[key] = value
            continue
        if isinstance(value, bool) or not (_is_number(value) or isinstance(value, str)):
            raise value_error(f"resource {key}", job,
                              f"is {type(value).__name__} {value!r}, not a number", "resources")
        if key in ("mem", "disk"):
            mb = value if _is_number(value) else parse_size_mb(str(value))
            if mb is None:
                raise value_error(f"resource {key}", job,
                                  f"is {value!r}, not a number or a size such as '5GB'",
                                  "resources")
            out[key] = value
            out.setdefault(f"{key}_mb", mb)
            continue
        if key in ("mem_mib", "disk_mib") and _is_number(value):
            out.setdefault(key[:-4] + "_mb", int(math.ceil(value * 2**20 / 1e6)))
        if key == "runtime" and isinstance(value, str):
            minutes = parse_minutes(value)
            if minutes is None:
                raise value_error("resource runtime", job,
                                  f"is {value!r}, not a number of minutes or a timespan "
                                  "such as '1h'", "resources")
            value = minutes
        if isinstance(value, str) and (key.endswith("_mb") or key.endswith("_mib")):
            raise value_error(f"resource {key}", job, f"is {value!r}, not a number (use "
                              f"{key.rsplit('_', 1)[0]}={value!r} for a size with a unit)",
                              "resources")
        out[key] = value
    for key in ("mem", "disk"):
        mb = out.get(f"{key}_mb")
        if _is_number(mb) and f"{key}_mib" not in out:
            out[f"{key}_mib"] = int(math.ceil(mb * 1e6 / 2**20))
    return out


def resources_view(values: dict[str, Any]) -> NamedList:
    """Resources as functions and bodies see them: `resources.mem_mb` or `resources["mem_mb"]`."""
    return NamedList(values.values(), {k: i for i, k in enumerate(values)})


def check_threads(value: Any, job: Job) -> int:
    if isinstance(value, bool) or not _is_number(value):
        raise value_error("threads", job,
                          f"is {type(value).__name__} {value!r}, not a number", "threads")
    return max(int(value), 0)


# -- just before the job runs ------------------------------------------------------------------

def has_functions(job: Job) -> bool:
    rule = job.rule
    return any(callable(v) for v in rule.resources.values()) or \
        any(callable(v) for _, v in rule.params)


def evaluate_for_run(job: Job, attempt: int) -> None:
    """Re-evaluate the rule's params and resources functions for `job` (its inputs exist
    now) with `attempt`; raises LoadError."""
    rule = job.rule
    values = {"wildcards": Wildcards.from_dict(job.wildcards), "input": io_list(job.input),
              "output": io_list(job.output), "threads": job.threads, "attempt": attempt,
              "resources": None}
    if rule.resources:
        res = {}
        for key, value in rule.resources.items():
            if callable(value):
                value = call_user(value, values, f"resources {key}", job, "resources", False)
            res[key] = value
        job.resources = normalize_resources(res, job)
    values["resources"] = resources_view(job.resources)
    if any(callable(v) for _, v in rule.params):
        items = list(job.params)
        for i, (_, value) in enumerate(rule.params):
            if callable(value):
                items[i] = call_user(value, values, "params", job, "params", False)
        job.params = NamedList(items, job.params.names())
