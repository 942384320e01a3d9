"""Table-driven fault tests with exact messages and exit codes: an unusable store or lock
folder (issue 10.11), outputs that cannot be removed (10.12), signals during start-up (10.13),
the store falling back mid-run (17.8), signal dispositions of jobs (17.7) and work that
finished in the same wait as the signal (17.5).

Faults Python can reach are injected with a `sitecustomize` module on PYTHONPATH (so they
work the same for root, who ignores file modes); a full disk is RLIMIT_FSIZE=0.
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_state_cli import ok, plan_json, rk, wait_for, write

from rulekit.state.locks import lock_dir

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

SRC = str(Path(__file__).resolve().parents[1])

INJECT = """
import os
_stuck = os.environ.get("RULEKIT_TEST_STUCK")
_deny = os.environ.get("RULEKIT_TEST_DENY")
if _stuck:
    _remove = os.remove
    def remove(path, *a, **k):
        if os.path.basename(os.fspath(path)) == _stuck and os.path.lexists(path):
            raise PermissionError(1, "Operation not permitted", os.fspath(path))
        return _remove(path, *a, **k)
    os.remove = remove
if _deny:
    _open = os.open
    def deny_open(path, flags, *a, **k):
        if _deny in os.fspath(path) and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return _open(path, flags, *a, **k)
    os.open = deny_open
"""


def run(root: Path, *args: str, env: dict[str, str] | None = None, fsize0: bool = False,
        inject: bool = False) -> subprocess.CompletedProcess[str]:
    paths = [SRC]
    if inject:
        (root / "_inject").mkdir(exist_ok=True)
        (root / "_inject" / "sitecustomize.py").write_text(INJECT)
        paths.insert(0, str(root / "_inject"))
    full = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), **(env or {}))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=root, text=True,
                          capture_output=True, timeout=60, env=full,
                          preexec_fn=limit if fsize0 else None)


def leftovers(root: Path) -> list[str]:
    folder = Path(lock_dir(root))
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("run-"))


SIMPLE = """
rule all:
    input: "out.txt"

rule a:
    output: "out.txt"
    shell: "echo hi > {output}"
"""


# --------------------------------------------------------------------------- 10.11

def _file_at(rel: str):  # noqa: ANN202
    def setup(root: Path) -> dict[str, object]:
        (root / rel).write_text("not a folder")
        return {}
    return setup


def _store_is_a_folder(root: Path) -> dict[str, object]:
    (root / ".rulekit" / "metadata.db").mkdir(parents=True)
    return {}


def _deny_locks(root: Path) -> dict[str, object]:
    return {"inject": True, "env": {"RULEKIT_TEST_DENY": ".rulekit-locks/run-"}}


def _disk_full(root: Path) -> dict[str, object]:
    return {"fsize0": True}


UNUSABLE = [
    # (setup, exit code, exact lines expected in stderr)
    (_file_at(".rulekit"), 0, [
        "warning: cannot create {root}/.rulekit (a file is in the way); this run uses "
        "timestamps only and remembers nothing (no crash markers either: if this run is "
        "killed, its half-written outputs are only found because its lock file says what it "
        "was writing); make the folder writable, or free disk space, to get the store back"]),
    (_store_is_a_folder, 0, [
        "warning: cannot open {root}/.rulekit/metadata.db (unable to open database file); "
        "this run uses timestamps only and remembers nothing (no crash markers either: if "
        "this run is killed, its half-written outputs are only found because its lock file "
        "says what it was writing); make the folder writable, or free disk space, to get the "
        "store back"]),
    (_file_at(".rulekit-locks"), 3, [
        "error: cannot use the lock folder {root}/.rulekit-locks: a file is in the way",
        "  path: {root}/.rulekit-locks",
        "  hint: make it a writable folder (or free some disk space) and run again; rulekit "
        "needs it to keep concurrent runs apart"]),
    (_deny_locks, 3, [
        "error: cannot use the lock folder {root}/.rulekit-locks: Permission denied"]),
    (_disk_full, 3, [
        "error: cannot use the lock folder {root}/.rulekit-locks: File too large"]),
]


@pytest.mark.parametrize(("setup", "code", "lines"), UNUSABLE,
                         ids=["store-dir-is-file", "db-is-folder", "locks-is-file",
                              "locks-read-only", "disk-full"])
def test_unusable_store_or_locks(tmp_path: Path, setup, code: int, lines: list[str]) -> None:
    write(tmp_path, "Rulesfile", SIMPLE)
    res = run(tmp_path, "run", "-q", **setup(tmp_path))  # type: ignore[arg-type]
    assert res.returncode == code, res.stdout + res.stderr
    err = res.stderr.splitlines()
    for line in lines:
        assert line.format(root=tmp_path) in err, res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert leftovers(tmp_path) == []
    assert (tmp_path / "out.txt").exists() == (code == 0)


# --------------------------------------------------------------------------- 10.12

STUCK = """
rule all:
    input: "stuck.txt", "other.txt"

rule a:
    output: "stuck.txt"
    shell: "echo x > {output}; touch a-wrote; while [ ! -e go ]; do sleep 0.02; done; exit 1"

rule b:
    output: "other.txt"
    shell: "while [ ! -e go ]; do sleep 0.02; done; sleep 0.3; echo y > {output}"
"""


@pytest.mark.parametrize(("how", "code"), [("fails", 1), ("ctrl-c", 130)])
def test_output_that_cannot_be_removed(tmp_path: Path, how: str, code: int) -> None:
    write(tmp_path, "Rulesfile", STUCK)
    (tmp_path / "_inject").mkdir()
    (tmp_path / "_inject" / "sitecustomize.py").write_text(INJECT)
    env = dict(os.environ, RULEKIT_TEST_STUCK="stuck.txt",
               PYTHONPATH=os.pathsep.join([str(tmp_path / "_inject"), SRC]))
    proc = subprocess.Popen([sys.executable, "-m", "rulekit", "run", "--cores", "2"],
                            cwd=tmp_path, text=True, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: (tmp_path / "a-wrote").exists())
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            (tmp_path / "go").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == code, out + err
    assert ("warning: a: 1 output(s) could not be removed and stay marked incomplete:\n"
            "  could not remove output stuck.txt: Operation not permitted") in err
    assert "Traceback" not in err and "internal error" not in err
    if how == "fails":   # the normal failure path: the other job finished and was kept
        assert (tmp_path / "other.txt").read_text() == "y\n"
        assert "error: 1 job failed: a" in err
    # The file that could not go stays suspect: the next run redoes its job.
    assert plan_json(tmp_path)[0] == (
        "a", ["output stuck.txt is incomplete (an earlier run was interrupted or failed)"])


# --------------------------------------------------------------------------- 10.13

def _catches_term(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        return False
    return False


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_signal_during_startup(tmp_path: Path, sig: int, delay: float) -> None:
    write(tmp_path, "Rulesfile", """
        rule all:
            input: "out.txt"

        rule a:
            output: "out.txt"
            shell: "sleep 30; touch {output}"
    """)
    proc = subprocess.Popen([sys.executable, "-m", "rulekit", "run", "-q"], cwd=tmp_path,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=SRC), start_new_session=True)
    try:
        # From the moment rulekit's own code runs (it catches SIGTERM from then on).
        wait_for(lambda: _catches_term(proc.pid) or proc.poll() is not None, timeout=30)
        time.sleep(delay)
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, out + err
    assert err.splitlines()[-1].startswith("error: interrupted"), err
    assert "Traceback" not in err
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- 17.8

def test_store_fallback_says_what_the_next_run_redoes(tmp_path: Path, monkeypatch) -> None:
    from rulekit.state import store as store_mod

    monkeypatch.setattr(store_mod, "RETRY_PAUSES", (0.01, 0.01))
    seen: list[str] = []
    st = store_mod.MetadataStore(tmp_path, busy_timeout=0.05, on_warning=seen.append)
    st.mark_incomplete(["a.txt", "b.txt"], "run1")
    st.clear_incomplete(["b.txt"])          # b finished; a still runs
    blocker = sqlite3.connect(st.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        st.mark_incomplete(["c.txt"], "run1")   # busy on every attempt: falls back
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert len(seen) == 1
    assert seen[0].startswith(f"marking outputs incomplete failed on {st.path} (database is "
                              "locked; 3 attempts); continuing with an empty in-memory store")
    assert seen[0].endswith("; 1 output(s) of jobs started before stay marked incomplete in "
                            "the file, so the next run redoes them: a.txt")
    st.close()
    with store_mod.MetadataStore(tmp_path) as again:   # the file is consistent
        assert set(again.incomplete()) == {"a.txt"}


def test_store_busy_once_is_retried(tmp_path: Path, monkeypatch) -> None:
    import threading

    from rulekit.state import store as store_mod

    monkeypatch.setattr(store_mod, "RETRY_PAUSES", (0.3, 0.3))
    seen: list[str] = []
    st = store_mod.MetadataStore(tmp_path, busy_timeout=0.05, on_warning=seen.append)
    blocker = sqlite3.connect(st.path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.15, lambda: blocker.execute("ROLLBACK")).start()
    st.mark_incomplete(["a.txt"], "run1")
    blocker.close()
    assert seen == []
    assert set(st.incomplete()) == {"a.txt"}
    st.close()


# --------------------------------------------------------------------------- 17.7

def test_jobs_start_with_default_sigpipe(tmp_path: Path) -> None:
    write(tmp_path, "Rulesfile", """
        rule all:
            input: "a.txt", "b.txt"

        rule a:
            output: "a.txt"
            log: "a.log"
            shell: "set +o pipefail; seq 1 1000000 | head -1 > {output}"

        rule b:
            output: "b.txt"
            run:
                shell("set +o pipefail; seq 1 1000000 2> b.err | head -1 > {output}")
    """)
    ok(rk(tmp_path, "run", "--cores", "2"))
    assert (tmp_path / "a.txt").read_text() == "1\n"
    assert (tmp_path / "b.txt").read_text() == "1\n"
    assert (tmp_path / "a.log").read_text() == ""      # no "write error: Broken pipe"
    assert (tmp_path / "b.err").read_text() == ""
    assert plan_json(tmp_path) == []


# --------------------------------------------------------------------------- 17.5

def test_job_finished_in_the_wait_that_saw_the_signal_is_kept(tmp_path: Path) -> None:
    """The signal arrives in the very wait that returns the job's outcome: the job is done,
    its output kept and recorded, not cancelled."""
    from rulekit.core.errors import Interrupted
    from rulekit.execution import ExecOptions, execute
    from rulekit.execution.pool import LocalRunner
    from rulekit.lang.loader import load
    from rulekit.planning.plan import make_plan
    from rulekit.ui.runview import Reporter

    write(tmp_path, "Rulesfile", textwrap.dedent("""
        rule all:
            input: "quick.txt", "slow.txt"

        rule quick:
            output: "quick.txt"
            shell: "echo q > {output}"

        rule slow:
            output: "slow.txt"
            shell: "echo s > {output}; sleep 30"
    """))
    wf = load(str(tmp_path / "Rulesfile"))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        jobs = [pj.job for pj in make_plan(wf, ["all"])]

        class SignalOnFirstOutcome(LocalRunner):
            def wait(self, timeout, wakeup_fd=None):  # type: ignore[no-untyped-def]
                got = super().wait(timeout, wakeup_fd)
                if got:
                    os.kill(os.getpid(), signal.SIGINT)
                return got

        finished: list[str] = []

        class Observer:
            def jobs_started(self, jobs):  # type: ignore[no-untyped-def]
                pass

            def jobs_finished(self, results):  # type: ignore[no-untyped-def]
                finished.extend(f"{r.job.rule.name}:{r.status}" for r in results)

        opts = ExecOptions(cores=2, grace_period=0.5, observer=Observer(),
                           reporter=Reporter(quiet=True, progress=False),
                           runner=SignalOnFirstOutcome(wf, 2, "fork"))
        with pytest.raises(Interrupted) as info:
            execute(wf, jobs, opts)
    finally:
        os.chdir(cwd)
    counts = info.value.result.counts()  # type: ignore[attr-defined]
    assert counts == {"done": 1, "cancelled": 1, "not started": 1}
    assert (tmp_path / "quick.txt").read_text() == "q\n"
    assert not (tmp_path / "slow.txt").exists()
    assert sorted(finished) == ["quick:done", "slow:cancelled"]
