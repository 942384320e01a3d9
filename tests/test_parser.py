"""The rule-file parser: exact slices and spans for good input, exact messages for bad."""

from __future__ import annotations

import textwrap

import pytest

from rulekit.core.errors import RulesSyntaxError
from rulekit.core.source import Span
from rulekit.lang.parser import parse
from rulekit.lang.syntax import (
    Directive,
    Keyword,
    Module,
    ModuleDecl,
    PyChunk,
    RuleDecl,
    UseRule,
    Value,
)

P = "parser_test.rules"  # a name no other test uses: parse() registers its text


def rules(module: Module) -> dict[str | None, RuleDecl]:
    return {item.name: item for item in module.items if isinstance(item, RuleDecl)}


def directives(rule: RuleDecl) -> dict[str, Directive]:
    return {d.name: d for d in rule.directives}


# A file using every construct. Built with explicit "\t" and column-0 lines, so no dedent.
EVERYTHING = (
    "# a comment: with a colon\n"
    "import os\n"
    "rules = ['not', 'a', 'rule']\n"
    "rule_x = 1\n"
    "include = 3\n"
    "SAMPLES = {'a': 1, 'b:#': 2}\n"
    "@staticmethod\n"
    "def helper(x):\n"
    "    if x:  # comment: here\n"
    "        return 'a:#b'\n"
    "    return '''\n"
    "col0: inside # a string\n"
    "'''\n"
    "if os.name:\n"
    "    f = lambda x: x\n"
    "else:\n"
    "    f = None\n"
    "try:\n"
    "    pass\n"
    "except Exception:\n"
    "    pass\n"
    "\n"
    "include: 'other.rules'\n"               # 23
    "configfile: 'config.yaml'\n"
    "workdir: 'work'\n"
    "localrules: a, c\n"
    "ruleorder: a > b > c\n"
    "wildcard_constraints:\n"                # 28
    "    sample='[a-z]+'\n"
    "onstart:\n"                             # 30
    "    print('start')\n"
    "onsuccess: print('ok')\n"
    "onerror:\n"
    "    print('failed')\n"
    "\n"
    "rule a:\n"                              # 36
    "    input:\n"
    "        'a.txt',\n"                     # 38
    "        table='t.csv'\n"
    "    output: 'b.txt', x=[1,\n"           # 40
    "  2]  # lower than the directive\n"
    "    params: doc='''\n"                  # 42
    "col0 line: # not a comment\n"
    "'''\n"
    "    run:\n"                             # 45
    "        s = '''\n"
    "x: # y\n"
    "'''\n"
    "\n"
    "        if s:\n"
    "            print(s, 'a:b#c')  # done\n"  # 51
    "\n"
    "rule:\n"                                # 53
    "\tinput: 'anon.txt'\n"
    "\tshell: 'echo {input}'\n"
    "\n"
    "checkpoint c:\n"                        # 57
    "    output: directory('c')\n"
    "x = 2\n"
)


def test_everything() -> None:
    m = parse(EVERYTHING, P)
    kinds = [type(item).__name__ for item in m.items]
    assert kinds == ["PyChunk"] + ["Keyword"] * 9 + ["RuleDecl"] * 3 + ["PyChunk"]
    first = m.items[0]
    assert isinstance(first, PyChunk)
    # Whole lines from the first statement to the last, merged into one chunk; comment
    # lines before the first statement are not part of it.
    assert first.span == Span(P, 2, 1)
    assert first.text == "".join(EVERYTHING.splitlines(True)[1:21])

    kws = [item for item in m.items if isinstance(item, Keyword)]
    assert [k.name for k in kws] == ["include", "configfile", "workdir", "localrules",
                                     "ruleorder", "wildcard_constraints", "onstart",
                                     "onsuccess", "onerror"]
    assert kws[0].span == Span(P, 23, 1)
    assert kws[0].value == Value("'other.rules'", Span(P, 23, 10), False)
    assert kws[4].value == Value("a > b > c", Span(P, 27, 12), False)
    assert kws[5].value == Value("    sample='[a-z]+'\n", Span(P, 29, 5), True)
    assert kws[6].value == Value("    print('start')\n", Span(P, 31, 5), True)
    assert kws[7].value == Value("print('ok')", Span(P, 32, 12), False)

    r = rules(m)
    a = r["a"]
    assert (a.keyword, a.span, a.name_span) == ("rule", Span(P, 36, 1), Span(P, 36, 6))
    d = directives(a)
    assert list(d) == ["input", "output", "params", "run"]
    assert d["input"].span == Span(P, 37, 5)
    assert d["input"].value == Value("        'a.txt',\n        table='t.csv'\n",
                                     Span(P, 38, 9), True)
    assert d["output"].value == Value("'b.txt', x=[1,\n  2]", Span(P, 40, 13), False)
    assert d["params"].value == Value("doc='''\ncol0 line: # not a comment\n'''",
                                      Span(P, 42, 13), False)
    assert d["run"].value == Value(
        "        s = '''\nx: # y\n'''\n\n        if s:\n"
        "            print(s, 'a:b#c')  # done\n", Span(P, 46, 9), True)

    anon = r[None]
    assert (anon.span, anon.name_span) == (Span(P, 53, 1), Span(P, 53, 1))
    assert directives(anon)["input"].value == Value("'anon.txt'", Span(P, 54, 9), False)
    assert directives(anon)["shell"].span == Span(P, 55, 2)

    c = r["c"]
    assert (c.keyword, c.name, c.name_span) == ("checkpoint", "c", Span(P, 57, 12))
    assert directives(c)["output"].value.text == "directory('c')"
    assert m.items[-1] == PyChunk("x = 2\n", Span(P, 59, 1))


def test_crlf_and_no_trailing_newline() -> None:
    m = parse("x = 1\r\nrule a:\r\n    input: 'a'\r\n    run:\r\n        print(1)", P)
    assert m.items[0] == PyChunk("x = 1\n", Span(P, 1, 1))
    d = directives(rules(m)["a"])
    assert d["input"].value == Value("'a'", Span(P, 3, 12), False)
    assert d["run"].value == Value("        print(1)\n", Span(P, 5, 9), True)


@pytest.mark.parametrize("text", ["", "\n\n", "# only\n  # comments\n", "# no newline"])
def test_empty_files(text: str) -> None:
    assert parse(text, P) == Module(P, [])


def test_blank_and_comment_lines_do_not_affect_indentation() -> None:
    text = textwrap.dedent("""\
        rule a:
          # a comment at another indentation
                # and another

            input: 'x'
        # column 0 comment inside the rule
            output: 'y'
        """)
    d = directives(rules(parse(text, P))["a"])
    assert d["input"].span == Span(P, 5, 5)
    assert d["output"].value == Value("'y'", Span(P, 7, 13), False)


def test_backslash_continuation() -> None:
    text = "x = 1 + \\\n    2\nrule a:\n    shell: 'a' \\\n        'b'\n"
    m = parse(text, P)
    assert m.items[0] == PyChunk("x = 1 + \\\n    2\n", Span(P, 1, 1))
    assert directives(rules(m)["a"])["shell"].value.text == "'a' \\\n        'b'"


@pytest.mark.parametrize("line", [
    "rules = [1]", "rule_x = 1", "rule.x = 1", "rule = 3", "rule(1)", "rule, b = 1, 2",
    "include = 3", "include.x = 1", "workdir = 'w'", "rule if True else None",
])
def test_keyword_lookalikes_are_python(line: str) -> None:
    assert parse(line + "\n", P).items == [PyChunk(line + "\n", Span(P, 1, 1))]


def test_string_prefixes_and_escapes() -> None:
    text = ("x = rb'a\\'' + f\"{y}:\" + Rb'''\n"
            "# not a comment'''\n"
            "rule a:\n    shell: r'x\\'' \"\"\"a\"\"b\"\"\"\n")
    m = parse(text, P)
    assert m.items[0].text == "".join(text.splitlines(True)[:2])
    assert directives(rules(m)["a"])["shell"].value.text == "r'x\\'' \"\"\"a\"\"b\"\"\""


def test_generic_directive_names_and_block_values() -> None:
    text = "rule a:\n    ouput:\n\n        'x'\n    conda: 'env.yaml'\n"
    d = directives(rules(parse(text, P))["a"])
    assert d["ouput"].value == Value("        'x'\n", Span(P, 4, 9), True)
    assert "conda" in d


def test_directive_values_continue_on_deeper_lines() -> None:
    # Snakemake's rule: an inline value ends when a line is indented no deeper than the
    # line holding the directive (top-level keywords, rule bodies, one-line rules).
    text = ("localrules: all,\n"
            "    a\n"
            "rule all:\n"
            "    input: 'a.txt',  # first\n"
            "\n"
            "           'b.txt'\n"
            "    params: x='1',\n"
            "        y='2'\n"
            "    shell: 'cat {input} '\n"
            "           '> {output}'\n"
            "    run:\n"
            "        pass\n"
            "rule b: input: 'a.txt',\n"
            "    'b.txt'\n"
            "if True:\n"
            "    rule c:\n"
            "        output: 'c',\n"
            "          'd'\n"
            "x = 1\n")
    m = parse(text, P)
    assert m.items[0] == Keyword("localrules", Span(P, 1, 1),
                                 Value("all,\n    a", Span(P, 1, 13), False))
    d = directives(rules(m)["all"])
    assert d["input"].value == Value("'a.txt',  # first\n\n           'b.txt'",
                                     Span(P, 4, 12), False)
    assert d["params"].value.text == "x='1',\n        y='2'"
    assert d["shell"].value.text == "'cat {input} '\n           '> {output}'"
    assert d["run"].value.block
    assert directives(rules(m)["b"])["input"].value.text == "'a.txt',\n    'b.txt'"
    c = m.items[-1]
    assert isinstance(c, PyChunk) and c.text.endswith("x = 1\n")
    assert directives(c.rules[0])["output"].value.text == "'c',\n          'd'"


def test_use_rule_and_module_statements() -> None:
    text = ("use = 1\nmodule = 2\n"
            "module m:\n    snakefile: 'm.smk'\n    config: config['m']\n"
            "use rule * from m exclude a, b as m_*\n"
            "use rule x from m as y with:\n    output: 'o',\n        'p'\n    threads: 2\n"
            "use rule y as z\n")
    m = parse(text, P)
    assert m.items[0] == PyChunk("use = 1\nmodule = 2\n", Span(P, 1, 1))
    mod = m.items[1]
    assert isinstance(mod, ModuleDecl) and mod.name == "m" and mod.span == Span(P, 3, 1)
    assert [d.name for d in mod.directives] == ["snakefile", "config"]
    star, with_, plain = m.items[2:]
    assert star == UseRule("rule * from m exclude a, b as m_*", Span(P, 6, 1), Span(P, 6, 5))
    assert isinstance(with_, UseRule) and with_.header == "rule x from m as y"
    assert [(d.name, d.value.text) for d in with_.directives] == [
        ("output", "'o',\n        'p'"), ("threads", "2")]
    assert plain == UseRule("rule y as z", Span(P, 11, 1), Span(P, 11, 5))
    # `*` and the names after it lex as one token: `with` is still found
    star_with = parse("use rule a from m as m_* with:\n    threads: 2\n", P).items[0]
    assert isinstance(star_with, UseRule) and star_with.header == "rule a from m as m_*"
    assert [d.name for d in star_with.directives] == ["threads"]


# Each bad input and the exact text the user sees.
ERRORS = [
    ("rule a\n    input: 'x'\n",
     "R:1:7: error: expected ':' after 'rule a'\n"
     '    rule a\n          ^'),
    ('checkpoint c  # c\n',
     "R:1:15: error: expected ':' after 'checkpoint c'\n"
     '    checkpoint c  # c\n                  ^'),
    ("rule a:\n    input 'x'\n",
     "R:2:11: error: expected ':' after directive name 'input'\n"
     "        input 'x'\n              ^"),
    ("rule a:\n    input: 'x'\n  output: 'y'\n",
     'R:3:3: error: unindent does not match any outer indentation level\n'
     "      output: 'y'\n      ^"),
    # A directive's value goes on only on lines indented deeper than the directive.
    ("rule a:\n    input: 'x',\n    'y'\n",
     "R:3:5: error: expected a directive ('NAME: value') in 'rule a', found \"'y'\"\n"
     "        'y'\n        ^"),
    ("rule a:\n    input: 'x',\n        'y'\n   output: 'z'\n",
     'R:4:4: error: unindent does not match any outer indentation level\n'
     "       output: 'z'\n       ^"),
    ("x = f(1,\n  2)\nrule a:\n    output: 'x'\n        \n    shell: 'a'\n  'b'\n",
     'R:7:3: error: unindent does not match any outer indentation level\n'
     "      'b'\n      ^"),
    ("use rule a as b with:\nx = 1\n",
     "R:2:1: error: expected an indented block of the directives to replace after 'with:'\n"
     "    x = 1\n    ^"),
    ("use rule a as b with: threads: 1\n",
     "R:1:23: error: unexpected 'threads' after 'with:'; expected the directives to replace "
     "on the indented lines below\n"
     "    use rule a as b with: threads: 1\n                          ^"),
    ("module m\n",
     "R:1:9: error: expected ':' after 'module m'\n    module m\n            ^"),
    # Only directive values continue: a Python line does not.
    ("if x: y = 1\n    z = 2\n",
     'R:2:5: error: unexpected indent\n'
     "        z = 2\n        ^"),
    ('x = 1\n    y = 2\n',
     'R:2:5: error: unexpected indent\n'
     '        y = 2\n        ^'),
    ('  x = 1\n',
     'R:1:3: error: unexpected indent\n'
     '      x = 1\n      ^'),
    ('if x:\n        a = 1\n\tb = 2\n',
     'R:3:2: error: inconsistent use of tabs and spaces in indentation\n'
     '    \tb = 2\n    \t^'),
    ("rule a:\n\tinput: 'x'\n        output: 'y'\n",
     'R:3:9: error: inconsistent use of tabs and spaces in indentation\n'
     "            output: 'y'\n            ^"),
    ("x = foo(1,\n  2\n\nrule a:\n    input: 'x'\n",
     "R:1:8: error: '(' was never closed\n"
     '    x = foo(1,\n           ^'),
    ("rule a:\n    input: {'a': [1\n",
     "R:2:18: error: '[' was never closed\n"
     "        input: {'a': [1\n                     ^"),
    ('x = foo(1))\n',
     "R:1:11: error: unmatched ')'\n"
     '    x = foo(1))\n              ^'),
    ('x = [1,\n 2)\n',
     "R:2:3: error: closing parenthesis ')' does not match opening parenthesis '[' on line 1\n"
     '     2)\n      ^'),
    ("rule a:\n    shell: 'echo\n",
     'R:2:12: error: unterminated string literal\n'
     "        shell: 'echo\n               ^"),
    ('rule a:\n    shell: rb"echo\n',
     'R:2:12: error: unterminated string literal\n'
     '        shell: rb"echo\n               ^'),
    ("rule a:\n    shell: '''echo\n\nrule b:\n",
     'R:2:12: error: unterminated triple-quoted string literal\n'
     "        shell: '''echo\n               ^"),
    ("rule a:\n\nrule b:\n    input: 'x'\n",
     "R:1:1: error: expected an indented block of directives after 'rule a:'\n"
     '    rule a:\n    ^'),
    ('rule:',
     "R:1:1: error: expected an indented block of directives after 'rule:'\n"
     '    rule:\n    ^'),
    ("rule 1abc:\n    input: 'x'\n",
     "R:1:6: error: invalid rule name '1abc': a rule name must be a Python identifier\n"
     '    rule 1abc:\n         ^'),
    ("rule my-rule:\n    input: 'x'\n",
     "R:1:6: error: invalid rule name 'my-rule': a rule name must be a Python identifier\n"
     '    rule my-rule:\n         ^'),
    ("rule a: 'x'\n",
     "R:1:9: error: unexpected \"'x'\" after 'rule a:'; expected a directive ('NAME: value') here or on the indented lines below\n"
     "    rule a: 'x'\n            ^"),
    ("rule a:\n    input:\n    output: 'x'\n",
     "R:2:11: error: expected a value after 'input:'\n"
     '        input:\n              ^'),
    ('include:\n',
     "R:1:9: error: expected a value after 'include:'\n"
     '    include:\n            ^'),
    ("rule a:\n    'doc'\n    'x'\n",
     'R:3:5: error: expected a directive (\'NAME: value\') in \'rule a\', found "\'x\'"\n'
     "        'x'\n        ^"),
    ("rule a:\n    42\n",
     "R:2:5: error: expected a directive ('NAME: value') in 'rule a', found '42'\n"
     "        42\n        ^"),
    ("rule a:\n    input: 'x'\n    rule b:\n        input: 'y'\n",
     "R:3:5: error: a rule cannot be defined inside another rule ('rule a')\n"
     '        rule b:\n        ^'),
    ("for i in x:\n    rule a:\n        checkpoint b:\n            input: 'y'\n",
     "R:3:9: error: a checkpoint cannot be defined inside another rule ('rule a')\n"
     '            checkpoint b:\n            ^'),
    ("rule a:\n    run:\n        if x:\n            rule b:\n                input: 'y'\n",
     "R:4:13: error: a rule cannot be defined inside 'run:' (rules may stand in if/for/def blocks at the top level)\n"
     '                rule b:\n                ^'),
    ("onstart:\n    for i in x:\n        rule:\n            input: 'y'\n",
     "R:3:9: error: a rule cannot be defined inside 'onstart:' (rules may stand in if/for/def blocks at the top level)\n"
     '            rule:\n            ^'),
    ("rule a:\n    run:\n        rule b:\n            input: 'y'\n",
     "R:3:9: error: a rule cannot be defined inside another rule ('rule a')\n"
     '            rule b:\n            ^'),
    ('x = 1\ny = 2 \\\n',
     'R:2:7: error: unexpected end of file after line continuation character\n'
     '    y = 2 \\\n          ^'),
    ('x = 1 \\ 2\n',
     'R:1:7: error: unexpected character after line continuation character\n'
     '    x = 1 \\ 2\n          ^'),
    ('x = 1\xa0\n',
     "R:1:6: error: invalid character '\\xa0' (U+00A0)\n"
     '    x = 1\xa0\n         ^'),
]

@pytest.mark.parametrize(("text", "shown"), ERRORS, ids=[t for t, _ in ERRORS])
def test_syntax_errors(text: str, shown: str) -> None:
    with pytest.raises(RulesSyntaxError) as info:
        parse(text, "R")
    assert info.value.show() == shown


def test_grammar_cache_builds_loads_and_survives_corruption(tmp_path, monkeypatch) -> None:
    from rulekit.lang import grammar

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    expected = parse(EVERYTHING, P)
    for step in ("build", "load", "corrupt"):
        if step == "corrupt":
            for f in (tmp_path / "rulekit").iterdir():
                f.write_bytes(b"not a cache")
        grammar.get_parser.cache_clear()
        try:
            assert parse(EVERYTHING, P) == expected
            with pytest.raises(RulesSyntaxError):
                parse("rule a\n", P)
        finally:
            grammar.get_parser.cache_clear()
    assert len(list((tmp_path / "rulekit").iterdir())) == 1
