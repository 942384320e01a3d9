"""The rule-file grammar, its Indenter post-lexer, and the one cached LALR parser.

The grammar text lives in grammar/rules.lark. An installed wheel carries it inside the
package (`rulekit/lang/rules.lark`, see pyproject's force-include); an editable install
or a source checkout finds it next to the package, at `<repo>/grammar/rules.lark`
(caches.grammar_file). Only a rule file missing from the parse cache (parsecache.py) needs
this module, and lark with it.

The post-lexer does three jobs on top of lark's `Indenter` contract:
- indentation: `_INDENT`/`_DEDENT` like Python's tokenizer, with positions and Python's own
  error messages (lark's `DedentError` carries no position, so we never let it happen);
- brackets: a stack instead of a counter, so unclosed and mismatched brackets are reported
  at the right token instead of tripping an assert;
- keywords: `rule`/`checkpoint` (at the start of any line) and `include`/... (at the start
  of a top-level line) are retyped from NAME only in the shapes that are not valid Python,
  which keeps the grammar LALR(1).
"""

from __future__ import annotations

import functools
import hashlib
import keyword
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

import lark
from lark import Lark, Token
from lark.indenter import Indenter

from .caches import cache_folder, grammar_file

__all__ = ["TOP_KEYWORDS", "RULE_KEYWORDS", "SyntaxProblem", "RuleIndenter", "grammar_text",
           "get_parser"]

#: Top-level `NAME:` statements (the loader gives them meaning).
TOP_KEYWORDS = frozenset({
    "include", "configfile", "workdir", "localrules", "ruleorder", "wildcard_constraints",
    "onstart", "onsuccess", "onerror", "envvars", "scattergather",
})
RULE_KEYWORDS = frozenset({"rule", "checkpoint"})

_OPEN = {"LPAR": "(", "LSQB": "[", "LBRACE": "{"}
_CLOSE = {"RPAR": ("LPAR", ")"), "RSQB": ("LSQB", "]"), "RBRACE": ("LBRACE", "}")}
# A token starting with one of these after `rule` makes a Python expression (`rule = 1`,
# `rule.x`, `rule, a = ...`), so that line stays Python.
_OPERATOR_START = frozenset("=.,;+-*/%&|^~<>!@")


class SyntaxProblem(Exception):
    """A syntax error found by the post-lexer; parser.py turns it into RulesSyntaxError."""

    def __init__(self, message: str, line: int | None, col: int | None) -> None:
        # (lark types a token's position as optional; the lexer's tokens always have one)
        super().__init__(message)
        self.message = message
        self.line: int = line or 1
        self.col: int = col or 1


def _starts_rule(nxt: Token | None) -> bool:
    """Is `rule <nxt>` at the start of a top-level line a rule declaration (or a botched one)?"""
    if nxt is None:
        return False
    if nxt.type == "NAME":
        return not keyword.iskeyword(nxt.value)     # `rule if c else d` is Python
    if nxt.type in ("COLON", "STRING"):
        return True
    return nxt.type == "OTHER" and nxt.value[0] not in _OPERATOR_START   # `rule 1abc:`


_ENDS_WITH_WITH = re.compile(r"\s+with$")


def _split_with(tok: Token) -> tuple[Token, Token]:
    """`* with` (one OTHER token) -> OTHER `*` and WITH `with`, positions kept."""
    cut = _ENDS_WITH_WITH.search(tok.value)
    assert cut is not None
    head_text = tok.value[:cut.start()]
    at = len(tok.value) - 4
    head = Token("OTHER", head_text, tok.start_pos, tok.line, tok.column, tok.line,
                 (tok.column or 0) + len(head_text), (tok.start_pos or 0) + len(head_text))
    with_ = Token("WITH", "with", (tok.start_pos or 0) + at, tok.line, (tok.column or 0) + at,
                  tok.end_line, tok.end_column, tok.end_pos)
    return head, with_


def _inline_value(heads: list[str], bodies: list[int], depth: int) -> bool:
    """Do a line's first tokens (`heads`, the last one just seen) start an inline directive
    value: `NAME: x` in a rule body, `KEYWORD: x` at the top level, `rule a: NAME: x`?"""
    n = len(heads)
    if n == 3 and heads[1] == "COLON" and heads[2] != "_NL":
        return heads[0] == "KEYWORD" or (heads[0] == "NAME" and bool(bodies)
                                         and bodies[-1] == depth)
    if heads[0] != "RULE" or n < 5:
        return False
    rest = heads[2:] if heads[1] == "NAME" else heads[1:]
    return len(rest) == 4 and rest[:3] == ["COLON", "NAME", "COLON"]


def _synthetic(type_: str, nl: Token) -> Token:
    """An INDENT/DEDENT positioned at the first character after `nl`'s indentation."""
    return Token(type_, "", nl.end_pos, nl.end_line, nl.end_column, nl.end_line,
                 nl.end_column, nl.end_pos)


class RuleIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    # Lark drops terminals no rule uses, except these: the opening quotes of unterminated
    # strings are never parsed, only reported.
    always_accept = ("_NL", "OPEN_TRIPLE", "OPEN_QUOTE")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        # All state is local to the generators: the cached parser (and this post-lexer)
        # is shared by every parse, possibly from several threads.
        return _merge(self._tokens(iter(stream)))

    def _tokens(self, stream: Iterator[Token]) -> Iterator[Token]:
        # Each open block's indentation measured twice, with tabs as 8 columns and as 1:
        # Python's own test for "inconsistent use of tabs and spaces".
        levels: list[tuple[int, int]] = [(0, 0)]
        brackets: list[Token] = []
        line_start = True
        # Directive values continued on deeper lines (Snakemake's rule): `heads` are the
        # types of the current line's first tokens, `bodies` the depths of open rule bodies,
        # `cont` the indentation of a line whose directive value is inline (its value goes on
        # while the following lines are indented deeper than that line).
        heads: list[str] = []
        bodies: list[int] = []
        cont: int | None = None
        tok = next(stream, None)
        if tok is not None and tok.type != "_NL" and (tok.column or 1) > 1:
            raise SyntaxProblem("unexpected indent", tok.line, tok.column)
        last = tok
        while tok is not None:
            nxt = next(stream, None)
            type_ = tok.type
            if type_ == "_NL":
                if not brackets:           # newlines inside brackets are not statement ends
                    if cont is not None and nxt is not None and self._width(tok) > cont:
                        tok = nxt          # the directive's value goes on: no statement end
                        continue
                    cont = None
                    yield tok
                    opens = heads[:1] in (["RULE"], ["USE"], ["MODULE"]) and \
                        last is not None and last.type == "COLON"
                    yield from self._indent(tok, levels, last)
                    while bodies and bodies[-1] > len(levels):
                        bodies.pop()
                    if opens and len(levels) > 1 and (not bodies or bodies[-1] < len(levels)):
                        bodies.append(len(levels))
                    line_start = True
                    heads = []
                tok = nxt
                continue
            if type_ in _OPEN:
                brackets.append(tok)
            elif type_ in _CLOSE:
                self._close(tok, brackets)
            elif type_ == "OPEN_TRIPLE":
                raise SyntaxProblem("unterminated triple-quoted string literal", tok.line,
                                    tok.column)
            elif type_ == "OPEN_QUOTE":
                raise SyntaxProblem("unterminated string literal", tok.line, tok.column)
            elif line_start and type_ == "NAME":
                tok = self._retype(tok, nxt, len(levels) - 1)
            elif heads[:1] == ["USE"] and nxt is not None and nxt.type == "COLON":
                if tok.value == "with":
                    tok = Token.new_borrow_pos("WITH", tok.value, tok)
                elif type_ == "OTHER" and _ENDS_WITH_WITH.search(tok.value):
                    # `as m_* with:`: OTHER ran on over the names after the `*`
                    head, tok = _split_with(tok)
                    yield head
            if len(heads) < 6:
                heads.append(tok.type)
                if cont is None and _inline_value(heads, bodies, len(levels)):
                    cont = levels[-1][0]
            yield tok
            line_start = False
            last = tok
            tok = nxt
        if brackets:
            opener = brackets[-1]
            raise SyntaxProblem(f"'{opener.value}' was never closed", opener.line, opener.column)
        for _ in levels[1:]:               # the final newline normally closes every block
            yield Token.new_borrow_pos(self.DEDENT_type, "", last) if last else \
                Token(self.DEDENT_type, "", 0, 1, 1, 1, 1, 0)

    def _width(self, nl: Token) -> int:
        """The indentation (tabs as 8 columns) of the line after newline token `nl`."""
        return len(nl.value.rsplit("\n", 1)[-1].expandtabs(self.tab_len))

    @staticmethod
    def _close(tok: Token, brackets: list[Token]) -> None:
        want, char = _CLOSE[tok.type]
        if not brackets:
            raise SyntaxProblem(f"unmatched '{char}'", tok.line, tok.column)
        opener = brackets.pop()
        if opener.type != want:
            where = "" if opener.line == tok.line else f" on line {opener.line}"
            raise SyntaxProblem(
                f"closing parenthesis '{char}' does not match opening parenthesis "
                f"'{opener.value}'{where}", tok.line, tok.column)

    @staticmethod
    def _retype(tok: Token, nxt: Token | None, depth: int) -> Token:
        if tok.value in RULE_KEYWORDS and _starts_rule(nxt):
            # At any depth: rules may stand in if/for/def blocks (the grammar and the
            # parser reject them inside rules, directive values and run: bodies).
            return Token.new_borrow_pos("RULE", tok.value, tok)
        if depth == 0 and tok.value in TOP_KEYWORDS and nxt is not None \
                and nxt.type == "COLON":
            return Token.new_borrow_pos("KEYWORD", tok.value, tok)
        # `use rule ...` and `module NAME:`: two names in a row are never Python.
        if depth == 0 and nxt is not None and nxt.type == "NAME" and \
                not keyword.iskeyword(nxt.value):
            if tok.value == "use" and nxt.value == "rule":
                return Token.new_borrow_pos("USE", tok.value, tok)
            if tok.value == "module":
                return Token.new_borrow_pos("MODULE", tok.value, tok)
        return tok

    def _indent(self, nl: Token, levels: list[tuple[int, int]], last: Token | None
                ) -> Iterator[Token]:
        indent = nl.value.rsplit("\n", 1)[-1]
        wide, narrow = len(indent.expandtabs(self.tab_len)), len(indent)
        line, col = nl.end_line, nl.end_column
        if wide > levels[-1][0]:
            if narrow <= levels[-1][1]:
                raise SyntaxProblem("inconsistent use of tabs and spaces in indentation",
                                    line, col)
            # Only a line ending in ':' opens a block. Checked at the top level only: deeper,
            # a block value's continuation lines may be indented further, and Python's own
            # compile (with the real line numbers) reports stray indents in run: bodies.
            if len(levels) == 1 and last is not None and last.type != "COLON":
                raise SyntaxProblem("unexpected indent", line, col)
            levels.append((wide, narrow))
            yield _synthetic(self.INDENT_type, nl)
            return
        while wide < levels[-1][0]:
            levels.pop()
            yield _synthetic(self.DEDENT_type, nl)
        if wide != levels[-1][0]:
            raise SyntaxProblem("unindent does not match any outer indentation level", line, col)
        if narrow != levels[-1][1]:
            raise SyntaxProblem("inconsistent use of tabs and spaces in indentation", line, col)


_LINE_END = frozenset({"_NL", "_INDENT", "_DEDENT"})


def _merge(tokens: Iterator[Token]) -> Iterator[Token]:
    """Merge each line's opaque Python tokens into one CHUNK spanning them.

    The parser needs only the line's head (`NAME`, `NAME :`, `KEYWORD :`, a whole rule
    header) to choose between grammar rules; the rest is one token, since lark's parsing
    cost is per token (a Python line like `x = f(a, b[1], {"k": v})` goes from 13 tokens to
    2). A CHUNK's value is its first token's.
    """
    first: Token | None = None
    last: Any = None   # set with first
    head = ""          # type of the line's first token ("" at the start of a line)
    heads = 0          # tokens of the line's head already passed through
    for tok in tokens:
        type_ = tok.type
        if type_ in _LINE_END:
            if first is not None:
                yield first if first is last else _span(first, last)
                first = None
            head, heads = "", 0
            yield tok
            continue
        if type_ == "WITH":         # ends a `use rule` header: `with` and its ':' stay tokens
            if first is not None:
                yield first if first is last else _span(first, last)
                first = None
            head, heads = type_, 1
            yield tok
            continue
        if heads == 0:
            head, heads = type_, 1
            if type_ in ("NAME", "KEYWORD", "RULE", "USE", "MODULE"):
                yield tok
                continue
        elif head in ("RULE", "MODULE") or (heads == 1 and type_ == "COLON" and head != "COLON"):
            heads = 2
            yield tok      # rule headers stay token by token, for precise error messages
            continue
        heads = 2
        if first is None:
            first = tok
        last = tok
    if first is not None:
        yield first if first is last else _span(first, last)


def _span(first: Token, last: Token) -> Token:
    return Token("CHUNK", first.value, first.start_pos, first.line, first.column,
                 last.end_line, last.end_column, last.end_pos)


def grammar_text() -> str:
    """The grammar, from the installed package or else from the source checkout."""
    path = grammar_file()
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    # a zipped install: no file to open
    from importlib import resources

    return (resources.files("rulekit.lang") / "rules.lark").read_text("utf-8")


def _cache_file(text: str) -> str | None:
    """Where lark may keep the analysed grammar: the per-user cache folder, never the
    shared /tmp (lark's default, where another user could plant a pickle it loads).

    Loading the analysed grammar takes ~5 ms instead of ~35 ms to build it, paid by every
    process that parses (the CLI, each worker) when its rule file is not in the parse
    cache (parsecache.py). The name hashes everything the cache depends on, including what
    lark's own key leaves out (the post-lexer's kept terminals).
    """
    folder = cache_folder()
    if folder is None:
        return None
    key = "\0".join([text, repr(RuleIndenter().always_accept), lark.__version__,
                      sys.version.split()[0]])
    return os.path.join(folder, f"grammar-{hashlib.sha256(key.encode()).hexdigest()[:16]}.lark")


@functools.cache
def get_parser() -> Lark:
    """The LALR parser, built (or loaded from the per-user cache) once per process."""
    text = grammar_text()
    options = dict(
        parser="lalr",
        # The basic lexer: the contextual one would turn some parse errors into lexer
        # errors and gains nothing here, since the terminals do not overlap.
        lexer="basic",
        postlex=RuleIndenter(),
        maybe_placeholders=True,
    )
    cache = _cache_file(text)
    if cache is not None:
        try:
            return Lark(text, cache=cache, **options)
        except Exception:  # noqa: BLE001 - a broken cache must never stop a parse
            pass
    return Lark(text, **options)
