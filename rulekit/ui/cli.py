"""The `rulekit` commands. Parsing options and printing only: the work is elsewhere.

Every RulekitError is caught by `clisupport.handle_errors`, rendered with show() on stderr,
and turned into its exit code; a rulekit traceback never reaches the user.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from ..core.errors import NotFoundError, UsageError
from .cliargs import (
    CoresType,
    RulekitCommand,
    override_options,
    parse_key_values,
)
from .clisupport import (
    _print_version,
    find_rule_file,
    handle_errors,
    load_from_options,
    plan_options,
    selection_options,
    show_plan,
    show_warnings,
    workflow_options,
)
from .completion import complete_targets
from .docout import document_command, emit, emit_json
from .pipeguard import guard_stdout

if TYPE_CHECKING:
    from ..planning.plan import Plan
    from . import api
    from .api import PlanOptions

# Each command imports what it needs when it runs (`from . import api` and the like):
# `rulekit check` then loads no planner, store, executor or YAML parser, and starts fast.

class _Group(click.Group):
    command_class = RulekitCommand   # Snakemake-style arguments, profiles (cliargs.py)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Show the version and exit.")
def cli() -> None:
    """rulekit: file-based workflows from a rule file (a core subset of Snakemake's language)."""


def plan_of(wf: api.Workflow, opts: PlanOptions) -> Plan:
    return wf.plan(opts.targets, forceall=opts.forceall, forcerun=opts.forcerun,
                   force=opts.force, until=opts.until, rerun_triggers=opts.rerun_triggers,
                   omit_from=opts.omit_from)


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
@document_command
def list_rules(file: str | None, directory: str | None, config_items: tuple[str, ...],
               configfiles: tuple[str, ...], fmt: str) -> None:
    """List the rules with their inputs and outputs."""
    from .console import print_table, rules_table_rows

    wf = load_from_options(file, directory, config_items, configfiles)
    rows = rules_table_rows(wf)
    if fmt == "json":
        emit_json({"rules": rows})
        return
    print_table(["rule", "input", "output", "body"],
                [[r["name"], "\n".join(r["input"]), "\n".join(r["output"]), r["body"]] for r in rows],
                title=None)


@cli.command()
@workflow_options
@selection_options
@override_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", help="markdown: also appended to $GITHUB_STEP_SUMMARY if set.")
@click.option("--check", is_flag=True, help="Exit 1 when any job would run (a CI gate).")
@handle_errors
@document_command
def plan(file: str | None, directory: str | None, config_items: tuple[str, ...],
         configfiles: tuple[str, ...], fmt: str, check: bool, **selection: Any) -> None:
    """Show what would run and why (a dry run)."""
    from . import api

    wf = api.Workflow(load_from_options(file, directory, config_items, configfiles))
    the_plan = plan_of(wf, plan_options(**selection))
    show_plan(the_plan, fmt)
    if check and not the_plan.is_empty:
        sys.exit(1)


@cli.command()
@workflow_options
@selection_options
@override_options
@click.option("-j", "--cores", "-c", "--jobs", "cores", type=CoresType(), help="Cores to use: a number or 'all' (default: all available).")
@click.option("-t", "--touch", is_flag=True, help="Mark the planned jobs' outputs up to date instead of running them.")
@click.option("--delete-temp-output", is_flag=True, help="Remove the temp() outputs of the targets' jobs; run nothing.")
@click.option("-n", "--dry-run", is_flag=True, help="Show the plan; run nothing.")
@click.option("-k", "--keep-going", is_flag=True, help="After a failure, still run every independent job.")
@click.option("--resources", "--res", "resource_items", multiple=True, metavar="K=V", help="Bound a resource, e.g. mem_mb=4000.")
@click.option("--executor", type=click.Choice(["local", "dask", "slurm"]), default="local", help="Where jobs run: here, on Dask, or on Dask workers started as SLURM jobs.")
@click.option("--scheduler", metavar="ADDR", help="Dask scheduler address (default: a LocalCluster).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Dask: jobs per task.")
@click.option("--worker-timeout", type=click.FloatRange(min=0), metavar="SECONDS", help="Dask: stop with an error after this long without any worker (default 60; 300 with slurm).")
@click.option("--max-workers", type=click.IntRange(min=1), metavar="N", help="SLURM: at most N worker jobs at once (default 4).")
@click.option("--worker-cores", type=click.IntRange(min=1), metavar="N", help="SLURM: CPUs of one worker job (default 1).")
@click.option("--worker-mem", metavar="SIZE", help="SLURM: memory of one worker job, e.g. 16GB (default 2GB).")
@click.option("--worker-walltime", metavar="TIME", help="SLURM: time limit of one worker job, e.g. 04:00:00 or 4h (default: the partition's).")
@click.option("--worker-gpus", type=click.IntRange(min=0), metavar="N", help="SLURM: GPUs of one worker job (default 0).")
@click.option("--slurm-partition", metavar="NAME", help="SLURM: the worker jobs' partition.")
@click.option("--slurm-account", metavar="NAME", help="SLURM: the account the worker jobs are charged to.")
@click.option("--latency-wait", type=click.FloatRange(min=0), help="Seconds to wait for outputs to appear (default 0; 5 with dask and slurm).")
@click.option("--keep-incomplete", is_flag=True, help="Keep outputs of failed jobs (still marked incomplete).")
@click.option("-p", "--print-commands", is_flag=True, help="Print shell commands.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final line.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@handle_errors
@document_command
def run(file: str | None, directory: str | None, config_items: tuple[str, ...],
        configfiles: tuple[str, ...], cores: int | None, dry_run: bool, keep_going: bool,
        resource_items: tuple[str, ...], executor: str, scheduler: str | None,
        batch_size: int | None, worker_timeout: float | None, max_workers: int | None,
        worker_cores: int | None, worker_mem: str | None, worker_walltime: str | None,
        worker_gpus: int | None, slurm_partition: str | None, slurm_account: str | None,
        latency_wait: float | None, keep_incomplete: bool,
        print_commands: bool, quiet: bool, fmt: str, touch: bool, delete_temp_output: bool,
        **selection: Any) -> None:
    """Run the jobs the targets need (default: the default target)."""
    resources = parse_key_values(resource_items, "--resources")
    for key, value in resources.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"--resources {key}={value!r}: the value must be a number")
    from . import api

    wf = api.Workflow(load_from_options(file, directory, config_items, configfiles, cores))
    popts = plan_options(**selection)
    if dry_run:
        plan = plan_of(wf, popts)
        show_plan(plan, fmt)
        if print_commands and fmt != "json" and plan:
            from .plancommands import render_commands

            with api.working_directory(wf.workdir):
                text = render_commands(wf.model, plan)
            if text:
                click.echo("\nShell commands:\n" + text)
        return
    if delete_temp_output:
        from ..execution.touching import delete_temp_outputs

        with api.working_directory(wf.workdir):
            removed = delete_temp_outputs(plan_of(wf, popts).dag.jobs, wf.workdir,
                                          lambda text: click.echo(f"warning: {text}",
                                                                  err=True))
        for path in removed:
            click.echo(f"removed {path}")
        click.echo(f"Removed {len(removed)} temp output{'s' if len(removed) != 1 else ''}.")
        if fmt == "json":
            emit_json({"removed": removed})
        return
    ropts = api.RunOptions(cores=cores, executor=executor, scheduler=scheduler,
                           batch_size=batch_size, worker_timeout=worker_timeout,
                           max_workers=max_workers, worker_cores=worker_cores,
                           worker_mem=worker_mem, worker_walltime=worker_walltime,
                           worker_gpus=worker_gpus, slurm_partition=slurm_partition,
                           slurm_account=slurm_account,
                           resources=resources, keep_going=keep_going,
                           keep_incomplete=keep_incomplete, latency_wait=latency_wait,
                           print_commands=print_commands, quiet=quiet, argv=sys.argv,
                           touch=touch)
    if fmt == "json":   # stdout is the JSON document alone; progress goes to stderr
        from .runview import Reporter

        ropts.reporter = Reporter(quiet=quiet, print_commands=print_commands,
                                  stream=sys.stderr)

    from .planview import NOTHING_TO_DO

    def on_plan(the_plan: Plan) -> None:
        show_warnings(the_plan.warnings)
        if the_plan.is_empty and not quiet:
            click.echo(NOTHING_TO_DO, err=fmt == "json")

    result = wf.execute(popts, ropts, on_plan=on_plan)
    if fmt == "json":
        emit_json({"jobs": [
            {"rule": r.job.rule.name, "wildcards": r.job.wildcards, "status": r.status,
             "duration": round(r.duration, 6), "outputs": list(r.job.output)}
            for r in result.results]})
    result.raise_for_status()


@cli.command()
@workflow_options
@selection_options
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid", "json"]), default="dot")
@click.option("--rules", "rule_graph", is_flag=True, help="The rule graph instead of the job graph.")
@handle_errors
@document_command
def dag(file: str | None, directory: str | None, config_items: tuple[str, ...],
        configfiles: tuple[str, ...], fmt: str, rule_graph: bool, **selection: Any) -> None:
    """Print the job graph (or with --rules the rule graph)."""
    from . import api
    from .graphviz import render_graph

    wf = api.Workflow(load_from_options(file, directory, config_items, configfiles))
    the_plan = plan_of(wf, plan_options(**selection))
    show_warnings(the_plan.warnings)
    emit(render_graph(the_plan.dag, fmt, rules=rule_graph, plan=the_plan))


@cli.command()
@workflow_options
@click.argument("targets", nargs=-1, shell_complete=complete_targets)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@handle_errors
@document_command
def summary(file: str | None, directory: str | None, config_items: tuple[str, ...],
            configfiles: tuple[str, ...], targets: tuple[str, ...], fmt: str) -> None:
    """Every known output: status, rule, last run, and why it would rerun."""
    from ..state.queries import summary_rows
    from . import api
    from .console import print_table

    wf = api.Workflow(load_from_options(file, directory, config_items, configfiles))
    with api.working_directory(wf.workdir), wf.open_store() as store:
        warnings: list[str] = []
        rows = summary_rows(wf.model, store, targets, warnings=warnings)
    show_warnings(warnings)
    if fmt == "json":
        emit_json({"outputs": rows}, default=str)
    elif fmt == "csv":
        text = [{**row, "reasons": "; ".join(row["reasons"])} for row in rows]
        click.echo(_csv(text), nl=False)
    else:
        headers = ["path", "exists", "rule", "last_run", "status", "reasons"]
        print_table(headers, [[_cell(r.get(h)) for h in headers] for r in rows])


@cli.command()
@workflow_options
@click.argument("targets", nargs=-1)
@click.option("-o", "--output", default="report.html", show_default=True, metavar="FILE",
              help="Where to write the HTML file.")
@handle_errors
def report(file: str | None, directory: str | None, config_items: tuple[str, ...],
           configfiles: tuple[str, ...], targets: tuple[str, ...], output: str) -> None:
    """A self-contained HTML report: graphs, last run's timeline, outputs, provenance."""
    from .report import missing_extra_text, write_report

    missing = missing_extra_text()
    if missing:
        raise UsageError(missing)
    from . import api

    wf = api.Workflow(load_from_options(file, directory, config_items, configfiles))
    target = os.path.abspath(output)
    with api.working_directory(wf.workdir), wf.open_store() as store:
        made = write_report(wf.model, store, target, targets)
    outputs, jobs = made["outputs"], made["jobs"]
    click.echo(f"rulekit: report written to {output} ({outputs} output"
               f"{'' if outputs == 1 else 's'}, {jobs} job{'' if jobs == 1 else 's'}, "
               f"{made['bytes'] / 1000:.0f} kB)")


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


@cli.command()
@workflow_options
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors
@document_command
def provenance(file: str | None, directory: str | None, config_items: tuple[str, ...],
               configfiles: tuple[str, ...], path: str, fmt: str) -> None:
    """How PATH was made, recursively back to source files."""
    from ..state.queries import format_provenance, unknown_path
    from ..state.queries import provenance as trace
    from . import api

    wf = api.Workflow(load_from_options(file, directory, config_items, configfiles))
    rel = path
    if os.path.isabs(path):
        # records keep paths as the rules write them: relative inside the workdir,
        # absolute outside it
        inside = os.path.relpath(os.path.abspath(path), wf.workdir)
        rel = inside if not inside.startswith(os.pardir) else os.path.abspath(path)
    with api.working_directory(wf.workdir), wf.open_store() as store:
        tree = trace(wf.model, store, os.path.normpath(rel))
    if unknown_path(tree):
        raise NotFoundError(f"no such file and no record: {path}",
                            hint="give a file that exists, or an output rulekit made "
                                 "(rulekit summary lists them)")
    if fmt == "json":
        emit_json(tree, default=str)
    else:
        emit(format_provenance(tree))


@cli.command()
@workflow_options
@click.argument("targets", nargs=-1, shell_complete=complete_targets)
@click.option("-n", "--dry-run", is_flag=True, help="List what would be removed.")
@click.option("--all", "all_files", is_flag=True,
              help="Also remove matching files that rulekit has no record of making.")
@handle_errors
def clean(file: str | None, directory: str | None, config_items: tuple[str, ...],
          configfiles: tuple[str, ...], targets: tuple[str, ...], dry_run: bool,
          all_files: bool) -> None:
    """Remove the outputs of the targets' jobs that rulekit made (never a file no rule
    produces; a file with no record only with --all)."""
    from ..execution.jobfiles import prune_empty_folders, remove_paths
    from ..state.clean import clean_targets, split_unrecorded
    from . import api

    wf = api.Workflow(load_from_options(file, directory, config_items, configfiles))
    with api.working_directory(wf.workdir):
        paths = clean_targets(wf.model, targets)
        kept: list[str] = []
        if paths and not all_files:
            with wf.open_store() as store:
                paths, kept = split_unrecorded(store, paths)
        if dry_run or not paths:
            for path in paths:
                click.echo(f"would remove {path}")
        else:
            from ..state.locks import OutputLock

            # The same lock as a run writing these files: never pull a file from under a
            # live run that writes or reads it (exit 3 then, nothing removed).
            with OutputLock(wf.workdir, paths, sys.argv):
                remove_paths(paths)
                prune_empty_folders(paths)
                with wf.open_store() as store:
                    store.remove(paths)
            for path in paths:
                click.echo(f"removed {path}")
        for path in kept:
            click.echo(f"kept {path}: no record that rulekit made it")
    if kept:
        click.echo(f"Kept {len(kept)} file{'s' if len(kept) != 1 else ''} with no record; "
                   "'rulekit clean --all' removes them too.")
    elif not paths:
        click.echo("Nothing to clean.")


@cli.command()
@workflow_options
@click.argument("targets", nargs=-1, shell_complete=complete_targets)
@handle_errors
def manifest(file: str | None, directory: str | None, config_items: tuple[str, ...],
             configfiles: tuple[str, ...], targets: tuple[str, ...]) -> None:
    """Write rulekit.manifest: content hashes of the up-to-date jobs (commit it; docs/ci.md)."""
    from ..planning.plan import make_plan
    from ..state.manifests import update_manifest
    from . import api

    wf = api.Workflow(load_from_options(file, directory, config_items, configfiles))
    with api.working_directory(wf.workdir), wf.open_store() as store:
        the_plan = make_plan(wf.model, targets, store=store)
        update = update_manifest(wf.model, the_plan, store, keep_others=bool(targets))
    show_warnings(the_plan.warnings + update.warnings())
    click.echo(update.summary())


@cli.command()
@click.option("-f", "--file", "-s", "--snakefile", "file", metavar="FILE", help="Rule file.")
@click.option("-d", "--directory", metavar="DIR", help="Working directory.")
@click.option("--force", is_flag=True,
              help="Release the locks even of a run that is alive on this host.")
@handle_errors
def unlock(file: str | None, directory: str | None, force: bool) -> None:
    """Release locks left behind on filesystems without OS-level locking."""
    from ..state.locks import unlock as release_all

    workdir = os.path.abspath(directory) if directory else os.path.dirname(
        os.path.abspath(find_rule_file(file, directory)))
    removed = release_all(workdir, force=force)
    click.echo(f"Released {len(removed)} lock record{'s' if len(removed) != 1 else ''}.")


def _csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV text: a header of the keys, None as an empty field, "\\n" line ends
    (what pandas' to_csv wrote, without importing pandas)."""
    import csv
    import io

    out = io.StringIO()
    names = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    if names:
        writer.writeheader()
    else:
        out.write("\n")
    writer.writerows(rows)
    return out.getvalue()


def main() -> None:
    from ..planning.gcpause import KEEP_FROZEN

    KEEP_FROZEN[0] = True   # this process ends after the command: see gcpause.no_gc
    guard_stdout()          # `rulekit run | head`: the run goes on (pipeguard.py)
    try:
        cli(prog_name="rulekit")
    finally:
        # The process ends with the command: what is alive now is frozen, so that the
        # collections of interpreter shutdown do not walk every object the imports made
        # once more (a tenth of `rulekit check`, issue 12). Objects are still freed by
        # reference counting; only cyclic garbage left at exit is not collected.
        import gc

        gc.freeze()


if __name__ == "__main__":
    main()

