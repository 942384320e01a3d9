"""Snakemake-style workflows from tests/compat/ run unchanged (issue 11).

Like Snakemake's own test helper: copy the case folder to a temp dir, run
`rulekit run -f Snakefile --cores 2`, compare the files in `expected-results/` byte for
byte, then run again: the second run must have nothing to do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "compat"
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "Snakefile").is_file())


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rulekit", "run", "-f", "Snakefile", "--cores", "2"],
        cwd=root, capture_output=True, text=True, timeout=120)


def test_there_are_enough_cases() -> None:
    assert len(NAMES) >= 40


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_compat_case(name: str, tmp_path: Path) -> None:
    case = CASES / name
    root = tmp_path / name
    shutil.copytree(case, root, ignore=shutil.ignore_patterns("expected-results"),
                    symlinks=True)
    first = _run(root)
    assert first.returncode == 0, first.stdout + first.stderr
    expected = case / "expected-results"
    files = sorted(p for p in expected.rglob("*") if p.is_file())
    assert files, f"{name} has no expected results"
    for want in files:
        rel = want.relative_to(expected)
        got = root / rel
        assert got.exists(), f"{name}: {rel} was not made\n{first.stdout}{first.stderr}"
        assert got.read_bytes() == want.read_bytes(), f"{name}: {rel} differs"
    again = _run(root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to do: all outputs are up to date." in again.stdout, (
        f"{name}: the second run planned work:\n{again.stdout}")
