"""The filesystem seam: batched, cached stat relative to a root."""

from __future__ import annotations

import os
from typing import Any

from test_dag import T0, touch

from rulekit.planning.fs import FakeFileSystem, FileStat, FileSystem


def test_stat_many_relative_to_root(tmp_path: Any, monkeypatch: Any) -> None:
    touch(tmp_path, "a/x.txt", t=1)
    touch(tmp_path, "top.txt", t=2)
    (tmp_path / "a" / "x.txt").write_text("hello")
    os.utime(tmp_path / "a" / "x.txt", ns=(T0, T0))
    monkeypatch.chdir("/")
    fs = FileSystem(tmp_path)
    got = fs.stat_many(["a/x.txt", "a/nope.txt", "missing/dir.txt", "top.txt", "./top.txt", "a"])
    assert got == {"a/x.txt": FileStat(T0, 5, False), "a/nope.txt": None,
                   "missing/dir.txt": None, "top.txt": FileStat(T0 + 2 * 10**9, 0, False),
                   "./top.txt": FileStat(T0 + 2 * 10**9, 0, False),
                   "a": got["a"]}
    assert got["a"] is not None and got["a"].is_dir
    assert fs.exists("a/x.txt") and not fs.exists("a/nope.txt")
    assert fs.mtime_ns("a/x.txt") == T0 and fs.mtime_ns("zzz") is None
    assert fs.stat(str(tmp_path / "top.txt")) == got["top.txt"]
    assert fs.stat("a/../top.txt") == got["top.txt"]


def test_batched_stats_are_single_stats(tmp_path: Any, monkeypatch: Any) -> None:
    """cache_stats/stat_many (stats relative to an open folder) give what stat() gives
    alone: files, folders, symlinks (a dangling one too), missing files and folders,
    "./" paths, absolute ones and ones with ".."; every folder descriptor is closed."""
    touch(tmp_path, "a/x.txt", "a/b/y.txt", "top.txt", t=1)
    os.symlink("x.txt", tmp_path / "a" / "link.txt")
    os.symlink("gone.txt", tmp_path / "a" / "dangling.txt")
    monkeypatch.chdir("/")
    paths = ["a/x.txt", "a/b/y.txt", "a/b", "top.txt", "./top.txt", "./a/x.txt",
             "a/link.txt", "a/dangling.txt", "a/nope.txt", "no/such.txt",
             str(tmp_path / "a" / "x.txt"), "a/b/../x.txt", "a/"]
    alone = FileSystem(tmp_path)
    want = {p: alone.stat(p) for p in paths}
    assert want["a/x.txt"] is not None and want["a/b"] is not None and want["a/b"].is_dir
    assert want["a/link.txt"] == want["a/x.txt"] and want["a/dangling.txt"] is None
    before = len(os.listdir("/proc/self/fd"))
    batched = FileSystem(tmp_path)
    batched.cache_stats(paths)
    assert len(os.listdir("/proc/self/fd")) == before
    assert {p: batched.stat(p) for p in paths} == want
    assert batched.links == alone.links and "a/link.txt" in batched.links
    assert FileSystem(tmp_path).stat_many(paths) == want


def test_one_listing_per_folder_and_cache(tmp_path: Any, monkeypatch: Any) -> None:
    touch(tmp_path, *(f"d/{i}.txt" for i in range(50)))
    calls: list[str] = []
    real = os.scandir

    def counting(path: Any) -> Any:
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)
    fs = FileSystem(tmp_path)
    fs.stat_many([f"d/{i}.txt" for i in range(60)] + ["e/1.txt", "e/2.txt"])
    assert calls == [os.path.join(str(tmp_path), "d"), os.path.join(str(tmp_path), "e")]
    touch(tmp_path, "e/1.txt")
    assert not fs.exists("e/1.txt")          # cached for the life of the plan
    fs.invalidate(["e/1.txt"])
    assert fs.exists("e/1.txt")


def test_fake_filesystem() -> None:
    fs = FakeFileSystem()
    fs.touch("a/x.txt", size=3)
    fs.touch("b.txt")
    assert fs.stat("a/x.txt") == FileStat(fs.clock_ns - fs.tick_ns, 3, False)
    assert fs.mtime_ns("b.txt") == fs.clock_ns
    assert fs.stat("a") == FileStat(fs.clock_ns - fs.tick_ns, 0, True)
    fs.remove("b.txt")
    assert not fs.exists("b.txt")
