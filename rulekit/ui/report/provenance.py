"""The provenance the outputs table shows on a click, one compact row per job.

Kept small because a 10,000-job workflow has 10,000 of them: what many jobs share (host,
user, run, versions; params; the rule's code) is stored once and referred to by index, times
are numbers (the page formats them), and log tails stop once `LOG_BUDGET` characters are in.

A row: [start, end, env, exit status, params, code, inputs, inputs not listed, logs,
benchmark] where env indexes `envs` ([host, user, run id, rulekit, Python]), params indexes
`params` (pretty JSON text), code indexes `codes` ([kind, hash, text or None]); inputs are
[path, size, mtime (s), checksum or None, changed since (0/1)]; logs [path, tail or None
(not embedded)]; benchmark [path, header, rows...] or None.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ...core.model import Job, Workflow
from ...state.records import OutputRecord

__all__ = ["ProvenanceTable", "LOG_TAIL_LINES", "LOG_TAIL_CHARS", "LOG_BUDGET",
           "INPUTS_SHOWN", "BENCHMARK_ROWS"]

LOG_TAIL_LINES = 20
LOG_TAIL_CHARS = 2000
LOG_BUDGET = 1_000_000      # characters of log tails in one page, all jobs together
INPUTS_SHOWN = 200          # per job; a merge of 10,000 inputs lists the first ones
BENCHMARK_ROWS = 10


def _intern(table: list[Any], index: dict[Any, int], value: Any) -> int:
    key = json.dumps(value) if isinstance(value, list) else value
    found = index.get(key)
    if found is None:
        found = index[key] = len(table)
        table.append(value)
    return found


class ProvenanceTable:
    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.rows: list[list[Any]] = []
        self.envs: list[list[Any]] = []
        self.params: list[str] = []
        self.codes: list[list[Any]] = []
        self._index: dict[str, int] = {}       # job key -> row
        self._envs: dict[Any, int] = {}
        self._params: dict[Any, int] = {}
        self._codes: dict[Any, int] = {}
        self._changed: dict[str, int] = {}     # input path -> changed since it was read
        self._log_budget = LOG_BUDGET

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "envs": self.envs, "params": self.params,
                "codes": self.codes}

    def add(self, key: str, rec: OutputRecord, job: Job | None) -> int:
        """The row of the job that made `rec` (one per job, however many outputs)."""
        found = self._index.get(key)
        if found is not None:
            return found
        root = self.workflow.workdir
        env = _intern(self.envs, self._envs, [rec.host, rec.user, rec.run_id,
                                              rec.rulekit_version, rec.python_version])
        params = _intern(self.params, self._params, _pretty(rec.params))
        code = _intern(self.codes, self._codes, self._code(rec))
        inputs = [self._input(inp) for inp in rec.inputs[:INPUTS_SHOWN]]
        logs = [[log, self._tail(os.path.join(root, log))] for log in rec.logs]
        bench = None
        if job is not None and job.benchmark:
            table = _benchmark(os.path.join(root, str(job.benchmark)))
            if table is not None:
                bench = [str(job.benchmark), *table]
        self._index[key] = len(self.rows)
        self.rows.append([round(rec.start, 3), round(rec.end, 3), env, rec.exit_status, params,
                          code, inputs, max(len(rec.inputs) - INPUTS_SHOWN, 0), logs, bench])
        return self._index[key]

    def _input(self, inp: Any) -> list[Any]:
        path, mtime_ns, size = inp[0], inp[1], inp[2]
        if path not in self._changed:
            try:
                st = os.stat(os.path.join(self.workflow.workdir, path))
                self._changed[path] = int((st.st_mtime_ns, st.st_size) != (mtime_ns, size))
            except OSError:
                self._changed[path] = 1
        checksum = inp[3] if len(inp) > 3 else None
        return [path, size, round(mtime_ns / 1e9, 3), checksum, self._changed[path]]

    def _code(self, rec: OutputRecord) -> list[Any]:
        rule = self.workflow.rules.get(rec.rule)
        if rule is None or rule.body is None:
            return ["", rec.code_hash, None]
        same = rule.body.code_hash == rec.code_hash
        return [rule.body.kind, rec.code_hash, rule.body.text if same else None]

    def _tail(self, full: str) -> str | None:
        try:
            with open(full, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 16 * LOG_TAIL_CHARS))
                text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log file now)"
        tail = "\n".join(text.splitlines()[-LOG_TAIL_LINES:])[-LOG_TAIL_CHARS:]
        if self._log_budget < len(tail):
            return None
        self._log_budget -= len(tail)
        return tail or "(empty)"


def _pretty(params: str) -> str:
    try:
        return json.dumps(json.loads(params), indent=1, sort_keys=True, default=str)
    except ValueError:
        return params


def _benchmark(full: str) -> list[Any] | None:
    try:
        with open(full, encoding="utf-8") as fh:
            lines = [line.rstrip("\n").split("\t") for _, line in
                     zip(range(BENCHMARK_ROWS + 1), fh)]
    except (OSError, UnicodeDecodeError):
        return None
    return lines if lines and lines[0] else None
