"""Parsed rule files kept between commands: a rule file whose text has not changed since it
was last parsed is read back as its syntax tree instead of parsed again, and then lark is
not imported at all (importing it and setting up the parser is a third of the start-up of
`rulekit check`, issue 12). Also used by every worker process that loads the workflow.
The directive values the loader compiled for the file are kept with it (`compiled_value`,
`keep_compiled`): compiling them is most of what loading a big rule file costs.

The entries live in the per-user cache folder of the grammar's tables (caches.py):
`$XDG_CACHE_HOME/rulekit`, else `~/.cache/rulekit`, one file per rule-file path hashed into
256 names, so the folder stays small however many rule files are loaded (the test suite
loads thousands). An entry is used only when everything the tree depends on is unchanged:

- the rule file's path and its whole text (compared in full, not by a hash);
- the parser: size and modification time of rulekit's modules that make the tree (and
  compile values), of the grammar file and of lark's `__init__.py` (lark's version), the
  Python version and its optimisation level (`-O`);
- for a compiled value: its text, line and column (and the file's path, above).

Entries are `marshal` data (tuples of strings and numbers): reading one never runs code, as
unpickling could. A missing, unreadable, read-only or corrupt cache is only a miss;
the tree is then parsed and, when the folder is writable, stored (written to a temporary
name and renamed, so concurrent commands never read half an entry).
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib
from types import CodeType
from typing import Any

from ..core.source import Span, compile_value, register_source
from .caches import cache_folder, grammar_file
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

__all__ = ["parse", "compiled_value", "keep_compiled"]

_FORMAT = 2
_LANG = os.path.dirname(os.path.abspath(__file__))
# rulekit's modules whose code decides the tree (or how it is stored here)
_MAKERS = tuple(os.path.join(_LANG, name) for name in
                ("parser.py", "grammar.py", "syntax.py", "parsecache.py",
                 os.path.join("..", "core", "source.py")))

# What is kept for each rule file being loaded: where its entry goes, the entry's key and
# tree as stored, the values compiled for it before (read back) and those it uses now.
_Codes = dict[tuple[str, int, int], CodeType]
_LOADING: dict[str, tuple[str, tuple[Any, ...], str, list[Any], _Codes, _Codes]] = {}


def parse(text: str, path: str) -> Module:
    """parser.parse(text, path), read back from the cache when the same text was parsed
    before by the same parser; else parsed (lark is imported then) and stored."""
    text = normalized_source(text)
    register_source(path, text)
    _LOADING.pop(path, None)
    stamp = _stamp()
    entry = _entry_path(path) if stamp is not None else None
    if entry is None or stamp is None:
        from .parser import parse as parse_source

        return parse_source(text, path)
    module, items, codes = _read(entry, stamp, path, text)
    if module is None:
        from .parser import parse as parse_source

        module = parse_source(text, path)
        try:
            items = _encode(module)
        except ValueError:
            return module
        _write(entry, (_FORMAT, stamp, path, text, items, []))
    _LOADING[path] = (entry, stamp, text, items, codes, {})
    return module


def compiled_value(text: str, path: str, line: int, col: int) -> CodeType:
    """source.compile_value(text, path, line, col), kept with the rule file's entry while
    `path` loads (after parse()): a value compiled for an earlier text of the file is
    reused when its own text, line and column are unchanged."""
    kept = _LOADING.get(path)
    if kept is None:
        return compile_value(text, path, line, col)
    before, now = kept[4], kept[5]
    key = (text, line, col)
    code = now.get(key) or before.get(key)
    if code is None:
        code = compile_value(text, path, line, col)
    now[key] = code
    return code


def keep_compiled(path: str) -> None:
    """`path` has loaded: store the values compiled for it with its tree when they are not
    exactly those stored (new ones, or some no longer used)."""
    kept = _LOADING.pop(path, None)
    if kept is None:
        return
    entry, stamp, text, items, before, now = kept
    if now.keys() != before.keys():
        _write(entry, (_FORMAT, stamp, path, text, items,
                       [(*key, code) for key, code in now.items()]))


def _stamp() -> tuple[Any, ...] | None:
    """What the tree depends on besides the text, or None if it cannot be told."""
    files = [*_MAKERS, grammar_file()]
    try:
        import importlib.util

        spec = importlib.util.find_spec("lark")
        if spec is None or spec.origin is None:
            return None
        files.append(spec.origin)
        return (sys.version, sys.flags.optimize,
                *((st.st_size, st.st_mtime_ns) for st in map(os.stat, files)))
    except (OSError, ImportError, ValueError):
        return None


def _entry_path(path: str) -> str | None:
    folder = cache_folder()
    if folder is None:
        return None
    bucket = zlib.crc32(os.fsencode(path)) & 0xFF
    return os.path.join(folder, f"parsed-{bucket:02x}.marshal")


def _read(entry: str, stamp: tuple[Any, ...], path: str, text: str
          ) -> tuple[Module | None, list[Any], _Codes]:
    """The stored tree (decoded and as stored) of `path` with this text, and the values
    compiled for it; the tree is None when the text or anything else differs, and the
    values are kept only if the parser, its version and the path are the same."""
    try:
        with open(entry, "rb") as fh:
            data = marshal.loads(fh.read())
        fmt, their_stamp, their_path, their_text, items, stored = data
        if (fmt, their_stamp, their_path) != (_FORMAT, stamp, path):
            return None, [], {}
        codes = {(t, line, col): code for t, line, col, code in stored
                 if isinstance(code, CodeType)}
        if their_text != text:
            return None, [], codes
        return Module(path, [_decode_item(item, path) for item in items]), items, codes
    except Exception:  # noqa: BLE001 - a missing or damaged entry is only a miss
        return None, [], {}


def _write(entry: str, data: tuple[Any, ...]) -> None:
    temp = f"{entry}.{os.getpid()}.tmp"
    try:
        blob = marshal.dumps(data)
        with open(temp, "wb") as fh:
            fh.write(blob)
        os.replace(temp, entry)
    except (OSError, ValueError):   # read-only folder, full disk, an unexpected value
        try:
            os.unlink(temp)
        except OSError:
            pass


# ------------------------------------------------------------------ the tree as plain data
# Every span of a tree points into its own file, so only line and column are stored.

def _encode(module: Module) -> list[Any]:
    return [_encode_item(item, module.path) for item in module.items]


def _pos(span: Span, path: str) -> tuple[int, int]:
    if span.path != path:
        raise ValueError("a span outside the file")   # never made by the parser
    return span.line, span.col


def _encode_value(v: Value, path: str) -> tuple[Any, ...]:
    return (v.text, *_pos(v.span, path), v.block)


def _encode_directive(d: Directive, path: str) -> tuple[Any, ...]:
    return (d.name, *_pos(d.span, path), _encode_value(d.value, path))


def _encode_item(item: Item, path: str) -> tuple[Any, ...]:
    if isinstance(item, PyChunk):
        return (0, item.text, *_pos(item.span, path),
                [_encode_item(rule, path) for rule in item.rules])
    if isinstance(item, RuleDecl):
        return (1, item.keyword, item.name, *_pos(item.span, path),
                *_pos(item.name_span, path),
                [_encode_directive(d, path) for d in item.directives], item.end_line,
                item.docstring)
    if isinstance(item, Keyword):
        return (2, item.name, *_pos(item.span, path), _encode_value(item.value, path))
    if isinstance(item, UseRule):
        return (3, item.header, *_pos(item.span, path), *_pos(item.header_span, path),
                [_encode_directive(d, path) for d in item.directives])
    return (4, item.name, *_pos(item.span, path),
            [_encode_directive(d, path) for d in item.directives])


def _decode_value(data: tuple[Any, ...], path: str) -> Value:
    text, line, col, block = data
    return Value(text, Span(path, line, col), block)


def _decode_directives(data: list[Any], path: str) -> list[Directive]:
    return [Directive(name, Span(path, line, col), _decode_value(value, path))
            for name, line, col, value in data]


def _decode_item(data: tuple[Any, ...], path: str) -> Any:
    kind = data[0]
    if kind == 0:
        _, text, line, col, rules = data
        return PyChunk(text, Span(path, line, col), [_decode_item(r, path) for r in rules])
    if kind == 1:
        _, keyword, name, line, col, name_line, name_col, directives, end, doc = data
        return RuleDecl(keyword, name, Span(path, line, col), Span(path, name_line, name_col),
                        _decode_directives(directives, path), end, doc)
    if kind == 2:
        _, name, line, col, value = data
        return Keyword(name, Span(path, line, col), _decode_value(value, path))
    if kind == 3:
        _, header, line, col, head_line, head_col, directives = data
        return UseRule(header, Span(path, line, col), Span(path, head_line, head_col),
                       _decode_directives(directives, path))
    if kind != 4:
        raise ValueError(f"not an item: {kind!r}")
    _, name, line, col, directives = data
    return ModuleDecl(name, Span(path, line, col), _decode_directives(directives, path))
