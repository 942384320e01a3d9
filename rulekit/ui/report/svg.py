"""matplotlib figures as SVG text to inline in the report page.

Text stays text (`svg.fonttype: none`: smaller, searchable, the page's font), the output is
the same on every run (no date, fixed hash salt), and every id is prefixed per figure so
several inline SVGs never share one (each clip path is referenced by id).
"""

from __future__ import annotations

import importlib
import io
import re
from typing import Any

__all__ = ["pyplot", "figure_svg", "MissingPlotting"]

_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "rulekit-report",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


class MissingPlotting(ImportError):
    """matplotlib (the `report` extra) is not installed."""


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, with the report's style."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingPlotting(str(exc)) from exc
    matplotlib.use("Agg", force=True)
    plt: Any = importlib.import_module("matplotlib.pyplot")
    plt.rcParams.update(_RC)
    return plt


_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')


def figure_svg(fig: Any, prefix: str, *, label: str, dpi: float = 100) -> str:
    """The figure as an inline <svg> element (no XML prolog), closed afterwards.
    `label` becomes its accessible name; `dpi` is for the artists drawn rasterized."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                bbox_inches="tight", pad_inches=0.05, dpi=dpi)
    pyplot().close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    # Natural size in points; the page's CSS shrinks a wide one to fit (max-width: 100%).
    text = text.replace("<svg", f'<svg role="img" aria-label="{_attr(label)}"', 1)
    return text.strip()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
