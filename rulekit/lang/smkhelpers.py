"""Snakemake 8's rule-file helpers (`collect`, `branch`, `lookup`, `evaluate`, `exists`),
the path markers that only matter elsewhere (`pipe`, `repeat`, `local`), and located
"not supported by rulekit" errors for the helpers that need Snakemake's storage or
scheduler (`storage.*`, `service`, `ensure`, `update`, ...).

Semantics follow Snakemake's: a helper given a function (or a pattern that needs the job's
wildcards) returns an input function, evaluated once the wildcards are known; otherwise it
answers at once. `None` results of `branch` become `[]` (no input).
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ..core.errors import WorkflowError
from ..core.model import flag
from ..core.patterns import expand

__all__ = ["HELPERS", "NamedPaths", "collect", "branch", "lookup", "evaluate", "exists",
           "pipe", "repeat", "local"]

_NO_DEFAULT = object()
# `{name}` or `{name.attr}` in a lookup expression (not `{{`).
_FIELD = re.compile(r"(?<!\{)\{([A-Za-z_]\w*)[^{}]*\}")


class NamedPaths(dict[str, Any]):
    """`multiext("a", bam=".bam")`: items that become named inputs or outputs."""


collect = expand


def branch(condition: Any, then: Any = None, otherwise: Any = None,
           cases: Mapping[Any, Any] | None = None) -> Any:
    """`then` if `condition` holds, else `otherwise`; with `cases`, the case the condition
    names (falling back to `otherwise`). Any of them may be a function of the wildcards:
    then the result is an input function."""
    if cases is not None and then is not None:
        raise ValueError("branch(): 'cases' and 'then' cannot be used together")

    def value(item: Any, wildcards: Any) -> Any:
        return (item(wildcards) if callable(item) else item) or []

    def choose(wildcards: Any) -> Any:
        if cases is None:
            return value(then if value(condition, wildcards) else otherwise, wildcards)
        key = value(condition, wildcards)
        if key in cases:
            return value(cases[key], wildcards)
        if otherwise is not None:
            return value(otherwise, wildcards)
        raise KeyError(f"branch(): {key!r} is not one of the given cases")

    if any(callable(x) for x in (condition, then, otherwise)) or \
            (cases is not None and any(callable(v) for v in cases.values())):
        def branch_input(wildcards: Any) -> Any:
            return choose(wildcards)
        return branch_input
    return choose(None)


def _dpath(within: Mapping[str, Any], path: str, default: Any) -> Any:
    """`a/b/0` in nested dicts and lists; a glob segment (`*`) gives every match's value."""
    nodes: list[Any] = [within]
    globbed = False
    for part in [p for p in path.split("/") if p]:
        found: list[Any] = []
        for node in nodes:
            if isinstance(node, Mapping):
                if any(c in part for c in "*?["):
                    globbed = True
                    found += [v for k, v in node.items() if fnmatch.fnmatchcase(str(k), part)]
                elif part in node:
                    found.append(node[part])
            elif isinstance(node, (list, tuple)) and part.lstrip("-").isdigit() \
                    and -len(node) <= int(part) < len(node):
                found.append(node[int(part)])
        nodes = found
    if not nodes:
        if default is not _NO_DEFAULT:
            return default
        raise LookupError(f"lookup(): no value at {path!r}")
    return nodes if globbed else nodes[0]


def _query(within: Any, query: str, cols: Any, is_nrows: int | None) -> Any:
    try:
        res = within.query(query)
    except Exception as exc:
        raise LookupError(f"lookup(): query {query!r} failed: {exc}") from exc
    if is_nrows is not None:
        return len(res) == is_nrows
    if cols is not None:
        res = res[cols]
        if not isinstance(cols, list):
            values = res.to_list()
            if len(values) == 1:
                import pandas as pd
                return None if pd.isna(values[0]) else values[0]
            return values
    rows = list(res.itertuples(index=cols is None))
    return rows[0] if len(rows) == 1 else rows


def lookup(dpath: str | None = None, query: str | None = None, cols: Any = None,
           is_nrows: int | None = None, within: Any = None, default: Any = _NO_DEFAULT,
           **namespace: Any) -> Any:
    """A value from a mapping (`dpath="samples/{sample}/path"`, `within=config`) or rows
    of a pandas DataFrame (`query="sample == '{sample}'"`, `within=table`). Names in
    braces come from `namespace` and else from the job's wildcards."""
    if within is None:
        raise LookupError("lookup(): give a mapping or a DataFrame as within=")
    if query is not None:
        if isinstance(within, Mapping):
            raise LookupError("lookup(): query= needs a pandas DataFrame or Series, "
                              "use dpath= for a mapping")
        if hasattr(within, "to_frame") and not hasattr(within, "columns"):
            within = within.to_frame()
        expression, table = query, within

        def apply(text: str, names: Mapping[str, Any]) -> Any:
            chosen = cols
            if cols is not None and names:
                chosen = [c.format(**names) for c in cols] if isinstance(cols, list) \
                    else str(cols).format(**names)
            return _query(table, text, chosen, is_nrows)
        col_texts = cols if isinstance(cols, list) else [cols] if cols is not None else []
    elif dpath is not None:
        if not isinstance(within, Mapping):
            raise LookupError("lookup(): dpath= needs a mapping such as config")
        expression, mapping, col_texts = dpath, within, []

        def apply(text: str, names: Mapping[str, Any]) -> Any:
            return _dpath(mapping, text, default)
    else:
        raise LookupError("lookup(): give dpath= or query=")

    needs = [n for text in [expression, *col_texts] if isinstance(text, str)
             for n in _FIELD.findall(text) if n not in namespace]
    if callable(expression) or needs or any(callable(v) for v in namespace.values()):
        def lookup_input(wildcards: Any) -> Any:
            names = {k: (v(wildcards) if callable(v) else v) for k, v in namespace.items()}
            for key, val in dict(wildcards.items()).items():
                names.setdefault(key, val)
            text = expression(wildcards) if callable(expression) else expression
            return apply(text.format(**names), names)
        return lookup_input
    return apply(expression.format(**namespace) if namespace else expression, namespace)


def evaluate(expr: str) -> Callable[[Any], Any]:
    """An input function: `expr` with each `{wildcard}` replaced by the value's repr,
    evaluated as Python (with the rule file's names)."""
    scope = sys._getframe(1).f_globals

    def evaluate_input(wildcards: Any) -> Any:
        text = expr.format(**{k: repr(v) for k, v in dict(wildcards.items()).items()})
        try:
            return eval(text, scope)
        except Exception as exc:
            raise ValueError(f"evaluate(): {text!r} failed: {type(exc).__name__}: "
                             f"{exc}") from exc
    return evaluate_input


def exists(path: str | os.PathLike[str]) -> bool:
    """Does the file or folder exist (relative to the working directory)?"""
    return os.path.exists(path)


def pipe(path: Any) -> Any:
    """Snakemake's named pipe, as a temp file: the producer finishes before the consumer
    starts (rulekit runs no two jobs of a pipe group at once)."""
    return flag(path, "temp")


def repeat(path: Any, times: int) -> Any:
    """`benchmark: repeat("b.tsv", 3)`: rulekit runs the job once and writes one row."""
    if not isinstance(times, int) or times < 1:
        raise ValueError(f"repeat(): the number of runs must be a positive integer, "
                         f"got {times!r}")
    return path


def local(path: Any) -> Any:
    """Snakemake's marker for a path outside remote storage (every path is local here)
    that a module's `prefix:` must not move."""
    return flag(path, "local")


def _unsupported(name: str, hint: str) -> Callable[..., Any]:
    def helper(*args: Any, **kwargs: Any) -> Any:
        raise WorkflowError(f"'{name}()' is not supported by rulekit", hint=hint)
    helper.__name__ = name
    return helper


class _Storage:
    """`storage.http(...)`, `storage("s3://...")`: remote storage is not supported."""

    def _fail(self) -> Any:
        raise WorkflowError("'storage' (remote files) is not supported by rulekit",
                            hint="download inputs with a rule (e.g. shell: \"curl -o "
                                 "{output} URL\") and use local paths")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._fail()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail()


_SCHEDULER_HINT = "see docs/snakemake.md for what rulekit supports"

#: Names added to every rule file's namespace.
HELPERS: dict[str, Any] = {
    "collect": collect, "branch": branch, "lookup": lookup, "evaluate": evaluate,
    "exists": exists, "pipe": pipe, "repeat": repeat, "local": local,
    "storage": _Storage(),
    **{name: _unsupported(name, _SCHEDULER_HINT)
       for name in ("service", "ensure", "update", "before_update", "from_queue")},
}
