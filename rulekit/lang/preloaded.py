"""The modules and helpers a rule file may use without importing them, and its `logger`.

As under Snakemake, whose Snakefile globals include what its workflow module imports. The
modules that are slow to import and that most rule files never touch (`subprocess`,
`tempfile`, `json`, ...) stand in the namespace as `LazyModule`s and are imported on first
use, and so is the logging machinery behind `logger`: `rulekit check` of a small rule file
would otherwise spend a tenth of its time importing them (issue 12).
"""

from __future__ import annotations

import collections
import copy
import functools
import importlib
import itertools
import os
import re
import sys
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

__all__ = ["preloaded", "snakefile_logger", "LazyModule"]

_EAGER: dict[str, Any] = {
    "os": os, "sys": sys, "re": re, "copy": copy, "collections": collections,
    "itertools": itertools, "functools": functools, "Path": Path,
    "OrderedDict": collections.OrderedDict, "namedtuple": collections.namedtuple,
    "chain": itertools.chain, "filterfalse": itertools.filterfalse,
    "partial": functools.partial,
    **{name: getattr(typing, name)
       for name in ("Callable", "Dict", "Iterable", "List", "Optional", "Set", "Union")},
}
_LAZY_MODULES = ("glob", "json", "subprocess", "platform", "hashlib", "tempfile")


class LazyModule(types.ModuleType):
    """Stands for the module of the same name: every attribute is read from (and written
    to) the real module, which is imported when the first one is asked for."""

    def __getattribute__(self, name: str) -> Any:
        return getattr(_real(self), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(_real(self), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(_real(self), name)

    def __dir__(self) -> list[str]:
        return dir(_real(self))

    def __repr__(self) -> str:
        return repr(_real(self))


def _real(stand_in: LazyModule) -> types.ModuleType:
    return importlib.import_module(object.__getattribute__(stand_in, "__name__"))


class _LazyLogger:
    """`logger` until first used: the real one is made then (logging is slow to import)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(snakefile_logger(), name)

    def __repr__(self) -> str:
        return repr(snakefile_logger())


def snakefile_logger() -> logging.Logger:
    """`logger`: Snakemake's logger for rule files; info and above go to stderr as is."""
    import logging

    log = logging.getLogger("rulekit.snakefile")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def preloaded() -> dict[str, Any]:
    """The names for a new namespace: modules already imported are given as they are."""
    names = dict(_EAGER)
    for name in _LAZY_MODULES:
        names[name] = sys.modules.get(name) or LazyModule(name)
    names["logger"] = _LazyLogger()
    return names
