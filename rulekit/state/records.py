"""The records the metadata store keeps (store.py reads and writes them).

    InputRecord   an input as seen when a job finished: path, mtime_ns, size, checksum
    OutputRecord  what rulekit knew about one output when the job that made it finished
    PlanRecord    the columns a big plan compares
    RunRecord     one run
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import platform
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..core.paramtext import canonical_params
from ..core.version import rulekit_version

__all__ = ["InputRecord", "OutputRecord", "PlanRecord", "RunRecord", "StoredRecord",
           "canonical_params", "host"]

_loads = json.loads
_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class InputRecord(NamedTuple):
    path: str
    mtime_ns: int
    size: int
    checksum: str | None = None


@functools.cache
def _username() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


host = functools.cache(socket.gethostname)
_host = host
_python = functools.cache(platform.python_version)


_rulekit_version = rulekit_version


@dataclass(slots=True, eq=False)
class OutputRecord:
    """What rulekit knew about one output when the job that made it finished."""

    path: str
    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)
    params: str = "{}"  # canonical_params(...)
    code_hash: str | None = None
    inputs: list[InputRecord] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0
    host: str = field(default_factory=_host)
    user: str = field(default_factory=_username)
    exit_status: int = 0
    rulekit_version: str = field(default_factory=_rulekit_version)
    python_version: str = field(default_factory=_python)
    logs: list[str] = field(default_factory=list)
    run_id: str | None = None

    def input_rows(self) -> list[Any]:
        """The inputs as [path, mtime_ns, size, checksum] rows (what the planner compares)."""
        return list(self.inputs)

    def astuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        # Any two records with equal fields, whether built by a caller or read back.
        if not isinstance(other, OutputRecord):
            return NotImplemented
        return self.astuple() == other.astuple()

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"OutputRecord({inner})"


_FIELDS = tuple(OutputRecord.__dataclass_fields__)


def _lazy_json(name: str, convert: Callable[[Any], Any] | None = None) -> property:
    slot = OutputRecord.__dict__[name]  # the member descriptor of the dataclass slot

    def get(self: OutputRecord) -> Any:
        value = slot.__get__(self)
        if type(value) is str:  # still the stored JSON text: decode on first use
            value = _loads(value)
            if convert is not None:
                value = convert(value)
            slot.__set__(self, value)
        return value

    return property(get, slot.__set__)


class StoredRecord(OutputRecord):
    """A record read from the database, its JSON fields decoded on first access.

    Decoding three JSON columns per row tripled the cost of reading 30k records; a no-op
    plan touches `inputs` at most, and provenance is rarely read at all.
    """

    __slots__ = ()
    wildcards = _lazy_json("wildcards")
    inputs = _lazy_json("inputs", lambda rows: [InputRecord(*r) for r in rows])
    logs = _lazy_json("logs")


class PlanRecord(NamedTuple):
    """The columns a big plan compares (`plan_records`); `raw_inputs` is the stored JSON."""

    params: str
    code_hash: str | None
    raw_inputs: str

    @property
    def inputs(self) -> list[InputRecord]:
        return [InputRecord(*r) for r in _loads(self.raw_inputs)]

    def input_rows(self) -> list[Any]:
        """The inputs as [path, mtime_ns, size, checksum] rows, decoded from the column
        (_decode_rows inlined: a 10^5-job plan calls this 10^5 times)."""
        raw = self.raw_inputs
        value: list[Any]
        try:
            value, end = _scan_json(raw, 0)
        except StopIteration:
            end = -1
        return value if end == len(raw) else _loads(raw)


@dataclass(slots=True)
class RunRecord:
    run_id: str
    argv: list[str]
    start: float
    end: float | None
    outcome: str | None
    pid: int
    host: str
