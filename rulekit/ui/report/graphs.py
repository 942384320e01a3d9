"""The rule graph and the job graph: laid out top to bottom, drawn by matplotlib.

With graphviz's `dot` on PATH, it places the boxes and routes the edges as curves (its
layered layout is the best there is). Without it, a layered layout made with networkx:
layers by longest path from the sources, order within a layer by a few barycenter sweeps
(fewer crossings), long layers wrapped onto staggered rows, straight edges clipped at the
boxes. Either way matplotlib draws the labelled boxes, so the two look alike.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import networkx as nx

from .charts import STATUS_COLORS
from .facts import Graph
from .svg import figure_svg, pyplot

__all__ = ["layout", "graph_svg", "DOT_TIMEOUT"]

DOT_TIMEOUT = 20.0
_BARYCENTER_SWEEPS = 4
_CHAR_WIDTH = 0.062   # inches per character of an 8 pt sans-serif label, roughly
_GAP = 0.25           # inches between two boxes of a layer
_LAYER_STEP = 0.75    # inches from one layer to the next
_ARROW = 0.1         # inches: dot's arrowhead length at arrowsize 1
_ROW_MAX = 8          # boxes per row; a wider layer wraps
_WRAP_STEP = 0.5      # inches between the rows of one wrapped layer


def _digraph(graph: Graph) -> nx.DiGraph[str]:
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(n.id for n in graph.nodes)
    g.add_edges_from(graph.edges)
    return g


Points = list[tuple[float, float]]


def _run(argv: list[str], text: str) -> str | None:
    try:
        done = subprocess.run(argv, input=text, capture_output=True, text=True,
                              timeout=DOT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _dot_layout(g: nx.DiGraph[str], labels: dict[str, str]
                ) -> tuple[dict[str, tuple[float, float]], dict[tuple[str, str], Points]] | None:
    """Node centres and edge splines from `dot -Tplain` (inches, y up), after graphviz's
    `unflatten` (which staggers a long row of leaves over three ranks) when it is there;
    None when dot is missing or fails."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    index = {n: i for i, n in enumerate(g.nodes)}
    lines = ["digraph G {", "rankdir=TB;", "nodesep=0.25;", "ranksep=0.35;",
             'node [shape=box, fontsize=8, fontname="Helvetica", width=0.1, height=0.2, '
             'margin="0.06,0.03"];']
    for n, i in index.items():
        text = labels[n].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'n{i} [label="{text}"];')
    lines.extend(f"n{index[a]} -> n{index[b]};" for a, b in g.edges)
    lines.append("}")
    source: str | None = "\n".join(lines)
    unflatten = shutil.which("unflatten")
    if unflatten is not None:
        source = _run([unflatten, "-l", "3"], source or "") or source
    plain = _run([dot, "-Tplain"], source or "")
    if plain is None:
        return None
    by_index = {f"n{i}": n for n, i in index.items()}
    pos: dict[str, tuple[float, float]] = {}
    splines: dict[tuple[str, str], Points] = {}
    for line in plain.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "node" and parts[1] in by_index:
            pos[by_index[parts[1]]] = (float(parts[2]), float(parts[3]))
        elif len(parts) >= 4 and parts[0] == "edge" and parts[1] in by_index:
            count = int(parts[3])
            xy = [float(v) for v in parts[4:4 + 2 * count]]
            splines[(by_index[parts[1]], by_index[parts[2]])] = list(zip(xy[::2], xy[1::2]))
    return (pos, splines) if len(pos) == len(index) else None


def _layered_positions(g: nx.DiGraph[str], box_width: float) -> dict[str, tuple[float, float]]:
    """Longest-path layers (sources on top), barycenter ordering, centred rows; inches."""
    layer: dict[str, int] = {}
    for n in nx.topological_sort(g):
        layer[n] = max((layer[p] + 1 for p in g.predecessors(n)), default=0)
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in g.nodes:
        rows[layer[n]].append(n)
    for sweep in range(_BARYCENTER_SWEEPS):
        down = sweep % 2 == 0
        order = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        for r in order:
            ref = {n: i for i, n in enumerate(rows[r - 1 if down else r + 1])}

            def key(n: str, ref: dict[str, int] = ref, down: bool = down) -> float:
                near = g.predecessors(n) if down else g.successors(n)
                xs = [ref[m] for m in near if m in ref]
                return sum(xs) / len(xs) if xs else float("inf")
            rows[r].sort(key=key)
    # A layer wider than _ROW_MAX boxes is wrapped onto several rows: a long row of
    # jobs (a sweep) stays readable at the page's width.
    step = box_width + _GAP
    pos: dict[str, tuple[float, float]] = {}
    y = 0.0
    for names in rows:
        for start in range(0, len(names), _ROW_MAX):
            chunk = names[start:start + _ROW_MAX]
            shift = step / 2 if (start // _ROW_MAX) % 2 else 0.0  # edges pass between boxes
            for i, n in enumerate(chunk):
                pos[n] = ((i - (len(chunk) - 1) / 2) * step + shift, y)
            y -= _LAYER_STEP if start + _ROW_MAX >= len(names) else _WRAP_STEP
    return pos


def _box_width(labels: list[str]) -> float:
    """Inches taken by the widest label's box at the report's 8 pt."""
    longest = max((max(len(line) for line in t.split("\n")) for t in labels), default=4)
    return longest * _CHAR_WIDTH + 0.2


def layout(graph: Graph, labels: dict[str, str]
           ) -> tuple[dict[str, tuple[float, float]], dict[tuple[str, str], Points]]:
    """Node centres in inches (y up), and dot's edge splines (none without dot)."""
    g = _digraph(graph)
    return _dot_layout(g, labels) or (_layered_positions(g, _box_width(list(labels.values()))),
                                      {})


def _to_head(points: Points) -> Points:
    """dot's spline stops where its arrowhead would start, `_ARROW` inches before the box:
    carry the end on to the box, along the spline's last direction."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
    if length == 0:
        return points
    ux, uy = (x1 - x0) / length * _ARROW, (y1 - y0) / length * _ARROW
    return [*points[:-1], (x1 + ux, y1 + uy)]


def _label(node: Any, collapsed: bool) -> str:
    return f"{node.label}\n({node.count} jobs)" if collapsed and node.count > 1 else node.label


def graph_svg(graph: Graph, prefix: str, *, fill: str = "status",
              colors: dict[str, str] | None = None, title: str) -> str:
    """The graph as inline SVG; boxes filled by job status or (fill="rule") rule colour."""
    plt = pyplot()
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    labels = {n.id: _label(n, graph.collapsed) for n in graph.nodes}
    pos, splines = layout(graph, labels)
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    # One data unit is one inch, so 8 pt labels fit the spacing the layout gave them.
    half = _box_width(list(labels.values())) / 2 + 0.1
    left, right, bottom, top = min(xs) - half, max(xs) + half, min(ys) - 0.35, max(ys) + 0.35
    fig = plt.figure(figsize=(right - left, top - bottom))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    texts = {}
    for node in graph.nodes:
        x, y = pos[node.id]
        face = (colors or {}).get(node.rule, "#dddddd") if fill == "rule" else \
            STATUS_COLORS.get(node.status, "#eeeeee")
        texts[node.id] = ax.text(
            x, y, labels[node.id], ha="center", va="center", fontsize=8,
            zorder=3, bbox={"boxstyle": "round,pad=0.35", "facecolor": face,
                            "edgecolor": "#444444", "linewidth": 0.8})
    fig.canvas.draw()  # sizes the label boxes; arrows (drawn after them) are clipped at them
    style: dict[str, Any] = {"arrowstyle": "-|>", "mutation_scale": 9, "color": "#555555",
                             "linewidth": 0.8, "zorder": 4}
    for a, b in graph.edges:
        points = splines.get((a, b))
        if points and (len(points) - 1) % 3 == 0:  # dot's cubic Bezier, ending at the boxes
            codes = [Path.MOVETO] + [Path.CURVE4] * (len(points) - 1)
            arrow = FancyArrowPatch(path=Path(_to_head(points), codes), **style)
        else:
            arrow = FancyArrowPatch(pos[a], pos[b], patchA=texts[a].get_bbox_patch(),
                                    patchB=texts[b].get_bbox_patch(), shrinkA=1, shrinkB=1,
                                    **style)
        ax.add_patch(arrow)
    svg = figure_svg(fig, prefix, label=title)
    # Shrink to the page's width, but never below 60% of the natural size (then scroll).
    natural = (right - left) * 72
    return svg.replace("<svg ", f'<svg style="width: clamp({natural * 0.6:.0f}pt, 100%, '
                       f'{natural:.0f}pt); height: auto; max-width: none" ', 1)
