"""scattergather: the exact errors for a bad count and an undeclared name (the happy path,
run twice, is tests/compat/scattergather)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobhelp import rk


@pytest.mark.parametrize("text, expected", [
    pytest.param(
        "scattergather:\n    split=0\n",
        "Rulesfile:2:5: error: scattergather: split must be a whole number of at least 1, "
        "got 0\n        split=0\n        ^\n",
        id="zero"),
    pytest.param(
        'scattergather:\n    split=2\n\nrule a:\n    output: scatter.chunks("c/{scatteritem}")\n',
        "Rulesfile:5:13: error: scatter.chunks: no scattergather: declares "
        "'chunks' (declared: split)\n"
        '        output: scatter.chunks("c/{scatteritem}")\n                ^\n',
        id="undeclared"),
])
def test_scattergather_errors(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "Rulesfile").write_text(text)
    done = rk(tmp_path, "check")
    assert (done.returncode, done.stderr) == (2, expected)


COMPAT = Path(__file__).parent / "compat" / "scattergather"


def test_set_scatter_changes_the_count_and_reruns_nothing_twice(tmp_path: Path) -> None:
    import shutil

    shutil.copy(COMPAT / "Snakefile", tmp_path / "Snakefile")

    done = rk(tmp_path, "run", "-f", "Snakefile", "--cores", "2", "--set-scatter", "split=2")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "gathered/all.txt").read_text() == "piece 1\n1-of-2\npiece 2\n2-of-2\n"
    assert sorted(p.name for p in (tmp_path / "splitted").iterdir()) == [
        "1-of-2.post.txt", "1-of-2.txt", "2-of-2.post.txt", "2-of-2.txt"]
    again = rk(tmp_path, "run", "-f", "Snakefile", "--cores", "2", "--set-scatter", "split=2")
    assert (again.returncode, again.stdout) == (0, "Nothing to do: all outputs are up to date.\n")
    unknown = rk(tmp_path, "plan", "-f", "Snakefile", "--set-scatter", "chunks=2")
    assert (unknown.returncode, unknown.stderr) == (
        2, "error: --set-scatter chunks: no scattergather: declares it (declared: split)\n")
    bad = rk(tmp_path, "plan", "-f", "Snakefile", "--set-scatter", "split=0")
    assert (bad.returncode, bad.stderr) == (
        2, "error: --set-scatter 'split=0': expected NAME=N with N a whole number of at "
           "least 1\n")
