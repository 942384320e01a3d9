"""The timeline (Gantt) of the last run and the per-rule duration plot, drawn by matplotlib.

One `broken_barh` call per (lane, rule); failed jobs get a red hatched outline, cancelled and
never-finished ones a grey one. Past `VECTOR_LIMIT` bars (or outlier points), the bars are
rasterized: the SVG then holds one embedded PNG for them instead of a path per bar, which
keeps a 10,000-job timeline to ~100 kB while axes and text stay vector.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .facts import JobRun
from .svg import figure_svg, pyplot

__all__ = ["rule_colors", "timeline_svg", "durations_svg", "duration_stats", "STATUS_COLORS"]

STATUS_COLORS = {"ok": "#d9f0d3", "to run": "#fee8c8", "failed": "#f4a6a6",
                 "incomplete": "#fdd0a2", "missing input": "#e0e0e0"}
VECTOR_LIMIT = 2000
_RASTER_DPI = 150
_FAILED_EDGE = "#b00020"
_STOPPED_EDGE = "#555555"


def rule_colors(rules: Sequence[str]) -> dict[str, str]:
    """A stable colour per rule: matplotlib's tab20 (strong shades, then light ones), then
    tab20b; never its reds, which mark failures."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmaps: list[Any] = [colormaps["tab20"], colormaps["tab20b"]]
    red = {6, 7}  # tab20's red pair
    palette = [to_hex(c.colors[i]) for c in cmaps for i in range(0, 20, 2)
               if c is not cmaps[0] or i not in red]
    palette += [to_hex(c.colors[i]) for c in cmaps for i in range(1, 20, 2)
                if c is not cmaps[0] or i not in red]
    return {rule: palette[i % len(palette)] for i, rule in enumerate(rules)}


def timeline_svg(jobs: Sequence[JobRun], colors: dict[str, str], run_start: float) -> str:
    """One bar per job on its lane, x in seconds since the run started."""
    plt = pyplot()
    from matplotlib.patches import Patch

    lanes = sorted({j.lane for j in jobs})
    row = {lane: i for i, lane in enumerate(lanes)}
    span = max((j.end for j in jobs), default=run_start) - run_start
    min_width = max(span, 1e-3) / 400  # a 1 ms job stays visible next to a 10 min one
    groups: dict[tuple[int, str, str], list[tuple[float, float]]] = defaultdict(list)
    for j in jobs:
        kind = "failed" if j.status == "failed" else (
            "stopped" if j.status in ("cancelled", "running") else "ok")
        groups[(j.lane, j.rule, kind)].append(
            (j.start - run_start, max(j.end - j.start, min_width)))
    height = min(0.9 + 0.26 * len(lanes), 14.0)
    fig, ax = plt.subplots(figsize=(10, height))
    raster = len(jobs) > VECTOR_LIMIT
    for (lane, rule, kind), bars in groups.items():
        style = {}
        if kind == "failed":
            style = {"edgecolor": _FAILED_EDGE, "hatch": "////", "linewidth": 1.2}
        elif kind == "stopped":
            style = {"edgecolor": _STOPPED_EDGE, "hatch": "..", "linewidth": 1.0}
        ax.broken_barh(bars, (row[lane] - 0.4, 0.8), facecolors=colors.get(rule, "#999999"),
                       rasterized=raster, **style)
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([f"lane {lane + 1}" for lane in lanes])
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xlim(0, max(span, min_width) * 1.01)
    ax.set_xlabel("seconds since the run started")
    ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    shown = list(dict.fromkeys(j.rule for j in jobs))
    handles = [Patch(facecolor=colors.get(r, "#999999"), label=r) for r in shown[:16]]
    if any(j.status == "failed" for j in jobs):
        handles.append(Patch(facecolor="white", edgecolor=_FAILED_EDGE, hatch="////",
                             label="failed"))
    if any(j.status in ("cancelled", "running") for j in jobs):
        handles.append(Patch(facecolor="white", edgecolor=_STOPPED_EDGE, hatch="..",
                             label="stopped / unfinished"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False,
              fontsize=8)
    return figure_svg(fig, "timeline", label="timeline of the last run", dpi=_RASTER_DPI)


def duration_stats(durations: dict[str, list[float]]) -> list[tuple[str, int, float, float,
                                                                    float, float]]:
    """(rule, jobs, min, median, max, total) per rule with any recorded job."""
    return [(rule, len(ds), min(ds), statistics.median(ds), max(ds), sum(ds))
            for rule, ds in durations.items() if ds]


def durations_svg(durations: dict[str, list[float]], colors: dict[str, str]) -> str:
    """A small horizontal box plot of job durations per rule (log scale when they spread)."""
    plt = pyplot()
    rules = [r for r, ds in durations.items() if ds]
    data = [durations[r] for r in rules]
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.32 * len(rules)))
    many = sum(len(ds) for ds in data) > VECTOR_LIMIT
    box = ax.boxplot(data, orientation="horizontal", patch_artist=True, widths=0.6,
                     showfliers=True, flierprops={"markersize": 2, "rasterized": many},
                     medianprops={"color": "black"})
    for patch, rule in zip(box["boxes"], rules):
        patch.set_facecolor(colors.get(rule, "#999999"))
    ax.set_yticks(range(1, len(rules) + 1))
    ax.set_yticklabels(rules)
    ax.invert_yaxis()
    values = [d for ds in data for d in ds]
    low = min((d for d in values if d > 0), default=1e-3)
    if values and max(values) / low > 100:
        ax.set_xscale("log")
    ax.set_xlabel("seconds per job")
    ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    return figure_svg(fig, "durations", label="job durations per rule", dpi=_RASTER_DPI)
