"""Keyword statements inside Python blocks: `if config["qc"]:` + `include: "qc.rules"`.

At indentation 0 the grammar reads `include:`, `localrules:`, ... as statements. Inside an
`if`/`for`/`def` block they are part of a Python chunk, where `include: "x"` would be an
annotation Python ignores and `localrules: a, b` a syntax error. Before the chunk runs, each
such statement is found with the tokenizer (so brackets, strings, comments and values on the
following lines are understood as Python understands them) and replaced, like a nested rule
(nested.py), by one call at its own indentation, padded with blank lines so every other line
keeps its number:

    if config.get("qc"):                  if config.get("qc"):
        include: "qc.rules"       ->          __rulekit_keyword__(0, globals(), locals())
        localrules: qc, all                   __rulekit_keyword__(1, globals(), locals())

When Python reaches the call, the loader carries the statement out as at the top level, its
value evaluated in the enclosing scope. Not rewritten: annotations in class bodies
(`include: bool`) and annotated assignments (`include: bool = True`), which stay Python. The
top-level `report: "workflow.rst"` (not a grammar keyword) is handled here too.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

from ..core.source import Span
from .syntax import Keyword, Value

__all__ = ["STATEMENTS", "CALL", "rewrite_statements"]

#: Statements a Python block may hold.
STATEMENTS = frozenset({"include", "configfile", "workdir", "localrules", "ruleorder",
                        "envvars", "report", "scattergather", "wildcard_constraints",
                        "onstart", "onsuccess", "onerror"})
#: The namespace name of the loader's callback: `__rulekit_keyword__(key, globals(), locals())`.
CALL = "__rulekit_keyword__"
_ANYWHERE = frozenset({"report"})   # also at indentation 0 (the grammar leaves it to Python)
_SKIP = (tokenize.NL, tokenize.COMMENT)
_KEYWORD_ARGS = frozenset({"scattergather", "wildcard_constraints"})   # `NAME: x=1` is theirs


@dataclass
class _Found:
    keyword: Keyword
    first: int      # first and last source line (1-based) the statement covers
    last: int
    col: int        # 0-based column of the keyword


def rewrite_statements(source: str, path: str, first_key: int) -> tuple[str, list[Keyword]]:
    """`source` (a chunk, padded to its file lines) with each statement replaced by a call
    passing its key (from `first_key` on, in order), and the statements as Keywords. The
    source comes back unchanged when the tokenizer cannot read it: compiling it then reports
    the problem at the user's line."""
    lines = source.splitlines(keepends=True)
    try:
        found = _find(source, lines, path)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source, []
    for key, stmt in reversed(list(enumerate(found, first_key))):
        indent = lines[stmt.first - 1][:stmt.col]
        lines[stmt.first - 1] = f"{indent}{CALL}({key}, globals(), locals())\n"
        for i in range(stmt.first, stmt.last):
            lines[i] = "\n"
    return "".join(lines), [stmt.keyword for stmt in found]


def _find(source: str, lines: list[str], path: str) -> list[_Found]:
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type not in _SKIP]
    found: list[_Found] = []
    blocks: list[bool] = []        # per open block: is it a class body?
    header_is_class = False        # the logical line that opened the next block
    at_start = True
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.INDENT:
            blocks.append(header_is_class)
            continue
        if tok.type == tokenize.DEDENT:
            if blocks:
                blocks.pop()
            continue
        if tok.type == tokenize.NEWLINE:
            at_start = True
            continue
        if not at_start:
            continue
        at_start = False
        header_is_class = tok.type == tokenize.NAME and tok.string == "class"
        if (tok.type != tokenize.NAME or tok.string not in STATEMENTS
                or (not blocks and tok.string not in _ANYWHERE) or (blocks and blocks[-1])):
            continue
        if i + 1 >= len(tokens) or tokens[i + 1].string != ":":
            continue
        stmt = _statement(tokens, i, lines, path)
        if stmt is not None:
            found.append(stmt)
    return found


def _statement(tokens: list[tokenize.TokenInfo], i: int, lines: list[str],
               path: str) -> _Found | None:
    """The statement whose keyword is tokens[i] (followed by ':'), or None when the line is
    an annotated assignment (`include: bool = True`), which stays Python."""
    name = tokens[i]
    j = i + 2
    if tokens[j].type == tokenize.NEWLINE:          # the value is the indented block below
        if j + 1 >= len(tokens) or tokens[j + 1].type != tokenize.INDENT:
            return None
        last_line = _block_end(tokens, j + 1)
        first = tokens[j + 2]
        text = "".join(lines[first.start[0] - 1:last_line])
        value = Value(text, Span(path, first.start[0], first.start[1] + 1), True)
        return _Found(Keyword(name.string, _span(path, name), value), name.start[0],
                      last_line, name.start[1])
    k, depth = j, 0
    while k < len(tokens) and tokens[k].type != tokenize.NEWLINE:
        if tokens[k].string in "([{":
            depth += 1
        elif tokens[k].string in ")]}":
            depth -= 1
        elif tokens[k].string == "=" and depth == 0 and name.string not in _KEYWORD_ARGS:
            return None                              # `include: bool = True`: Python
        k += 1
    start, end = tokens[j].start, tokens[k - 1].end
    if k + 1 < len(tokens) and tokens[k + 1].type == tokenize.INDENT:
        # `localrules: a,` then deeper-indented lines: the value goes on over them
        last_line = _block_end(tokens, k + 1)
        text = lines[start[0] - 1][start[1]:] + "".join(lines[start[0]:last_line])
    elif start[0] == end[0]:
        last_line = end[0]
        text = lines[start[0] - 1][start[1]:end[1]]
    else:
        last_line = end[0]
        text = lines[start[0] - 1][start[1]:] + "".join(lines[start[0]:end[0] - 1]) \
            + lines[end[0] - 1][:end[1]]
    value = Value(text, Span(path, start[0], start[1] + 1), False)
    return _Found(Keyword(name.string, _span(path, name), value), name.start[0], last_line,
                  name.start[1])


def _block_end(tokens: list[tokenize.TokenInfo], indent: int) -> int:
    """The last source line of the block that tokens[indent] (an INDENT) opens."""
    depth, k, last = 0, indent, tokens[indent].end[0]
    while k < len(tokens):
        tok = tokens[k]
        if tok.type == tokenize.INDENT:
            depth += 1
        elif tok.type == tokenize.DEDENT:
            depth -= 1
            if depth == 0:
                break
        else:
            last = max(last, tok.end[0])
        k += 1
    return last


def _span(path: str, tok: tokenize.TokenInfo) -> Span:
    return Span(path, tok.start[0], tok.start[1] + 1)
