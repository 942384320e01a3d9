"""The parse cache (rulekit/lang/parsecache.py) and the grammar's table cache: a rule file
parsed before is read back as the very same tree, any change is parsed again, and a
missing, damaged or unwritable cache folder only costs the parse."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rulekit.lang import grammar, parsecache, parser
from tests.test_parser import EVERYTHING

P = "parsecache_test.rules"   # a name no other test uses: parsing registers its text

EVERY_KIND = EVERYTHING + textwrap.dedent("""\
    if os.name:
        rule inside:
            output: "i.txt"
            shell: "touch {output}"
    rule documented:
        \"\"\"The docstring.\"\"\"
        output: "d.txt"
    module m:
        snakefile: 'm.smk'
        config: config['m']
    use rule * from m exclude a, b as m_*
    use rule x from m as y with:
        output: 'o',
            'p'
        threads: 2
    """)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    grammar.get_parser.cache_clear()
    yield tmp_path / "cache" / "rulekit"
    grammar.get_parser.cache_clear()


def _counting(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = parser.parse

    def counted(text: str, path: str):
        calls.append(path)
        return real(text, path)

    monkeypatch.setattr(parser, "parse", counted)
    return calls


def test_a_parsed_file_is_read_back_as_the_same_tree(cache, monkeypatch):
    expected = parser.parse(EVERY_KIND, P)
    kinds = {type(item).__name__ for item in expected.items}
    assert kinds == {"PyChunk", "RuleDecl", "Keyword", "ModuleDecl", "UseRule"}
    calls = _counting(monkeypatch)
    assert parsecache.parse(EVERY_KIND, P) == expected      # parsed, stored
    assert parsecache.parse(EVERY_KIND, P) == expected      # read back
    assert parsecache.parse(EVERY_KIND.replace("\n", "\r\n"), P) == expected   # same source
    assert calls == [P]
    assert [f.name for f in cache.iterdir() if f.name.startswith("parsed-")] != []


def test_any_change_is_parsed_again(cache, monkeypatch):
    calls = _counting(monkeypatch)
    first = parsecache.parse(EVERY_KIND, P)
    changed = parsecache.parse(EVERY_KIND + "rule late:\n    output: 'l'\n", P)
    assert len(changed.items) == len(first.items) + 1
    moved = parsecache.parse(EVERY_KIND, "other_" + P)      # same text, another file
    assert {item.span.path for item in moved.items} == {"other_" + P}
    # the parser (its modules, the grammar, lark, Python) is part of the key
    monkeypatch.setattr(parsecache, "_stamp", lambda: ("another parser",))
    parsecache.parse(EVERY_KIND, P)
    assert calls == [P, P, "other_" + P, P]


def test_a_damaged_entry_is_parsed_again_and_replaced(cache, monkeypatch):
    expected = parsecache.parse(EVERY_KIND, P)
    for entry in cache.glob("parsed-*"):
        entry.write_bytes(b"\x00not marshal data")
    calls = _counting(monkeypatch)
    assert parsecache.parse(EVERY_KIND, P) == expected
    assert parsecache.parse(EVERY_KIND, P) == expected
    assert calls == [P]


def test_syntax_errors_are_never_stored(cache, monkeypatch):
    calls = _counting(monkeypatch)
    for _ in range(2):
        with pytest.raises(Exception, match="expected ':'"):
            parsecache.parse("rule a\n", P)
    assert calls == [P, P]


def _unwritable(cache) -> None:
    """The cache folder's place is taken by a file: nothing can be made or written there
    (a read-only folder does not stop root, who runs the suite in CI)."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("not a folder")


def test_an_unwritable_cache_folder_only_costs_the_parse(cache, monkeypatch):
    _unwritable(cache)
    expected = parser.parse(EVERY_KIND, P)
    calls = _counting(monkeypatch)
    assert grammar._cache_file(grammar.grammar_text()) is None
    for _ in range(2):
        grammar.get_parser.cache_clear()      # lark's tables too: built, not cached
        assert parsecache.parse(EVERY_KIND, P) == expected
    assert calls == [P, P]
    assert cache.read_text() == "not a folder"


def test_an_entry_that_cannot_be_written_only_costs_the_parse(cache, monkeypatch):
    entry = parsecache._entry_path(P)
    assert entry is not None and os.path.dirname(entry) == str(cache)
    os.mkdir(entry)                          # renaming the new entry onto it fails
    expected = parser.parse(EVERY_KIND, P)
    calls = _counting(monkeypatch)
    assert parsecache.parse(EVERY_KIND, P) == expected
    assert parsecache.parse(EVERY_KIND, P) == expected
    assert calls == [P, P]
    assert sorted(f.name for f in cache.iterdir() if f.name.startswith("parsed-")) == \
        [os.path.basename(entry)]            # no temporary file left behind


def test_grammar_tables_that_cannot_be_read_or_written_only_cost_building_them(cache):
    # the folder is there, but where lark keeps its tables a folder stands in the way
    expected = parser.parse(EVERY_KIND, P)
    tables = grammar._cache_file(grammar.grammar_text())
    assert tables is not None and os.path.isfile(tables)
    os.unlink(tables)
    os.makedirs(tables)
    grammar.get_parser.cache_clear()
    assert parser.parse(EVERY_KIND, P) == expected
    assert os.path.isdir(tables)


def test_a_read_only_cache_folder_only_costs_the_parse(cache, monkeypatch):
    """Also as root (who may write into a chmod 500 folder): /proc takes no new folders."""
    if os.geteuid() == 0:
        monkeypatch.setenv("XDG_CACHE_HOME", "/proc")
        cache = Path("/proc/rulekit")
    else:
        cache.mkdir(parents=True)
        cache.chmod(0o500)
    try:
        expected = parser.parse(EVERY_KIND, P)
        grammar.get_parser.cache_clear()
        assert parsecache.parse(EVERY_KIND, P) == expected
        assert parsecache.parse(EVERY_KIND, P) == expected
        assert not cache.exists() or list(cache.iterdir()) == []
    finally:
        if os.geteuid() != 0:
            cache.chmod(0o700)


def test_check_of_an_unchanged_file_does_not_import_lark(tmp_path):
    (tmp_path / "Rulesfile").write_text(EVERY_KIND.split("include:")[0]
                                        + "rule a:\n    output: 'a'\n    shell: 'touch a'\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    probe = ("import sys; sys.argv = ['rulekit', 'check']\n"
             "from rulekit.ui.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print('lark' in sys.modules)")
    seen = [subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120).stdout
            for _ in range(2)]
    assert seen == ["Rulesfile: ok (1 rules)\nTrue\n", "Rulesfile: ok (1 rules)\nFalse\n"]


BIG = "".join(f"""
rule r{i}:
    input: "data/{{s}}.{i}.in", ref="ref.fa"
    output: "out/{{s}}.{i}.out"
    params: k={i}, label=lambda w: w.s + "{i}"
    shell: "cp {{input[0]}} {{output}}"
""" for i in range(3))


def _compiles(monkeypatch) -> list[tuple[str, int, int]]:
    calls: list[tuple[str, int, int]] = []
    real = parsecache.compile_value

    def counted(text: str, path: str, line: int, col: int):
        calls.append((text, line, col))
        return real(text, path, line, col)

    monkeypatch.setattr(parsecache, "compile_value", counted)
    return calls


def test_values_compiled_for_a_file_are_kept_with_it(cache, tmp_path, monkeypatch):
    from rulekit.lang.loader import load

    rules = tmp_path / "Rulesfile"
    rules.write_text(BIG)
    calls = _compiles(monkeypatch)
    first = load(rules)
    assert len(calls) == 12                      # input, output, params, shell of 3 rules
    again = load(rules)
    assert len(calls) == 12                      # all read back
    for a, b in zip(first.rules.values(), again.rules.values()):
        assert (a.input, a.output, a.body.command) == (b.input, b.output, b.body.command)
        assert [v for _, v in a.params][0] == [v for _, v in b.params][0]
    rules.write_text(BIG.replace("k=2,", "k=22,"))
    changed = load(rules)
    assert calls[12:] == [('k=22, label=lambda w: w.s + "2"', 17, 13)]   # only the edit
    assert changed.rules["r2"].params[0] == ("k", 22)


def test_errors_in_kept_values_are_located_as_before(cache, tmp_path):
    rules = tmp_path / "Rulesfile"
    rules.write_text("rule a:\n    output: 'a'\n    params: x=1, y=undefined_name\n"
                     "    shell: 'touch a'\n")
    shown = []
    for _ in range(2):      # compiled, then read back from the cache
        out = subprocess.run([sys.executable, "-m", "rulekit", "check"], cwd=tmp_path,
                             env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "c")},
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2
        shown.append(out.stderr)
    assert shown[0] == shown[1]
    assert shown[0].startswith("Rulesfile:3:20: error: NameError: name 'undefined_name'")
