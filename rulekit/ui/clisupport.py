"""What every `rulekit` command shares: finding the rule file, turning errors into exit
codes, the common options and loading from them, and printing a plan.

Kept apart from cli.py, which holds only the commands themselves.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..core.errors import RulekitError, UsageError
from ..core.version import rulekit_version
from ..lang.rulefiles import find_rule_file as find_rule_file  # (re-exported: tests patch it)
from .cliargs import (
    load_options,
    overrides_from_options,
    parse_config_items,
    parse_set_scatter,
    remembered,
)
from .completion import complete_rules, complete_targets
from .docout import document_stream, emit, step_summary

if TYPE_CHECKING:
    from ..core.model import Workflow
    from ..planning.plan import Plan
    from .api import PlanOptions

# Each command imports what it needs when it runs (`from . import api` and the like):
# `rulekit check` then loads no planner, store, executor or YAML parser, and starts fast.

def _record_internal_error(exc: BaseException) -> None:
    """Append the traceback to $RULEKIT_INTERNAL_ERROR_LOG if set: the test suite sets it
    and fails any test during which a rulekit process took the internal-error path."""
    log = os.environ.get("RULEKIT_INTERNAL_ERROR_LOG")
    if not log:
        return
    import traceback

    try:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"--- pid {os.getpid()}: {' '.join(sys.argv)}\n"
                     + "".join(traceback.format_exception(exc)))
    except OSError:
        pass


def _forget_interrupt() -> None:
    """Make sure the exit code is 130, not death by SIGINT.

    CPython remembers a KeyboardInterrupt that escaped code run by exec() or eval() of a
    *string* (dataclasses and namedtuple build methods that way) and, at exit, kills the
    process with SIGINT (exit status -2) even though we caught the interrupt. Each such
    exec() clears that mark first, so an empty one forgets it."""
    exec("")  # noqa: S102 - no user input: see the docstring


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    # The version is looked up only when asked for (importlib.metadata is slow to import).
    if value and not ctx.resilient_parsing:
        click.echo(f"rulekit, version {rulekit_version()}")
        ctx.exit()


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .startsig import install_command

        try:
            install_command()
            return func(*args, **kwargs)
        except RulekitError as err:
            click.echo(err.show(), err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            _forget_interrupt()
            sys.exit(130)
        except Exception as exc:
            # A bug in rulekit: one clear line, the traceback only when asked for.
            if os.environ.get("RULEKIT_DEBUG"):
                raise
            _record_internal_error(exc)
            click.echo(f"error: internal error in rulekit: {type(exc).__name__}: {exc}\n"
                       "  hint: rerun with RULEKIT_DEBUG=1 for the traceback and please "
                       "report it", err=True)
            sys.exit(1)
    return wrapper


def workflow_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("-f", "--file", "-s", "--snakefile", "file", metavar="FILE", help="Rule file (default: Rulesfile, the only *.rules, or Snakefile)."),
        click.option("-d", "--directory", metavar="DIR", help="Working directory (default: the rule file's folder)."),
        click.option("--config", "config_items", multiple=True, metavar="K=V", help="Set a config value (YAML scalar; a.b=1 nests)."),
        click.option("--configfile", "--configfiles", "configfiles", multiple=True, metavar="FILE", help="Extra YAML/JSON config file."),
    ]
    for option in reversed(options):
        func = option(func)
    return load_options(func)


def load_from_options(file: str | None, directory: str | None, config_items: tuple[str, ...],
                      configfiles: tuple[str, ...], cores: int | None = None) -> Workflow:
    config = parse_config_items(config_items)
    path = find_rule_file(file, directory)
    for cf in configfiles:
        if not os.path.isfile(cf):
            raise UsageError(f"config file not found: {cf}")
    workdir = os.path.abspath(directory) if directory else None
    from ..lang.loader import load

    wf = load(path, config=config, configfiles=tuple(os.path.abspath(c) for c in configfiles),
              workdir=workdir, cores=cores,
              replace_config=bool(remembered("replace_workflow_config", False)),
              scatter=parse_set_scatter(remembered("set_scatter", ())))
    overrides = overrides_from_options()
    if overrides is not None:
        from .overrides import apply_overrides

        apply_overrides(wf, overrides)
    return wf


def selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Targets and the options that choose and force jobs (plan, run, dag, summary)."""
    options = [
        click.argument("targets", nargs=-1, shell_complete=complete_targets),
        click.option("--force", is_flag=True, help="Run the target jobs even if up to date."),
        click.option("-F", "--forceall", is_flag=True, help="Run every job the targets need."),
        click.option("-R", "--forcerun", multiple=True, metavar="RULE", shell_complete=complete_rules, help="Run every job of RULE (and what depends on it)."),
        click.option("--until", "-U", "until", multiple=True, metavar="RULE", shell_complete=complete_rules, help="Run only jobs up to RULE (and what they need)."),
        click.option("--omit-from", "-O", "omit_from", multiple=True, metavar="RULE", shell_complete=complete_rules, help="Run no job of RULE nor anything after it."),
        click.option("--rerun-triggers", "rerun_triggers", multiple=True, metavar="T[,T]",
                     help="What reruns a job: mtime, params, input, code (default: all four); checksum adds content hashing."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def plan_options(targets: tuple[str, ...], force: bool, forceall: bool, forcerun: tuple[str, ...],
                 until: tuple[str, ...], rerun_triggers: tuple[str, ...],
                 omit_from: tuple[str, ...] = ()) -> PlanOptions:
    from ..planning.plan import DEFAULT_TRIGGERS
    from .api import PlanOptions

    triggers = [t.strip() for item in rerun_triggers for t in item.split(",") if t.strip()]
    if not triggers:
        chosen: tuple[str, ...] = DEFAULT_TRIGGERS
    elif set(triggers) == {"checksum"}:
        chosen = (*DEFAULT_TRIGGERS, "checksum")   # checksum alone: defaults + content hashing
    else:
        chosen = tuple(dict.fromkeys(triggers))
    return PlanOptions(targets, forceall, forcerun, force, list(until), chosen, list(omit_from))


def show_warnings(warnings: list[str]) -> None:
    """A plan's warnings (future mtimes, hidden jobs), once, on stderr."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def show_plan(plan: Plan, fmt: str) -> None:
    show_warnings(plan.warnings)
    if fmt == "json":   # written job by job: the text of json.dumps(plan.to_json(), indent=2)
        from .planjson import write_plan_json

        stream = document_stream()
        write_plan_json(plan, stream)
        stream.flush()
        return
    from .planview import plan_text_pieces, render_plan_markdown, render_plan_rich

    if fmt == "markdown":
        text = render_plan_markdown(plan)
        emit(text)
        step_summary(text)
        return
    if sys.stdout.isatty() and len(plan) <= 1000:
        from rich.console import Console

        Console(soft_wrap=True).print(render_plan_rich(plan))
    else:  # written as it is made: the same text as click.echo(render_plan_text(plan))
        for piece in plan_text_pieces(plan):
            click.echo(piece, nl=False)
        click.echo()
