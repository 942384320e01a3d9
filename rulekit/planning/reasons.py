"""Why a job runs: one small frozen dataclass per reason, each carrying its evidence.

Every reason has `kind` (a stable machine name), `describe()` (one human line with the
evidence: files, times, old -> new values) and `to_json()` (a dict with "kind", the
fields and "text"). The planner emits them in a fixed order per job: forced, missing,
incomplete, newer input, upstream, then the store triggers, then checkpoint waits.

Outputs without a record in the metadata store fall back to timestamps alone; there is no
"no record" reason because the lack of a record never makes a job run by itself.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "Reason", "Forced", "MissingOutput", "Incomplete", "InputNewer", "InputChanged",
    "UpstreamRuns",
    "ParamsChanged", "InputSetChanged", "CodeChanged", "ChecksumChanged", "ContentChanged",
    "WaitingForCheckpoint", "NoOutput", "format_ns", "format_span", "missing_output",
    "upstream_runs",
]


def format_ns(t_ns: int) -> str:
    """An mtime in ns as a local ISO time with microseconds, e.g. 2024-05-01T12:00:00.000001."""
    return _dt.datetime.fromtimestamp(t_ns / 1e9).isoformat(timespec="microseconds")


def format_span(ns: int) -> str:
    """A positive duration in ns in words: "40 seconds", "3 hours", "12 days", "2 years"."""
    seconds = ns / 1e9
    for unit, size, upto in (("second", 1, 120), ("minute", 60, 120), ("hour", 3600, 48),
                             ("day", 86400, 730)):
        if seconds < size * upto:
            n = max(1, int(seconds // size))
            return f"{n} {unit}{'s' if n != 1 else ''}"
    n = int(seconds // (365.25 * 86400))
    return f"{n} years"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _paths(paths: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" (+{len(paths) - limit} more)" if len(paths) > limit else "")


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The dataclass fields of a reason class, looked up once (a plan has 10^5 reasons)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


# slots: no __dict__ per reason (a 900,001-job plan holds 1.5 million of them)
@dataclass(frozen=True, slots=True)
class Reason:
    kind: ClassVar[str] = "reason"

    def describe(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            data[name] = list(value) if isinstance(value, tuple) else value
        data["text"] = self.describe()
        return data

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True, slots=True)
class Forced(Reason):
    """how: "forceall" (-F), "forcerun" (-R RULE) or "force" (--force on a target)."""

    how: str
    kind: ClassVar[str] = "forced"

    def describe(self) -> str:
        return {
            "forceall": "forced: --forceall",
            "forcerun": "forced: --forcerun names this rule",
            "force": "forced: --force on a target",
        }.get(self.how, f"forced: {self.how}")


@dataclass(frozen=True, slots=True)
class MissingOutput(Reason):
    path: str
    kind: ClassVar[str] = "missing-output"

    def describe(self) -> str:
        return f"missing output {self.path}"


@dataclass(frozen=True, slots=True)
class NoOutput(Reason):
    """A job without output files always runs when requested: one with neither inputs nor
    outputs, or one with inputs and a body (run:/shell:/script:), as in Snakemake. A job
    with inputs only and no body (`rule all`) is a target list, never this."""

    has_input: bool = False
    kind: ClassVar[str] = "no-output"

    def describe(self) -> str:
        if self.has_input:
            return "rule has no output files, so its body runs every time"
        return "rule has neither input nor output files, so it always runs"


@dataclass(frozen=True, slots=True)
class Incomplete(Reason):
    """`writer`: the pid of a live rulekit run writing the file now, if one is."""

    path: str
    writer: int | None = None
    kind: ClassVar[str] = "incomplete"

    def describe(self) -> str:
        if self.writer is not None:
            return (f"output {self.path} is incomplete: a live rulekit run (pid "
                    f"{self.writer}) is writing it")
        return f"output {self.path} is incomplete (an earlier run was interrupted or failed)"


@dataclass(frozen=True, slots=True)
class InputNewer(Reason):
    """The newest input is newer than the oldest output (times in ns since the epoch)."""

    input: str
    output: str
    t_in: int
    t_out: int
    kind: ClassVar[str] = "input-newer"

    def describe(self) -> str:
        return (f"output {self.output} older than input {self.input} "
                f"({format_ns(self.t_out)} < {format_ns(self.t_in)})")

    def to_json(self) -> dict[str, Any]:
        data = Reason.to_json(self)   # (no zero-argument super() in a slots dataclass)
        data["t_in_iso"] = format_ns(self.t_in)
        data["t_out_iso"] = format_ns(self.t_out)
        return data


@dataclass(frozen=True, slots=True)
class InputChanged(Reason):
    """An input's mtime or size differs from what the store recorded when `output` was
    made, in either direction (times in ns since the epoch, sizes in bytes)."""

    input: str
    output: str
    old_mtime: int
    new_mtime: int
    old_size: int
    new_size: int
    kind: ClassVar[str] = "input-changed"

    def describe(self) -> str:
        return (f"input {self.input} changed since {self.output} was made: mtime "
                f"{format_ns(self.old_mtime)} -> {format_ns(self.new_mtime)}, size "
                f"{self.old_size} -> {self.new_size} bytes")

    def to_json(self) -> dict[str, Any]:
        data = Reason.to_json(self)   # (no zero-argument super() in a slots dataclass)
        data["old_mtime_iso"] = format_ns(self.old_mtime)
        data["new_mtime_iso"] = format_ns(self.new_mtime)
        return data


@dataclass(frozen=True, slots=True)
class UpstreamRuns(Reason):
    """`job_name` (and `count - 1` other jobs) making this job's inputs will run."""

    job_name: str
    count: int = 1
    kind: ClassVar[str] = "upstream-runs"

    def describe(self) -> str:
        if self.count == 1:
            return f"input made by {self.job_name}, which runs"
        return f"inputs made by {self.count} jobs that run, e.g. {self.job_name}"


@dataclass(frozen=True, slots=True)
class ParamsChanged(Reason):
    name: str
    old: Any
    new: Any
    kind: ClassVar[str] = "params-changed"

    def describe(self) -> str:
        return f"param {self.name} changed: {_short(self.old)} -> {_short(self.new)}"


@dataclass(frozen=True, slots=True)
class InputSetChanged(Reason):
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    kind: ClassVar[str] = "input-set-changed"

    def describe(self) -> str:
        parts = []
        if self.added:
            parts.append(f"added {_paths(self.added)}")
        if self.removed:
            parts.append(f"removed {_paths(self.removed)}")
        return "input files changed: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class CodeChanged(Reason):
    old_hash: str
    new_hash: str
    kind: ClassVar[str] = "code-changed"

    def describe(self) -> str:
        return f"rule code changed ({self.old_hash[:12]} -> {self.new_hash[:12]})"


@dataclass(frozen=True, slots=True)
class ChecksumChanged(Reason):
    path: str
    kind: ClassVar[str] = "checksum-changed"

    def describe(self) -> str:
        return f"content of input {self.path} changed"


@dataclass(frozen=True, slots=True)
class ContentChanged(Reason):
    """A file's content hash differs from the one rulekit.manifest lists for the job
    (`role` is "input" or "output"); judged so only when the store has no record."""

    path: str
    role: str
    old_hash: str
    new_hash: str
    kind: ClassVar[str] = "content-changed"

    def describe(self) -> str:
        return (f"content of {self.role} {self.path} differs from rulekit.manifest "
                f"({self.old_hash[:12]} -> {self.new_hash[:12]})")


@dataclass(frozen=True, slots=True)
class WaitingForCheckpoint(Reason):
    rule: str
    kind: ClassVar[str] = "waiting-for-checkpoint"

    def describe(self) -> str:
        return f"waiting for checkpoint {self.rule}; inputs are known once it has run"


# The planner's two most common reasons, made without the frozen dataclass's __init__ (one
# object.__setattr__ call per field): equal to MissingOutput(path) and
# UpstreamRuns(job_name, count) in every way, at about half the cost; a 900,001-job plan
# makes 1.5 million of them.
_new = object.__new__
_set_path = MissingOutput.__dict__["path"].__set__
_set_job_name = UpstreamRuns.__dict__["job_name"].__set__
_set_count = UpstreamRuns.__dict__["count"].__set__


def missing_output(path: str) -> MissingOutput:
    reason = _new(MissingOutput)
    _set_path(reason, path)
    return reason


def upstream_runs(job_name: str, count: int) -> UpstreamRuns:
    reason = _new(UpstreamRuns)
    _set_job_name(reason, job_name)
    _set_count(reason, count)
    return reason
