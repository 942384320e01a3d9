"""rulekit.state.store (metadata.db) and rulekit.core.hashing (checksums and code hashes)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from rulekit.core.hashing import code_hash, file_checksum
from rulekit.state import store as store_mod
from rulekit.state.store import (
    SCHEMA_VERSION,
    InputRecord,
    MetadataStore,
    OutputRecord,
    RulekitWarning,
    canonical_params,
)

REPO = Path(__file__).resolve().parents[1]


def record(i: int, **kw: object) -> OutputRecord:
    base = dict(path=f"out/{i}.txt", rule="step", wildcards={"i": str(i)},
                params=canonical_params({"x": i, "name": "a"}), code_hash="c0de",
                inputs=[InputRecord(f"in/{i}.txt", 1_700_000_000_000_000_000 + i, 10, None)],
                start=1.5, end=2.5, logs=[f"logs/{i}.log"], run_id="r1")
    base.update(kw)
    return OutputRecord(**base)  # type: ignore[arg-type]


def run_py(code: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


# -- records ----------------------------------------------------------------------------

def test_missing_db_is_created_and_records_round_trip(tmp_path: Path) -> None:
    s = MetadataStore(tmp_path)
    assert (tmp_path / ".rulekit" / "metadata.db").exists()
    assert s.get("out/1.txt") is None
    recs = [record(i) for i in range(5)]
    s.put_many(recs)
    s.close()
    s = MetadataStore(tmp_path)
    got = s.get("out/3.txt")
    assert got == recs[3]
    assert got is not None and got.inputs[0].mtime_ns == recs[3].inputs[0].mtime_ns
    assert got.wildcards == {"i": "3"} and got.logs == ["logs/3.log"]
    assert s.degraded is None
    with sqlite3.connect(s.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_provenance_defaults_are_filled(tmp_path: Path) -> None:
    r = OutputRecord("a", "rule")
    assert r.host and r.user and r.python_version and r.rulekit_version
    assert canonical_params({"b": 1, "a": object}) .startswith('{"a": "<class')


def test_get_many_small_and_large(tmp_path: Path) -> None:
    s = MetadataStore(tmp_path)
    n = store_mod._SCAN_THRESHOLD + 500
    recs = [record(i) for i in range(n)]
    s.put_many(recs)
    few = s.get_many(["out/1.txt", "out/2.txt", "nope"])
    assert set(few) == {"out/1.txt", "out/2.txt"} and few["out/2.txt"] == recs[2]
    wanted = [r.path for r in recs[:-10]] + ["missing/x"]
    many = s.get_many(wanted)
    assert len(many) == n - 10 and many["out/7.txt"] == recs[7]
    assert len(s.all_records()) == n


def test_put_replaces_and_remove_forgets(tmp_path: Path) -> None:
    s = MetadataStore(tmp_path)
    s.put_many([record(1), record(2)])
    s.put_many([record(1, params="{}", exit_status=0)])
    got = s.get("out/1.txt")
    assert got is not None and got.params == "{}"
    s.mark_incomplete(["out/2.txt"], "r")
    s.remove(["out/2.txt"])
    assert s.get("out/2.txt") is None and s.incomplete_paths() == set()


def test_runs(tmp_path: Path) -> None:
    s = MetadataStore(tmp_path)
    rid = s.start_run(["rulekit", "run", "-j", "2"])
    s.end_run(rid, "success")
    [run] = s.runs()
    assert run.run_id == rid and run.argv[-1] == "2" and run.outcome == "success"
    assert run.end is not None and run.end >= run.start and run.pid == os.getpid()


# -- incomplete markers -------------------------------------------------------------------

def test_incomplete_markers(tmp_path: Path) -> None:
    s = MetadataStore(tmp_path)
    s.mark_incomplete(["a", "b"], "r1")
    assert s.incomplete_paths() == {"a", "b"} and s.incomplete()["a"] == "r1"
    s.clear_incomplete(["a"])
    assert MetadataStore(tmp_path).incomplete_paths() == {"b"}


def test_incomplete_markers_survive_sigkill(tmp_path: Path) -> None:
    proc = run_py("""
        import sys, time
        from rulekit.state.store import MetadataStore
        s = MetadataStore(sys.argv[1])
        s.mark_incomplete(["out/big.txt", "out/other.txt"], "run-x")
        print("marked", flush=True)
        time.sleep(60)
    """, str(tmp_path))
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "marked"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert MetadataStore(tmp_path).incomplete_paths() == {"out/big.txt", "out/other.txt"}


# -- robustness ----------------------------------------------------------------------------

def test_corrupt_db_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    MetadataStore(tmp_path).put_many([record(1)])
    db = tmp_path / ".rulekit" / "metadata.db"
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database at all" * 200)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "1.txt").write_text("keep me")
    with pytest.warns(RulekitWarning, match="corrupt"):
        s = MetadataStore(tmp_path)
    assert s.get("out/1.txt") is None
    s.put_many([record(2)])
    assert s.get("out/2.txt") is not None
    aside = [p.name for p in db.parent.iterdir() if ".corrupt-" in p.name]
    assert any(name.startswith("metadata.db.corrupt-") for name in aside)
    assert (tmp_path / "out" / "1.txt").read_text() == "keep me"


def test_newer_schema_is_left_alone(tmp_path: Path) -> None:
    MetadataStore(tmp_path).put_many([record(1)])
    db = tmp_path / ".rulekit" / "metadata.db"
    with sqlite3.connect(db) as raw:
        raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    seen: list[str] = []
    s = MetadataStore(tmp_path, on_warning=seen.append)
    assert len(seen) == 1 and "newer rulekit" in seen[0]
    assert s.get("out/1.txt") is None  # in-memory stand-in
    s.put_many([record(2)])
    assert s.get("out/2.txt") is not None
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert raw.execute("SELECT count(*) FROM outputs").fetchone()[0] == 1


def test_locked_too_long_falls_back(tmp_path: Path) -> None:
    s = MetadataStore(tmp_path, busy_timeout=0.2)
    s.put_many([record(1)])
    other = sqlite3.connect(s.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer that never lets go
    try:
        with pytest.warns(RulekitWarning, match="in-memory"):
            s.put_many([record(2)])
        assert s.degraded is not None
        assert s.get("out/2.txt") is not None
        s.mark_incomplete(["x"], None)  # keeps working, without raising
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_unwritable_dir_falls_back(tmp_path: Path) -> None:
    (tmp_path / ".rulekit").write_text("a file where the folder should be")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = MetadataStore(tmp_path)
    assert [w.category for w in caught] == [RulekitWarning]
    s.put_many([record(1)])
    assert s.get("out/1.txt") is not None


def test_two_processes_writing_concurrently(tmp_path: Path) -> None:
    code = """
        import sys
        from rulekit.state.store import MetadataStore, OutputRecord
        who = sys.argv[2]
        s = MetadataStore(sys.argv[1], busy_timeout=30)
        for batch in range(40):
            s.put_many([OutputRecord(f"{who}/{batch}/{i}", "r") for i in range(200)])
            s.mark_incomplete([f"{who}/{batch}/0"], who)
            s.clear_incomplete([f"{who}/{batch}/0"])
        print(s.degraded, flush=True)
    """
    MetadataStore(tmp_path).close()
    procs = [run_py(code, str(tmp_path), who) for who in ("a", "b")]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "None", err
    s = MetadataStore(tmp_path)
    assert len(s.all_records()) == 2 * 40 * 200
    assert s.incomplete_paths() == set()
    with sqlite3.connect(s.path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- hashing -------------------------------------------------------------------------------

def test_file_checksum(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    big = os.urandom(3 * (1 << 20) + 17)  # spans several 1 MiB chunks
    a.write_bytes(big)
    b.write_bytes(big)
    c.write_bytes(big[:-1] + bytes([big[-1] ^ 1]))
    assert file_checksum(a) == file_checksum(b) != file_checksum(c)
    assert len(file_checksum(a)) == 32


RUN_BODY = """
    x = 1  # set x
    if x:
        print(input[0], x)
"""


@pytest.mark.parametrize("variant", [
    "\n    # a comment\n    x = 1\n\n    if x:\n        print(input[0], x)   \n\n",
    "\nx = 1\nif x:\n  print(input[0], x)  # re-indented\n",
    "    x=1\n    if x:\n        print( input[0] , x )\n",
])
def test_code_hash_ignores_comments_blank_lines_and_layout(variant: str) -> None:
    assert code_hash("run", variant) == code_hash("run", RUN_BODY)


@pytest.mark.parametrize("change", [
    RUN_BODY.replace("x = 1", "x = 2"),
    RUN_BODY.replace("print(input[0], x)", "print(input[0], 'x')"),
    RUN_BODY.replace("        print", "    print"),  # leaves the if block: behaviour changes
])
def test_code_hash_sees_real_changes(change: str) -> None:
    assert code_hash("run", change) != code_hash("run", RUN_BODY)


def test_code_hash_falls_back_when_not_tokenizable() -> None:
    broken = "x = '''unterminated\n"
    assert code_hash("run", broken) == code_hash("run", broken + "\n\n# note\n")
    assert code_hash("run", broken) != code_hash("run", "x = 'other\n")


def test_code_hash_shell() -> None:
    cmd = "sort {input} > {output}"
    assert code_hash("shell", cmd) == code_hash("shell", f"\n  {cmd}   \n\n")
    assert code_hash("shell", cmd) != code_hash("shell", "sort -u {input} > {output}")
    assert code_hash("shell", cmd) != code_hash("run", cmd)


def test_corruption_found_on_read_is_rebuilt(tmp_path: Path) -> None:
    s = MetadataStore(tmp_path)
    s.put_many([OutputRecord(f"o{i}", "r") for i in range(3000)])
    s.close()
    with open(s.path, "r+b") as f:  # damage pages in the middle, keep the header valid
        f.seek(4096 * 3)
        f.write(os.urandom(4096 * 20))
    seen: list[str] = []
    s = MetadataStore(tmp_path, on_warning=seen.append)
    assert s.all_records() == {}  # no exception, and a fresh store
    assert len(seen) == 1 and "corrupt" in seen[0]
    s.put_many([record(1)])
    assert s.get("out/1.txt") is not None


def test_records_in_a_long_wal_survive_sigkill(tmp_path: Path) -> None:
    """The WAL is checkpointed every WAL_CHECKPOINT_PAGES pages, not every 1,000: a run's
    many step transactions stay in it, and every one of them survives a SIGKILL."""
    proc = run_py("""
        import sys, time
        from rulekit.state.store import InputRecord, MetadataStore, OutputRecord
        s = MetadataStore(sys.argv[1])
        print(s._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0], flush=True)
        for i in range(1500):
            rec = OutputRecord(f"out/{i}.txt", "step", {"i": str(i)}, "{}", "c0de",
                               [InputRecord(f"in/{i}.txt", 1, 10, None)], 1.5, 2.5, logs=[],
                               run_id="r1")
            s.finish_step([rec], [f"out/{i}.txt"], [], mark=[f"out/{i + 1}.txt"], run_id="r1")
        print("written", flush=True)
        time.sleep(60)
    """, str(tmp_path))
    assert proc.stdout is not None
    assert int(proc.stdout.readline()) == store_mod.WAL_CHECKPOINT_PAGES
    assert proc.stdout.readline().strip() == "written"
    assert (tmp_path / ".rulekit" / "metadata.db-wal").stat().st_size > 1000 * 4096
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = MetadataStore(tmp_path)
    assert len(store.all_records()) == 1500
    assert store.incomplete_paths() == {"out/1500.txt"}


def test_a_store_made_again_at_the_same_path_has_another_identity(tmp_path: Path) -> None:
    """The crash recovery tells a deleted and recreated store from the old one even when
    the new file gets the old inode (it often does): the random id written at creation."""
    with MetadataStore(tmp_path) as first:
        before = first.identity
    with MetadataStore(tmp_path) as again:
        assert again.identity == before   # the same file: the same identity
        assert again.check_vanished() is None
    for name in os.listdir(tmp_path / ".rulekit"):
        os.unlink(tmp_path / ".rulekit" / name)
    with MetadataStore(tmp_path) as made:
        assert made.identity is not None and before is not None
        assert len(made.identity) == len(before) == 3
        assert made.identity != before
        assert made.identity[:2] == made._identity()
