"""Runs one `script:` job in a fresh Python interpreter, as Snakemake does.

    python .../rulekit/executor/scriptjob.py  < PAYLOAD      (started by worker.spawn_task)

This file is run by path and imports only the standard library (importing the rulekit
package would cost ~0.1 s per job). The payload on stdin is a pickled dict of plain data
(see `worker.script_payload`); from it the script gets a `snakemake` object (also bound as
`rulekit`) with `input`, `output`, `params`, `wildcards`, `threads`, `resources`, `log`,
`config`, `rule`, `jobid`, `attempt`, `scriptdir` and `log_fmt_shell()`. stdin is then
/dev/null again. The script runs as `python SCRIPT` would run it: `__name__ == "__main__"`,
`__file__` the script, its folder first on `sys.path`, in the workflow's folder. Exit status:
0 when the script ends or calls `sys.exit(0)`; 1 with the script's traceback (none of this
file's frames) on stderr when it raises; the code it passes to `sys.exit` otherwise.
"""

from __future__ import annotations

import _pickle  # the C unpickler alone: `import pickle` would also import `re` (~10 ms)
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # importing typing would cost a few ms per job
    from typing import Any


class Namedlist(list):  # type: ignore[type-arg]  # (typing is not imported here: startup)
    """A list whose items may also be reached by name (`snakemake.input.table`)."""

    def __init__(self, items: Any = (), names: dict[str, Any] | None = None) -> None:
        super().__init__(items)
        self._names = dict(names or {})

    def _get(self, name: str) -> Any:
        where = self._names[name]
        if isinstance(where, (tuple, list)):
            return Namedlist(self[where[0]:where[1]])
        return self[where]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_names":
            raise AttributeError(name)
        try:
            return self._get(name)
        except KeyError:
            raise AttributeError(f"no item named {name!r} "
                                 f"(names: {', '.join(self._names) or 'none'})") from None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._get(key)
        return super().__getitem__(key)

    def get(self, name: str, default: Any = None) -> Any:
        return self._get(name) if name in self._names else default

    def keys(self) -> list[str]:
        return list(self._names)

    def items(self) -> Any:
        return [(k, self._get(k)) for k in self._names]

    def __str__(self) -> str:
        return " ".join(str(x) for x in self)


class ScriptObject:
    """The `snakemake` / `rulekit` object of a script."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.input = Namedlist(*data["input"])
        self.output = Namedlist(*data["output"])
        self.params = Namedlist(*data["params"])
        self.log = Namedlist(*data["log"])
        self.wildcards = Namedlist(*data["wildcards"])
        self.resources = Namedlist(*data["resources"])
        self.threads: int = data["threads"]
        self.config: dict[str, Any] = data["config"]
        self.rule: str = data["rule"]
        self.jobid: int = data["jobid"]
        self.attempt: int = data["attempt"]
        self.scriptdir: str = data["scriptdir"]
        self.bench_iteration = None

    def log_fmt_shell(self, stdout: bool = True, stderr: bool = True,
                      append: bool = False) -> str:
        """Snakemake's helper: the redirection of a shell command's output to the log."""
        if not self.log:
            return ""
        import shlex

        target = shlex.quote(str(self.log[0]))
        op = ">>" if append else ">"
        if stdout and stderr:
            return f" {op} {target} 2>&1"
        if stdout:
            return f" {op} {target}"
        if stderr:
            return f" 2{op} {target}"
        return ""

    def __repr__(self) -> str:
        return f"<snakemake job {self.rule} #{self.jobid}>"


def _user_traceback(exc: BaseException) -> str:
    import traceback

    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    here = os.path.abspath(__file__)
    seen: set[int] = set()
    node: Any = te
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        node.stack = traceback.StackSummary.from_list(
            [f for f in node.stack if os.path.abspath(f.filename) != here])
        node = node.__cause__ or node.__context__
    return "".join(te.format()).rstrip()


def main() -> int:
    data = _pickle.load(sys.stdin.buffer)
    fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    path = data["script"]
    if not path.endswith(".py"):
        print(f"script {path}: only Python scripts (*.py) are supported", file=sys.stderr)
        return 2
    sys.argv = [path]
    sys.path[0] = os.path.dirname(path)
    obj = ScriptObject(data)
    with open(path, encoding="utf-8") as fh:
        code = compile(fh.read(), path, "exec")
    scope = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__,
             "snakemake": obj, "rulekit": obj}
    try:
        exec(code, scope)
    except SystemExit as exc:
        if exc.code is None or exc.code == 0:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException as exc:  # noqa: BLE001 - the script's own error, shown as its traceback
        print(_user_traceback(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.stdout.flush()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
