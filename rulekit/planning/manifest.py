"""`rulekit.manifest`: the committed content hashes of up-to-date jobs (docs/ci.md).

    Entry           one job: rule, wildcards, params text, code hash, input and output rows
    FileRow         one file of an entry: path, content hash, size (None for a folder)
    read_manifest   the file -> entries by first output path (cached by size and mtime),
                    or a WorkflowError pointing at the line that does not parse
    write_manifest  entries -> the file, sorted by first output path, written atomically
    manifest_path   where a workflow's manifest lives: beside its rule file

The text is made for review diffs and merges: one block per job, one line per file, blocks
sorted by the job's first output, so a change to one job touches only its own lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from ..core.errors import WorkflowError
from ..core.source import Span

__all__ = ["MANIFEST_NAME", "FORMAT", "Entry", "FileRow", "manifest_path", "read_manifest",
           "render_manifest", "write_manifest"]

MANIFEST_NAME = "rulekit.manifest"
FORMAT = 1
HEADER = ("# rulekit.manifest: content hashes of up-to-date jobs; commit it with the results.\n"
          "# Written by `rulekit manifest`, refreshed by each successful `rulekit run`. "
          "See docs/ci.md.\n")
_VERSION = "rulekit-manifest"


class FileRow(NamedTuple):
    """An input or output of an entry. `path` first: rows read like the store's input rows."""

    path: str
    hash: str
    size: int | None   # None: a directory() folder (its hash covers the files below it)


@dataclass(slots=True)
class Entry:
    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)
    params: str = "{}"           # canonical params text, as the store records it
    code_hash: str | None = None
    inputs: list[FileRow] = field(default_factory=list)
    outputs: list[FileRow] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.outputs[0].path


def manifest_path(rule_file: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(rule_file)), MANIFEST_NAME)


# --------------------------------------------------------------------------- writing

def _text(value: str) -> str:
    """A path or value as written: plain when that reads back unchanged, else JSON."""
    if value and value.isprintable() and value == value.strip() and value[0] != '"':
        return value
    return json.dumps(value)


def _row(kind: str, row: FileRow) -> str:
    size = "-" if row.size is None else str(row.size)
    return f"  {kind} {row.hash} {size} {_text(row.path)}\n"


def render_manifest(entries: Iterable[Entry]) -> str:
    parts = [HEADER, f"{_VERSION} {FORMAT}\n"]
    for entry in sorted(entries, key=lambda e: e.key):
        parts.append(f"\njob {entry.rule}\n")
        parts.extend(f"  wildcard {name} {_text(value)}\n"
                     for name, value in entry.wildcards.items())
        if entry.params != "{}":
            parts.append(f"  params {entry.params}\n")
        if entry.code_hash:
            parts.append(f"  code {entry.code_hash}\n")
        parts.extend(_row("in", row) for row in entry.inputs)
        parts.extend(_row("out", row) for row in entry.outputs)
    return "".join(parts)


def write_manifest(path: str, entries: Iterable[Entry]) -> None:
    """Replace the file atomically (a crash never leaves half a manifest)."""
    text = render_manifest(entries)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, path)
    _CACHE.pop(path, None)


# --------------------------------------------------------------------------- reading

# path -> (mtime_ns, size, entries): a run re-plans after every checkpoint; parse once.
_CACHE: dict[str, tuple[int, int, dict[str, Entry]]] = {}


def read_manifest(path: str) -> dict[str, Entry]:
    """Entries by first output path. Raises WorkflowError (exit 2) with the line and column
    of the first line that does not parse."""
    st = os.stat(path)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
        return cached[2]
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        entries = _parse(fh.read(), path)
    _CACHE[path] = (st.st_mtime_ns, st.st_size, entries)
    return entries


def _error(path: str, number: int, col: int, message: str) -> WorkflowError:
    return WorkflowError(message, Span(path, number, col),
                         hint="fix the line (a merge conflict left in the file?), or write the "
                              "file again from the working copy with `rulekit manifest`")


def _value(text: str) -> str:
    return json.loads(text) if text.startswith('"') else text


def _parse(text: str, path: str) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    entry: Entry | None = None
    start = 0
    seen_version = False

    def close(number: int) -> None:
        if entry is None:
            return
        if not entry.outputs:
            raise _error(path, start, 1, f"job {entry.rule} in {MANIFEST_NAME} lists no "
                                         "output (`out` line)")
        entries[entry.key] = entry

    number = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if not seen_version:
            word, _, version = line.partition(" ")
            if word != _VERSION or not version.isdigit():
                raise _error(path, number, 1, f"{MANIFEST_NAME} should start with "
                                              f"'{_VERSION} {FORMAT}'")
            if int(version) != FORMAT:
                raise _error(path, number, len(_VERSION) + 2,
                             f"{MANIFEST_NAME} has format {version}; this rulekit reads "
                             f"format {FORMAT}")
            seen_version = True
            continue
        if line.startswith("job ") and line[4:].isidentifier():
            close(number)
            entry, start = Entry(line[4:]), number
            continue
        if entry is None or not line.startswith("  "):
            raise _error(path, number, 1, f"unexpected line in {MANIFEST_NAME}")
        key, _, rest = line[2:].partition(" ")
        try:
            if key in ("in", "out"):
                digest, size, name = rest.split(" ", 2)
                row = FileRow(_value(name), digest, None if size == "-" else int(size))
                (entry.inputs if key == "in" else entry.outputs).append(row)
            elif key == "wildcard":
                name, value = rest.split(" ", 1)
                entry.wildcards[name] = _value(value)
            elif key == "params":
                entry.params = rest
            elif key == "code":
                entry.code_hash = rest
            else:
                raise _error(path, number, 3, f"unknown field {key!r} in {MANIFEST_NAME} "
                                              "(expected wildcard, params, code, in or out)")
        except ValueError:
            raise _error(path, number, 3, f"cannot read this {key!r} line of "
                                          f"{MANIFEST_NAME}") from None
    if not seen_version and text.strip():
        raise _error(path, max(number, 1), 1, f"{MANIFEST_NAME} has no '{_VERSION}' line")
    close(number)
    return entries
