"""`{wildcard}` patterns: compile to a regex once, then match and format cheaply.

Pure functions and one small class; no I/O except `glob_wildcards`, which lists files.
A pattern is compiled once per rule (never per job): matching a requested path is one
`re.fullmatch`, formatting a job's path is one `str.format`.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .errors import WorkflowError

__all__ = ["Pattern", "wildcard_names", "expand", "glob_wildcards", "format_wildcards",
           "WildcardError"]

# {name} or {name,regex}; the regex may hold braces of its own, e.g. {n,\d{3}}.
_WILDCARD = re.compile(
    r"""
    \{
        (?=(                                   # lookahead+backref: atomic, no backtracking
            \s*(?P<name>\w+)
            (\s*,\s*
                (?P<constraint>([^{}]+|\{\d+(,\d+)?\})*)
            )?\s*
        ))\1
    \}
    """,
    re.VERBOSE,
)


class WildcardError(ValueError):
    """A pattern is malformed or a wildcard has no value."""


_BRACE = re.compile(r"[{}]")


def _split(pattern: str) -> list[tuple[str, str | None, str | None]]:
    """Split into (literal, name, constraint) triples; `{{`/`}}` are literal braces."""
    parts: list[tuple[str, str | None, str | None]] = []
    literal: list[str] = []
    i = 0
    next_brace = _BRACE.search
    while True:      # from brace to brace: the text between is literal
        found = next_brace(pattern, i)
        if found is None:
            literal.append(pattern[i:])
            break
        at = found.start()
        literal.append(pattern[i:at])
        ch = pattern[at]
        if pattern.startswith(ch * 2, at):
            literal.append(ch)
            i = at + 2
            continue
        if ch == "{":
            m = _WILDCARD.match(pattern, at)
            if m is None:
                raise WildcardError(f"malformed wildcard in {pattern!r} at offset {at}")
            parts.append(("".join(literal), m.group("name"), m.group("constraint")))
            literal = []
            i = m.end()
            continue
        literal.append(ch)     # a lone '}'
        i = at + 1
    parts.append(("".join(literal), None, None))
    return parts


def wildcard_names(pattern: str) -> list[str]:
    """Wildcard names in order of first appearance."""
    if "{" not in pattern:
        return []  # the common case of a plain path (e.g. each of 10^5 expand() results)
    seen: dict[str, None] = {}
    for _, name, _ in _split(pattern):
        if name is not None:
            seen.setdefault(name)
    return list(seen)


class Pattern:
    """A compiled output/input pattern."""

    __slots__ = ("text", "names", "regex", "source", "fmt", "literal_prefix", "is_plain",
                 "free")

    def __init__(self, text: str, constraints: Mapping[str, str] | None = None) -> None:
        self.text = text
        parts = _split(text)
        constraints = constraints or {}
        regex: list[str] = []
        fmt: list[str] = []
        names: list[str] = []
        free = True
        plain_wildcards = True    # every wildcard `(?P<name>.+)`: the regex cannot be bad
        for literal, name, constraint in parts:
            regex.append(re.escape(literal))
            fmt.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is None:
                continue
            fmt.append("{" + name + "}")
            if name in names:
                regex.append(f"(?P={name})")
                continue
            names.append(name)
            rx = constraint if constraint is not None else constraints.get(name, ".+")
            free = free and rx == ".+"
            plain_wildcards = plain_wildcards and free and name.isascii() \
                and name.isidentifier()
            regex.append(f"(?P<{name}>{rx})")
        self.names: tuple[str, ...] = tuple(names)
        self.is_plain = not names
        self.source = "".join(regex)
        # Compiled on the first match (a plan matches few of a big file's patterns; `check`
        # none), unless a constraint or a name could make it invalid: that is an error now.
        self.regex: re.Pattern[str] | None = None
        if not plain_wildcards:
            self.regex = re.compile(self.source, re.DOTALL)
        self.fmt = "".join(fmt)
        self.literal_prefix = parts[0][0] if names else text
        # Every wildcard matches any non-empty text (no constraint; the regex is DOTALL):
        # a path made by formatting `fmt` with non-empty values matches, with those values.
        self.free = free and not self.is_plain

    def match(self, path: str) -> dict[str, str] | None:
        """Wildcard values if `path` matches the whole pattern, else None."""
        if self.is_plain:
            return {} if path == self.text else None
        if not path.startswith(self.literal_prefix):
            return None
        regex = self.regex
        if regex is None:
            regex = self.regex = re.compile(self.source, re.DOTALL)
        m = regex.fullmatch(path)
        return m.groupdict() if m else None

    def format(self, wildcards: Mapping[str, Any]) -> str:
        if self.is_plain:
            return self.text
        try:
            return self.fmt.format_map(wildcards)
        except KeyError as err:
            raise WildcardError(f"no value for wildcard {{{err.args[0]}}} in {self.text!r}") from None

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"


def format_wildcards(text: str, wildcards: Mapping[str, Any]) -> str:
    """Format a string value (input, log, params...) with a job's wildcards.

    Uses the same `{{`/`}}` escapes and ignores constraints inside braces.
    """
    if "{" not in text and "}" not in text:
        return text
    return Pattern(text).format(wildcards)


def expand(pattern: str | Iterable[str], *combinator: Any, allow_missing: bool = False,
           **lists: Any) -> list[str]:
    """Snakemake's expand: fill `{name}` from lists, as a product (default) or `zip`.

    `expand("{s}.txt", s=["a", "b"])`; `expand(p, zip, a=[...], b=[...])`; `{{x}}` stays `{x}`.
    With `allow_missing=True`, wildcards without a list stay in place.
    """
    if callable(pattern) or any(callable(v) for v in lists.values()):
        return _expand_later(pattern, combinator, allow_missing, lists)  # type: ignore[no-any-return]
    if isinstance(pattern, os.PathLike):
        pattern = os.fspath(pattern)
    patterns = [pattern] if isinstance(pattern, str) else [os.fspath(p) for p in pattern]
    for pat in patterns:
        flags = sorted(getattr(pat, "flags", ()))
        # `expand(rules.a.output, ...)`: items of rules.NAME carry the producer's "rule:NAME"
        # mark and its output flags, which Snakemake's rules.NAME strips: plain paths here.
        if any(f.startswith("rule:") for f in flags):
            flags = []
        if flags:  # expand() returns plain strings: the flag would be dropped silently
            raise WorkflowError(
                f"{flags[0]}() inside expand() would be lost: expand() makes plain paths",
                hint=f"flag the expanded paths instead: {flags[0]}(expand({str(pat)!r}, ...))")
    combine = combinator[0] if combinator else itertools.product
    values = {k: [v] if isinstance(v, str) or not isinstance(v, Iterable) else list(v)
              for k, v in lists.items()}
    keys = list(values)
    out: list[str] = []
    for pat in patterns:
        fmt_parts: list[str] = []
        for literal, name, _ in _split(pat):
            fmt_parts.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is None:
                continue
            if name in values:
                fmt_parts.append("{" + name + "}")
            elif allow_missing:
                fmt_parts.append("{{" + name + "}}")
            else:
                raise WildcardError(
                    f"expand: no values given for wildcard {{{name}}} in {pat!r}")
        fmt = "".join(fmt_parts)
        if len(keys) == 1 and combine in (itertools.product, zip):
            # one list (expand("c/{s}.txt", s=SAMPLES), 10^5 items): each combination is
            # one value; no tuples to zip into dicts
            key = keys[0]
            out.extend([fmt.format_map({key: v}) for v in values[key]])
            continue
        for combo in combine(*(values[k] for k in keys)):
            out.append(fmt.format_map(dict(zip(keys, combo))))
    return out


def _expand_later(pattern: Any, combinator: tuple[Any, ...], allow_missing: bool,
                  lists: dict[str, Any]) -> Any:
    """expand() with a function among its arguments is an input function (as in
    Snakemake): each function is called with the job's wildcards, then expand() runs."""
    def expand_for(wildcards: Any) -> list[str]:
        pat = pattern(wildcards) if callable(pattern) else pattern
        values = {k: v(wildcards) if callable(v) else v for k, v in lists.items()}
        return expand(pat, *combinator, allow_missing=allow_missing, **values)

    return expand_for


def glob_wildcards(pattern: str | os.PathLike[str], files: Iterable[str] | None = None) -> Any:
    """Values of each wildcard in `pattern` for every matching existing file.

    Returns a named tuple with one list per wildcard, e.g. `glob_wildcards("{s}.fq").s`.
    `pattern` may be a pathlib.Path.
    """
    pattern = os.fspath(pattern)
    pat = Pattern(os.path.normpath(pattern) if not pattern.startswith("./") else pattern)
    names = pat.names
    result_type = NamedTuple("Wildcards", [(n, list) for n in names])  # type: ignore[misc]
    found: dict[str, list[str]] = {n: [] for n in names}
    if files is None:
        prefix = pat.literal_prefix
        root = os.path.dirname(prefix) or "."
        files = []
        if os.path.isdir(root):
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for fname in sorted(filenames + dirnames):
                    path = os.path.join(dirpath, fname)
                    if root == "." and not prefix.startswith("./"):
                        path = os.path.relpath(path, ".")
                    files.append(path)
    for path in files:
        m = pat.match(path)
        if m is not None:
            for n in names:
                found[n].append(m[n])
    return result_type(*(found[n] for n in names))
