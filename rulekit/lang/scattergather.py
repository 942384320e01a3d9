"""Snakemake's scatter/gather: `scattergather: split=4` declares how many pieces a name has;
`scatter.split("parts/{scatteritem}.txt")` and `gather.split(...)` are the paths of all its
pieces, `{scatteritem}` being `1-of-4` ... `4-of-4` (further keyword arguments fill other
wildcards, as in `expand`, and `allow_missing=True` keeps the rest).

The count is read when the function is called, and may come from the config
(`scattergather: split=config["split"]`); `scatteritem` is constrained to `\\d+-of-\\d+` for
every rule once a `scattergather:` is declared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core.errors import LoadError, UsageError, WorkflowError
from ..core.patterns import expand
from ..core.source import Span

__all__ = ["declare", "check_overrides", "SplitPaths", "SCATTERITEM"]

SCATTERITEM = r"\d+-of-\d+"


def declare(counts: dict[str, int], args: tuple[Any, ...], kwargs: dict[str, Any],
            span: Span, overrides: Mapping[str, int] | None = None) -> None:
    """`scattergather: NAME=N, ...` into `counts` (the workflow's); `overrides` (from
    --set-scatter) win over the rule file's counts."""
    if args or not kwargs:
        raise LoadError("scattergather: expected NAME=COUNT items, e.g. split=8", span)
    for name, count in kwargs.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise LoadError(f"scattergather: {name} must be a whole number of at least 1, "
                            f"got {count!r}", span)
        counts[name] = (overrides or {}).get(name, count)


def check_overrides(counts: Mapping[str, int], overrides: Mapping[str, int]) -> None:
    """Every --set-scatter name must be one a scattergather: declared."""
    unknown = sorted(set(overrides) - set(counts))
    if unknown:
        known = ", ".join(sorted(counts)) or "none"
        raise UsageError(f"--set-scatter {unknown[0]}: no scattergather: declares it "
                         f"(declared: {known})")


class SplitPaths:
    """`scatter` or `gather` in a rule file: one function per declared name."""

    def __init__(self, counts: Mapping[str, int], what: str) -> None:
        self._counts = counts
        self._what = what

    def __getattr__(self, name: str) -> Callable[..., list[str]]:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._counts:
            known = ", ".join(sorted(self._counts)) or "none"
            raise WorkflowError(f"{self._what}.{name}: no scattergather: declares {name!r} "
                                f"(declared: {known})")
        counts = self._counts

        def paths(pattern: Any, *combinator: Any, **wildcards: Any) -> list[str]:
            n = counts[name]
            items = [f"{i}-of-{n}" for i in range(1, n + 1)]
            return expand(pattern, *combinator, scatteritem=items, **wildcards)

        paths.__name__ = f"{self._what}_{name}"
        return paths
