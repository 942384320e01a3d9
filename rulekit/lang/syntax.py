"""The syntax tree the parser produces: exact source slices with their positions.

Nothing here is evaluated. Code text is sliced verbatim from the file (never rebuilt from
tokens) so the loader can compile it in place with `source.compile_value` /
`source.compile_block` and keep rule-file line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.source import Span

__all__ = ["PyChunk", "Value", "Directive", "RuleDecl", "Keyword", "UseRule", "ModuleDecl",
           "Module"]


@dataclass
class PyChunk:
    """Consecutive top-level Python statements: whole lines, verbatim (ends with "\\n").

    `span.line` is the first line, `span.col` is 1. `rules` are the rules that stand inside
    the statements' blocks (`if`/`for`/`def`), in file order; their lines are part of `text`.
    """

    text: str
    span: Span
    rules: list[RuleDecl] = field(default_factory=list)


@dataclass
class Value:
    """A directive's value.

    inline (`block=False`): the text after `NAME:` on the same line, up to the end of the
    logical line (it may continue over lines inside brackets or triple-quoted strings),
    without the trailing comment/newline; `span` is its first character.
    block (`block=True`): the indented lines that follow `NAME:`, whole lines with their
    original indentation, verbatim, ending with "\\n"; `span` is the first character of the
    first non-blank line (so `span.col - 1` is that line's indentation width).
    """

    text: str
    span: Span
    block: bool


@dataclass
class Directive:
    """`NAME: value` inside a rule; `span` points at NAME."""

    name: str
    span: Span
    value: Value


@dataclass
class RuleDecl:
    """`rule NAME:` / `rule:` / `checkpoint NAME:` with its directives in file order.

    `span` points at the keyword; `name_span` at the name (or the keyword if anonymous).
    `end_line` is the rule's last line; `docstring` the source of its docstring, if any.
    """

    keyword: str              # "rule" or "checkpoint"
    name: str | None
    span: Span
    name_span: Span
    directives: list[Directive] = field(default_factory=list)
    end_line: int = 0
    docstring: str | None = None


@dataclass
class Keyword:
    """A top-level keyword statement: include, configfile, workdir, localrules,
    ruleorder, wildcard_constraints, onstart, onsuccess, onerror. `span` points at it."""

    name: str
    span: Span
    value: Value


@dataclass
class UseRule:
    """`use rule HEADER` with the directives of its `with:` block (none without one).

    `header` is the text between `use` and `with:` (`rule a as b`), `span` points at `use`,
    `header_span` at the header's first character.
    """

    header: str
    span: Span
    header_span: Span
    directives: list[Directive] = field(default_factory=list)


@dataclass
class ModuleDecl:
    """`module NAME:` with its settings (`snakefile:`, `config:`, ...) as directives."""

    name: str
    span: Span
    directives: list[Directive] = field(default_factory=list)


Item = PyChunk | RuleDecl | Keyword | UseRule | ModuleDecl


@dataclass
class Module:
    path: str
    items: list[Item] = field(default_factory=list)
