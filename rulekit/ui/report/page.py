"""The report page: facts and figures into one self-contained HTML file.

Everything is inline: the style sheet, the table script, the figures (SVG), embedded results
(data URIs) and the outputs table's data (a JSON block the script reads). Text from the
workflow is escaped here; the script puts data in with textContent only.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import string
from collections import defaultdict
from importlib import resources
from typing import Any

from .charts import duration_stats, durations_svg, rule_colors, timeline_svg
from .facts import Marked, ReportFacts
from .graphs import graph_svg

__all__ = ["render_page", "format_seconds"]


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _when(t: float | None) -> str:
    if not t:
        return "-"
    return dt.datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _esc(text: object) -> str:
    return html.escape(str(text))


def _badges(counts: dict[str, int]) -> str:
    if not counts:
        return "<span>none</span>"
    return "".join(f"<span data-status='{_esc(k)}'>{_esc(k)}: {v}</span>"
                   for k, v in counts.items())


def _header(f: ReportFacts) -> str:
    rows: list[tuple[str, str]] = [("workflow", _esc(f.workflow_file)),
                                   ("working directory", _esc(f.workdir))]
    if f.run is None:
        rows.append(("last run", "no run recorded yet (rulekit run writes the record)"))
    else:
        run = f.run
        if run.end is None:
            outcome, cls = "unfinished (killed, or still running)", "unfinished"
            took = "-"
        else:
            outcome = run.outcome or "-"
            cls = "ok" if outcome == "ok" else ("interrupted" if "interrupt" in outcome
                                                else "failed")
            took = format_seconds(max(run.end - run.start, 0.0))
        argv = [os.path.basename(run.argv[0]), *run.argv[1:]] if run.argv else ["rulekit"]
        rows += [("last run", f"<code>{_esc(' '.join(argv))}</code> "
                              f"(run {_esc(run.run_id)})"),
                 ("started", _esc(_when(run.start))), ("took", _esc(took)),
                 ("outcome", f"<span class='outcome-{cls}'>{_esc(outcome)}</span>"),
                 ("jobs in that run", f"<span class='badges'>{_badges(f.job_counts)}</span>")]
    rows += [("outputs now", f"<span class='badges'>{_badges(f.output_counts)}</span>"),
             ("versions", f"rulekit {_esc(f.rulekit_version)}, Python {_esc(f.python_version)}"),
             ("host", _esc(f.host)), ("report made", _esc(_when(f.generated)))]
    out = "<dl class='facts'>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"
    if f.warnings:
        out += "<ul class='warnings'>" + "".join(f"<li>{_esc(w)}</li>" for w in f.warnings) \
            + "</ul>"
    return out


def _timeline(f: ReportFacts, colors: dict[str, str]) -> str:
    if f.run is None or not f.timeline:
        what = "No run recorded yet." if f.run is None else "The last run ran no job."
        return f"<p class='note' id='timeline-empty'>{what}</p>"
    lanes = len({j.lane for j in f.timeline})
    note = (f"<p class='note'>{len(f.timeline)} jobs on {lanes} lane(s): a lane is a core "
            "slot running one job at a time (as many lanes as jobs ran at once at the busiest "
            "moment). Hatched red: failed; dotted grey: stopped by an interruption, or never "
            "finished.</p>")
    figure = timeline_svg(f.timeline, colors, f.run.start)
    return f"{note}<div class='figure' id='timeline-figure'>{figure}</div>"


def _durations(f: ReportFacts, colors: dict[str, str]) -> str:
    stats = duration_stats(f.durations)
    if not stats:
        return "<p class='note'>No job has a record yet.</p>"
    head = ("<table class='stats'><thead><tr><th>rule</th><th>jobs</th><th>min</th>"
            "<th>median</th><th>max</th><th>total</th></tr></thead><tbody>")
    body = "".join(
        f"<tr><td>{_esc(rule)}</td><td class='num'>{n}</td>"
        + "".join(f"<td class='num'>{_esc(format_seconds(v))}</td>" for v in (lo, med, hi, tot))
        + "</tr>" for rule, n, lo, med, hi, tot in stats)
    return (f"<div class='graphs'><div>{head}{body}</tbody></table>"
            "<p class='note'>From the record of every output rulekit knows (each job once).</p>"
            f"</div><div class='figure'>{durations_svg(f.durations, colors)}</div></div>")


def _results(marked: list[Marked]) -> str:
    if not marked:
        return ""
    groups: dict[str, dict[str, list[Marked]]] = defaultdict(lambda: defaultdict(list))
    for m in marked:
        groups[m.category][m.subcategory or ""].append(m)
    parts = ["<section class='part' id='results'><h2>Results</h2>"]
    for category, subs in groups.items():
        parts.append(f"<div class='category'><h3>{_esc(category)}</h3>")
        for sub, items in subs.items():
            if sub:
                parts.append(f"<h4>{_esc(sub)}</h4>")
            for m in items:
                labels = "".join(f" <span class='note'>{_esc(k)}: {_esc(v)}</span>"
                                 for k, v in m.labels.items())
                parts.append(
                    f"<div class='marked' data-kind='{m.kind}'><div><span class='path'>"
                    f"{_esc(m.path)}</span> <span class='note'>rule {_esc(m.rule)}</span>"
                    f"{labels}</div><div class='caption'>{m.caption_html}</div>{m.html}</div>")
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _json_block(value: Any) -> str:
    # In a <script> block only "</" could end it early; \u003c keeps the JSON valid.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


def render_page(f: ReportFacts) -> str:
    colors = rule_colors(f.rules)
    job_note = ""
    if f.job_graph.collapsed:
        job_note = (f"<p class='note'>{f.job_graph.total_jobs} jobs: each rule with more than "
                    "one job is drawn as one box.</p>")
    data = {
        # The job's name is the rule and the wildcards: the script puts it together.
        "outputs": [[o.path, o.status, o.rule,
                     ", ".join(f"{k}={v}" for k, v in o.wildcards.items()), o.size,
                     None if o.made is None else round(o.made), "; ".join(o.reasons), o.key]
                    for o in f.outputs],
        "provenance": f.provenance,
    }
    values = {
        "version": _esc(f.rulekit_version),
        "title": _esc(f.workflow_file),
        "css": _asset("report.css"),
        "js": _asset("report.js"),
        "header": _header(f),
        "description": (f"<section class='part' id='description'>{f.description_html}</section>"
                        if f.description_html else ""),
        "rule_graph": graph_svg(f.rule_graph, "rulegraph", fill="rule", colors=colors,
                                title="rule graph"),
        "job_graph": graph_svg(f.job_graph, "jobgraph", title="job graph"),
        "job_graph_note": job_note + _legend(),
        "timeline": _timeline(f, colors),
        "durations": _durations(f, colors),
        "results": _results(f.marked),
        "results_link": "<a href='#results'>Results</a>" if f.marked else "",
        "data": _json_block(data),
    }
    return string.Template(_asset("template.html")).substitute(values)


def _legend() -> str:
    from .charts import STATUS_COLORS

    items = "".join(f"<span style='background:{c}'>{_esc(s)}</span>"
                    for s, c in STATUS_COLORS.items())
    return f"<p class='badges note'>job boxes: {items}</p>"
