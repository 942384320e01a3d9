"""How a requested path meets a rule's output pattern, for the resolver (resolve.py).

`hinted` matches a path the requester made itself from the producer's pattern, reusing the
requester's wildcard values (no regex when the pattern's wildcards are free); `outermost`
finds the shortest of a path and its parent folders that a pattern matches (directory()
outputs).
"""

from __future__ import annotations

from ..core.patterns import Pattern

__all__ = ["hinted", "outermost"]


def hinted(pat: Pattern, path: str, given: dict[str, str]) -> dict[str, str] | None:
    """`pat.match(path)` for a path the requester made by formatting `pat.fmt` with its
    own wildcards `given`: the requester's values for `pat`'s wildcards when it has them
    all (a regex split of `path` may differ: `{a}_{b}`), else the regex's.

    When every wildcard of `pat` is free and the values are non-empty, the path matches
    by construction: no regex is run, and when `given` holds exactly `pat`'s wildcards
    (same order) the job shares that dict (10^5 jobs of a chain: one dict each, not two)."""
    names = pat.names
    if pat.free:
        if len(names) == 1 and len(given) == 1:   # the commonest case, without a loop
            if given.get(names[0]):
                return given
        elif len(given) == len(names) and all(
                [n == k and given[n] for n, k in zip(names, given)]):
            return given
        if all([given.get(n) for n in names]):
            return {n: given[n] for n in names}
    matched = pat.match(path)
    if matched is None:
        return None
    try:
        return {n: given[n] for n in names}
    except KeyError:
        return matched


def outermost(pat: Pattern, path: str) -> tuple[str, dict[str, str] | None]:
    """The shortest of `path` and its parent folders that `pat` matches, with wildcards."""
    cut = path.find("/")
    while cut >= 0:
        wc = pat.match(path[:cut])
        if wc is not None:
            return path[:cut], wc
        cut = path.find("/", cut + 1)
    return path, pat.match(path)
