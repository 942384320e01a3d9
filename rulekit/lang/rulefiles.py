"""Which file is the rule file: `-f FILE`, else `Rulesfile`, the only `*.rules`, or `Snakefile`.

The one lookup the command line and `rulekit.summary()` share.
"""

from __future__ import annotations

import os

from ..core.errors import UsageError

__all__ = ["find_rule_file"]


def find_rule_file(file: str | None, directory: str | None, *, option: str = "-f FILE") -> str:
    """`file` (-f) wins; else `Rulesfile`, the only `*.rules`, or `Snakefile` in the folder.
    `option` is how the caller names a file, for the hints."""
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
                         hint=f"choose one with {option}")
    if os.path.isfile(os.path.join(folder, "Snakefile")):
        return os.path.join(folder, "Snakefile")
    raise UsageError(f"no rule file in {os.path.abspath(folder)}",
                     facts=[("looked for", "Rulesfile, *.rules, Snakefile")],
                     hint=f"name one with {option}")
