"""`rulekit run -n -p`: the shell commands of the planned jobs, as Snakemake's `-np` shows.

Commands are formatted exactly as the run would format them (quoting included) from the
values the plan knows. A params or resources function is called again just before its job
runs, with the inputs present; when it cannot give a value yet, the command is shown as
"(known when the job runs)".
"""

from __future__ import annotations

from ..core.errors import RulekitError
from ..core.model import Workflow
from ..execution.jobfiles import format_job
from ..planning.plan import Plan

__all__ = ["render_commands"]


def render_commands(wf: Workflow, plan: Plan) -> str:
    """One block per planned shell job: `rule NAME (job N):` and its command, indented."""
    blocks: list[str] = []
    for planned in plan:
        job = planned.job
        if job.rule.body is None or job.rule.body.kind != "shell":
            continue
        try:
            command, _message = format_job(wf, job, job.threads)
        except (RulekitError, LookupError, ValueError, TypeError, AttributeError):
            command = "(known when the job runs)"
        text = "\n".join("    " + line for line in (command or "").splitlines())
        blocks.append(f"rule {job.rule.name} (job {job.id}):\n{text}")
    return "\n".join(blocks)
