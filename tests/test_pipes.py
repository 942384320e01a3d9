"""stdout piped into a reader that stops early (`rulekit run | head -1`): the run goes on to
its end with its own exit code, and a listing cut short is no error (it was an internal
error that aborted the run, leaving jobs marked incomplete)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RULES = """\
rule all:
    input: expand("o/{i}.txt", i=range(N))

rule a:
    output: "o/{i}.txt"
    shell: "SLEEP echo {wildcards.i} > {output}"
"""


def piped(cwd: Path, args: str, reader: str = "head -1") -> tuple[int, str, str]:
    """Exit status of rulekit itself (not of the reader), what the reader got, stderr."""
    script = (f"{sys.executable} -m rulekit {args} 2>err.txt | {reader}; "
              "echo \"status=${PIPESTATUS[0]}\"")
    done = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    out, _, status = done.stdout.rpartition("status=")
    return int(status), out, (cwd / "err.txt").read_text()


def write(tmp_path: Path, n: int, sleep: str = "") -> Path:
    (tmp_path / "Rulesfile").write_text(
        textwrap.dedent(RULES).replace("N", str(n)).replace("SLEEP ", sleep))
    return tmp_path


@pytest.mark.slow
def test_run_goes_on_when_its_reader_stops(tmp_path: Path) -> None:
    wf = write(tmp_path, 6, "sleep 0.3;")
    status, out, err = piped(wf, "run --cores 2")
    assert (status, out, err) == (0, "rulekit: 7 jobs to run\n", "")
    assert sorted(p.read_text() for p in (wf / "o").iterdir()) == [f"{i}\n" for i in range(6)]
    again = subprocess.run([sys.executable, "-m", "rulekit", "plan"], cwd=wf,
                           capture_output=True, text=True, timeout=60)
    assert again.stdout == "Nothing to do: all outputs are up to date.\n"


@pytest.mark.parametrize("args", ["plan", "plan --format json", "dag"])
def test_listings_cut_short_are_no_error(tmp_path: Path, args: str) -> None:
    wf = write(tmp_path, 3000)   # more than a pipe buffer holds
    whole = subprocess.run([sys.executable, "-m", "rulekit", *args.split()], cwd=wf,
                           capture_output=True, text=True, timeout=120)
    assert whole.returncode == 0 and len(whole.stdout) > 100_000, whole.stderr
    status, out, err = piped(wf, args)
    assert (status, out, err) == (0, whole.stdout.splitlines(keepends=True)[0], "")
