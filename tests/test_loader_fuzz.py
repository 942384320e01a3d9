"""Random and mutated rule files: only rulekit's own error types may escape the loader."""

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulekit.core.errors import RulekitError
from rulekit.lang.loader import load

DATA = Path(__file__).parent / "data" / "everything"
BASE = (DATA / "Rulesfile").read_text()

PIECES = ["rule", "checkpoint", " a", ":", "\n", "    ", "\t", "input", "output", "shell",
          "run", "params", "include", "configfile", "localrules", "ruleorder", '"x.txt"',
          '"{s}.txt"', "'''", '"""', "(", ")", "[", "]", "{", "}", ",", "=", "#", "x", "1",
          ">", "lambda w: w", "expand(", "temp(", "\r\n", "\\\n", "def f():", "if x:", "pass"]

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _try_load(folder: Path, text: str) -> None:
    (folder / "Rulesfile").write_text(text, encoding="utf-8")
    try:
        load(folder / "Rulesfile")
    except RulekitError as err:
        shown = err.show()
        assert "error:" in shown and "Traceback" not in shown


@SETTINGS
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_random_token_soup(tmp_path_factory, pieces):
    _try_load(tmp_path_factory.mktemp("soup"), "".join(pieces))


@SETTINGS
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200))
def test_random_text(tmp_path_factory, text):
    _try_load(tmp_path_factory.mktemp("text"), text)


@SETTINGS
@given(st.data())
def test_mutated_real_file(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("mut")
    shutil.copytree(DATA, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".rulekit"))
    text = BASE
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "dup_line", "drop_line"]))
        if action == "delete":
            text = text[:pos] + text[pos + data.draw(st.integers(1, 5)):]
        elif action == "insert":
            text = text[:pos] + data.draw(st.sampled_from(PIECES)) + text[pos:]
        else:
            lines = text.splitlines(keepends=True)
            i = data.draw(st.integers(0, len(lines) - 1))
            lines[i:i + 1] = [lines[i]] * (2 if action == "dup_line" else 0)
            text = "".join(lines)
    _try_load(folder, text)
