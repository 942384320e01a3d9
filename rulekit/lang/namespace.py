"""The names a rule file sees besides its own: expand, temp, rules, checkpoints, shell...

`make_namespace(workflow)` returns the globals dict top-level code, directive values and
`run:` bodies execute in. Everything here is Snakemake-compatible in name and meaning.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable
from typing import Any

from ..core.errors import LoadError
from ..core.iopaths import io_list
from ..core.model import (
    IncompleteCheckpoint,
    NamedList,
    Rule,
    Unpack,
    Workflow,
    flag,
    producer_flag,
)
from ..core.patterns import Pattern, expand, glob_wildcards
from ..core.shellhook import shell_runner
from .preloaded import preloaded
from .reportcall import make_report
from .scattergather import SplitPaths
from .smkhelpers import HELPERS, NamedPaths

__all__ = ["make_namespace", "register_rule", "Shell"]


def temp(value: Any) -> Any:
    """Output deleted once no pending job needs it."""
    return flag(value, "temp")


temporary = temp


def protected(value: Any) -> Any:
    """Output made read-only after its job; rewriting it is an error."""
    return flag(value, "protected")


def touch(value: Any) -> Any:
    """Output created (or its time updated) after the job."""
    return flag(value, "touch")


def directory(value: Any) -> Any:
    """Output that is a folder."""
    return flag(value, "directory")


def ancient(value: Any) -> Any:
    """Input whose timestamp never makes a job rerun."""
    return flag(value, "ancient")


def multiext(prefix: str, *extensions: str, **named: str) -> Any:
    """`multiext("a/b", ".bam", ".bai")` -> ["a/b.bam", "a/b.bai"]; with names,
    `multiext("a/b", bam=".bam")` gives named items (`output.bam`), as in Snakemake."""
    if extensions and named:
        raise ValueError("multiext: give the extensions either all by position or all by name")
    for ext in (*extensions, *named.values()):
        if not isinstance(ext, str) or "/" in ext:
            raise ValueError(f"multiext: extension {ext!r} must be a string without '/'")
    if named:
        return NamedPaths({name: os.fspath(prefix) + ext for name, ext in named.items()})
    return [os.fspath(prefix) + ext for ext in extensions]


def unpack(func: Callable[..., Any]) -> Unpack:
    """Input function whose dict (or list) result becomes several named inputs."""
    if not callable(func):
        raise TypeError("unpack() expects an input function")
    return Unpack(func)


class RuleProxy:
    """`rules.NAME`: a defined rule's io as NamedLists of patterns."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.name = rule.name
        # Tagged with the rule: `input: rules.NAME.output` asks for this rule's files.
        self.output = NamedList([flag(o, producer_flag(rule.name)) for o in rule.output],
                                rule.output_names)
        self.log = NamedList(rule.log, rule.log_names)
        inputs, names = _flatten_items(rule.input)
        self.input = NamedList(inputs, names)

    def __repr__(self) -> str:
        return f"<rules.{self.name}>"


def _flatten_items(items: list[tuple[str | None, Any]]) -> tuple[list[Any], dict[str, Any]]:
    flat: list[Any] = []
    names: dict[str, Any] = {}
    for name, value in items:
        if isinstance(value, (list, tuple)):
            if name:
                names[name] = (len(flat), len(flat) + len(value))
            flat.extend(value)
        else:
            if name:
                names[name] = len(flat)
            flat.append(value)
    return flat, names


class _Registry:
    """`rules` and `checkpoints`: attribute access to what is defined so far."""

    def __init__(self, kind: str, wrap: Callable[[Rule], Any]) -> None:
        self._kind = kind
        self._wrap = wrap
        self._items: dict[str, Any] = {}

    def _add(self, rule: Rule) -> None:
        self._items[rule.name] = self._wrap(rule)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            raise AttributeError(
                f"no {self._kind} named {name!r} is defined above this line") from None


class CheckpointJob:
    """What `checkpoints.NAME.get(**wildcards)` returns once the checkpoint has run."""

    def __init__(self, rule: Rule, output: NamedList) -> None:
        self.rule = rule
        self.output = output


class _Checkpoint:
    def __init__(self, rule: Rule, workflow: Workflow) -> None:
        self.rule = rule
        self.workflow = workflow

    def get(self, **wildcards: Any) -> CheckpointJob:
        """The checkpoint job's outputs once it has finished successfully (see
        model.CheckpointState); until then IncompleteCheckpoint, which makes the asking
        job wait for it."""
        paths = [Pattern(p).format(wildcards) for p in self.rule.output]
        state = self.workflow.checkpoint_state
        for path in paths:
            if not state.ready(path) or not os.path.exists(path):
                raise IncompleteCheckpoint(self.rule.name, path)
        state.handed.update(paths)
        state.asked.extend(paths)
        return CheckpointJob(self.rule, io_list(NamedList(paths, self.rule.output_names)))


class Shell:
    """`shell`: configure the shell in the rule file, or run a command inside `run:`."""

    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow

    def executable(self, path: str | os.PathLike[str] | None) -> None:
        if path is None:                     # Snakemake: back to the default shell
            self._workflow.shell_executable = "bash"
            return
        text = os.fspath(path)
        if not isinstance(text, str) or not text:
            raise LoadError(f"shell.executable() expects a program name or path, got {path!r}")
        import shutil

        if shutil.which(text) is None:
            what = "no such file" if not os.path.exists(text) else "not an executable file"
            if os.sep not in text:
                what = "not found on PATH"
            raise LoadError(f"shell.executable({text!r}): {what}",
                            hint="give the path of an installed shell, e.g. /bin/bash")
        self._workflow.shell_executable = text

    def prefix(self, text: str) -> None:
        self._workflow.shell_prefix = text

    def suffix(self, text: str) -> None:
        self._workflow.shell_suffix = text

    def __call__(self, command: str, *, read: bool = False, iterable: bool = False,
                 **extra: Any) -> Any:
        from ..core.shellfmt import format_shell_call  # (only bodies that call shell())

        frame = sys._getframe(1)
        names = {**frame.f_globals, **frame.f_locals, **extra}
        text = format_shell_call(command, names)
        run = shell_runner()
        if run is None:
            raise LoadError("shell() cannot run commands here: no runner is installed "
                            "(import rulekit, not only rulekit.lang)")
        return run(self._workflow, text, read=read, iterable=iterable)


# False in worker processes (set by the executor), as Snakemake's is_main_process is False
# in the processes that run jobs.
MAIN_PROCESS = [True]


class WorkflowInfo:
    """`workflow`: the few attributes Snakefiles read."""

    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow

    @property
    def is_main_process(self) -> bool:
        return MAIN_PROCESS[0]

    @property
    def snakefile(self) -> str:
        """The main rule file (absolute path)."""
        return self._workflow.path

    main_snakefile = snakefile

    @property
    def current_basedir(self) -> str:
        """Folder of the rule file being loaded (of an include: while it loads)."""
        files = self._workflow.files
        return os.path.dirname(files[-1]) if files else self._workflow.basedir

    @property
    def cores(self) -> int:
        return self._workflow.cores

    @property
    def basedir(self) -> str:
        return self._workflow.basedir

    @property
    def config(self) -> dict[str, Any]:
        return self._workflow.config

    @property
    def workdir(self) -> str:
        return self._workflow.workdir

    def source_path(self, rel: str | os.PathLike[str]) -> str:
        """`rel` relative to the folder of the rule file that calls this."""
        caller = sys._getframe(1).f_code.co_filename
        base = os.path.dirname(caller) if caller in self._workflow.files else self.current_basedir
        return os.path.normpath(os.path.join(base, os.fspath(rel)))

    def get_rule(self, name: str) -> Any:
        return self._workflow.rules[name]


class WorkflowError(Exception):
    """Snakemake's WorkflowError: raise it in a rule file to stop with a message."""


def update_config(config: dict[str, Any], overwrite: Any) -> None:
    """Snakemake's update_config: merge `overwrite` into `config` recursively, in place."""
    for key, value in overwrite.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            update_config(config[key], value)
        else:
            config[key] = value


def make_namespace(workflow: Workflow) -> dict[str, Any]:
    rules = _Registry("rule", RuleProxy)
    checkpoints = _Registry("checkpoint", lambda rule: _Checkpoint(rule, workflow))
    # Code that looks its defining module up (@dataclass does) finds a module of that name;
    # it holds nothing, and the rule file's names stay in this dict.
    sys.modules.setdefault("__rulekit__", types.ModuleType("__rulekit__"))
    return {
        **preloaded(),
        **HELPERS,
        "__name__": "__rulekit__",
        "__builtins__": __builtins__,
        "temporary": temporary,
        "update_config": update_config,
        "WorkflowError": WorkflowError,
        "expand": expand,
        "glob_wildcards": glob_wildcards,
        "temp": temp,
        "protected": protected,
        "touch": touch,
        "directory": directory,
        "ancient": ancient,
        "multiext": multiext,
        "unpack": unpack,
        "report": make_report(workflow.files, workflow.basedir),
        "scatter": SplitPaths(workflow.scatter, "scatter"),
        "gather": SplitPaths(workflow.scatter, "gather"),
        "config": workflow.config,
        "rules": rules,
        "checkpoints": checkpoints,
        # The registries again, under names a rule file does not use: `rules = [...]` is
        # plain Python and may rebind `rules` without breaking later rule definitions.
        "__rulekit_rules__": rules,
        "__rulekit_checkpoints__": checkpoints,
        "shell": Shell(workflow),
        "workflow": WorkflowInfo(workflow),
    }


def register_rule(namespace: dict[str, Any], rule: Rule) -> None:
    namespace["__rulekit_rules__"]._add(rule)
    if rule.checkpoint:
        namespace["__rulekit_checkpoints__"]._add(rule)
