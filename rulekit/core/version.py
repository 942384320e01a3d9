"""rulekit's version: what the installed distribution says (pyproject's `version`).

Looked up on first use: importlib.metadata costs ~30 ms, which no command that does not
print or record the version should pay.
"""

from __future__ import annotations

import functools

__all__ = ["DISTRIBUTION", "rulekit_version"]

#: The distribution (pip) name: PyPI's `rulekit` is an unrelated project. The import name
#: and the command are `rulekit`.
DISTRIBUTION = "rulekit-workflows"


@functools.cache
def rulekit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # a source checkout on sys.path, never installed
        return "0+unknown"
