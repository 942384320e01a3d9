"""Rules and statements inside Python blocks: `for i in range(2):` / `if ...:` / `def f(n):`
+ `rule:` or `include:` (and the other statements of BLOCK_KEYWORDS).

The parser hands the loader each top-level Python chunk with the rules that stand in its
blocks (`PyChunk.rules`). Before the chunk runs, each such rule's lines are replaced by one
call at the rule's own indentation, padded with blank lines so every other line keeps its
number:

    for i in range(2):                    for i in range(2):
        rule:                                 __rulekit_rule__(0, globals(), locals())
            output: f"t.{i}.out"   ->
            shell: "touch {output}"

When Python reaches the call, the loader defines the rule then and there, evaluating its
directive values in the caller's scope: as Snakemake does, a loop variable is captured per
rule (`f"t.{i}.out"` is `t.0.out`, then `t.1.out`). A rule in a function body is defined
each time the function is called.
"""

from __future__ import annotations

import ast
from typing import Any

from ..core.source import Span
from .syntax import Keyword, PyChunk, RuleDecl, Value

__all__ = ["CALL", "rewrite_chunk", "Scope", "scope_for", "BLOCK_KEYWORDS", "KEYWORD_CALL",
           "block_keywords", "rewrite_keywords"]

#: The namespace name of the loader's callback: `__rulekit_rule__(key, globals(), locals())`.
CALL = "__rulekit_rule__"


def rewrite_chunk(chunk: PyChunk, keys: list[int]) -> str:
    """`chunk.text` with rule `chunk.rules[i]` replaced by a call passing `keys[i]`."""
    lines = chunk.text.splitlines(keepends=True)
    first = chunk.span.line
    for decl, key in zip(chunk.rules, keys):
        start, end = decl.span.line - first, _end(decl) - first
        indent = lines[start][: decl.span.col - 1]
        lines[start] = f"{indent}{CALL}({key}, globals(), locals())\n"
        for i in range(start + 1, min(end + 1, len(lines))):
            lines[i] = "\n"
    return "".join(lines)


def _end(decl: RuleDecl) -> int:
    return max(decl.end_line, decl.span.line)


class Scope(dict[str, Any]):
    """A function's local names (a snapshot at the rule's definition) over the live
    module globals: names not local are looked up in the globals when used, so an input
    function may call a helper defined further down the file."""

    def __init__(self, local: dict[str, Any], module: dict[str, Any]) -> None:
        super().__init__(local)
        self.module = module

    def __missing__(self, key: str) -> Any:
        return self.module[key]


def scope_for(module: dict[str, Any], g: dict[str, Any], local: dict[str, Any]
              ) -> dict[str, Any]:
    """The globals dict to evaluate a nested rule's values in."""
    if local is g or local is module:
        return module                 # a block at the top level: plain module globals
    return Scope(local, module)


# -- statements inside Python blocks ---------------------------------------------------------
#
# `if config["extra"]:` + `include: "extra.rules"` is valid Python: an annotation without a
# value, which Python would accept and ignore. Such a statement is replaced, like a nested
# rule, by a call at its own indentation that hands it to the loader when Python reaches it;
# its value is evaluated then, in the caller's scope, as at the top level. The top-level
# `report: "workflow.rst"` is handled the same way: the grammar leaves it to Python.

#: Statements a Python block may hold, and the loader's callback for them.
BLOCK_KEYWORDS = ("include", "configfile", "workdir", "localrules", "ruleorder", "envvars",
                  "report")
KEYWORD_CALL = "__rulekit_keyword__"


def block_keywords(tree: ast.Module) -> list[ast.AnnAssign]:
    """The statements of BLOCK_KEYWORDS in `tree`, in source order (not class fields)."""
    found: list[ast.AnnAssign] = []

    def visit(node: ast.AST, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if (isinstance(child, ast.AnnAssign) and not in_class and child.value is None
                    and child.simple and isinstance(child.target, ast.Name)
                    and child.target.id in BLOCK_KEYWORDS):
                found.append(child)
            visit(child, isinstance(child, ast.ClassDef))

    visit(tree, False)
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def rewrite_keywords(source: str, path: str, nodes: list[ast.AnnAssign], first_key: int
                     ) -> tuple[str, list[Keyword]]:
    """`source` with each statement of `nodes` replaced by a call passing its key (from
    `first_key` on, in order), and the statements as the parser's Keywords. Every other line
    keeps its number."""
    lines = source.splitlines(keepends=True)
    keywords: list[Keyword] = []
    for node in nodes:
        ann = node.annotation
        text = ast.get_source_segment(source, ann) or ""
        name_line = lines[node.lineno - 1]
        prefix = _chars(name_line, node.col_offset)
        value_col = len(_chars(lines[ann.lineno - 1], ann.col_offset)) + 1
        keywords.append(Keyword(node.target.id,  # type: ignore[union-attr]
                                Span(path, node.lineno, len(prefix) + 1),
                                Value(text, Span(path, ann.lineno, value_col), False)))
    for key, node in reversed(list(enumerate(nodes, first_key))):
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        prefix = _chars(lines[first], node.col_offset)
        tail = lines[last].encode()[node.end_col_offset or 0:].decode()
        call = f"{KEYWORD_CALL}({key}, globals(), locals())"
        if first == last:
            lines[first] = prefix + call + tail
            continue
        lines[first] = prefix + call + "\n"
        for i in range(first + 1, last):
            lines[i] = "\n"
        rest = tail.strip()
        lines[last] = " " * len(prefix) + "pass" + tail if rest and not rest.startswith("#") \
            else "\n"
    return "".join(lines), keywords


def _chars(line: str, byte_offset: int) -> str:
    """The text before `byte_offset` (ast counts columns in UTF-8 bytes)."""
    return line.encode()[:byte_offset].decode()
