"""`rulekit report` through the CLI: a self-contained page (no network URL), what it shows
after a failed and an interrupted run, report()-marked outputs embedded with captions, the
exact errors for a bad report() call, and the message when the report extra is missing."""

import base64
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent


def rulekit(folder, *args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=folder,
                          capture_output=True, text=True, timeout=timeout, env=env)


def write(folder: Path, files: dict) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)


def report_html(folder: Path, *args: str) -> str:
    done = rulekit(folder, "report", "-o", "out/report.html", *args)
    assert done.returncode == 0, done.stderr
    return (folder / "out/report.html").read_text()


def report_data(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                      html, re.S)
    assert block is not None
    return json.loads(block.group(1))


def tiny_png() -> bytes:
    """A 2x2 red PNG, written by hand (no imaging library needed)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (len(body).to_bytes(4, "big") + kind + body
                + zlib.crc32(kind + body).to_bytes(4, "big"))
    raw = b"".join(b"\0" + b"\xff\0\0" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (2).to_bytes(4, "big") * 2 + b"\x08\x02\0\0\0")
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


MARKED = {
    "Rulesfile": '''
rule all:
    input: expand("plots/{s}.png", s=["a", "b"]), "tables/t.csv", "notes.txt", "fig.svg"

rule plot:
    output: report("plots/{s}.png", caption="report/plot.rst", category="Figures",
                   subcategory="sample {s}", labels={"sample": "{s}"})
    run:
        import base64
        with open(output[0], "wb") as f:
            f.write(base64.b64decode(config["png"]))

rule table:
    output: report("tables/t.csv", category="Tables")
    run:
        with open(output[0], "w") as f:
            f.write("n,square\\n" + "".join(f"{i},{i * i}\\n" for i in range(50)))

rule notes:
    output: report("notes.txt")
    shell: "printf 'first line\\nsecond <line>\\n' > {output}"

rule svg:
    output: report("fig.svg", caption="report/plot.rst", category="Figures")
    shell: "printf '<svg xmlns=\\"http://www.w3.org/2000/svg\\" width=\\"4\\" height=\\"4\\"/>' > {output}"
''',
    "report/plot.rst": ("Loss for sample **{{ snakemake.wildcards.s }}**; see "
                        "`the docs <https://example.org/docs>`_.\n"),
}


@pytest.fixture
def marked(tmp_path):
    write(tmp_path, MARKED)
    png = base64.b64encode(tiny_png()).decode()
    done = rulekit(tmp_path, "run", "--cores", "2", "--config", f"png={png}")
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_marked_outputs_are_embedded_by_category_with_captions(marked):
    html = report_html(marked)
    results = html[html.index("<section class='part' id='results'>"):]
    results = results[:results.index("</section>")]
    # Categories in first-seen order, uncategorised last; subcategories per sample.
    assert [m for m in re.findall(r"<h3>([^<]+)</h3>", results)] == \
        ["Figures", "Tables", "Other results"]
    assert "<h4>sample a</h4>" in results and "<h4>sample b</h4>" in results
    png = base64.b64encode(tiny_png()).decode()
    assert results.count(f"src='data:image/png;base64,{png}'") == 2
    assert "src='data:image/svg+xml;base64," in results
    assert "Loss for sample <strong>a</strong>" in results
    assert "Loss for sample <strong>b</strong>" in results
    # A network link in a caption is shown as text, never as a link.
    assert "the docs <span class='url'>(https://example.org/docs)</span>" in results
    # The table: header and the first 20 of 50 rows.
    assert "<th>n</th><th>square</th>" in results
    assert "<td>19</td><td>361</td>" in results and "<td>20</td>" not in results
    assert "first 20 of 50 rows" in results
    assert "<pre>first line\nsecond &lt;line&gt;\n</pre>" in results
    assert "sample: a" in results


def test_page_holds_no_network_url(marked):
    html = report_html(marked)
    refs = re.findall(r"""\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*([^"'\s>]+)""",
                      html, re.I)
    assert refs, "the page has no src/href at all: the check would prove nothing"
    assert [r for r in refs if re.match(r"(?i)(https?:)?//", r)] == []
    assert re.findall(r"(?i)url\(\s*['\"]?\s*(?:https?:)?//", html) == []
    assert re.findall(r"(?i)@import", html) == []


def test_report_after_a_failed_run(tmp_path):
    write(tmp_path, {"Rulesfile": '''
rule all:
    input: "ok.txt", "after.txt"

rule good:
    output: "ok.txt"
    shell: "echo fine > {output}"

rule bad:
    output: "bad.txt"
    log: "logs/bad.log"
    shell: "echo about to fail > {log}; exit 3"

rule after:
    input: "bad.txt"
    output: "after.txt"
    shell: "cp {input} {output}"
'''})
    done = rulekit(tmp_path, "run", "--cores", "1", "-k")
    assert done.returncode == 1
    html = report_html(tmp_path)
    data = report_data(html)
    statuses = {row[0]: row[1] for row in data["outputs"]}
    assert statuses == {"ok.txt": "ok", "bad.txt": "missing", "after.txt": "missing"}
    assert "<dt>outcome</dt><dd><span class='outcome-failed'>failed</span></dd>" in html
    assert ("<dt>jobs in that run</dt><dd><span class='badges'><span data-status='done'>"
            "done: 1</span><span data-status='failed'>failed: 1</span>"
            "<span data-status='not started'>not started: 2</span></span></dd>") in html
    timeline = html[html.index('id="timeline"'):html.index('id="durations"')]
    assert "2 jobs on 1 lane(s)" in timeline and ">failed<" in timeline   # the legend
    job_graph = html[html.index('id="job-graph"'):html.index('id="timeline"')]
    assert job_graph.count("fill: #f4a6a6") == 1        # the failed job's box
    assert ">bad<" in job_graph


SLOW = '''
rule all:
    input: "quick.txt", "slow.txt"

rule quick:
    output: "quick.txt"
    shell: "echo done > {output}"

rule slow:
    output: "slow.txt"
    shell: "touch {output}; sleep 60"
'''


def test_report_after_an_interrupted_run(tmp_path):
    write(tmp_path, {"Rulesfile": SLOW})
    proc = subprocess.Popen([sys.executable, "-m", "rulekit", "run", "--cores", "2"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 30
    while not (tmp_path / "quick.txt").exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    html = report_html(tmp_path)
    assert "<span class='outcome-interrupted'>interrupted</span>" in html
    assert "<span data-status='cancelled'>cancelled: 1</span>" in html
    assert "<span data-status='done'>done: 1</span>" in html
    statuses = {row[0]: row[1] for row in report_data(html)["outputs"]}
    assert statuses == {"quick.txt": "ok", "slow.txt": "missing"}


def test_report_after_a_killed_run(tmp_path):
    """SIGKILL: the run never records its end; its unfinished job stays "running"."""
    write(tmp_path, {"Rulesfile": SLOW})
    proc = subprocess.Popen([sys.executable, "-m", "rulekit", "run", "--cores", "2"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    db = tmp_path / ".rulekit" / "metadata.db"
    try:
        deadline = time.time() + 60
        groups: list = []
        states: dict = {}
        while time.time() < deadline:   # until quick is done and slow's process runs
            time.sleep(0.2)
            if not db.exists():
                continue
            with sqlite3.connect(db) as conn:
                states = dict(conn.execute("SELECT job, status FROM jobruns"))
                groups = [g for (g,) in conn.execute(
                    "SELECT pgid FROM jobprocs WHERE path = 'slow.txt'")]
            if states == {"quick": "done", "slow": "running"} and groups:
                break
        assert states == {"quick": "done", "slow": "running"} and groups, states
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for group in groups:  # the job runs in its own process group: end it too
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
    html = report_html(tmp_path)
    assert ("<span class='outcome-unfinished'>unfinished (killed, or still running)</span>"
            in html)
    assert "<span data-status='running'>running: 1</span>" in html
    assert "<span data-status='done'>done: 1</span>" in html
    statuses = {row[0]: row[1] for row in report_data(html)["outputs"]}
    assert statuses == {"quick.txt": "ok", "slow.txt": "incomplete"}


def test_report_before_any_run(tmp_path):
    write(tmp_path, {"Rulesfile": 'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n'})
    html = report_html(tmp_path)
    assert "no run recorded yet" in html
    assert "<p class='note' id='timeline-empty'>No run recorded yet.</p>" in html
    assert [row[:2] for row in report_data(html)["outputs"]] == [["a.txt", "missing"]]


BAD = [
    ('report(3)', "report() expects an output path (or a list of them), got int"),
    ('report("x.txt", caption=1)', "report(): caption must be the path of a .rst file, got int"),
    ('report("x.txt", caption="report/none.rst")',
     "report(): caption file report/none.rst not found (looked in DIR)"),
    ('report("x.txt", category=2)', "report(): category must be a string, got int"),
    ('report("x.txt", subcategory=["a"])', "report(): subcategory must be a string, got list"),
    ('report("x.txt", labels=["a"])',
     "report(): labels must be a dict of names to values, got list"),
    ('report("x.txt", colour="red")',
     "TypeError: report() got an unexpected keyword argument 'colour'"),
]


@pytest.mark.parametrize("call,message", BAD, ids=[b[0] for b in BAD])
def test_bad_report_call_is_an_error_at_its_line(tmp_path, call, message):
    write(tmp_path, {"Rulesfile": f'rule a:\n    output: {call}\n    shell: "touch {{output}}"\n'})
    done = rulekit(tmp_path, "check")
    assert done.returncode == 2
    assert done.stderr == (f"Rulesfile:2:13: error: {message.replace('DIR', str(tmp_path))}\n"
                           f"        output: {call}\n"
                           "                ^\n")


@pytest.mark.parametrize("key", ["input", "log"])
def test_report_outside_output_is_an_error(tmp_path, key):
    write(tmp_path, {"Rulesfile": f'rule a:\n    {key}: report("in.txt")\n    output: "a.txt"\n'
                                  '    shell: "touch {output}"\n', "in.txt": "x"})
    done = rulekit(tmp_path, "check")
    assert done.returncode == 2
    col = len(f"    {key}: ") + 1
    assert done.stderr == (
        f"Rulesfile:2:{col}: error: report() marks outputs only, not {key}\n"
        f'        {key}: report("in.txt")\n'
        f"    {' ' * (col - 1)}^\n")


def test_missing_report_extra_says_how_to_install_it(tmp_path):
    write(tmp_path, {"Rulesfile": 'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n',
                     "blocked/matplotlib/__init__.py": "raise ImportError('blocked by the test')\n"})
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "blocked"))
    done = rulekit(tmp_path, "report", env=env)
    assert done.returncode == 2
    assert done.stderr == (
        "error: rulekit report needs matplotlib (the 'report' extra): run "
        f"pip install '.[report]' in the rulekit checkout ({REPO.resolve()})\n")
    assert not (tmp_path / "report.html").exists()


def test_top_level_report_statement_is_the_page_description(tmp_path: Path) -> None:
    """`report: "report/workflow.rst"` (Snakemake's top-level statement): the rule file
    loads, the text is rendered at the top of the page; a missing file is a located error."""
    write(tmp_path, {
        "Rulesfile": 'report: "report/workflow.rst"\n\nrule a:\n    output: "a.txt"\n'
                     '    shell: "echo a > {output}"\n',
        "report/workflow.rst": "Variant calling\n===============\n\nThis runs **three** steps.\n",
    })
    done = rulekit(tmp_path, "run", "--cores", "1")
    assert done.returncode == 0, done.stderr
    again = rulekit(tmp_path, "run", "--cores", "1")
    assert "Nothing to do" in again.stdout
    html = report_html(tmp_path)
    section = re.search(r"<section class='part' id='description'>(.*?)</section>", html, re.S)
    assert section is not None
    assert "Variant calling" in section.group(1)
    assert "<strong>three</strong>" in section.group(1)
    (tmp_path / "report/workflow.rst").unlink()
    bad = rulekit(tmp_path, "check")
    assert bad.returncode == 2
    assert bad.stderr == (
        "Rulesfile:1:9: error: report description not found: report/workflow.rst\n"
        '    report: "report/workflow.rst"\n            ^\n'
        f"  looked for: {tmp_path}/report/workflow.rst\n")
