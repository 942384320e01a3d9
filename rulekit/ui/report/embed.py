"""Outputs marked with report(...), embedded in the page: images (PNG, JPEG, GIF, SVG) as data
URIs, tables (CSV/TSV) as their first rows, anything else readable as its first lines; and
their captions (reStructuredText, rendered by docutils, as in Snakemake).

An SVG goes in as an <img> data URI, not inline: scripts in it never run, and it cannot
load anything. Links to the network in captions are shown as text, never as links, so the
page holds no network URL at all.
"""

from __future__ import annotations

import base64
import csv
import html
import os
import re
from typing import Any

__all__ = ["embed_file", "render_caption", "MAX_EMBED_BYTES", "TABLE_ROWS", "TEXT_LINES"]

MAX_EMBED_BYTES = 2_000_000   # per file: the whole page should stay a few MB
TABLE_ROWS = 20
TEXT_LINES = 60
_IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
           ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}
_TABLES = {".csv": ",", ".tsv": "\t"}


def _size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def embed_file(full_path: str, shown_path: str) -> tuple[str, str]:
    """(kind, html) for one marked output: kind is image, table, text, binary, missing,
    folder or too big."""
    if os.path.isdir(full_path):
        names = sorted(os.listdir(full_path))
        items = "".join(f"<li>{html.escape(n)}</li>" for n in names[:TEXT_LINES])
        more = f"<p>and {len(names) - TEXT_LINES} more</p>" if len(names) > TEXT_LINES else ""
        return "folder", f"<ul class='listing'>{items}</ul>{more}"
    try:
        size = os.path.getsize(full_path)
    except OSError:
        return "missing", f"<p class='note'>{html.escape(shown_path)} does not exist (yet).</p>"
    ext = os.path.splitext(full_path)[1].lower()
    if ext in _IMAGES:
        if size > MAX_EMBED_BYTES:
            return "too big", (f"<p class='note'>{html.escape(shown_path)} is {_size_text(size)},"
                               " too big to embed; open it from the working directory.</p>")
        with open(full_path, "rb") as fh:
            data = base64.b64encode(fh.read()).decode("ascii")
        return "image", (f"<img src='data:{_IMAGES[ext]};base64,{data}' "
                         f"alt='{html.escape(shown_path, quote=True)}'>")
    try:
        with open(full_path, encoding="utf-8", newline="") as fh:
            head = [line for _, line in zip(range(max(TABLE_ROWS + 1, TEXT_LINES) + 1), fh)]
            rest = sum(1 for _ in fh)
    except UnicodeDecodeError:
        return "binary", (f"<p class='note'>{html.escape(shown_path)}: binary file "
                          f"({_size_text(size)}), not shown.</p>")
    if ext in _TABLES:
        return "table", _table_html(head, len(head) + rest, _TABLES[ext])
    shown = head[:TEXT_LINES]
    total = len(head) + rest
    more = (f"<p class='note'>first {TEXT_LINES} of {total} lines</p>"
            if total > TEXT_LINES else "")
    return "text", f"<pre>{html.escape(''.join(shown))}</pre>{more}"


def _table_html(lines: list[str], total_lines: int, delimiter: str) -> str:
    rows = list(csv.reader(lines[:TABLE_ROWS + 1], delimiter=delimiter))
    if not rows:
        return "<p class='note'>empty table</p>"
    head, body = rows[0], rows[1:]
    out = ["<table class='embedded'><thead><tr>"]
    out += [f"<th>{html.escape(c)}</th>" for c in head]
    out.append("</tr></thead><tbody>")
    for row in body:
        out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    data_rows = max(total_lines - 1, 0)
    if data_rows > len(body):
        out.append(f"<p class='note'>first {len(body)} of {data_rows} rows</p>")
    return "".join(out)


_NETWORK_LINK = re.compile(r'<a\b[^>]*\bhref="(https?:[^"]*)"[^>]*>(.*?)</a>', re.S)
_PLACEHOLDER = re.compile(r"\{\{\s*snakemake\.wildcards\.(\w+)\s*\}\}")


def render_caption(text: str, wildcards: dict[str, str], source: str, *,
                   keep_title: bool = False) -> str:
    """reStructuredText to an HTML fragment; `{{ snakemake.wildcards.NAME }}` is replaced
    by the output's wildcard value. Network links become plain text with the address.
    `keep_title`: a lone top section title stays in the fragment (docutils would lift it
    out as the document's title)."""
    text = _PLACEHOLDER.sub(lambda m: wildcards.get(m.group(1), m.group(0)), text)
    try:
        from docutils.core import publish_parts
        from docutils.writers.html5_polyglot import Writer
    except ImportError:  # the report extra brings docutils; plain text is the fallback
        return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    settings: dict[str, Any] = {
        "report_level": 5, "halt_level": 5, "file_insertion_enabled": False,
        "raw_enabled": False, "_disable_config": True, "input_encoding": "unicode",
        "output_encoding": "unicode", "syntax_highlight": "none", "math_output": "HTML",
        "initial_header_level": 4, "doctitle_xform": not keep_title,
    }
    body: str = publish_parts(text, source_path=source, writer=Writer(),
                              settings_overrides=settings)["body"]
    return _NETWORK_LINK.sub(
        lambda m: f"{m.group(2)} <span class='url'>({html.escape(m.group(1))})</span>"
        if html.unescape(m.group(2)) != html.unescape(m.group(1))
        else f"<span class='url'>{m.group(2)}</span>", body)
