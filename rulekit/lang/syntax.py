"""The syntax tree the parser produces: exact source slices with their positions.

Nothing here is evaluated. Code text is sliced verbatim from the file (never rebuilt from
tokens) so the loader can compile it in place with `source.compile_value` /
`source.compile_block` and keep rule-file line numbers.

The nodes are plain classes with what @dataclass would give them (keyword or positional
construction, `==` field by field, a repr of the fields), written out once in `_Node`:
making eight dataclasses at import took a tenth of `rulekit check`'s own start-up
(issue 12).
"""

from __future__ import annotations

from ..core.source import Span

__all__ = ["PyChunk", "Value", "Directive", "RuleDecl", "Keyword", "UseRule", "ModuleDecl",
           "Module", "normalized_source"]


def normalized_source(text: str) -> str:
    """The text the tree's positions and slices refer to: Python reads source with
    universal newlines; doing the same keeps every line/column unchanged and gives the
    loader plain "\\n" text to compile. Always ends with a newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


class _Node:
    """Equality and repr over `_fields`, as @dataclass makes them."""

    _fields: tuple[str, ...] = ()
    __hash__ = None   # type: ignore[assignment]  # mutable, compared by value: unhashable

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{self.__class__.__qualname__}({shown})"


class PyChunk(_Node):
    """Consecutive top-level Python statements: whole lines, verbatim (ends with "\\n").

    `span.line` is the first line, `span.col` is 1. `rules` are the rules that stand inside
    the statements' blocks (`if`/`for`/`def`), in file order; their lines are part of `text`.
    """

    _fields = ("text", "span", "rules")

    def __init__(self, text: str, span: Span, rules: list[RuleDecl] | None = None) -> None:
        self.text = text
        self.span = span
        self.rules: list[RuleDecl] = [] if rules is None else rules


class Value(_Node):
    """A directive's value.

    inline (`block=False`): the text after `NAME:` on the same line, up to the end of the
    logical line (it may continue over lines inside brackets or triple-quoted strings),
    without the trailing comment/newline; `span` is its first character.
    block (`block=True`): the indented lines that follow `NAME:`, whole lines with their
    original indentation, verbatim, ending with "\\n"; `span` is the first character of the
    first non-blank line (so `span.col - 1` is that line's indentation width).
    """

    _fields = ("text", "span", "block")

    def __init__(self, text: str, span: Span, block: bool) -> None:
        self.text = text
        self.span = span
        self.block = block


class Directive(_Node):
    """`NAME: value` inside a rule; `span` points at NAME."""

    _fields = ("name", "span", "value")

    def __init__(self, name: str, span: Span, value: Value) -> None:
        self.name = name
        self.span = span
        self.value = value


class RuleDecl(_Node):
    """`rule NAME:` / `rule:` / `checkpoint NAME:` with its directives in file order.

    `span` points at the keyword; `name_span` at the name (or the keyword if anonymous).
    `end_line` is the rule's last line; `docstring` the source of its docstring, if any.
    """

    _fields = ("keyword", "name", "span", "name_span", "directives", "end_line", "docstring")

    def __init__(self, keyword: str, name: str | None, span: Span, name_span: Span,
                 directives: list[Directive] | None = None, end_line: int = 0,
                 docstring: str | None = None) -> None:
        self.keyword = keyword              # "rule" or "checkpoint"
        self.name = name
        self.span = span
        self.name_span = name_span
        self.directives: list[Directive] = [] if directives is None else directives
        self.end_line = end_line
        self.docstring = docstring


class Keyword(_Node):
    """A top-level keyword statement: include, configfile, workdir, localrules,
    ruleorder, wildcard_constraints, onstart, onsuccess, onerror. `span` points at it."""

    _fields = ("name", "span", "value")

    def __init__(self, name: str, span: Span, value: Value) -> None:
        self.name = name
        self.span = span
        self.value = value


class UseRule(_Node):
    """`use rule HEADER` with the directives of its `with:` block (none without one).

    `header` is the text between `use` and `with:` (`rule a as b`), `span` points at `use`,
    `header_span` at the header's first character.
    """

    _fields = ("header", "span", "header_span", "directives")

    def __init__(self, header: str, span: Span, header_span: Span,
                 directives: list[Directive] | None = None) -> None:
        self.header = header
        self.span = span
        self.header_span = header_span
        self.directives: list[Directive] = [] if directives is None else directives


class ModuleDecl(_Node):
    """`module NAME:` with its settings (`snakefile:`, `config:`, ...) as directives."""

    _fields = ("name", "span", "directives")

    def __init__(self, name: str, span: Span, directives: list[Directive] | None = None
                 ) -> None:
        self.name = name
        self.span = span
        self.directives: list[Directive] = [] if directives is None else directives


Item = PyChunk | RuleDecl | Keyword | UseRule | ModuleDecl


class Module(_Node):
    _fields = ("path", "items")

    def __init__(self, path: str, items: list[Item] | None = None) -> None:
        self.path = path
        self.items: list[Item] = [] if items is None else items
