"""Judging jobs by content against `rulekit.manifest` (docs/ci.md), and making its entries.

    ContentHasher   content hashes of files, taken only when the store does not know the file
                    at its current size and mtime; new hashes go back to the store
    ContentJudge    the planner's content test for a job whose outputs have no store record:
                    [] (up to date), reasons, or None (the manifest does not list the job)
    entry_for       a job's manifest entry, from the files as they are now

The planner asks `ContentJudge.open(...)` once per plan; without a manifest file it returns
None and planning costs nothing more. The file is read on the first job that needs it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from typing import Any

from ..core.hashing import file_checksum
from ..core.model import Job, Workflow
from ..core.paramtext import canonical_params
from .fs import FileStat
from .manifest import MANIFEST_NAME, Entry, FileRow, manifest_path, read_manifest
from .reasons import ContentChanged, Reason
from .triggers import code_changed, input_set_changed, job_params, params_changed

__all__ = ["ContentHasher", "ContentJudge", "entry_for", "manifest_file"]


def manifest_file(workflow: Workflow) -> str | None:
    """The workflow's manifest path when that file exists, else None."""
    rule_file = getattr(workflow, "path", None)
    if not rule_file:
        return None
    path = manifest_path(str(rule_file))
    return path if os.path.isfile(path) else None


class ContentHasher:
    """Hashes of workdir-relative files; `stat` is the planner's cached stat."""

    def __init__(self, root: str, stat: Callable[[str], FileStat | None], store: Any) -> None:
        self.root = root
        self.stat = stat
        self.store = store
        self.known: dict[str, tuple[int, int, str]] | None = None
        self.fresh: dict[str, tuple[int, int, str]] = {}

    def prefetch(self, paths: Sequence[str]) -> None:
        """What the store knows about these files, in one read."""
        read = getattr(self.store, "file_hashes", None)
        self.known = dict(read(paths)) if read is not None else {}

    def row(self, path: str) -> FileRow | None:
        """The file's current FileRow, or None when it does not exist."""
        st = self.stat(path)
        if st is None:
            return None
        if st.is_dir:
            return FileRow(path, self._tree(path), None)
        return FileRow(path, self._file(path, st.mtime_ns, st.size), st.size)

    def _file(self, path: str, mtime_ns: int, size: int) -> str:
        if self.known is None:
            self.prefetch([path])
        for table in (self.fresh, self.known):
            hit = table.get(path) if table else None
            if hit is not None and hit[0] == mtime_ns and hit[1] == size:
                return hit[2]
        digest: str = file_checksum(os.path.join(self.root, path))
        self.fresh[path] = (mtime_ns, size, digest)
        return digest

    def _tree(self, folder: str) -> str:
        """A folder's hash: every file below it, by relative path and content."""
        digest = hashlib.blake2b(digest_size=16)
        top = os.path.join(self.root, folder)
        for here, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(here, name)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                digest.update(f"{os.path.relpath(full, top)}\0"
                              f"{self._file(rel, st.st_mtime_ns, st.st_size)}\n".encode(
                                  "utf-8", "surrogateescape"))
        return digest.hexdigest()

    def save(self) -> None:
        """Hand the hashes taken to the store, so the next plan need not take them again."""
        put = getattr(self.store, "put_file_hashes", None)
        if self.fresh and put is not None:
            put([(path, *row) for path, row in self.fresh.items()])
            self.fresh = {}


def _skip(inp: Any) -> bool:
    return type(inp) is not str and "ancient" in getattr(inp, "flags", ())


def entry_for(job: Job, hasher: ContentHasher) -> Entry | None:
    """The job's entry from the files as they are now; None if an output is missing."""
    outputs = [hasher.row(str(p)) for p in job.output]
    if not outputs or any(row is None for row in outputs):
        return None
    inputs = [row for row in (hasher.row(str(p)) for p in job.input) if row is not None]
    params = canonical_params(job_params(job)) if job.params else "{}"
    return Entry(job.rule.name, dict(job.wildcards), params, job.rule.code_hash,
                 inputs, outputs)  # type: ignore[arg-type]


class ContentJudge:
    """The planner's content test (see the module docstring)."""

    def __init__(self, path: str, hasher: ContentHasher, triggers: set[str]) -> None:
        self.path = path
        self.hasher = hasher
        self.content = bool(triggers & {"mtime", "checksum"})
        self.params = "params" in triggers
        self.inputs = "input" in triggers
        self.code = "code" in triggers
        self.entries: dict[str, Entry] | None = None
        self.unlisted: dict[int, str] = {}   # job id -> job name

    @classmethod
    def open(cls, workflow: Workflow, root: str, stat: Callable[[str], FileStat | None],
             store: Any, triggers: set[str]) -> ContentJudge | None:
        path = manifest_file(workflow)
        if path is None:
            return None
        return cls(path, ContentHasher(root, stat, store), triggers)

    def _load(self) -> dict[str, Entry]:
        entries = self.entries = read_manifest(self.path)
        self.hasher.prefetch([row.path for e in entries.values()
                              for row in (*e.inputs, *e.outputs)])
        return entries

    def reasons(self, job: Job, already: Sequence[Reason],
                reasons: Sequence[Any], waiting: bool) -> list[Reason] | None:
        """Why `job` (no store record, an output exists) runs by its manifest entry; None
        when the manifest does not list it. `already`: reasons found so far; `reasons`:
        the plan's reasons by job id so far (a job whose upstream runs is not hashed)."""
        entries = self.entries if self.entries is not None else self._load()
        outputs = job.output
        entry = entries.get(outputs[0])
        if entry is None or entry.rule != job.rule.name or \
                [row.path for row in entry.outputs] != list(outputs):
            if not already and not any(reasons[d.id] for d in job.deps):
                self.unlisted[job.id] = job.name
            return None
        found: list[Reason] = []
        if self.content and not already and not any(reasons[d.id] for d in job.deps):
            recorded = {row.path: row for row in entry.inputs}
            for inp in job.input:
                row = recorded.get(inp)
                if row is not None and not _skip(inp):
                    self._compare(row, "input", found)
            for row in entry.outputs:
                self._compare(row, "output", found)
        if self.params:
            found.extend(params_changed(job, entry))
        if self.inputs and not waiting:
            found.extend(input_set_changed(job, entry.inputs))
        if self.code:
            found.extend(code_changed(job, entry))
        return found

    def _compare(self, row: FileRow, role: str, found: list[Reason]) -> None:
        now = self.hasher.row(row.path)
        if now is not None and now.hash != row.hash:
            found.append(ContentChanged(row.path, role, row.hash, now.hash))

    def warnings(self) -> list[str]:
        if not self.unlisted:
            return []
        names = list(self.unlisted.values())
        n = len(names)
        shown = ", ".join(names[:3]) + (f", ... ({n - 3} more)" if n > 3 else "")
        return [f"{n} job{'s' if n != 1 else ''} with outputs but no record "
                f"{'are' if n != 1 else 'is'} not in {MANIFEST_NAME} ({shown}): judged by "
                f"timestamps; `rulekit manifest` adds {'them' if n != 1 else 'it'}"]

    def finish(self) -> None:
        self.hasher.save()
