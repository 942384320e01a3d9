"""Writing `rulekit.manifest` (docs/ci.md): `rulekit manifest`, and the refresh after a run.

    update_manifest   entries for the up-to-date jobs of a plan (what `rulekit manifest` does)
    refresh_manifest  entries for the jobs a successful run made, when the file exists

Hashes go through `ContentHasher`, so a file the store knows at its size and mtime is not read
again, and the hashes taken are remembered in the store for the next plan.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from filelock import FileLock, Timeout

from ..core.errors import LockError
from ..core.model import Job, Workflow
from ..planning.content import ContentHasher, entry_for, manifest_file
from ..planning.fs import FileSystem
from ..planning.manifest import MANIFEST_NAME, Entry, manifest_path, read_manifest, write_manifest
from ..planning.plan import Plan
from .folders import private_folder
from .locks import lock_dir

__all__ = ["ManifestUpdate", "update_manifest", "refresh_manifest"]

MANIFEST_LOCK_TIMEOUT = 60.0   # a writer holds it while hashing the outputs of its jobs


@dataclass
class ManifestUpdate:
    """What `rulekit manifest` did, for its report."""

    path: str
    written: int = 0
    new: int = 0
    changed: int = 0
    dropped: int = 0
    stale: list[str] = field(default_factory=list)   # names of jobs that would run

    def summary(self) -> str:
        parts = [f"{n} {what}" for n, what in ((self.new, "new"), (self.changed, "changed"),
                                                (self.written - self.new - self.changed,
                                                 "unchanged"), (self.dropped, "dropped")) if n]
        s = "s" if self.written != 1 else ""
        return (f"{MANIFEST_NAME}: {self.written} job{s} written"
                + (f" ({', '.join(parts)})" if parts else ""))

    def warnings(self) -> list[str]:
        n = len(self.stale)
        if not n:
            return []
        shown = ", ".join(self.stale[:5]) + (f", ... ({n - 5} more)" if n > 5 else "")
        return [f"{n} job{'s are' if n != 1 else ' is'} not up to date, so "
                f"{'their entries are' if n != 1 else 'its entry is'} not written: {shown}; "
                f"run {'them' if n != 1 else 'it'} first"]


@contextlib.contextmanager
def _exclusive(workdir: str) -> Iterator[None]:
    """Two runs with disjoint outputs may finish together: their read-modify-write of the
    manifest must not interleave (the later one would drop the other's entries)."""
    folder = lock_dir(workdir)
    private_folder(folder)
    lock = os.path.join(folder, "manifest.lock")
    try:
        with FileLock(lock, timeout=MANIFEST_LOCK_TIMEOUT):
            yield
    except Timeout:
        raise LockError(f"{MANIFEST_NAME} is being written by another rulekit process",
                        facts=[("lock", lock)],
                        hint=f"it held the lock for over {MANIFEST_LOCK_TIMEOUT:.0f} s; try "
                             "again, or `rulekit manifest` once the other run ended") from None


def _existing(path: str) -> dict[str, Entry]:
    return dict(read_manifest(path)) if os.path.isfile(path) else {}


def update_manifest(workflow: Workflow, plan: Plan, store: Any, *,
                    keep_others: bool) -> ManifestUpdate:
    """Write entries for every up-to-date job of `plan` that has outputs. Jobs that would
    run keep their old entry; entries of other jobs are kept with `keep_others` (targets
    were named), else dropped (the default target covers the workflow)."""
    path = manifest_path(workflow.path)
    with _exclusive(workflow.workdir):
        return _update(workflow, path, _existing(path), plan, store, keep_others)


def _update(workflow: Workflow, path: str, old: dict[str, Entry], plan: Plan, store: Any,
            keep_others: bool) -> ManifestUpdate:
    hasher = ContentHasher(workflow.workdir, FileSystem(workflow.workdir).stat, store)
    update = ManifestUpdate(path)
    entries: dict[str, Entry] = dict(old) if keep_others else {}
    jobs = [job for job in plan.dag.jobs if job.output]
    hasher.prefetch([str(p) for job in jobs for p in (*job.input, *job.output)])
    for job in jobs:
        key = str(job.output[0])
        if plan.runs(job):
            update.stale.append(job.name)
            if key in old:
                entries[key] = old[key]
            continue
        entry = entry_for(job, hasher)
        if entry is None:
            continue
        entries[key] = entry
        update.written += 1
        if key not in old:
            update.new += 1
        elif old[key] != entry:
            update.changed += 1
    update.dropped = len(set(old) - set(entries))
    hasher.save()
    write_manifest(path, entries.values())
    return update


def refresh_manifest(workflow: Workflow, jobs: Iterable[Job], store: Any) -> None:
    """After a successful run: new entries for the jobs that ran, if the manifest exists."""
    path = manifest_file(workflow)
    jobs = [job for job in jobs if job.output]
    if path is None or not jobs:
        return
    with _exclusive(workflow.workdir):
        _refresh(workflow, path, jobs, store)


def _refresh(workflow: Workflow, path: str, jobs: list[Job], store: Any) -> None:
    entries = _existing(path)
    hasher = ContentHasher(workflow.workdir, FileSystem(workflow.workdir).stat, store)
    hasher.prefetch([str(p) for job in jobs for p in (*job.input, *job.output)])
    changed = False
    for job in jobs:
        entry = entry_for(job, hasher)
        if entry is not None and entries.get(entry.key) != entry:
            entries[entry.key] = entry
            changed = True
    hasher.save()
    if changed:
        write_manifest(path, entries.values())
