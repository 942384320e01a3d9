"""Run a simple shell command without the shell, as GNU make does for a recipe line
without shell syntax.

A `shell:` job's command is run as `bash -euo pipefail -c TEXT`. When TEXT is one simple
command, all bash does is split it into words, remove the quotes, find the program on PATH
and exec it in place of itself (bash execs the last command of a `-c` string, so the job's
process is the program either way). `direct_command` does those steps here, and the job's
program is spawned directly: one exec per job instead of two (bash's start-up costs about
a millisecond).

The rule: TEXT is run directly only when all of this holds, otherwise bash runs it.

- The argv is rulekit's bash form `[.../bash, -euo, pipefail, -c, TEXT]` (shell prefix and
  suffix are part of TEXT; another `shell.executable` always gets the shell).
- TEXT is one line of words separated by blanks (space, tab). A word is made of unquoted
  characters from ``A-Z a-z 0-9 _ - . / , : + % @ ^ =``, single-quoted strings (any
  character but ``'``) and double-quoted strings without ``$ ` \\ "`` inside. So anything
  bash would expand or treat as syntax - variables, globs, ``~``, braces, pipes,
  redirections, ``;``, ``&&``, comments, escapes, newlines - sends the command to bash.
- The first word is not a bash keyword or builtin and has no ``=`` (an assignment).
- The program is found: a first word with ``/`` names the file itself; otherwise the first
  executable regular file of that name in the PATH folders. A relative or empty PATH
  entry before it, a missing program, or a failing spawn (a script without ``#!``): bash.
- The environment holds nothing that changes how bash starts or runs the command:
  ``BASH_ENV``, ``ENV``, ``SHELLOPTS``, ``BASHOPTS``, ``POSIXLY_CORRECT``, ``SECONDS``,
  ``BASH_XTRACEFD``, ``BASH_COMPAT`` or an exported function (``BASH_FUNC_*``).

The program gets the environment bash would give it: bash adjusts a few variables at
start-up (``PWD``, ``SHLVL``, ``OLDPWD``, ``_``, its own variables). That environment is
learnt once per environment and folder by asking bash itself (`bash -c 'env -0'`), and
``_`` is set to the program's path, as bash sets it.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Mapping, Sequence

__all__ = ["DirectExec", "Resolved", "direct_command", "split_simple", "KEYWORDS", "BUILTINS"]

KEYWORDS = frozenset(str.split("if then else elif fi case esac for select while until do done in "
                     "function time { } ! [[ ]] coproc"))
BUILTINS = frozenset(str.split(
    ". : [ alias bg bind break builtin caller cd command compgen complete compopt continue "
    "declare dirs disown echo enable eval exec exit export false fc fg getopts hash help "
    "history jobs kill let local logout mapfile popd printf pushd pwd read readarray "
    "readonly return set shift shopt source suspend test times trap true type typeset "
    "ulimit umask unalias unset wait"))

_UNSAFE_ENV = frozenset(("BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "POSIXLY_CORRECT",
                         "SECONDS", "BASH_XTRACEFD", "BASH_COMPAT"))

# one word: runs of plain characters, '...' strings, "..." strings without $ ` \ "
_WORD = re.compile(r"""(?:[A-Za-z0-9_\-./,:+%@^=]+|'[^']*'|"[^"$`\\]*")+""")
_PART = re.compile(r"""[A-Za-z0-9_\-./,:+%@^=]+|'([^']*)'|"([^"$`\\]*)\"""")
_BLANKS = re.compile(r"[ \t]+")


def split_simple(text: str) -> list[str] | None:
    """The words of `text` after quote removal, or None when bash would do more than
    split and unquote (any shell syntax or expansion, see the module docstring)."""
    words: list[str] = []
    pos, end = 0, len(text)
    blank = _BLANKS.match(text, pos)
    if blank:
        pos = blank.end()
    while pos < end:
        m = _WORD.match(text, pos)
        if m is None:
            return None
        word = m.group()
        if "'" in word or '"' in word:
            word = "".join(p.group(1) if p.group(1) is not None else
                           p.group(2) if p.group(2) is not None else p.group()
                           for p in _PART.finditer(word))
        words.append(word)
        pos = m.end()
        if pos == end:
            break
        blank = _BLANKS.match(text, pos)
        if blank is None:
            return None
        pos = blank.end()
    return words or None


def _find_program(name: str, env: Mapping[str, str]) -> str | None:
    """Where bash would find program `name`: the path to exec, or None (let bash say)."""
    if "/" in name:
        return name if _executable_file(name) else None
    path = env.get("PATH")
    if not path:
        return None
    for folder in path.split(":"):
        if not folder.startswith("/"):
            return None   # "" or a relative folder: resolved against the cwd; leave it to bash
        candidate = f"{folder.rstrip('/')}/{name}"
        if _executable_file(candidate):
            return candidate
    return None


def _executable_file(path: str) -> bool:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return (st.st_mode & 0o170000) == 0o100000 and os.access(path, os.X_OK)


class DirectExec:
    """Direct exec for one environment (a runner's; it must not change afterwards)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.usable = not any(name in _UNSAFE_ENV or name.startswith("BASH_FUNC_")
                              for name in env)
        self._learnt: dict[tuple[str, str], dict[str, str] | None] = {}

    def _bash_environment(self, bash: str) -> dict[str, str] | None:
        """The environment bash hands to a program it execs from this folder (without
        `_`), learnt once by asking it; None if that fails."""
        key = (bash, os.getcwd())
        try:
            return self._learnt[key]
        except KeyError:
            pass
        result: dict[str, str] | None = None
        try:
            out = subprocess.run([bash, "-euo", "pipefail", "-c", "env -0"], env=dict(self.env),
                                 stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            if out.returncode == 0:
                result = {}
                for item in out.stdout.split(b"\0"):
                    name, sep, value = item.partition(b"=")
                    if sep and name != b"_":
                        result[os.fsdecode(name)] = os.fsdecode(value)
        except (OSError, subprocess.SubprocessError):
            result = None
        self._learnt[key] = result
        return result

    def command(self, argv: Sequence[str]) -> tuple[str, list[str], dict[str, str]] | None:
        """(program path, argv, environment) to spawn instead of `argv`, or None when the
        command needs bash (see the module docstring for the rule)."""
        if not self.usable or len(argv) != 5 or argv[3] != "-c" or argv[1] != "-euo" \
                or argv[2] != "pipefail" or not argv[0].endswith("/bash"):
            return None
        words = split_simple(argv[4])
        if words is None:
            return None
        first = words[0]
        if first in KEYWORDS or first in BUILTINS or "=" in first or not first:
            return None
        program = _find_program(first, self.env)
        if program is None:
            return None
        base = self._bash_environment(argv[0])
        if base is None:
            return None
        child = dict(base)
        child["_"] = program
        return program, words, child


class Resolved:
    """A DirectExec's answer for one argv, worked out beforehand: the pool resolves on the
    driver's thread what its spawner threads then start (spawn_shell asks this object as
    it would ask the DirectExec; a PATH search there would give up the GIL once per
    folder, and wait to get it back each time)."""

    __slots__ = ("env", "answer")

    def __init__(self, direct: DirectExec, argv: Sequence[str]) -> None:
        self.env = direct.env
        self.answer = direct.command(argv)

    def command(self, argv: Sequence[str]) -> tuple[str, list[str], dict[str, str]] | None:
        return self.answer


_by_env: dict[frozenset[tuple[str, str]], DirectExec] = {}
_lock = threading.Lock()


def direct_command(argv: Sequence[str], env: Mapping[str, str]
                   ) -> tuple[str, list[str], dict[str, str]] | None:
    """DirectExec(env).command(argv), with what was learnt about `env` kept."""
    key = frozenset(env.items())
    with _lock:
        runner = _by_env.get(key)
        if runner is None:
            if len(_by_env) > 16:
                _by_env.clear()
            runner = _by_env[key] = DirectExec(dict(env))
    return runner.command(argv)
