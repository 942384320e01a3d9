"""A directive's evaluated arguments -> the values a rule or the workflow keeps.

`input: "a", b="c"` evaluates to args ("a",) and kwargs {"b": "c"}; these functions check
their shape for the directive at hand (one value, a string, paths only, name="regex") and
flatten them. Every problem is a LoadError at the directive.
"""

from __future__ import annotations

import os
from typing import Any

from ..core.errors import LoadError
from ..core.iopaths import fspaths
from ..core.source import Span
from .smkhelpers import NamedPaths

__all__ = ["constraints", "single", "single_str", "check_envvars", "spread_named",
           "flatten_paths"]


def constraints(kwargs: dict[str, Any], args: tuple[Any, ...], span: Span) -> dict[str, str]:
    if args or not all(isinstance(v, str) for v in kwargs.values()):
        raise LoadError("wildcard_constraints must be given as name=\"regex\"", span)
    return dict(kwargs)


def single(key: str, args: tuple[Any, ...], kwargs: dict[str, Any], span: Span) -> Any:
    if kwargs or len(args) != 1:
        raise LoadError(f"{key} takes exactly one value", span)
    return args[0]


def single_str(key: str, args: tuple[Any, ...], kwargs: dict[str, Any], span: Span) -> str:
    val = fspaths(single(key, args, kwargs, span))
    if not isinstance(val, str):
        raise LoadError(f"{key} must be a string, got {type(val).__name__}", span)
    return val


def check_envvars(args: tuple[Any, ...], kwargs: dict[str, Any], span: Span) -> None:
    """`envvars: "A", "B"`: as in Snakemake, each must be set when the workflow loads (jobs
    inherit the environment, so nothing else is needed locally)."""
    if kwargs or not all(isinstance(a, str) for a in args):
        raise LoadError("envvars: expected names of environment variables", span)
    missing = [a for a in args if a not in os.environ]
    if missing:
        raise LoadError(f"envvars: environment variable{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} not set",
                        span, hint="set them before running (export NAME=value)")


def spread_named(args: tuple[Any, ...], kwargs: dict[str, Any], key: str, span: Span
                  ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Named items of a positional `multiext(prefix, name=ext)` join the keyword items."""
    if not any(isinstance(a, NamedPaths) for a in args):
        return args, kwargs
    named: dict[str, Any] = {}
    rest = []
    for a in args:
        if not isinstance(a, NamedPaths):
            rest.append(a)
            continue
        for name, path in a.items():
            if name in named or name in kwargs:
                raise LoadError(f"{key}: the name {name!r} is given twice", span)
            named[name] = path
    return tuple(rest), {**named, **kwargs}


def flatten_paths(key: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                   span: Span) -> tuple[list[str], dict[str, Any]]:
    flat: list[str] = []
    names: dict[str, Any] = {}
    for name, value in [(None, a) for a in args] + list(kwargs.items()):
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if not isinstance(item, str):
                raise LoadError(f"{key} items must be paths, got {type(item).__name__}", span)
        if name:
            names[name] = (len(flat), len(flat) + len(items)) if isinstance(value, (list, tuple)) else len(flat)
        flat.extend(items)
    return flat, names
