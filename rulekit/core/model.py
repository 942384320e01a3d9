"""The workflow model: rules, jobs and the io lists bodies see. Plain data, no I/O.

`loader.py` builds a `Workflow` of `Rule`s from a rule file; `dag.py` turns targets into
`Job`s. Jobs use `__slots__` and share per-rule objects so that 10^5-10^6 of them fit in
memory (the planner's budget is tens of microseconds and a few KB per job).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

from .patterns import Pattern
from .source import Span

__all__ = [
    "FLAGS", "AnnotatedPath", "FlaggedCallable", "Unpack", "flag", "has_flag", "NamedList",
    "producer_flag", "pinned_producer",
    "Body", "Rule", "Workflow", "Job", "Wildcards", "IncompleteCheckpoint", "named_list",
    "ShellText", "CheckpointState",
]

FLAGS = ("temp", "protected", "touch", "directory", "ancient")


class AnnotatedPath(str):
    """A path string carrying flags from temp(), protected(), touch(), directory(), ancient()."""

    flags: frozenset[str]

    def __new__(cls, value: str | os.PathLike[str], flags: Iterable[str] = ()) -> AnnotatedPath:
        obj = super().__new__(cls, os.fspath(value))
        obj.flags = frozenset(flags) | getattr(value, "flags", frozenset())
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (AnnotatedPath, (str(self), tuple(self.flags)))


class ShellText(str):
    """A params string formatted from wildcards (`prefix="out/{s}"`).

    The value is the text as written with the wildcard values filled in (what `run:` bodies
    and scripts see); `shell` is the same text with each wildcard value shell-quoted, which
    is what `{params.prefix}` inserts into a command, so a wildcard value never runs.
    """

    shell: str

    def __new__(cls, value: str, shell: str) -> ShellText:
        obj = super().__new__(cls, value)
        obj.shell = shell
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (ShellText, (str(self), self.shell))


class _Frozen:
    """What @dataclass(frozen=True) gives a small record, written out once (making the
    dataclasses at import cost start-up time, issue 12): fields set once by __init__,
    compared and hashed as a tuple of `_fields`."""

    _fields: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{self.__class__.__qualname__}({shown})"


class FlaggedCallable(_Frozen):
    """An input function wrapped by a flag helper, e.g. ancient(lambda wc: ...)."""

    _fields = ("func", "flags")
    func: Callable[..., Any]
    flags: frozenset[str]

    def __init__(self, func: Callable[..., Any], flags: frozenset[str]) -> None:
        object.__setattr__(self, "func", func)
        object.__setattr__(self, "flags", flags)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)


class Unpack(_Frozen):
    """unpack(f): the dict or list f returns becomes several (named) inputs."""

    _fields = ("func",)
    func: Callable[..., Any]

    def __init__(self, func: Callable[..., Any]) -> None:
        object.__setattr__(self, "func", func)


def flag(value: Any, name: str) -> Any:
    """Attach flag `name` to a path (str or os.PathLike such as pathlib.Path), a list of
    paths or an input function. A path comes back as an AnnotatedPath (a str)."""
    if isinstance(value, (str, os.PathLike)):
        return AnnotatedPath(value, (name,))
    if isinstance(value, FlaggedCallable):
        return FlaggedCallable(value.func, value.flags | {name})
    if callable(value):
        return FlaggedCallable(value, frozenset((name,)))
    if isinstance(value, (list, tuple)):
        return [flag(v, name) for v in value]
    if isinstance(value, dict):
        return {k: flag(v, name) for k, v in value.items()}
    raise TypeError(f"{name}() expects a path, a list of paths or a function, got {type(value).__name__}")


_PRODUCER = "rule:"


def producer_flag(rule: str) -> str:
    """The flag `rules.NAME.output` items carry: an input naming it is made by rule NAME."""
    return _PRODUCER + rule


def pinned_producer(value: Any) -> str | None:
    """The rule an input path was taken from (`rules.NAME.output`), else None."""
    f: str
    for f in getattr(value, "flags", ()):
        if f.startswith(_PRODUCER):
            return f[len(_PRODUCER):]
    return None


def has_flag(value: Any, name: str) -> bool:
    return name in getattr(value, "flags", ())


class NamedList(list[Any]):
    """A list whose items may also be reached by name: `input[0]`, `input.table`.

    `names` maps a name to an index or to a (start, stop) range for a named sublist.
    `str()` joins with spaces, as a shell command wants.
    """

    __slots__ = ("_names",)

    def __init__(self, items: Iterable[Any] = (), names: dict[str, int | tuple[int, int]] | None = None):
        super().__init__(items)
        self._names = names if names is not None else _NO_NAMES

    def _get(self, name: str) -> Any:
        where = self._names[name]
        if isinstance(where, tuple):
            return NamedList(self[where[0]:where[1]])
        return self[where]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._get(name)
        except KeyError:
            raise AttributeError(f"no item named {name!r} (names: {', '.join(self._names) or 'none'})") from None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._get(key)
        return super().__getitem__(key)

    def get(self, name: str, default: Any = None) -> Any:
        return self._get(name) if name in self._names else default

    def keys(self) -> list[str]:
        return list(self._names)

    def items(self) -> Iterator[tuple[str, Any]]:
        for name in self._names:
            yield name, self._get(name)

    def names(self) -> dict[str, int | tuple[int, int]]:
        return dict(self._names)

    def __str__(self) -> str:
        return " ".join(str(x) for x in self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (NamedList, (list(self), dict(self._names)))


_NO_NAMES: dict[str, int | tuple[int, int]] = {}
_list_new, _list_init = list.__new__, list.__init__


def named_list(items: Iterable[Any], names: dict[str, int | tuple[int, int]]) -> NamedList:
    """`NamedList(items, names)` without the Python-level __init__ (the DAG makes 10^5)."""
    made = _list_new(NamedList)
    _list_init(made, items)
    made._names = names
    return made


class Wildcards(NamedList):
    """Wildcard values by name (`wildcards.sample`) and position."""

    __slots__ = ()

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> Wildcards:
        return cls(values.values(), {k: i for i, k in enumerate(values)})

    def to_dict(self) -> dict[str, str]:
        return {k: self[i] for k, i in self._names.items()}


@dataclass
class Body:
    """What a rule does. kind is "run", "shell" or "script".

    `text` is the verbatim source (a run: block, the shell: value source, or the script
    path), `code_hash` hashes it with comments and blank lines normalised away.
    For "run", `func` is the compiled function; for "shell", `command` is the evaluated
    string; for "script", `script` is the path relative to the rule file's folder.
    """

    kind: str
    span: Span
    text: str
    code_hash: str
    func: Callable[..., Any] | None = None
    command: str | None = None
    script: str | None = None


@dataclass(eq=False, repr=False)   # its own __repr__ (a generated one is made, then dropped)
class Rule:
    """One rule (or checkpoint) as the rule file declares it, values evaluated.

    io directives keep their items as `(name or None, value)` pairs where a value is a
    string pattern (maybe an AnnotatedPath), a list of them, a callable (input function),
    or an Unpack. Outputs are flattened into `output` with `output_names` because every
    output must be a pattern known when the rule is defined.
    """

    name: str
    span: Span
    checkpoint: bool = False
    input: list[tuple[str | None, Any]] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    output_names: dict[str, int | tuple[int, int]] = field(default_factory=dict)
    params: list[tuple[str | None, Any]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    log_names: dict[str, int | tuple[int, int]] = field(default_factory=dict)
    benchmark: str | None = None
    threads: int | Callable[..., Any] = 1
    resources: dict[str, Any] = field(default_factory=dict)
    priority: int | Callable[..., Any] = 0
    message: str | None = None
    wildcard_constraints: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    default_target: bool = False
    localrule: bool = False
    body: Body | None = None
    docstring: str | None = None
    # Where each directive was written, for errors that point at it.
    spans: dict[str, Span] = field(default_factory=dict)
    # Filled by the loader once the rule is complete:
    output_patterns: list[Pattern] = field(default_factory=list)
    wildcard_names: frozenset[str] = frozenset()
    index: int = 0  # position in the file: the tie-breaker everywhere
    # The module workflow a rule was used from (`use rule x from m`): its globals and
    # config are what the rule's shell command and body see. None: the main workflow.
    home: Workflow | None = field(default=None, repr=False, compare=False)

    def globals_in(self, wf: Workflow) -> dict[str, Any]:
        return (self.home or wf).namespace

    def config_in(self, wf: Workflow) -> dict[str, Any]:
        return (self.home or wf).config

    @property
    def code_hash(self) -> str | None:
        return self.body.code_hash if self.body else None

    def __repr__(self) -> str:
        return f"<Rule {self.name}>"


class CheckpointState:
    """Which checkpoint outputs `checkpoints.NAME.get(...)` may hand out (SPEC §2.3).

    An output is ready when its checkpoint job finished successfully in this run (`done`),
    or when that job does not run in this run (not in `pending`) and the output exists
    (checked by the caller) with no incomplete marker in the store (`incomplete`): the store
    marks outputs incomplete before their job starts and clears the mark only on success.
    Never merely because the path exists: a checkpoint running in parallel has a
    half-written output. `handed` collects what `get` handed out during one plan and
    `asked` what one input function asked for (the DAG builder turns those into deps).
    """

    __slots__ = ("done", "pending", "incomplete", "handed", "asked")

    def __init__(self) -> None:
        self.done: set[str] = set()
        self.pending: set[str] = set()
        self.incomplete: set[str] = set()
        self.handed: set[str] = set()
        self.asked: list[str] = []

    def ready(self, path: str) -> bool:
        if path in self.done:
            return True
        return path not in self.pending and path not in self.incomplete

    def finished(self, paths: Iterable[str]) -> None:
        """A checkpoint job of this run finished successfully with these outputs."""
        for path in paths:
            self.done.add(str(path))
            self.pending.discard(str(path))


@dataclass(eq=False)
class Workflow:
    """A loaded rule file."""

    path: str                 # the rule file, absolute
    basedir: str              # folder of the rule file
    workdir: str              # folder every rule path is relative to (absolute)
    rules: dict[str, Rule] = field(default_factory=dict)
    ruleorder: list[list[str]] = field(default_factory=list)   # each a > b > c chain
    localrules: set[str] = field(default_factory=set)
    wildcard_constraints: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    onstart: list[Callable[..., Any]] = field(default_factory=list)
    onsuccess: list[Callable[..., Any]] = field(default_factory=list)
    onerror: list[Callable[..., Any]] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)
    shell_executable: str = "bash"
    shell_prefix: str = ""
    shell_suffix: str = ""
    files: list[str] = field(default_factory=list)   # rule file + includes, for hashing/watch
    report_description: str | None = None   # `report: "workflow.rst"`: the report's text
    scatter: dict[str, int] = field(default_factory=dict)   # `scattergather: split=8`
    checkpoint_state: CheckpointState = field(default_factory=CheckpointState)
    cores: int = field(default_factory=lambda: len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))

    def default_rule(self) -> Rule | None:
        """The rule marked `default_target: True`, else the first rule of the main file
        (never one from an `include:`d file, as in Snakemake), else the first rule."""
        for rule in self.rules.values():
            if rule.default_target:
                return rule
        for rule in self.rules.values():
            if rule.span.path == self.path:
                return rule
        return next(iter(self.rules.values()), None)

    def rule_rank(self, name: str) -> tuple[int, ...]:
        """Position of `name` in each ruleorder chain (absent -> large)."""
        return tuple(chain.index(name) if name in chain else 1 << 30 for chain in self.ruleorder)


class Job:
    """One application of a rule to one set of wildcard values.

    `input`, `output`, `log` are NamedLists of paths relative to the workdir; `params`
    a NamedList of values; `deps` the jobs producing this job's inputs (filled by dag).
    """

    __slots__ = ("rule", "wildcards", "input", "output", "params", "log", "benchmark",
                 "threads", "resources", "deps", "id", "__weakref__")

    def __init__(self, rule: Rule, wildcards: dict[str, str], input: NamedList,
                 output: NamedList, params: NamedList, log: NamedList,
                 benchmark: str | None, threads: int, resources: dict[str, Any]) -> None:
        self.rule = rule
        self.wildcards = wildcards
        self.input = input
        self.output = output
        self.params = params
        self.log = log
        self.benchmark = benchmark
        self.threads = threads
        self.resources = resources
        self.deps: list[Job] = []
        self.id = -1

    @property
    def name(self) -> str:
        """`rule` or `rule[sample=a, n=1]`: how the console and errors name a job."""
        wcs = self.wildcards
        if not wcs:
            return self.rule.name
        if len(wcs) == 1:
            ((k, v),) = wcs.items()
            return f"{self.rule.name}[{k}={v}]"
        inner = ", ".join([f"{k}={v}" for k, v in wcs.items()])
        return f"{self.rule.name}[{inner}]"

    def __repr__(self) -> str:
        return f"<Job {self.name}>"


class IncompleteCheckpoint(Exception):
    """Raised by `checkpoints.NAME.get(...)` while the checkpoint's output is not there yet.

    The DAG builder catches it: the asking job waits for the checkpoint job and is
    re-planned once that job has run.
    """

    def __init__(self, rule: str, path: str) -> None:
        super().__init__(f"checkpoint {rule} has not produced {path} yet")
        self.rule = rule
        self.path = path
