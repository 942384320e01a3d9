"""Rules inside Python blocks: `for i in range(2):` / `if ...:` / `def f(n):` + `rule:`
(keyword statements such as `include:` in blocks: blockstatements.py).

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

from typing import Any

from .syntax import PyChunk, RuleDecl

__all__ = ["CALL", "rewrite_chunk", "Scope", "scope_for"]

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

