"""Where the language's per-user caches live (the grammar's parser tables, parsed rule
files: grammar.py, parsecache.py), and where the grammar file is."""

from __future__ import annotations

import os

__all__ = ["cache_folder", "grammar_file"]

_LANG = os.path.dirname(os.path.abspath(__file__))


def cache_folder() -> str | None:
    """The per-user cache folder (made if missing), or None when there is none to use.

    Never the shared temp folder: what is read back from here is trusted to be ours."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    folder = os.path.join(base, "rulekit")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder


def grammar_file() -> str:
    """grammar/rules.lark: inside the installed package (a wheel carries it there, see
    pyproject's force-include), else beside it in the source checkout."""
    installed = os.path.join(_LANG, "rules.lark")
    if os.path.isfile(installed):
        return installed
    return os.path.join(os.path.dirname(os.path.dirname(_LANG)), "grammar", "rules.lark")
