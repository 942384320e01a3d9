"""`rulekit report` on the examples, opened in a real headless Chromium (tests/chromium.py):
no console errors, no network request, the graphs, the timeline and the outputs table are on
screen, filtering and clicking the table work; a screenshot is written under tmp_path."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from chromium import Browser

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).parent.parent / "examples"


def rulekit(*args, cwd):
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def report_data(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                      html, re.S)
    assert block is not None
    return json.loads(block.group(1))


@pytest.fixture(scope="module")
def browser():
    with Browser.launch() as b:
        yield b


VISIBLE = """(sel) => { const e = document.querySelector(sel); if (!e) return null;
  const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
  return r.width > 50 && r.height > 20 && s.visibility !== 'hidden' && s.display !== 'none'; }"""


def visible(page, selector):
    return page.evaluate(f"({VISIBLE})({json.dumps(selector)})")


def shown_rows(page):
    return page.evaluate("document.querySelectorAll('#outputs tbody tr').length")


def type_filter(page, text):
    page.evaluate(f"""(() => {{ const f = document.getElementById('filter');
        f.value = {json.dumps(text)}; f.dispatchEvent(new Event('input')); }})()""")


# example -> (a filter word, the outputs whose path, rule, job, wildcards or reasons hold it)
CASES = {
    "records": "S02",
    "sweep": "lr0.05",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_report_in_chromium(tmp_path, browser, name):
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder, ignore=shutil.ignore_patterns("results", ".rulekit"))
    done = rulekit("run", "--cores", "2", cwd=folder)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "report.html"
    made = rulekit("report", "-o", str(out), cwd=folder)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"rulekit: report written to {out} (")
    html = out.read_text()
    data = report_data(html)
    word = CASES[name]
    # What the filter searches: path, status, rule, wildcards, reasons (and the job name).
    expected = [row for row in data["outputs"]
                if any(word.lower() in str(row[i] or "").lower() for i in (0, 1, 2, 3, 6))]
    assert 0 < len(expected) < len(data["outputs"])

    page = browser.open(out)
    shot = page.screenshot(tmp_path / f"{name}-report.png")
    assert shot.stat().st_size > 10_000
    assert page.errors == []
    assert [u for u in page.requests if not u.startswith(("file:", "data:"))] == []
    for selector in ("#rule-graph svg", "#job-graph svg", "#timeline-figure svg", "#outputs"):
        assert visible(page, selector), selector
    assert shown_rows(page) == len(data["outputs"])

    type_filter(page, word)
    assert shown_rows(page) == len(expected)
    assert page.evaluate("document.getElementById('shown-count').textContent") == \
        f"{len(expected)} of {len(data['outputs'])} outputs"
    paths = page.evaluate("Array.from(document.querySelectorAll('#outputs tbody td.path'))"
                          ".map(td => td.textContent)")
    assert paths == [row[0] for row in expected]
    type_filter(page, "no-such-output-anywhere")
    assert shown_rows(page) == 0
    type_filter(page, "")
    assert shown_rows(page) == len(data["outputs"])

    # Clicking a row shows its provenance.
    page.evaluate("document.querySelector('#outputs tbody tr').click()")
    assert visible(page, "#details")
    details = page.evaluate("document.getElementById('details').textContent")
    assert data["outputs"][0][0] in details
    assert "params" in details and "how it was made" in details
    page.screenshot(tmp_path / f"{name}-details.png", full_page=True)
    assert page.errors == []
