"""Paths as user code sees them: strings with Snakemake's file methods.

The DAG keeps job paths as plain strings (cheap at 10^5 jobs). Where user code gets a job's
files (run: bodies, scripts, params and resources functions, `checkpoints.X.get().output`)
they are wrapped in `IOPath`s inside `IOList`s, so Snakefiles can write `input[0].open()`,
`output.table.exists()`, `input.size_mb` or `input[0].mtime` as they do under Snakemake.
A wrapped path is still a `str` (equal, hashable, usable in `open()` and f-strings), and
flags attached by temp()/directory()/... survive the wrapping.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import IO, Any

from .model import AnnotatedPath, NamedList

__all__ = ["IOPath", "IOList", "io_list", "fspaths"]

_MB = 1024 * 1024


class _SizeUnits:
    """`.size_kb`, `.size_mb`, `.size_gb` from `.size` (bytes), as Snakemake's paths have."""

    __slots__ = ()

    @property
    def size(self) -> int:
        raise NotImplementedError

    @property
    def size_mb(self) -> float:
        return self.size / _MB

    @property
    def size_gb(self) -> float:
        return self.size / _MB / 1024

    @property
    def size_kb(self) -> float:
        return self.size / 1024


class IOPath(_SizeUnits, str):
    """A job path with `.exists()`, `.open()`, `.size`, `.size_mb`, `.size_gb`, `.mtime`."""

    flags: frozenset[str]

    def __new__(cls, value: str) -> IOPath:
        obj = super().__new__(cls, value)
        obj.flags = getattr(value, "flags", frozenset())
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (str(self), tuple(self.flags)))

    def exists(self) -> bool:
        """True if the file (or folder, or symlink) is there."""
        return os.path.lexists(self)

    @contextlib.contextmanager
    def open(self, mode: str = "r", buffering: int = -1, encoding: str | None = None,
             errors: str | None = None, newline: str | None = None) -> Iterator[IO[Any]]:
        """`with input[0].open() as f:` as in Snakemake (the file is closed afterwards)."""
        with open(self, mode, buffering, encoding, errors, newline) as handle:
            yield handle

    @property
    def size(self) -> int:
        """Size in bytes (0 for a missing file, as planning inputs may not exist yet)."""
        try:
            return os.stat(self).st_size
        except OSError:
            return 0

    @property
    def mtime(self) -> float:
        """Modification time of the file itself (a symlink's own time), seconds."""
        return os.lstat(self).st_mtime

    @property
    def file(self) -> str:
        return str(self)

    def is_directory(self) -> bool:
        return os.path.isdir(self)


def _rebuild(value: str, flags: tuple[str, ...]) -> IOPath:
    obj = IOPath(value)
    obj.flags = frozenset(flags)
    return obj


class IOList(_SizeUnits, NamedList):
    """A NamedList of IOPaths; `.size`, `.size_mb`, `.size_gb` total every file."""

    __slots__ = ()

    @property
    def size(self) -> int:
        return sum(p.size for p in self if isinstance(p, IOPath))

    def _get(self, name: str) -> Any:
        where = self._names[name]
        if isinstance(where, tuple):
            return IOList(self[where[0]:where[1]])
        return self[where]

    def __reduce__(self) -> tuple[Any, ...]:
        return (IOList, (list(self), dict(self._names)))


def _wrap(item: Any) -> Any:
    if isinstance(item, IOPath) or not isinstance(item, str):
        return item
    return IOPath(item)


def io_list(items: Any) -> IOList:
    """Wrap a NamedList (or any list) of paths; names are kept."""
    if isinstance(items, IOList):
        return items
    names = items.names() if isinstance(items, NamedList) else None
    return IOList([_wrap(p) for p in items], names)


def fspaths(value: Any) -> Any:
    """pathlib.Path (any os.PathLike) -> str, inside lists, tuples and dicts too; a trailing
    slash is dropped (`directory("out/")` is "out"), as Snakemake does."""
    if isinstance(value, str):
        if len(value) > 1 and value.endswith("/") and "{" not in value[-2:]:
            stripped = value.rstrip("/") or "/"
            return AnnotatedPath(stripped, value.flags) if isinstance(value, AnnotatedPath) \
                else stripped
        return value
    if callable(value):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return type(value)(fspaths(v) for v in value) if type(value) in (list, tuple) else \
            [fspaths(v) for v in value]
    if isinstance(value, dict):
        return {k: fspaths(v) for k, v in value.items()}
    return value
