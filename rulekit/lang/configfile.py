"""Config files: reading a YAML or JSON mapping, and merging config layers key by key."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import LoadError
from ..core.source import Span

__all__ = ["deep_merge", "read_config"]


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge `extra` into `base` in place, recursing into nested dicts.

    Values are copied, so later merges into `base` never alter `extra` (the overrides are
    merged again after every configfile: statement)."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def read_config(path: str, span: Span | None) -> dict[str, Any]:
    shown = os.path.relpath(path) if span is not None else path
    try:
        text = Path(path).read_text(encoding="utf-8")
    except IsADirectoryError:
        raise LoadError(f"config file {shown} is a folder, not a file", span) from None
    except OSError:
        raise LoadError(f"config file not found: {shown}", span,
                        facts=[("looked for", path)]) from None
    except UnicodeDecodeError as err:
        raise LoadError(f"config file {shown} is not UTF-8 text ({err.reason} at byte "
                        f"{err.start})", span) from None
    try:
        import json

        import yaml  # only when there is a config file to read (it takes ~10 ms to import)

        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise LoadError(f"config file {shown} is not valid JSON: {err.msg} "
                        f"(line {err.lineno}, column {err.colno})", span) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise LoadError(f"config file {shown} is not valid YAML: {problem}{where}", span) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LoadError(f"config file {path} must hold a mapping at the top, not {type(data).__name__}", span)
    return data
