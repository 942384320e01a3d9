"""Rule-file text -> syntax tree (rulekit.syntax), with every syntax error as RulesSyntaxError.

The lark tree only tells where things start and end; every text in the result is sliced
from the source by token position, never rebuilt from tokens. Python statements are whole
lines (`PyChunk`, block values); inline values run from their first to their last token.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..core.errors import RulesSyntaxError
from ..core.source import Span, register_source
from .grammar import SyntaxProblem, get_parser
from .syntax import (
    Directive,
    Item,
    Keyword,
    Module,
    ModuleDecl,
    PyChunk,
    RuleDecl,
    UseRule,
    Value,
    normalized_source,
)

__all__ = ["parse"]


def parse(text: str, path: str) -> Module:
    """Parse a rule file. Raises RulesSyntaxError (with a Span) on any syntax problem.

    The loader parses through parsecache.parse, which skips this (and lark) for a file
    parsed before."""
    text = normalized_source(text)
    register_source(path, text)
    try:
        tree = get_parser().parse(text)
    except SyntaxProblem as err:
        raise RulesSyntaxError(err.message, Span(path, err.line, err.col)) from None
    except UnexpectedToken as err:
        message, line, col = _token_error(err, text)
        raise RulesSyntaxError(message, Span(path, line, col)) from None
    except UnexpectedCharacters as err:
        raise RulesSyntaxError(_char_error(text, err.pos_in_stream or 0),
                               Span(path, err.line, err.column)) from None
    except UnexpectedInput as err:      # UnexpectedEOF: not produced by LALR, kept for safety
        raise RulesSyntaxError("unexpected end of file",
                               Span(path, max(getattr(err, "line", 1), 1), 1)) from None
    except LarkError as err:            # a lark bug or an invariant we missed: no traceback
        raise RulesSyntaxError(f"cannot parse: {err}", Span(path, 1, 1)) from None
    return _Builder(text, path).module(tree)


# ---------------------------------------------------------------------------- tree -> syntax

def _first(node: Tree[Any] | Token) -> Token:
    while isinstance(node, Tree):
        node = node.children[0]
    return node


def _last(node: Tree[Any] | Token) -> Token:
    while isinstance(node, Tree):
        node = node.children[-1]
    return node


class _Builder:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        # starts[i] is the offset of line i+1; the text ends with "\n", so starts[-1] is
        # len(text) and `starts[last_line]` is always the end of `last_line`.
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos >= 0:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self.starts = starts

    def span(self, tok: Any) -> Span:   # a Token (tree children are typed loosely)
        return Span(self.path, tok.line or 1, tok.column or 1)

    def lines(self, first: Token, last: Token) -> str:
        """Whole source lines from `first`'s line to `last`'s end line, verbatim."""
        return self.text[self.starts[(first.line or 1) - 1]:self.starts[last.end_line or 0]]

    def module(self, tree: Tree[Any]) -> Module:
        items: list[Item] = []
        run: list[Tree[Any]] = []                     # consecutive top-level Python statements
        for child in tree.children:
            if child.data == "pystmt":
                run.append(child)
                continue
            if run:
                items.append(self.chunk(run))
                run = []
            if child.data == "rule":
                items.append(self.rule(child))
            elif child.data == "use_rule":
                items.append(self.use_rule(child))
            elif child.data == "module":
                items.append(self.module_decl(child))
            else:
                items.append(self.keyword(child))
        if run:
            items.append(self.chunk(run))
        return Module(self.path, items)

    def chunk(self, stmts: list[Tree[Any]]) -> PyChunk:
        first = _first(stmts[0])
        rules = [self.rule(t) for stmt in stmts for t in _nested_rules(stmt)]
        return PyChunk(self.lines(first, _last(stmts[-1])), Span(self.path, first.line or 1, 1),
                       rules)

    def rule(self, tree: Tree[Any]) -> RuleDecl:
        kw, name, _colon, *rest = tree.children
        doc = None
        if rest and isinstance(rest[0], Tree) and rest[0].data == "docstring":
            doc = str(rest.pop(0).children[0])
        elif rest and rest[0] is None:       # the optional docstring's placeholder
            rest.pop(0)
        return RuleDecl(
            keyword=str(kw),
            name=str(name) if name is not None else None,
            span=self.span(kw),
            name_span=self.span(name if name is not None else kw),
            directives=[self.directive(d) for d in rest],
            end_line=_last(tree).end_line or 0,
            docstring=doc,
        )

    def use_rule(self, tree: Tree[Any]) -> UseRule:
        use, *rest = tree.children
        head = [t for t in rest if isinstance(t, Token) and t.type not in ("WITH", "COLON")]
        first, last = head[0], head[-1]
        return UseRule(self.text[first.start_pos:last.end_pos], self.span(use),
                       self.span(first),
                       [self.directive(d) for d in rest if isinstance(d, Tree)])

    def module_decl(self, tree: Tree[Any]) -> ModuleDecl:
        kw, name, _colon, *rest = tree.children
        return ModuleDecl(str(name), self.span(kw), [self.directive(d) for d in rest])

    def directive(self, tree: Tree[Any]) -> Directive:
        name, _colon, value = tree.children
        return Directive(str(name), self.span(name), self.value(value, f"{name}:"))

    def keyword(self, tree: Tree[Any]) -> Keyword:
        name, _colon, value = tree.children
        return Keyword(str(name), self.span(name), self.value(value, f"{name}:"))

    def value(self, tree: Tree[Any], where: str) -> Value:
        for stmt in tree.children:
            for nested in _nested_rules(stmt) if isinstance(stmt, Tree) else ():
                kw = _first(nested)
                raise RulesSyntaxError(
                    f"a {kw} cannot be defined inside '{where}' (rules may stand in "
                    "if/for/def blocks at the top level)", self.span(kw))
        first, last = _first(tree), _last(tree)
        if tree.data == "inline_value":
            return Value(self.text[first.start_pos:last.end_pos], self.span(first), False)
        return Value(self.lines(first, last), self.span(first), True)


def _nested_rules(stmt: Tree[Any]) -> list[Tree[Any]]:
    """The `rule` trees inside a pystmt's blocks, in file order (rules do not nest)."""
    found: list[Tree[Any]] = []
    stack = [stmt]
    while stack:
        node = stack.pop()
        for child in reversed(node.children):
            if isinstance(child, Tree):
                if child.data == "rule":
                    found.append(child)
                elif child.data == "pystmt":
                    stack.append(child)
    found.sort(key=lambda t: _first(t).start_pos or 0)
    return found


# ---------------------------------------------------------------------- lark errors -> text

def _is(node: object, *types: str) -> TypeGuard[Token]:
    return isinstance(node, Token) and node.type in types


def _line_rest(text: str, tok: Token) -> str:
    """The source from `tok` to the end of its line, without a ':' and what follows."""
    end = text.find("\n", tok.start_pos)
    rest = text[tok.start_pos:end].split("#", 1)[0]
    return rest.split(":", 1)[0].strip()


def _header(stack: list[Any]) -> tuple[Token, str] | None:
    """If the stack ends inside a rule header, its keyword token and text ('rule a')."""
    for i in range(len(stack) - 1, max(len(stack) - 5, -1), -1):
        if _is(stack[i], "RULE"):
            name = stack[i + 1] if i + 1 < len(stack) and _is(stack[i + 1], "NAME") else None
            return stack[i], f"{stack[i]} {name}" if name is not None else str(stack[i])
        if not _is(stack[i], "NAME", "COLON", "_NL"):
            return None
    return None


def _block_header(stack: list[Any]) -> tuple[str, str] | None:
    """If the stack ends in a `use rule ... with:` or `module NAME:` header: its text and
    what its block holds."""
    if not stack:
        return None
    if len(stack) >= 3 and _is(stack[-1], "_NL"):
        stack = stack[:-1]
    if _is(stack[-1], "COLON"):
        stack = stack[:-1]
    if _is(stack[-1], "WITH"):
        return "with", "the directives to replace"
    if len(stack) >= 2 and _is(stack[-1], "NAME") and _is(stack[-2], "MODULE"):
        return f"module {stack[-1]}", "the module's settings ('snakefile: ...')"
    return None


def _enclosing_rule(stack: list[Any]) -> str:
    for i in range(len(stack) - 1, -1, -1):
        if _is(stack[i], "RULE"):
            after = stack[i + 1] if i + 1 < len(stack) else None
            return f"{stack[i]} {after}" if _is(after, "NAME") else str(stack[i])
    return "rule"


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type == "_NL":
        return "end of line"
    if tok.type == "_DEDENT":
        return "dedent"
    return repr(str(tok))


def _token_error(err: UnexpectedToken, text: str) -> tuple[str, int, int]:
    """Message and position for a token the grammar does not accept where it stands."""
    tok = err.token
    at = (tok.line or 1, tok.column or 1)
    stack = list(err.interactive_parser.parser_state.value_stack) \
        if err.interactive_parser is not None else []
    top = stack[-1] if stack else None
    if tok.type == "_INDENT":
        return "unexpected indent", *at
    body = text.rstrip()
    if tok.type == "$END" and body.endswith("\\"):   # the backslash ate the last newline
        return ("unexpected end of file after line continuation character",
                body.count("\n") + 1, len(body) - body.rfind("\n") - 1)
    block = _block_header(stack)
    if block is not None:
        shown, where = block
        if _is(top, "NAME"):
            return f"expected ':' after '{shown}'", *at
        if _is(top, "COLON"):
            return (f"unexpected {_describe(tok)} after '{shown}:'; expected "
                    f"{where} on the indented lines below"), *at
        return f"expected an indented block of {where} after '{shown}:'", *at
    header = _header(stack)
    if header is not None:
        kw, shown = header
        if _is(top, "RULE"):             # `rule 1abc:`, `rule "a":`
            if tok.type in ("_NL", "$END"):
                return f"expected a name or ':' after '{kw}'", *at
            name = _line_rest(text, tok)
            return (f"invalid rule name {name!r}: a rule name must be a Python identifier",
                    *at)
        if _is(top, "NAME"):             # `rule a` + something other than ':'
            if tok.type in ("_NL", "$END"):
                return f"expected ':' after '{shown}'", *at
            name = _line_rest(text, top)
            return (f"invalid rule name {name!r}: a rule name must be a Python identifier",
                    top.line or 1, top.column or 1)
        if _is(top, "COLON"):
            return (f"unexpected {_describe(tok)} after '{shown}:'; expected a directive "
                    "('NAME: value') here or on the indented lines below"), *at
        if _is(top, "_NL"):
            return f"expected an indented block of directives after '{shown}:'", \
                kw.line or 1, kw.column or 1
    if tok.type == "RULE" and any(_is(t, "RULE") for t in stack):
        return (f"a {tok} cannot be defined inside another rule "
                f"('{_enclosing_rule(stack)}')"), *at
    if _is(top, "_NL") and len(stack) >= 3 and _is(stack[-2], "COLON") \
            and _is(stack[-3], "NAME", "KEYWORD"):
        colon = stack[-2]
        return f"expected a value after '{stack[-3]}:'", colon.end_line or 1, colon.end_column or 1
    if _is(top, "NAME") and set(err.expected) == {"COLON"}:
        return f"expected ':' after directive name '{top}'", *at
    if "NAME" in err.expected and set(err.expected) <= {"NAME", "_DEDENT", "STRING"}:  # a rule body
        return (f"expected a directive ('NAME: value') in '{_enclosing_rule(stack)}', "
                f"found {_describe(tok)}"), *at
    return f"unexpected {_describe(tok)}", *at


def _char_error(text: str, pos: int) -> str:
    char = text[pos]
    if char == "\\":
        return "unexpected character after line continuation character"
    return f"invalid character {char!r} (U+{ord(char):04X})"
