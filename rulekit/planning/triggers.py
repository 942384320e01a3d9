"""Rerun triggers that compare a job's inputs with what the metadata store recorded.

One function per trigger, each taking the job, what the store recorded when its outputs
were made, and the planner's (cached, batched) `stat`, and returning the reasons that hold.

    recorded_inputs   the record's input list as [path, mtime_ns, size, checksum?] rows
    changed_inputs    inputs whose mtime or size differs from the recorded one, in either
                      direction (a restored backup with an older mtime is a change)
    params_changed    the `params` trigger: one reason per param whose value differs
    input_set_changed the `input` trigger: the set of input paths differs
    code_changed      the `code` trigger: the body's code hash differs
    RecordTriggers    all of the above for one job and its record, in that order, in one
                      call (the hot path of a no-op run: every job has a record)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from ..core.jobvalues import TBD
from ..core.model import Job
from ..core.paramtext import canonical_params
from .fs import FileStat
from .reasons import CodeChanged, InputChanged, InputSetChanged, ParamsChanged, Reason
from .storeview import RecordView

__all__ = ["RERUN_TRIGGERS", "DEFAULT_TRIGGERS", "recorded_inputs", "changed_inputs", "same_content", "CHECKSUM_MAX_SIZE",
           "params_changed", "input_set_changed", "code_changed", "job_params",
           "RecordTriggers"]

#: Every rerun trigger, and those a plan uses unless told otherwise.
RERUN_TRIGGERS = ("mtime", "params", "input", "code", "checksum")
DEFAULT_TRIGGERS = ("mtime", "params", "input", "code")

#: Inputs up to this size get a content checksum in their record by default (as Snakemake
#: 9 does), so a touched input with the same bytes never makes a job run again.
CHECKSUM_MAX_SIZE = 1_000_000

def recorded_inputs(record: RecordView) -> Sequence[Any]:
    """The inputs a record holds, as rows [path, mtime_ns, size, (checksum)]: the store
    decodes its own columns (storeview.RecordView)."""
    return record.input_rows()


def changed_inputs(job: Job, recorded: Sequence[Any], stat: Callable[[str], FileStat | None],
                   t_out: int, output: str, root: str | None = None) -> list[InputChanged]:
    """Inputs of `job` whose mtime or size is not what the store recorded for `output`.

    Left to other triggers: inputs newer than the oldest output (`input-newer`), inputs
    the record does not list (`input-set-changed`), missing inputs, `ancient()` inputs and
    folders (a folder's mtime and size follow its entries, not its content). With `root`
    given, an input of the recorded size whose content hash equals the recorded one has
    not changed.
    """
    if not recorded:
        return []
    by_path = {row[0]: row for row in recorded}
    found: list[InputChanged] = []
    for inp in job.input:
        if type(inp) is not str and "ancient" in getattr(inp, "flags", ()):
            continue
        row = by_path.get(inp)
        if row is None:
            continue
        st = stat(inp)
        if st is None or st.is_dir or st.mtime_ns > t_out:
            continue
        if st.mtime_ns == row[1] and st.size == row[2]:
            continue
        if root is not None and same_content(root, inp, st, row):
            continue
        found.append(InputChanged(str(inp), output, row[1], st.mtime_ns, row[2], st.size))
    return found


def same_content(root: str, path: str, st: FileStat, row: Any) -> bool:
    """Does the file hold what its recorded row [path, mtime, size, checksum] says?
    False when the row has no checksum, the size differs, or the file cannot be read."""
    if st.is_dir or st.size != row[2] or len(row) < 4 or not row[3]:
        return False
    from ..core.hashing import file_checksum

    try:
        recorded: str = row[3]
        return file_checksum(os.path.join(root, path)) == recorded
    except OSError:
        return False


def job_params(job: Job) -> dict[str, Any]:
    """A job's params as the store records them (pass to paramtext.canonical_params):
    named params by name, positional ones by their index as a string."""
    names = job.params.names()
    by_index = {v: k for k, v in names.items() if isinstance(v, int)}
    return {by_index.get(i, str(i)): v for i, v in enumerate(job.params)}


_ABSENT = object()


def params_changed(job: Job, record: Any) -> list[ParamsChanged]:
    """One reason per param whose value differs from the recorded one. A value not known
    yet (TBD: the job's input is being made, so it runs anyway) is not compared."""
    if not job.params:   # most jobs: no params, nothing to encode
        if record.params == "{}":
            return []
        current = "{}"
    elif any(v is TBD for v in job.params):
        return []
    else:
        current = canonical_params(job_params(job))
        if current == record.params:
            return []
    try:
        old = json.loads(record.params)
    except ValueError:
        old = {}
    new = json.loads(current)
    if not isinstance(old, dict):
        old = {"": old}
    return [ParamsChanged(name, old.get(name), new.get(name))
            for name in sorted(set(old) | set(new))
            if old.get(name, _ABSENT) != new.get(name, _ABSENT)]


def input_set_changed(job: Job, recorded: Sequence[Any]) -> list[InputSetChanged]:
    """The set of input paths differs from the recorded one (order alone does not count)."""
    listed = [i[0] for i in recorded]
    current = [str(p) for p in job.input]
    if listed == current:
        return []
    before, now = set(listed), set(current)
    if before == now:
        return []
    return [InputSetChanged(tuple(sorted(now - before)), tuple(sorted(before - now)))]


def code_changed(job: Job, record: Any) -> list[CodeChanged]:
    """The rule body's code hash differs from the recorded one (both known)."""
    new_hash = job.rule.code_hash
    if record.code_hash and new_hash and record.code_hash != new_hash:
        return [CodeChanged(record.code_hash, new_hash)]
    return []


class RecordTriggers:
    """The triggers that compare a job with the record of its outputs, for one plan.

    `check` appends what `changed_inputs` (with the mtime trigger and existing outputs),
    `params_changed`, `input_set_changed` (unless the job waits for a checkpoint) and
    `code_changed` find, in that order. A job with one input that the record lists alone
    (most jobs) is compared inline: the same tests, without four calls and their lists.
    """

    __slots__ = ("stat", "root", "mtime", "params", "inputs", "code")

    def __init__(self, triggers: set[str], stat: Callable[[str], FileStat | None],
                 root: str) -> None:
        self.stat = stat
        self.root = root
        self.mtime = "mtime" in triggers
        self.params = "params" in triggers
        self.inputs = "input" in triggers
        self.code = "code" in triggers

    def check(self, job: Job, record: RecordView, oldest: FileStat | None, output: str,
              waiting: bool, r: list[Reason]) -> None:
        rows = record.input_rows()
        inputs = job.input
        one = len(inputs) == 1 and len(rows) == 1
        if one:
            (inp,), (row,) = inputs, rows   # unpacking: NamedList's own [] is Python code
            one = row[0] == inp
        if one:
            if self.mtime and oldest is not None:
                self._one_input(inp, row, oldest.mtime_ns, output, r)
            # input set: the one recorded path is the one input, nothing to compare
            if self.params and (job.params or record.params != "{}"):
                r.extend(params_changed(job, record))
        else:
            if self.mtime and oldest is not None:
                r.extend(changed_inputs(job, rows, self.stat, oldest.mtime_ns, output,
                                        self.root))
            if self.params:
                r.extend(params_changed(job, record))
            if self.inputs and not waiting:
                r.extend(input_set_changed(job, rows))
        if self.code:
            old_hash, new_hash = record.code_hash, job.rule.code_hash
            if old_hash and new_hash and old_hash != new_hash:
                r.append(CodeChanged(old_hash, new_hash))

    def _one_input(self, inp: str, row: Any, t_out: int, output: str,
                   r: list[Reason]) -> None:
        """changed_inputs for a job whose one input is the record's one row."""
        if type(inp) is not str and "ancient" in getattr(inp, "flags", ()):
            return
        st = self.stat(inp)
        if st is None or st.is_dir or st.mtime_ns > t_out:
            return
        if st.mtime_ns == row[1] and st.size == row[2]:
            return
        if same_content(self.root, inp, st, row):
            return
        r.append(InputChanged(str(inp), output, row[1], st.mtime_ns, row[2], st.size))
