"""Formatting shell commands (and `message:` texts) for a job; running them is
rulekit/execution/shellrun.py.

`{input}`, `{input.name}`, `{input[0]}`, `{output}`, `{log}`, `{benchmark}` and wildcard values
are shell-quoted one path at a time (a list of several paths becomes several quoted words), so
a file named `a b;rm -rf ~` is one argument and never a command. `{params.x}`, `{config[x]}`,
`{threads}`, `{resources.x}` and any other name are inserted as written, because they often
hold flags; but a params string formatted from wildcards (`prefix="out/{s}"`, a
`model.ShellText`) brings its wildcard values quoted. `{x:q}` forces quoting, `{x:u}` turns
it off. This is stricter than Snakemake on
purpose (snakemake issue 3297).

The same formatter serves `shell:` bodies (formatted in the driver), `message:` texts (never
quoted: they are printed, not run) and `shell()` calls inside `run:` bodies, which format from
the calling body's local and global names.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # CPython's str.format field parser
import functools
import shlex
import string
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from .model import NamedList, Wildcards

__all__ = [
    "QUOTED_NAMES", "ShellFormatError", "format_command", "format_message", "format_shell_call",
    "job_names", "quote_value", "mentions",
]

#: Names whose values are paths or wildcard values: quoted unless `:u`.
QUOTED_NAMES = frozenset({"input", "output", "log", "benchmark", "wildcards"})


class ShellFormatError(ValueError):
    """A `{...}` field of a command cannot be filled; the message names the rule and field."""


def quote_value(value: Any) -> str:
    """Quote a path, or each path of a list, for bash."""
    if isinstance(value, (list, tuple)):
        return " ".join(shlex.quote(str(v)) for v in value)
    if isinstance(value, Mapping):
        return " ".join(shlex.quote(str(v)) for v in value.values())
    return shlex.quote(str(value))


def _plain(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def _as_written(value: Any) -> str:
    """A value inserted unquoted; a params string formatted from wildcards (ShellText)
    brings its wildcard values quoted."""
    if isinstance(value, (list, tuple)):
        return " ".join(getattr(v, "shell", None) or str(v) for v in value)
    return getattr(value, "shell", None) or str(value)


class _Field:
    __slots__ = ("value", "quote")

    def __init__(self, value: Any, quote: bool) -> None:
        self.value = value
        self.quote = quote


class _Formatter(string.Formatter):
    """string.Formatter that decides quoting by the field's first name."""

    def __init__(self, what: str, quoting: bool) -> None:
        self.what = what          # "rule a: shell command" - the start of every error
        self.quoting = quoting

    def parse(self, format_string: str) -> Any:
        return _parsed(format_string)   # a rule's command is formatted once per job

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        first, rest = _string.formatter_field_name_split(field_name)
        if first == "" or isinstance(first, int):
            raise ShellFormatError(
                f"{self.what} has a positional field {{{field_name}}}; use a name such as "
                "{input} (write {{ and }} for literal braces)")
        try:
            obj = kwargs[first]
        except KeyError:
            own = kwargs.maps[0] if isinstance(kwargs, ChainMap) else kwargs
            known = ", ".join(sorted(k for k in own if not k.startswith("_"))[:12])
            raise ShellFormatError(
                f"{self.what} refers to {{{field_name}}}, but no name {first!r} is defined "
                f"(known: {known}; write {{{{ and }}}} for literal braces)") from None
        where = first
        for is_attr, key in rest:
            try:
                if is_attr and isinstance(obj, NamedList) and key in obj._names:
                    obj = obj[key]   # a name such as `count` or `index` wins over list methods
                else:
                    obj = getattr(obj, key) if is_attr else obj[key]
            except (AttributeError, KeyError, IndexError, TypeError):
                raise ShellFormatError(
                    f"{self.what} refers to {{{field_name}}}, but {where} has no item "
                    f"{key!r}{_available(obj)}") from None
            where = f"{where}.{key}" if is_attr else f"{where}[{key!r}]"
        return _Field(obj, self.quoting and first in QUOTED_NAMES), first

    def format_field(self, value: Any, format_spec: str) -> str:
        field = value if isinstance(value, _Field) else _Field(value, False)
        if type(field.value) is Wildcards and not format_spec:
            # `{wildcards}` alone: name=value pairs by name, comma-separated (Snakemake's)
            field = _Field(",".join(f"{k}={v}" for k, v in sorted(field.value.items())),
                           field.quote)
        if format_spec == "q":
            return quote_value(field.value)
        if format_spec == "u":
            return _plain(field.value)
        if format_spec:
            text = format(field.value, format_spec)
            return shlex.quote(text) if field.quote else text
        if field.quote:
            return quote_value(field.value)
        return _as_written(field.value) if self.quoting else _plain(field.value)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is None or not isinstance(value, _Field):
            return super().convert_field(value, conversion)
        return _Field(super().convert_field(value.value, conversion), value.quote)


@functools.lru_cache(maxsize=1024)
def _parsed(template: str) -> tuple[tuple[str, str | None, str | None, str | None], ...]:
    return tuple(_string.formatter_parser(template))


def _available(obj: Any) -> str:
    if isinstance(obj, NamedList):
        names = obj.keys()
        return (f" (it has {len(obj)} item{'s' if len(obj) != 1 else ''}"
                + (f"; names: {', '.join(names)}" if names else "") + ")")
    if isinstance(obj, Mapping):
        return f" (keys: {', '.join(map(str, list(obj)[:12]))})"
    return ""


def _format(template: str, names: Mapping[str, Any], what: str, quoting: bool) -> str:
    try:
        return _Formatter(what, quoting).vformat(template, (), names)
    except ShellFormatError:
        raise
    except (ValueError, IndexError, TypeError) as exc:
        raise ShellFormatError(f"{what} is malformed ({exc}); write {{{{ and }}}} for "
                               "literal braces") from None


def job_names(*, input: Any, output: Any, params: Any, wildcards: Any, threads: int,
              resources: Any, log: Any, config: Any, rule: str, jobid: int,
              benchmark: Any = None) -> dict[str, Any]:
    """The names a command of one job may refer to."""
    if isinstance(wildcards, dict):
        wildcards = Wildcards.from_dict(wildcards)
    if isinstance(resources, dict):
        resources = NamedList(resources.values(), {k: i for i, k in enumerate(resources)})
    return {"input": input, "output": output, "params": params, "wildcards": wildcards,
            "threads": threads, "resources": resources, "log": log, "config": config,
            "rule": rule, "jobid": jobid, "benchmark": benchmark or ""}


@functools.lru_cache(maxsize=256)
def mentions(template: str, name: str) -> bool:
    """Whether a command template has a field starting with `name` (`{log}`, `{log.err}`)."""
    try:
        for _, field, _, _ in string.Formatter().parse(template):
            if field is not None and _string.formatter_field_name_split(field)[0] == name:
                return True
    except ValueError:
        return False
    return False


def format_command(template: str, names: Mapping[str, Any], rule: str,
                   globals_: Mapping[str, Any] | None = None) -> str:
    """The shell command of rule `rule` with fields filled and quoted. Names the job does
    not define are looked up in `globals_` (the rule file's globals, as in Snakemake)."""
    if globals_ is not None:
        names = ChainMap(dict(names), globals_)  # type: ignore[arg-type]
    return _format(template, names, f"rule {rule}: shell command", True)


def format_message(template: str, names: Mapping[str, Any], rule: str,
                   globals_: Mapping[str, Any] | None = None) -> str:
    """A `message:` text: the same fields, nothing quoted."""
    if globals_ is not None:
        names = ChainMap(dict(names), globals_)  # type: ignore[arg-type]
    return _format(template, names, f"rule {rule}: message", False)


def format_shell_call(command: str, names: Mapping[str, Any]) -> str:
    """A `shell("...")` command inside a `run:` body, filled from the body's own names."""
    rule = str(names.get("rule", "?"))
    return _format(command, names, f"rule {rule}: shell() command", True)
