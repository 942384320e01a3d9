"""scattergather: the exact errors for a bad count and an undeclared name (the happy path,
run twice, is tests/compat/scattergather)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


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
    done = subprocess.run([sys.executable, "-m", "rulekit", "check"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (2, expected)
