"""What one `run:` job may change that the next job in the same worker must not see.

A pooled worker runs many `run:` bodies one after another in one Python process. Before
each body the worker saves, and after it puts back: the working directory, `os.environ`
and `sys.path`. Each body gets its own shallow copy of the rule file's globals (a name a
body rebinds with `global X` is not seen by other jobs), its own deep copy of `config`,
and its own shallow copy of each list, dict and set global that the body's code names
(`COUNTER[0] += 1`, `SEEN.add(x)`). Deeper objects, and globals reached only through a
function the body calls, are shared: copying every global deeply for every job would
cost more than the job itself (at 10^4 jobs the budget is tens of microseconds each).
"""

from __future__ import annotations

import copy
import os
import pickle
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["ProcessState", "fresh_body", "fresh_config"]

# id(config dict) -> (the dict, its pickle or None when it does not pickle); one workflow
# per worker in practice, a few in tests and API use
_CONFIG_BLOBS: dict[int, tuple[dict[str, Any], bytes | None]] = {}


def fresh_config(config: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `config` for one job (from a pickle made once: a few microseconds)."""
    if not config:
        return {}
    known = _CONFIG_BLOBS.get(id(config))
    if known is None or known[0] is not config:
        try:
            blob: bytes | None = pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            blob = None
        if len(_CONFIG_BLOBS) > 16:
            _CONFIG_BLOBS.clear()
        known = _CONFIG_BLOBS[id(config)] = (config, blob)
    if known[1] is not None:
        fresh: dict[str, Any] = pickle.loads(known[1])
        return fresh
    try:
        return copy.deepcopy(config)
    except Exception:
        return dict(config)


_CONTAINERS = (list, dict, set)
_NAMES: dict[types.CodeType, frozenset[str]] = {}


def _names(code: types.CodeType) -> frozenset[str]:
    """Every global-or-attribute name `code` and the functions inside it mention."""
    found = _NAMES.get(code)
    if found is None:
        names = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= _names(const)
        found = _NAMES[code] = frozenset(names)
    return found


def fresh_body(func: Callable[..., Any], config: dict[str, Any]) -> Callable[..., Any]:
    """`func` (a compiled run: body) with a shallow copy of its globals, where `config`
    is this job's copy and each list, dict or set global the body names is copied too."""
    assert isinstance(func, types.FunctionType)
    found = func.__globals__
    # a rule made inside a function has a dict subclass (lang.nested.Scope) that falls
    # back to the module globals: keep its class and that link
    scope = dict(found) if type(found) is dict else copy.copy(found)
    if "config" in scope:
        scope["config"] = config
    for name in _names(func.__code__):
        value = scope.get(name)
        if type(value) in _CONTAINERS:
            scope[name] = copy.copy(value)
    return types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__,
                              func.__closure__)


class ProcessState:
    """The cwd, environment and sys.path of this process, to put back after a job."""

    __slots__ = ("cwd", "env", "path")

    def __init__(self) -> None:
        self.cwd = os.getcwd()
        self.env = dict(_env_data())
        self.path = list(sys.path)

    def restore(self) -> None:
        try:
            if os.getcwd() != self.cwd:
                os.chdir(self.cwd)
        except OSError:   # the body removed the folder it moved to
            os.chdir(self.cwd)
        data = _env_data()
        if data != self.env:
            for key in [k for k in data if k not in self.env]:
                del os.environ[os.fsdecode(key)]
            for key, value in self.env.items():
                if data.get(key) != value:
                    os.environ[os.fsdecode(key)] = os.fsdecode(value)
        if sys.path != self.path:
            sys.path[:] = self.path


def _env_data() -> dict[Any, Any]:
    # os.environ's own encoded mapping: copying and comparing it is ~1 us, where going
    # through the decoding Mapping interface costs ~100 times that
    data: dict[Any, Any] = os.environ._data  # type: ignore[attr-defined]
    return data
