"""script: runs Python files only. Another language is a load error that says how to call
the script from shell: instead (found by `rulekit check` too, not only when the job runs)."""

from __future__ import annotations

import os

from ..core.errors import LoadError
from ..core.source import Span

__all__ = ["check_script_language"]


# How to call a script of another language from shell:, by file name ending.
_RUNNERS = {".r": "Rscript",
            ".rmd": "Rscript -e 'rmarkdown::render(commandArgs(TRUE)[1])' PATH",
            ".jl": "julia", ".sh": "bash", ".bash": "bash", ".pl": "perl", ".rb": "ruby",
            ".ipynb": "jupyter nbconvert --to notebook --execute", ".rs": "rust-script"}


def check_script_language(text: str, span: Span) -> None:
    """script: runs Python files only; say so when the rule is loaded, not when it runs."""
    ext = os.path.splitext(text)[1].lower()
    if ext == ".py":
        return
    runner = _RUNNERS.get(ext, "")
    if "PATH" in runner:
        example = runner.replace("PATH", text)
    else:
        example = f"{runner or 'PROGRAM'} {text} {{input}} {{output}}"
    raise LoadError(f"script: runs Python files (*.py) only, not {text!r}", span,
                    hint=f"call it from shell: instead, e.g. shell: \"{example}\" (the "
                         "path is relative to the working directory there)")
