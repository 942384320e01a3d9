"""The report's parts on their own: graph layouts (dot and the networkx fallback), the
timeline's size at 10,000 jobs, and how marked files are embedded."""

import base64
import shutil

import pytest

from rulekit.ui.report import embed, graphs
from rulekit.ui.report.charts import VECTOR_LIMIT, timeline_svg
from rulekit.ui.report.facts import Graph, GraphNode, JobRun


def sweep_graph(n: int = 12) -> Graph:
    nodes = [GraphNode("agg", "aggregate", "aggregate", "ok"), GraphNode("all", "all", "all", "ok")]
    edges = [("agg", "all")]
    for i in range(n):
        nodes.append(GraphNode(f"s{i}", f"simulate[seed={i}]", "simulate", "ok"))
        edges.append((f"s{i}", "agg"))
    return Graph(nodes, edges)


def labels(graph: Graph) -> dict:
    return {n.id: n.label for n in graph.nodes}


def test_fallback_layout_layers_and_wraps(monkeypatch):
    monkeypatch.setattr(graphs.shutil, "which", lambda name: None)
    graph = sweep_graph(12)
    pos, splines = graphs.layout(graph, labels(graph))
    assert splines == {}
    rows = sorted({round(y, 3) for x, y in (pos[f"s{i}"] for i in range(12))}, reverse=True)
    assert len(rows) == 2                      # 12 sources wrap onto rows of at most 8
    assert sum(1 for i in range(12) if round(pos[f"s{i}"][1], 3) == rows[0]) == 8
    assert pos["agg"][1] < rows[-1] and pos["all"][1] < pos["agg"][1]   # sources on top
    width = graphs._box_width(list(labels(graph).values()))
    for row in rows:                           # boxes of a row do not overlap
        xs = sorted(x for x, y in pos.values() if round(y, 3) == row)
        assert all(b - a >= width for a, b in zip(xs, xs[1:]))


def test_fallback_drawing_is_svg_with_every_label(monkeypatch):
    monkeypatch.setattr(graphs.shutil, "which", lambda name: None)
    svg = graphs.graph_svg(sweep_graph(3), "g", title="job graph")
    assert svg.startswith('<svg style="width: clamp(')
    assert 'aria-label="job graph"' in svg
    for text in ("aggregate", "all", "simulate[seed=0]", "simulate[seed=2]"):
        assert f">{text}<" in svg


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed "
                    "(apt-get install graphviz); the networkx layout is tested above")
def test_dot_layout_places_every_node_and_routes_every_edge():
    graph = sweep_graph(12)
    pos, splines = graphs.layout(graph, labels(graph))
    assert set(pos) == {n.id for n in graph.nodes}
    assert set(splines) == set(graph.edges)
    assert all((len(points) - 1) % 3 == 0 for points in splines.values())
    assert pos["agg"][1] < min(pos[f"s{i}"][1] for i in range(12))


def test_timeline_of_many_jobs_stays_small():
    jobs = [JobRun(f"j{i}", ("a", "b", "c")[i % 3], 0, i * 0.01, i * 0.01 + 0.009,
                   "failed" if i % 997 == 0 else "done") for i in range(10_000)]
    svg = timeline_svg(jobs, {"a": "#1f77b4", "b": "#ff7f0e", "c": "#2ca02c"}, 0.0)
    assert len(jobs) > VECTOR_LIMIT
    assert "<image" in svg and "data:image/png;base64," in svg  # the bars: one raster
    assert len(svg) < 300_000


def test_small_timeline_is_vector():
    jobs = [JobRun("a", "a", 0, 0.0, 1.0, "done"), JobRun("b", "b", 1, 0.5, 2.0, "failed")]
    svg = timeline_svg(jobs, {"a": "#1f77b4", "b": "#ff7f0e"}, 0.0)
    assert "<image" not in svg
    assert ">failed<" in svg   # the legend names the failure marking


def test_embed_kinds(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "x.txt").write_text("x")
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe\x00\x81" * 100)
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + b"\0" * (embed.MAX_EMBED_BYTES + 1))
    (tmp_path / "t.tsv").write_text("a\tb\n1\t<2>\n")
    (tmp_path / "small.gif").write_bytes(b"GIF89a")
    assert embed.embed_file(str(tmp_path / "folder"), "folder") == \
        ("folder", "<ul class='listing'><li>x.txt</li></ul>")
    assert embed.embed_file(str(tmp_path / "blob.bin"), "blob.bin") == \
        ("binary", "<p class='note'>blob.bin: binary file (0 kB), not shown.</p>")
    kind, html = embed.embed_file(str(tmp_path / "big.png"), "big.png")
    assert kind == "too big" and "2.0 MB, too big to embed" in html
    assert embed.embed_file(str(tmp_path / "t.tsv"), "t.tsv") == (
        "table", "<table class='embedded'><thead><tr><th>a</th><th>b</th></tr></thead>"
                 "<tbody><tr><td>1</td><td>&lt;2&gt;</td></tr></tbody></table>")
    data = base64.b64encode(b"GIF89a").decode()
    assert embed.embed_file(str(tmp_path / "small.gif"), "small.gif") == \
        ("image", f"<img src='data:image/gif;base64,{data}' alt='small.gif'>")
    assert embed.embed_file(str(tmp_path / "none.txt"), "none.txt")[0] == "missing"


def test_caption_links_never_point_outside():
    html = embed.render_caption("See `docs <https://example.org/x>`_ and http://example.org/y.",
                                {}, "c.rst")
    assert "href" not in html
    assert "docs <span class='url'>(https://example.org/x)</span>" in html
    assert "<span class='url'>http://example.org/y</span>" in html
