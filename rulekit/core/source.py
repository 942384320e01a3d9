"""Source positions and the caret snippet every user-facing error carries.

A `Span` points into a rule file. `render_location` turns one into the
`FILE:LINE:COL: error: MESSAGE` header plus the source line and a caret, the shape
every rulekit error takes (ninja-style, tested to the letter).

The compile helpers keep Python code at its real place in the rule file: code is padded
with blank lines (and, for values, columns) so that `SyntaxError`s and tracebacks from
user code name the rule file's own line numbers without any line map.
"""

from __future__ import annotations

import ast
import linecache
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

__all__ = ["Span", "register_source", "source_line", "caret_snippet", "compile_value",
           "compile_block", "value_syntax_span", "VALUE_CALL"]


@dataclass(frozen=True, slots=True)
class Span:
    """A position in a source file; line and col are 1-based."""

    path: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


_SOURCES: dict[str, list[str]] = {}


def register_source(path: str, text: str) -> None:
    """Remember a file's text so errors and tracebacks can quote its lines.

    Registering with linecache too makes Python's own traceback module show rule-file
    lines for code compiled from it (run: bodies, directive values).
    """
    lines = text.splitlines(keepends=True)
    _SOURCES[path] = lines
    linecache.cache[path] = (len(text), None, lines, path)


def source_line(path: str, line: int) -> str | None:
    lines = _SOURCES.get(path)
    if lines is None:
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines(True)
        except OSError:
            return None
        _SOURCES[path] = lines
    if 1 <= line <= len(lines):
        return lines[line - 1].rstrip("\r\n")
    return None


def caret_snippet(span: Span) -> str:
    """The source line and a caret under `span.col`, or "" if the line is unknown."""
    text = source_line(span.path, span.line)
    if text is None:
        return ""
    # Keep tabs in the caret line so the caret sits under the right character.
    pad = "".join(ch if ch == "\t" else " " for ch in text[: max(span.col - 1, 0)])
    return f"    {text}\n    {pad}^"


_VALUE_FN = "__rulekit_args__"


def _shift(tree: ast.AST, line: int, col: int, first_line_shift: int) -> None:
    """Move nodes parsed from a wrapped snippet to their place in the rule file."""
    for node in ast.walk(tree):
        if "lineno" in node._attributes:
            for attr_line, attr_col in (("lineno", "col_offset"), ("end_lineno", "end_col_offset")):
                ln = getattr(node, attr_line, None)
                if ln is None:
                    continue
                if ln == 1:
                    setattr(node, attr_col, max(getattr(node, attr_col) + first_line_shift, 0))
                setattr(node, attr_line, ln + line - 1)


def value_syntax_span(err: SyntaxError, path: str, line: int, col: int, prefix_len: int) -> Span:
    """Map a SyntaxError raised on a wrapped value back to the rule file."""
    eline = err.lineno or 1
    ecol = err.offset or 1
    if eline == 1:
        ecol = ecol - prefix_len + col - 1
    return Span(path, eline + line - 1, max(ecol, 1))


def compile_value(text: str, path: str, line: int, col: int) -> CodeType:
    """Compile a directive value (a Python argument list) in eval mode.

    The result evaluates to `__rulekit_args__(...)` (or `VALUE_CALL(...)`); the caller
    binds both names to a function returning `(args, kwargs)`. Positions are those of the
    rule file. Raises SyntaxError with rule-file `lineno`/`offset`.
    """
    want = col - 1 - len(_VALUE_FN) - 1      # where the call starts in the wrapped value
    if want <= 0 and col - 1 >= len(_SHORT_CALL.encode()):
        # the value keeps its column: `ʀ(` and blanks before it (columns count bytes)
        wrapped = _SHORT_CALL + " " * (col - 1 - len(_SHORT_CALL.encode())) + text + "\n)"
    elif want > 0:
        # the call starts where the slow path below puts it, the value keeps its column
        wrapped = "(" + " " * (want - 1) + _VALUE_FN + "(" + text + "\n))"
    else:
        return _compile_value_by_tree(text, path, line, col)
    try:
        code = compile(wrapped, path, "eval")
    except SyntaxError:
        return _compile_value_by_tree(text, path, line, col)   # the error, placed exactly
    return _relocated(code, line - 1)


# The call a value is wrapped in when there is no room for `__rulekit_args__(` before it
# on its line (most directives, `    input: ...`): a name no rule file spells by chance.
VALUE_CALL = "_\u0280"
_SHORT_CALL = VALUE_CALL + "("


def _compile_value_by_tree(text: str, path: str, line: int, col: int) -> CodeType:
    """compile_value for any column, and with exact SyntaxError positions: parsed as a
    tree, whose nodes are then moved to the rule file's line and column (slower)."""
    prefix = _VALUE_FN + "("
    wrapped = prefix + text + "\n)"
    try:
        tree = ast.parse(wrapped, filename=path, mode="eval")
    except SyntaxError as err:
        span = value_syntax_span(err, path, line, col, len(prefix))
        raise SyntaxError(err.msg, (path, span.line, span.col, source_line(path, span.line))) from None
    _shift(tree, line, col, col - 1 - len(prefix))
    return compile(tree, path, "eval")


def _relocated(code: CodeType, lines: int) -> CodeType:
    """`code` and the code inside it (lambdas, comprehensions, functions) moved down by
    `lines`: line numbers are stored relative to each code's first line, so this is what
    padding its source with `lines` newlines gives, without compiling them."""
    if lines == 0:
        return code
    consts = code.co_consts
    if any(isinstance(c, CodeType) for c in consts):
        code = code.replace(co_consts=tuple(_relocated(c, lines) if isinstance(c, CodeType)
                                            else c for c in consts))
    return code.replace(co_firstlineno=code.co_firstlineno + lines)


def compile_block(header: str, body: str, path: str, body_line: int) -> CodeType:
    """Compile `header` (a `def ...:` line) followed by `body` whose first line is `body_line`.

    `body` must be whole source lines with their original indentation, so the function
    body sits on the rule file's own lines. Raises SyntaxError with rule-file positions.
    """
    if body_line >= 2:
        code = "\n" * (body_line - 2) + header + "\n" + body
        return compile(code, path, "exec")
    tree = ast.parse(header + "\n" + body, filename=path, mode="exec")
    ast.increment_lineno(tree, body_line - 2)
    return compile(tree, path, "exec")
