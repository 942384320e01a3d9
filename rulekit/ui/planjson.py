"""`plan --format json` written as it is made: the same text as
`json.dumps(plan.to_json(), indent=2)`, in chunks of a few thousand jobs, so the memory it
takes does not grow with the plan (building the whole document first took ~1.2 GB more than
the plan itself at 300,000 jobs).

    write_plan_json(plan, stream)

The encoder below covers what a plan holds (str, int, float, bool, None, lists, tuples and
dicts with str keys) and writes exactly what the json module writes for them with
`indent=2`; anything else goes through `json.dumps` itself.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _string
from typing import Any, TextIO

from ..planning.plan import Plan

__all__ = ["write_plan_json", "encode"]

_CHUNK = 2000   # jobs per write


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def encode(value: Any, level: int) -> str:
    """`value` as json.dumps(..., indent=2) writes it, nested `level` spaces deep."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return _float(value)
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        inner = "\n" + " " * (level + 2)
        return ("[" + inner + ("," + inner).join([encode(v, level + 2) for v in value])
                + "\n" + " " * level + "]")
    if kind is dict and all(type(k) is str for k in value):
        if not value:
            return "{}"
        inner = "\n" + " " * (level + 2)
        return ("{" + inner + ("," + inner).join(
            [_string(k) + ": " + encode(v, level + 2) for k, v in value.items()])
            + "\n" + " " * level + "}")
    return json.dumps(value, indent=2).replace("\n", "\n" + " " * level)


def _job(p: Any) -> str:
    """One planned job, as an item of the "jobs" list (6 spaces deep)."""
    job = p.job
    wildcards = job.wildcards
    if wildcards:
        wc = ("{\n        " + ",\n        ".join(
            [_string(k) + ": " + (_string(v) if type(v) is str else encode(v, 8))
             for k, v in wildcards.items()]) + "\n      }")
    else:
        wc = "{}"
    return ('    {\n      "rule": ' + _string(job.rule.name)
            + ',\n      "wildcards": ' + wc
            + ',\n      "inputs": ' + _paths(job.input)
            + ',\n      "outputs": ' + _paths(job.output)
            + ',\n      "reasons": ' + _reasons(p.reasons)
            + "\n    }")


def _reasons(reasons: Any) -> str:
    """encode([r.to_json() for r in reasons], 6), with the usual values (str keys; str
    and int values) written directly."""
    if not reasons:
        return "[]"
    parts = []
    for reason in reasons:
        data = reason.to_json()
        items = []
        for k, v in data.items():
            if type(k) is not str:
                parts.append(encode(data, 8))
                break
            kind = type(v)
            items.append(_string(k) + ": " + (_string(v) if kind is str else int.__repr__(v)
                                              if kind is int else encode(v, 10)))
        else:
            parts.append("{\n          " + ",\n          ".join(items) + "\n        }"
                         if items else "{}")
    return "[\n        " + ",\n        ".join(parts) + "\n      ]"


def _paths(paths: Any) -> str:
    if not paths:
        return "[]"
    return "[\n        " + ",\n        ".join([_string(str(x)) for x in paths]) + "\n      ]"


def write_plan_json(plan: Plan, stream: TextIO) -> None:
    """Write the plan as `json.dumps(plan.to_json(), indent=2)` would, plus a newline."""
    jobs = plan.jobs
    if not jobs:
        stream.write('{\n  "jobs": [],\n  "counts": ' + encode(plan.counts(), 2) + "\n}\n")
        return
    stream.write('{\n  "jobs": [\n')
    for start in range(0, len(jobs), _CHUNK):
        chunk = ",\n".join([_job(p) for p in jobs[start:start + _CHUNK]])
        stream.write(chunk + (",\n" if start + _CHUNK < len(jobs) else "\n"))
    stream.write('  ],\n  "counts": ' + encode(plan.counts(), 2) + "\n}\n")
