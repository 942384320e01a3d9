"""Rule files with hostile paths and docstrings: exact errors (exit 2), never an internal error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def rulekit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=root,
                          capture_output=True, text=True, timeout=60)


CASES = [
    pytest.param('workdir: "afile"\nrule a:\n    output: "x"\n    shell: "touch x"\n',
                 'Rulesfile:1:10: error: workdir: afile is a file, not a folder\n'
                 '    workdir: "afile"\n             ^\n', id="workdir-is-a-file"),
    pytest.param('rule a:\n    output: "x\\0y"\n    shell: "touch x"\n',
                 "Rulesfile:2:13: error: output 'x\\x00y' holds a NUL character\n"
                 '        output: "x\\0y"\n                ^\n', id="nul-output"),
    pytest.param('rule a:\n    input: "a", "x\\0y"\n    output: "x"\n    shell: "touch x"\n',
                 "Rulesfile:2:12: error: input 'x\\x00y' holds a NUL character\n"
                 '        input: "a", "x\\0y"\n               ^\n', id="nul-input"),
    pytest.param('rule a:\n    output: "x"\n    log: "l\\0"\n    shell: "touch x"\n',
                 "Rulesfile:3:10: error: log 'l\\x00' holds a NUL character\n"
                 '        log: "l\\0"\n             ^\n', id="nul-log"),
    pytest.param('include: "x\\0y"\n',
                 "Rulesfile:1:10: error: include 'x\\x00y' holds a NUL character\n"
                 '    include: "x\\0y"\n             ^\n', id="nul-include"),
    pytest.param('configfile: "c\\0.yaml"\n',
                 "Rulesfile:1:13: error: configfile 'c\\x00.yaml' holds a NUL character\n"
                 '    configfile: "c\\0.yaml"\n                ^\n', id="nul-configfile"),
]


@pytest.mark.parametrize("text, expected", CASES)
@pytest.mark.parametrize("command", ["check", "run"])
def test_hostile_path(tmp_path: Path, text: str, expected: str, command: str) -> None:
    (tmp_path / "afile").write_text("")
    (tmp_path / "Rulesfile").write_text(text)
    proc = rulekit(tmp_path, command)
    assert (proc.returncode, proc.stderr) == (2, expected)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".rulekit") == \
        ["Rulesfile", "afile"]


@pytest.mark.parametrize("first", ['f"doc {1}"', 'b"doc"', '"""real doc"""'])
def test_only_a_plain_string_is_a_docstring(tmp_path: Path, first: str) -> None:
    (tmp_path / "Rulesfile").write_text(
        f'rule a:\n    {first}\n    output: "x"\n    shell: "echo made > {{output}}"\n')
    for _ in range(2):   # the second run has nothing to do
        proc = rulekit(tmp_path, "run", "-q")
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "x").read_text() == "made\n"
    proc = rulekit(tmp_path, "plan")
    assert "Nothing to do" in proc.stdout + proc.stderr
    import rulekit as api

    wf = api.load(tmp_path / "Rulesfile")
    assert wf.model.rules["a"].docstring == ("real doc" if first.startswith('"""') else None)
