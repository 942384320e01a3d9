"""The filesystem seam: what the planner knows about files on disk.

`FileSystem(root)` answers "does this path exist, how old and how big is it" for paths
relative to `root` (the workflow's workdir), never relying on the process's cwd. It lists
each folder once with `os.scandir` and caches the answer for the life of the object (one
plan), so asking about 10^5 files in a handful of folders costs a handful of syscalls plus
one `stat` per file that exists. `FakeFileSystem` is the in-memory twin for tests, with a
clock that ticks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = ["FileStat", "FileSystem", "FakeFileSystem"]


class FileStat(NamedTuple):
    mtime_ns: int
    size: int
    is_dir: bool


class FileSystem:
    """Batched, cached `stat` of paths relative to `root`."""

    def __init__(self, root: str | os.PathLike[str] = ".") -> None:
        self.root = os.fspath(root)
        # root + "/" (os.path.join(root, path) for the relative paths stat() is given;
        # an absolute path is stat'ed alone, see _entry)
        self._prefix = os.path.join(self.root, "")
        # folder (relative, "" for root) -> {name: is a symlink} or None when it is absent
        self._dirs: dict[str, dict[str, bool] | None] = {}
        self._stats: dict[str, FileStat | None] = {}
        # symlinks met so far -> the link's own stat (lstat); see output_stat()
        self.links: dict[str, FileStat] = {}

    # -- listing ---------------------------------------------------------------------
    def _listing(self, folder: str) -> dict[str, bool] | None:
        """{name: is it a symlink} of `folder`, or None when the folder is absent.

        Only names are kept, not the DirEntry objects: an entry caches the whole
        stat_result once asked, ~600 bytes per file (180 MB for 300,000 source files)."""
        try:
            return self._dirs[folder]
        except KeyError:
            pass
        full = os.path.join(self.root, folder) if folder else self.root
        try:
            with os.scandir(full) as it:
                entries: dict[str, bool] | None = {e.name: e.is_symlink() for e in it}
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            entries = None
        self._dirs[folder] = entries
        return entries

    def stat(self, path: str) -> FileStat | None:
        """FileStat of `path` (following symlinks) or None when it does not exist."""
        result: FileStat | None = self._stats.get(path, _UNKNOWN)
        if result is _UNKNOWN:
            result = self._stats[path] = self._stat(path)
        return result

    def _stat(self, path: str) -> FileStat | None:
        link = self._entry(path)
        if link is None:
            return None
        if link is _DIRECT:
            return self._direct(path, os.path.join(self.root, path))
        full = self._prefix + path
        try:
            if link:
                self._link(path, os.lstat(full))
            st = os.stat(full)
        except OSError:  # dangling symlink or removed since the listing
            return None
        return _new(FileStat, (st.st_mtime_ns, st.st_size, (st.st_mode & 0o170000) == 0o040000))

    def _entry(self, path: str) -> Any:   # bool (is a symlink), None or _DIRECT
        """Is `path` a symlink (from its folder's listing), None if absent, or _DIRECT for
        paths to stat alone."""
        where = _folder(path)
        if where is None:
            return _DIRECT
        entries = self._listing(where[0])
        return entries.get(where[1]) if entries is not None else None

    def _direct(self, path: str, full: str) -> FileStat | None:
        try:
            st = os.lstat(full)
            if (st.st_mode & 0o170000) == 0o120000:
                self._link(path, st)
                st = os.stat(full)
        except OSError:
            return None
        return FileStat(st.st_mtime_ns, st.st_size, _isdir(st.st_mode))

    def _link(self, path: str, st: os.stat_result) -> None:
        self.links[path] = FileStat(st.st_mtime_ns, st.st_size, False)

    def output_stat(self, path: str) -> FileStat | None:
        """How an output is judged: a symlink by the link itself (its own mtime, and it
        exists even when it dangles), as Snakemake does; anything else as stat()."""
        st = self.stat(path)
        links = self.links
        return links.get(path, st) if links else st

    def stat_many(self, paths: Iterable[str]) -> dict[str, FileStat | None]:
        """Stat many paths at once: one scandir per folder, one stat per existing file."""
        paths = list(paths)
        self.cache_stats(paths)
        known = self._stats
        return {p: known[p] for p in paths}

    def cache_stats(self, paths: Iterable[str]) -> None:
        """stat() each path into the cache, a listed file relative to an open descriptor
        of its folder (the kernel then resolves one name, not the whole path: a third
        less time per file; 300,000 source files are stat'ed for the clock-skew check)."""
        known = self._stats
        fds: dict[str, int] = {}
        try:
            for path in paths:
                if path in known:
                    continue
                where = _folder(path)
                if where is not None:
                    entries = self._listing(where[0])
                    if entries is not None and entries.get(where[1]) is False:  # no symlink
                        known[path] = self._stat_in(where[0], where[1], fds)
                        continue
                known[path] = self._stat(path)
        finally:
            for fd in fds.values():
                os.close(fd)

    def _stat_in(self, folder: str, name: str, fds: dict[str, int]) -> FileStat | None:
        fd = fds.get(folder)
        try:
            if fd is None:
                fd = fds[folder] = os.open(self._prefix + folder, os.O_RDONLY | os.O_DIRECTORY)
            st = os.stat(name, dir_fd=fd)
        except OSError:  # removed since the listing (or the folder cannot be opened)
            return self._stat(folder + "/" + name if folder else name)
        return _new(FileStat, (st.st_mtime_ns, st.st_size, (st.st_mode & 0o170000) == 0o040000))

    def exists(self, path: str) -> bool:
        """Like `stat(path) is not None`, but a listed file that is no symlink needs no stat."""
        known = self._stats.get(path, _UNKNOWN)
        if known is not _UNKNOWN:
            return known is not None
        entry = self._entry(path)
        if entry is None:
            self._stats[path] = None
            return False
        if entry is False:   # listed, no symlink
            return True
        return self.stat(path) is not None

    def mtime_ns(self, path: str) -> int | None:
        st = self.stat(path)
        return st.mtime_ns if st is not None else None

    def now_ns(self) -> int:
        return time.time_ns()

    def known(self) -> dict[str, FileStat | None]:
        """Every path asked about so far with its answer (for clock-skew checks)."""
        return self._stats

    def invalidate(self, paths: Iterable[str] | None = None) -> None:
        """Forget cached answers (all, or for `paths` and their folders)."""
        if paths is None:
            self._dirs.clear()
            self._stats.clear()
            self.links.clear()
            return
        for p in paths:
            self._stats.pop(p, None)
            self.links.pop(p, None)
            folder = os.path.dirname(p)
            self._dirs.pop(folder[2:] if folder.startswith("./") else folder, None)


def _folder(path: str) -> tuple[str, str] | None:
    """(folder relative to the root, "" for the root itself; name) of a path found through
    its folder's listing, or None for one to stat alone (absolute, with "..", "//" or a
    trailing "/")."""
    cut = path.rfind("/")
    if not path or path[0] == "/" or ".." in path or "//" in path or cut == len(path) - 1:
        return None
    folder = path[:cut] if cut > 0 else ""
    if folder.startswith("./"):
        folder = folder[2:]
    elif folder == ".":
        folder = ""
    return folder, path[cut + 1:]


_UNKNOWN: Any = object()
_DIRECT: Any = object()
_new = tuple.__new__


def _isdir(mode: int) -> bool:
    return (mode & 0o170000) == 0o040000


class FakeFileSystem(FileSystem):
    """In-memory files for tests: path -> (mtime_ns, size); `touch` ticks a clock.

    Folders are implied by the files in them (and may be added with `mkdir`).
    """

    def __init__(self, files: dict[str, tuple[int, int]] | None = None, *,
                 start_ns: int = 1_000_000_000_000_000_000, tick_ns: int = 1_000_000_000) -> None:
        super().__init__("/fake")
        self.files: dict[str, tuple[int, int]] = dict(files or {})
        self.dirs: dict[str, int] = {}
        self.clock_ns = start_ns
        self.tick_ns = tick_ns

    def tick(self) -> int:
        self.clock_ns += self.tick_ns
        return self.clock_ns

    def touch(self, *paths: str, size: int = 0, mtime_ns: int | None = None) -> None:
        for path in paths:
            self.files[path] = (mtime_ns if mtime_ns is not None else self.tick(), size)

    def mkdir(self, path: str, mtime_ns: int | None = None) -> None:
        self.dirs[path.rstrip("/")] = mtime_ns if mtime_ns is not None else self.tick()

    def remove(self, *paths: str) -> None:
        for path in paths:
            self.files.pop(path, None)
            self.dirs.pop(path, None)

    def now_ns(self) -> int:
        return self.clock_ns

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def stat_many(self, paths: Iterable[str]) -> dict[str, FileStat | None]:
        return {p: self.stat(p) for p in paths}

    def cache_stats(self, paths: Iterable[str]) -> None:
        for p in paths:
            self.stat(p)

    def known(self) -> dict[str, FileStat | None]:
        return self.stat_many(self.files)

    def stat(self, path: str) -> FileStat | None:
        if path in self.files:
            mtime, size = self.files[path]
            return FileStat(mtime, size, False)
        path = path.rstrip("/")
        if path in self.dirs:
            return FileStat(self.dirs[path], 0, True)
        prefix = path + "/"
        times = [m for p, (m, _) in self.files.items() if p.startswith(prefix)]
        if times:
            return FileStat(max(times), 0, True)
        return None
