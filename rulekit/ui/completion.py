"""Shell completion (click's): rule names and targets of the rule file in reach.

Enable it with `eval "$(_RULEKIT_COMPLETE=bash_source rulekit)"` (docs/cli.md). Completing
loads the rule file named by `-f`/`-d` on the line so far (or found in the current folder),
silently: anything it prints, and any error, yields no candidates rather than noise.
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

__all__ = ["complete_targets", "complete_rules"]


def _quietly_load(ctx: click.Context) -> Any:
    from .clisupport import load_from_options

    params = ctx.params
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return load_from_options(params.get("file"), params.get("directory"),
                                 tuple(params.get("config_items") or ()),
                                 tuple(params.get("configfiles") or ()))


def _targets(ctx: click.Context) -> list[str]:
    """Rules that can be targets (no wildcards in their outputs), then the files the
    default target's jobs make, then the other fixed outputs of rules."""
    from ..lang.loader import working_directory
    from ..planning.fs import FileSystem
    from ..planning.resolve import build_dag

    wf = _quietly_load(ctx)
    names = [name for name, rule in wf.rules.items()
             if all(p.is_plain for p in rule.output_patterns)]
    files: dict[str, None] = {}
    try:
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()), working_directory(wf.workdir):
            for job in build_dag(wf, (), FileSystem(wf.workdir)).jobs:
                files.update(dict.fromkeys(str(p) for p in job.output))
    except Exception:  # noqa: BLE001 - a DAG that cannot be built still has rule names
        pass
    for rule in wf.rules.values():
        files.update(dict.fromkeys(p.text for p in rule.output_patterns if p.is_plain))
    return names + list(files)


def _complete(found: Any, incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem  # only when completing (start-up)

    try:
        values = found()
    except Exception:  # noqa: BLE001 - a broken rule file completes nothing, quietly
        return []
    return [CompletionItem(v) for v in values if v.startswith(incomplete)]


def complete_targets(ctx: click.Context, param: click.Parameter,
                     incomplete: str) -> list[CompletionItem]:
    return _complete(lambda: _targets(ctx), incomplete)


def complete_rules(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    return _complete(lambda: list(_quietly_load(ctx).rules), incomplete)
