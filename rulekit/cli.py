"""The `rulekit` command line. Parsing options and printing only: the work is elsewhere.

Every RulekitError is caught here, rendered with show() on stderr, and turned into its
exit code; a rulekit traceback never reaches the user.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click
import yaml

from . import __version__
from .console import print_table, rules_table_rows
from .errors import RulekitError, UsageError
from .loader import deep_merge, load
from .model import Workflow

RULE_FILE_NAMES = ("Rulesfile", "Snakefile")


def find_rule_file(file: str | None, directory: str | None) -> str:
    """-f wins; else `Rulesfile`, the only `*.rules`, or `Snakefile` in the folder."""
    folder = directory or "."
    if file:
        path = file if os.path.isabs(file) or directory is None else os.path.join(folder, file)
        if not os.path.isfile(path) and os.path.isfile(file):
            path = file
        if not os.path.isfile(path):
            raise UsageError(f"rule file not found: {file}")
        return path
    if not os.path.isdir(folder):
        raise UsageError(f"directory not found: {folder}")
    if os.path.isfile(os.path.join(folder, "Rulesfile")):
        return os.path.join(folder, "Rulesfile")
    rules = sorted(n for n in os.listdir(folder) if n.endswith(".rules"))
    if len(rules) == 1:
        return os.path.join(folder, rules[0])
    if len(rules) > 1:
        raise UsageError(f"several *.rules files in {os.path.abspath(folder)}: {', '.join(rules)}",
                         hint="choose one with -f FILE")
    if os.path.isfile(os.path.join(folder, "Snakefile")):
        return os.path.join(folder, "Snakefile")
    raise UsageError(f"no rule file in {os.path.abspath(folder)}",
                     facts=[("looked for", "Rulesfile, *.rules, Snakefile")],
                     hint="name one with -f FILE")


def parse_key_values(items: tuple[str, ...], option: str, *, nested: bool) -> dict[str, Any]:
    """`K=V` items; V read as a YAML scalar (so 3 is int, true is bool); `a.b=1` nests."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} item {item!r} has no '=' (expected KEY=VALUE)")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, (dict, list)) and not raw.lstrip().startswith(("{", "[")):
            value = raw
        parts = key.split(".") if nested else [key]
        nested_value: Any = value
        for part in reversed(parts[1:]):
            nested_value = {part: nested_value}
        deep_merge(result, {parts[0]: nested_value})
    return result


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RulekitError as err:
            click.echo(err.show(), err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
    return wrapper


def workflow_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("-f", "--file", "file", metavar="FILE", help="Rule file (default: Rulesfile, the only *.rules, or Snakefile)."),
        click.option("-d", "--directory", metavar="DIR", help="Working directory (default: the rule file's folder)."),
        click.option("--config", "config_items", multiple=True, metavar="K=V", help="Set a config value (YAML scalar; a.b=1 nests)."),
        click.option("--configfile", "configfiles", multiple=True, metavar="FILE", help="Extra YAML/JSON config file."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def load_from_options(file: str | None, directory: str | None, config_items: tuple[str, ...],
                      configfiles: tuple[str, ...]) -> Workflow:
    config = parse_key_values(config_items, "--config", nested=True)
    path = find_rule_file(file, directory)
    for cf in configfiles:
        if not os.path.isfile(cf):
            raise UsageError(f"config file not found: {cf}")
    workdir = os.path.abspath(directory) if directory else None
    return load(path, config=config, configfiles=tuple(os.path.abspath(c) for c in configfiles),
                workdir=workdir)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rulekit")
def cli() -> None:
    """rulekit: file-based workflows from a rule file (a core subset of Snakemake's language)."""


@cli.command()
@workflow_options
@handle_errors
def check(file: str | None, directory: str | None, config_items: tuple[str, ...],
          configfiles: tuple[str, ...]) -> None:
    """Parse and validate the rule file (exit 0, or 2 with the error)."""
    wf = load_from_options(file, directory, config_items, configfiles)
    click.echo(f"{os.path.relpath(wf.path)}: ok ({len(wf.rules)} rules)")


@cli.command(name="list")
@workflow_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@handle_errors
def list_rules(file: str | None, directory: str | None, config_items: tuple[str, ...],
               configfiles: tuple[str, ...], fmt: str) -> None:
    """List the rules with their inputs and outputs."""
    wf = load_from_options(file, directory, config_items, configfiles)
    rows = rules_table_rows(wf)
    if fmt == "json":
        click.echo(json.dumps({"rules": rows}, indent=2))
        return
    print_table(["rule", "input", "output", "body"],
                [[r["name"], "\n".join(r["input"]), "\n".join(r["output"]), r["body"]] for r in rows],
                title=None)


def main() -> None:
    cli(prog_name="rulekit")


if __name__ == "__main__":
    main()
