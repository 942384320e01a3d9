"""Runs one job (a `Task`) inside a worker process, or anywhere `run_task` is called.

A worker receives plain data only and loads the workflow once per process (cached by rule
file and config), because code objects do not pickle. `run:` bodies call the compiled
function; `script:` bodies run in a fresh Python (scriptjob.py) with a `snakemake` object
(also bound as `rulekit`); `shell:` commands run under bash. Failures come back as text: a
`run:` body's traceback shows the rule file's own lines, with rulekit's frames dropped.

Nothing in this module may raise out of `run_task`: a worker must always answer.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from typing import Any

from ..core.iopaths import io_list
from ..core.model import NamedList, Wildcards, Workflow
from ..lang.namespace import MAIN_PROCESS
from .base import Outcome, Task, WorkflowRef
from .directexec import DirectExec, Resolved, direct_command
from .isolation import ProcessState, fresh_body, fresh_config

__all__ = ["run_task", "run_tasks", "set_workflow", "get_workflow", "worker_main",
           "spawn_shell", "spawn_task", "script_payload", "reap", "format_exception",
           "write_benchmark", "failed_text"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CURRENT: Workflow | None = None
_CACHE: dict[tuple[str, str], Workflow] = {}
_LOAD_ERROR: str | None = None
_DEVNULL = os.devnull
_DEFAULT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ")
                         if hasattr(signal, name))


def set_workflow(workflow: Workflow | WorkflowRef | None) -> None:
    """Make `workflow` this process's default (a Workflow, or a ref loaded now)."""
    global _CURRENT, _LOAD_ERROR
    if workflow is None or isinstance(workflow, Workflow):
        _CURRENT = workflow
        if workflow is not None and os.path.isdir(workflow.workdir):
            os.chdir(workflow.workdir)
        return
    try:
        _CURRENT = get_workflow(workflow)
    except BaseException as exc:  # reported on every task that needs it
        _LOAD_ERROR = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if hasattr(exc, "show"):
            _LOAD_ERROR = exc.show()


def get_workflow(ref: WorkflowRef | None) -> Workflow:
    if ref is None:
        if _CURRENT is None:
            raise RuntimeError("worker has no workflow"
                               + (f": loading it failed:\n{_LOAD_ERROR}" if _LOAD_ERROR else ""))
        return _CURRENT
    key = (ref.path, json.dumps(ref.config, sort_keys=True, default=repr))
    wf = _CACHE.get(key)
    if wf is None:
        from ..lang.loader import load  # the loader is only needed in processes that load

        wf = load(ref.path, config=ref.config)
        _CACHE[key] = wf
    if os.getcwd() != ref.workdir:
        os.chdir(ref.workdir)
    return wf


def _resources(values: dict[str, Any]) -> NamedList:
    return NamedList(values.values(), {k: i for i, k in enumerate(values)})


def _drop_internal(te: traceback.TracebackException, rule: str) -> None:
    seen: set[int] = set()
    while te is not None and id(te) not in seen:
        seen.add(id(te))
        kept = [f for f in te.stack if not f.filename.startswith(_PKG_DIR)]
        for f in kept:
            if f.name == "__rulekit_run__":
                f.name = f"rule {rule}"
        te.stack = traceback.StackSummary.from_list(kept)
        te = te.__cause__ or te.__context__  # type: ignore[assignment]


def format_exception(exc: BaseException, rule: str) -> str:
    """The user's traceback: rule-file and script frames, none of rulekit's."""
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    _drop_internal(te, rule)
    return "".join(te.format()).rstrip()


def spawn_shell(argv: Sequence[str], log: str | None, new_group: bool,
                env: Any = None, stdin: Any = None,
                direct: DirectExec | Resolved | None = None,
                spawn: Any = os.posix_spawn) -> tuple[int, Any]:
    """Start argv with stdin from /dev/null (or the open file `stdin`) and stdout+stderr to
    `log` (appended) or to an anonymous temp file (returned, to show the output).
    posix_spawn: no fork of a big driver.
    """
    capture = None
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
    else:
        capture = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
        fd = capture.fileno()
    # A job starts with the signal dispositions of a normal shell: Python ignores SIGPIPE
    # and SIGXFSZ, and posix_spawn would pass that on (`seq 1 1000000 | head -1` would
    # then print "write error: Broken pipe").
    first = ((os.POSIX_SPAWN_DUP2, stdin.fileno(), 0) if stdin is not None
             else (os.POSIX_SPAWN_OPEN, 0, _DEVNULL, os.O_RDONLY, 0))
    actions = [first, (os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)]
    try:
        kwargs: dict[str, Any] = {"setpgroup": 0} if new_group else {}
        kwargs["setsigdef"] = _DEFAULT_SIGNALS
        environ = os.environ if env is None else env
        plain = (direct.command(argv) if direct is not None and direct.env is environ
                 else direct_command(argv, environ))
        pid = 0
        if plain is not None:   # a simple command: exec'd as bash would (directexec.py)
            try:
                pid = spawn(plain[0], plain[1], plain[2], file_actions=actions, **kwargs)
            except OSError:
                pid = 0   # not a program exec can start (a script without #!): bash decides
        if not pid:
            pid = spawn(argv[0], list(argv), environ, file_actions=actions, **kwargs)
    except BaseException:
        if capture is not None:
            capture.close()
        raise
    finally:
        if log:
            os.close(fd)
    return pid, capture


_SCRIPT_RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scriptjob.py")


def _plain(values: Any) -> tuple[list[Any], dict[str, Any]]:
    """(items, names) of a NamedList or dict, path and params strings as plain str."""
    if isinstance(values, dict):
        return [_plain_value(v) for v in values.values()], {k: i for i, k in enumerate(values)}
    names = values.names() if isinstance(values, NamedList) else {}
    return [_plain_value(v) for v in values], names


def _plain_value(value: Any) -> Any:
    return str(value) if isinstance(value, str) else value


def script_payload(task: Task) -> bytes:
    """The pickled plain data scriptjob.py builds the `snakemake` object from."""
    script = os.path.abspath(task.script or "")
    data = {"script": script, "scriptdir": os.path.dirname(script),
            "input": _plain(task.input), "output": _plain(task.output),
            "params": _plain(task.params), "log": _plain(task.log),
            "wildcards": _plain(task.wildcards), "resources": _plain(task.resources),
            "threads": task.threads, "config": task.config or {}, "rule": task.rule,
            "jobid": task.jobid, "attempt": task.attempt}
    return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


def spawn_task(task: Task, new_group: bool, env: Any = None,
               direct: DirectExec | Resolved | None = None,
               spawn: Any = os.posix_spawn) -> tuple[int, Any]:
    """Start a shell task (its argv) or a script task (a fresh Python running
    scriptjob.py, the payload on its stdin). Returns (pid, capture) as spawn_shell."""
    if task.kind == "script":
        payload = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, the child has it
        try:
            payload.write(script_payload(task))
            payload.seek(0)
            return spawn_shell([sys.executable, _SCRIPT_RUNNER], None, new_group, env,
                               stdin=payload)
        finally:
            payload.close()
    assert task.command is not None
    return spawn_shell(task.command, task.redirect, new_group, env, direct=direct, spawn=spawn)


def reap(pid: int, block: bool = True) -> tuple[int, Any] | None:
    """(exit code, rusage) of a finished child, or None if it still runs (block=False)."""
    wpid, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
    if wpid == 0:
        return None
    return os.waitstatus_to_exitcode(status), usage


def read_capture(capture: Any, limit: int = 64 * 1024) -> str:
    if capture is None:
        return ""
    try:
        size = capture.seek(0, os.SEEK_END)
        if size == 0:
            return ""
        capture.seek(max(size - limit, 0))
        text: str = capture.read().decode("utf-8", "replace")
        return text
    finally:
        capture.close()


def write_benchmark(path: str, seconds: float, max_rss_kb: float, cpu: float) -> None:
    hms = time.strftime("%H:%M:%S", time.gmtime(seconds))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("s\th:m:s\tmax_rss\tcpu_time\n")
        fh.write(f"{seconds:.4f}\t{hms}\t{max_rss_kb / 1024:.2f}\t{cpu:.2f}\n")


def _run_shell(task: Task) -> tuple[int, str, Any]:
    pid, capture = spawn_task(task, False)
    code, usage = reap(pid)  # type: ignore[misc]
    return code, read_capture(capture), usage


def run_task(task: Task) -> Outcome:
    """Run one task in this process and say how it went. Never raises."""
    start = time.time()
    usage0 = resource.getrusage(resource.RUSAGE_SELF) if task.benchmark else None
    try:
        if task.kind in ("shell", "script"):
            code, output, usage = _run_shell(task)
            end = time.time()
            if task.benchmark:
                write_benchmark(task.benchmark, end - start, usage.ru_maxrss,
                                usage.ru_utime + usage.ru_stime)
            if code != 0:
                return Outcome(task.jobid, False, start, end,
                               failed_text(task.kind, code), output, code)
            return Outcome(task.jobid, True, start, end, None, output, 0)
        wf = get_workflow(task.workflow)
        if task.kind == "run":
            rule = wf.rules[task.rule]
            assert rule.body is not None and rule.body.func is not None
            config = fresh_config(rule.config_in(wf))
            body = fresh_body(rule.body.func, config)
            saved = ProcessState()
            try:
                body(io_list(task.input), io_list(task.output), task.params,
                     Wildcards.from_dict(task.wildcards), task.threads,
                     _resources(task.resources), task.log, config, task.rule, task.jobid)
            finally:
                saved.restore()
        else:
            raise ValueError(f"unknown body kind {task.kind!r}")
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from user code, too
        return Outcome(task.jobid, False, start, time.time(), format_exception(exc, task.rule))
    end = time.time()
    if task.benchmark and usage0 is not None:
        try:
            u = resource.getrusage(resource.RUSAGE_SELF)
            write_benchmark(task.benchmark, end - start, u.ru_maxrss,
                            u.ru_utime + u.ru_stime - usage0.ru_utime - usage0.ru_stime)
        except OSError as exc:
            return Outcome(task.jobid, False, start, end, f"cannot write benchmark: {exc}")
    return Outcome(task.jobid, True, start, end)


def failed_text(kind: str, code: int) -> str:
    """Why a shell or script job failed, from its exit code."""
    why = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    return f"{'script' if kind == 'script' else 'shell command'} failed ({why})"


def run_tasks(tasks: Sequence[Task]) -> list[Outcome]:
    """Several tasks one after another (what a Dask batch task calls)."""
    return [run_task(t) for t in tasks]


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the driver dies, so no orphan keeps running jobs or
    holds inherited lock files."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)
    except Exception:
        pass


def worker_main(conn: Any, workflow: Workflow | WorkflowRef | None) -> None:
    """A pool worker: own process group (so the driver can stop it and the commands it
    started), SIGINT ignored (the driver decides), then tasks in, outcomes out until EOF."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    MAIN_PROCESS[0] = False   # workflow.is_main_process, as in Snakemake's job processes
    from .procs import watchdog_fd

    fd = watchdog_fd()   # a forked worker's copy would keep the driver's watchdog waiting
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
    set_workflow(workflow)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            break
        if batch is None:
            break
        for task in batch:
            conn.send(run_task(task))
