"""Snakemake's command-line habits on top of click: read before click parses the arguments.

- Options that take several values in Snakemake (`--config a=1 b=2`, `--configfile A B`,
  `--until A B`, `-R A B`, ...) are rewritten into repeated options, which click knows.
  As in Snakemake, such an option takes every following argument up to the next option.
- `-j` / `--cores` without a number means all cores; `--cores all` too.
- Snakemake options that rulekit answers with a subcommand (`--summary`, `--dag`, ...)
  stop with "use `rulekit X`" instead of click's "no such option, did you mean ...".
- `--rerun-incomplete` / `--ri` are accepted and dropped with a note (incomplete outputs
  always rerun in rulekit); output switches such as `--verbose` or `--reason` are dropped;
  `--printshellcmds` and `--dryrun` are read as `-p` and `-n`.

Also here: Snakemake's parsing of `--config` values and of the `RULE=N` style options.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import click

from ..core.errors import UsageError

__all__ = ["rewrite_args", "parse_config_items", "parse_value", "parse_rule_values",
           "parse_set_resources", "parse_consider_ancient", "CoresType", "MULTI_VALUE",
           "SUBCOMMAND_SPELLINGS", "RulekitCommand", "load_options", "override_options",
           "overrides_from_options", "remembered"]

# Options that take one or more values, as Snakemake's nargs="+" options do.
MULTI_VALUE = ("--config", "-C", "--configfile", "--configfiles", "--until", "-U",
               "--omit-from", "-O", "--forcerun", "-R", "--set-threads", "--set-resources",
               "--default-resources", "--default-res", "--consider-ancient", "--resources",
               "--res", "--rerun-triggers")

SUBCOMMAND_SPELLINGS = {
    "--summary": "rulekit summary", "-S": "rulekit summary",
    "--detailed-summary": "rulekit summary", "-D": "rulekit summary",
    "--dag": "rulekit dag", "--rulegraph": "rulekit dag --rules",
    "--filegraph": "rulekit dag", "--d3dag": "rulekit dag --format json",
    "--unlock": "rulekit unlock", "--lint": "rulekit check",
    "--delete-all-output": "rulekit clean", "--list": "rulekit list", "-l": "rulekit list",
    "--list-rules": "rulekit list", "--report": "rulekit report",
}
DEFAULT_RESOURCES = ("mem_mb=max(2*input.size_mb, 1000)", "disk_mb=max(2*input.size_mb, 1000)")
# Snakemake output switches with nothing to change in rulekit (reasons are always shown in
# plans, failed logs always printed): accepted and dropped.
_HARMLESS = ("--verbose", "--reason", "-r", "--show-failed-logs", "--nocolor",
             "--no-hooks", "--printshellcmds-all")
# Snakemake's spellings of rulekit options.
_ALIASES = {"--printshellcmds": "--print-commands", "--dryrun": "--dry-run",
            "--keepgoing": "--keep-going", "--notemp": "--no-temp",
            "--restart-times": "--retries"}
# Snakemake options for cluster job grouping, with values: no effect on a local run.
_IGNORED_WITH_VALUES = ("--groups", "--group-components")
_INCOMPLETE = ("--rerun-incomplete", "--ri")
_CORES = ("-j", "--jobs", "--cores", "-c")


def rewrite_args(args: Sequence[str], note: Callable[[str], None]) -> list[str]:
    """Snakemake-style argv -> click-style argv (see the module docstring)."""
    out: list[str] = []
    i, n = 0, len(args)
    noted = False
    while i < n:
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if name in SUBCOMMAND_SPELLINGS:
            raise UsageError(f"{name} is a subcommand in rulekit: use `{SUBCOMMAND_SPELLINGS[name]}`")
        if name in _HARMLESS and "=" not in arg:
            i += 1
            continue
        if name in _ALIASES:
            out.append(_ALIASES[name] + arg[len(name):])   # keeps an "=VALUE" part
            i += 1
            continue
        if name in _IGNORED_WITH_VALUES:
            i += 1
            while "=" not in arg and i < n and not _is_option(args[i]):
                i += 1
            continue
        if name in _INCOMPLETE:
            if not noted:
                note("note: --rerun-incomplete is not needed: rulekit always reruns jobs "
                     "whose outputs are incomplete")
                noted = True
            i += 1
            continue
        if arg in _CORES and (i + 1 >= n or _is_option(args[i + 1]) or (
                arg in ("-j", "--jobs") and not _is_cores(args[i + 1]))):
            out.extend([arg, "all"])      # `-j` alone: all cores
            i += 1
            continue
        if arg in _CORES and args[i + 1] == "unlimited":
            out.extend([arg, "all"])
            i += 2
            continue
        if arg in MULTI_VALUE:
            values = []
            i += 1
            while i < n and not _is_option(args[i]):
                values.append(args[i])
                i += 1
            if not values and arg in ("--default-resources", "--default-res"):
                values = list(DEFAULT_RESOURCES)   # bare: Snakemake's defaults
            if not values:
                out.append(arg)   # click reports the missing value
            for value in values:
                out.extend([arg, value])
            continue
        out.append(arg)
        i += 1
    return out


def _is_cores(arg: str) -> bool:
    return arg.isdigit() or arg in ("all", "unlimited")


def _is_option(arg: str) -> bool:
    return arg.startswith("-") and len(arg) > 1 and not re.fullmatch(r"-\d+(\.\d*)?", arg)


class CoresType(click.ParamType):  # type: ignore[type-arg]  # (generic in click's stubs only)
    """A positive number of cores, or `all` (None: every available CPU)."""

    name = "N|all"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | None:
        if value is None or isinstance(value, int) and not isinstance(value, bool):
            if isinstance(value, int) and value < 1:
                self.fail(f"{value} is not a positive number of cores", param, ctx)
            return value
        text = str(value).strip()
        if text == "all":
            return None
        try:
            number = int(text)
        except ValueError:
            self.fail(f"{text!r} is not a number of cores (a positive integer or 'all')",
                      param, ctx)
        if number < 1:
            self.fail(f"{number} is not a positive number of cores", param, ctx)
        return number


def parse_value(raw: str) -> Any:
    """A `--config` value as Snakemake reads it: int, float, exact True/False, a YAML list or
    mapping written with brackets, else the string itself (`true` stays "true")."""
    if raw == "":
        return None
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    if raw in ("True", "False"):
        return raw == "True"
    if raw.lstrip().startswith(("[", "{")):
        import yaml

        try:
            value = yaml.load(raw, Loader=yaml.BaseLoader)  # noqa: S506 - strings only
        except yaml.YAMLError:
            return raw
        return value
    return raw


def parse_config_items(items: Sequence[str], option: str = "--config") -> dict[str, Any]:
    """`K=V` items parsed like Snakemake's --config; `a.b=1` nests (rulekit's addition)."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} item {item!r} has no '=' (expected KEY=VALUE)")
        parts = key.split(".")
        value: Any = parse_value(raw)
        for part in reversed(parts[1:]):
            value = {part: value}
        from ..lang.configfile import deep_merge

        deep_merge(result, {parts[0]: value})
    return result


def parse_rule_values(items: Sequence[str], option: str) -> dict[str, int | str]:
    """`RULE=N` items (--set-threads): N a non-negative integer, or a Python expression of
    input, threads, attempt (`a=max(input.size_mb, 5)`), kept as text."""
    result: dict[str, int | str] = {}
    for item in items:
        rule, sep, raw = item.partition("=")
        value: int | str
        try:
            value = int(raw)
        except ValueError:
            value = raw.strip()
        if not sep or not rule or value == "" or (isinstance(value, int) and value < 0):
            raise UsageError(f"{option} {item!r}: expected RULE=N with N a non-negative "
                             "integer or an expression")
        result[rule] = value
    return result


def parse_set_scatter(items: Sequence[str]) -> dict[str, int]:
    """`NAME=N` items (--set-scatter): N a whole number of at least 1."""
    result: dict[str, int] = {}
    for item in items:
        name, _, raw = item.partition("=")
        try:
            count = int(raw)
        except ValueError:
            count = 0
        if not name or count < 1:
            raise UsageError(f"--set-scatter {item!r}: expected NAME=N with N a whole number "
                             "of at least 1")
        result[name.strip()] = count
    return result


def parse_set_resources(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """`RULE:NAME=VALUE` items (--set-resources)."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        rule, sep, assign = item.partition(":")
        name, eq, raw = assign.partition("=")
        if not sep or not eq or not rule or not name:
            raise UsageError(f"--set-resources {item!r}: expected RULE:RESOURCE=VALUE")
        result.setdefault(rule, {})[name] = resource_value(raw)
    return result


def resource_value(raw: str) -> Any:
    """An int if it is one, else the text as given (a size such as 4GB, a quoted string,
    or a Python expression); Snakemake keeps the quotes of `slurm_extra='--nice=1'`."""
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def parse_key_values(items: Sequence[str], option: str) -> dict[str, Any]:
    """`NAME=VALUE` items (--default-resources)."""
    result: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{option} {item!r}: expected NAME=VALUE")
        result[name] = resource_value(raw)
    return result


def parse_consider_ancient(items: Sequence[str]) -> dict[str, list[int | str]]:
    """`RULE=ITEM[,ITEM]` items: input items by 0-based position or by name."""
    result: dict[str, list[int | str]] = {}
    for item in items:
        rule, sep, raw = item.partition("=")
        if not sep or not rule.isidentifier() or not raw:
            raise UsageError(f"--consider-ancient {item!r}: expected RULE=ITEM[,ITEM...] "
                             "(input items by 0-based position or by name)")
        picked: list[int | str] = []
        for part in raw.split(","):
            part = part.strip()
            if part.isdigit():
                picked.append(int(part))
            elif part.isidentifier():
                picked.append(part)
            else:
                raise UsageError(f"--consider-ancient {item!r}: {part!r} is neither an index "
                                 "nor an input name")
        result.setdefault(rule, []).extend(picked)
    return result


# --------------------------------------------------------------------------- click glue

def _option_value(args: Sequence[str], *names: str) -> str | None:
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg[len(name) + 1:]
    return None


class RulekitCommand(click.Command):
    """A click command that reads Snakemake-style arguments and persistent defaults."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from ..core.errors import RulekitError
        from .profiles import load_defaults

        def warn(text: str) -> None:
            click.echo(f"warning: {text}", err=True)

        try:
            args = rewrite_args(args, note=lambda text: click.echo(text, err=True))
            if not any(a in ("-h", "--help") for a in args):
                folder = _option_value(args, "-d", "--directory") or "."
                defaults = load_defaults(self, _option_value(args, "--profile"), folder, warn)
                if defaults:
                    ctx.default_map = {**defaults, **(ctx.default_map or {})}
        except RulekitError as err:
            click.echo(err.show(), err=True)
            ctx.exit(err.exit_code)
        return super().parse_args(ctx, args)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if param.name is not None:
        ctx.meta.setdefault("rulekit", {})[param.name] = value
    return value


def remembered(name: str, default: Any = None) -> Any:
    """A value stored by an option declared with `expose_value=False` (see below)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return default
    value = ctx.meta.get("rulekit", {}).get(name, default)
    return default if value is None else value


def _hidden(*decls: str, **kwargs: Any) -> Callable[[Any], Any]:
    return click.option(*decls, expose_value=False, callback=_remember, **kwargs)


def load_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options every workflow command takes beyond -f/-d/--config/--configfile."""
    for option in reversed([
        _hidden("--profile", metavar="DIR", help="Profile: a folder with config.yaml (option defaults)."),
        _hidden("--replace-workflow-config", is_flag=True,
                help="--configfile/--config replace the rule file's configfile: contents."),
        _hidden("--set-scatter", multiple=True, metavar="NAME=N",
                help="Split NAME of scattergather: into N pieces."),
    ]):
        func = option(func)
    return func


def override_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Snakemake's options that change rules before planning (run and plan)."""
    for option in reversed([
        _hidden("--set-threads", multiple=True, metavar="RULE=N", help="Threads of RULE."),
        _hidden("--max-threads", type=click.IntRange(min=1), metavar="N", help="Cap every job's threads at N."),
        _hidden("--set-resources", multiple=True, metavar="RULE:K=V", help="A resource of RULE."),
        _hidden("--default-resources", "--default-res", multiple=True, metavar="K=V",
                help="A resource for every rule that does not set it."),
        _hidden("--retries", type=click.IntRange(min=0), metavar="N", help="Retries for rules without retries:."),
        _hidden("--consider-ancient", multiple=True, metavar="RULE=ITEM[,ITEM]",
                help="Treat these input items of RULE as ancient()."),
        _hidden("--all-temp", is_flag=True, help="Treat every output as temp()."),
        _hidden("--no-temp", "--notemp", "no_temp", is_flag=True, help="Ignore temp() (keep every output)."),
    ]):
        func = option(func)
    return func


_OVERRIDE_OPTIONS = ("set_threads", "max_threads", "set_resources", "default_resources",
                     "retries", "consider_ancient", "all_temp", "no_temp")


def overrides_from_options() -> Any:
    """The Overrides given by override_options, or None when none is given (then the
    overrides module is not even imported: start-up time)."""
    given = [remembered(name) for name in _OVERRIDE_OPTIONS]
    if all(value is None or value is False or value == () for value in given):
        return None
    from .overrides import Overrides

    get = remembered
    return Overrides(
        set_threads=parse_rule_values(get("set_threads", ()), "--set-threads"),
        max_threads=get("max_threads"),
        set_resources=parse_set_resources(get("set_resources", ())),
        default_resources=parse_key_values(get("default_resources", ()), "--default-resources"),
        retries=get("retries"),
        consider_ancient=parse_consider_ancient(get("consider_ancient", ())),
        all_temp=bool(get("all_temp", False)), no_temp=bool(get("no_temp", False)))
