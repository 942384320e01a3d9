"""The stored text of a job's params, which the `params` rerun trigger compares.

The text must be the same in every process for the same values: keys are sorted, sets and
frozensets are written as lists in a fixed order (their iteration order changes from one
process to the next with PYTHONHASHSEED), and any other object is written as its `repr()`.
A repr that carries a memory address (`<Foo object at 0x7f...>`) differs on every run;
`unstable_params` finds such values so that the planner can warn once.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["canonical_params", "unstable_params"]

_ADDRESS = re.compile(r" (?:object )?at 0x[0-9a-fA-F]+")


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=_sort_key)
    return repr(obj)


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_default)


def canonical_params(params: Any) -> str:
    """The stored form of params: key order, set order and float repr fixed, other objects
    by repr."""
    return json.dumps(params, sort_keys=True, default=_default)


_PLAIN = (str, int, float, bool, type(None))


def unstable_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    """(param name, text) for each value whose text holds a memory address."""
    found = []
    for name, value in params.items():
        if isinstance(value, _PLAIN):
            continue
        text = canonical_params(value)
        match = _ADDRESS.search(text)
        if match:
            found.append((name, _excerpt(text, match.start())))
    return found


def _excerpt(text: str, at: int) -> str:
    start = text.rfind("<", 0, at)
    end = text.find(">", at)
    if start < 0 or end < 0:
        return text[:80]
    return text[start:end + 1]
