import pytest

from rulekit.core.patterns import (
    Pattern,
    WildcardError,
    expand,
    format_wildcards,
    glob_wildcards,
    wildcard_names,
)


def test_match_and_format_round_trip():
    p = Pattern("data/{sample}/{n}.txt")
    assert p.names == ("sample", "n")
    assert p.match("data/a/1.txt") == {"sample": "a", "n": "1"}
    assert p.match("other/a/1.txt") is None
    assert p.format({"sample": "x", "n": "2"}) == "data/x/2.txt"


def test_inline_constraint_with_braces_and_global_constraints():
    p = Pattern("{s}/{n,\\d{3}}.txt", {"s": "[a-z]+"})
    assert p.match("ab/123.txt") == {"s": "ab", "n": "123"}
    assert p.match("ab/12.txt") is None
    assert p.match("AB/123.txt") is None
    assert p.format({"s": "ab", "n": "007"}) == "ab/007.txt"


def test_repeated_wildcard_must_agree():
    p = Pattern("{s}/{s}.txt")
    assert p.match("a/a.txt") == {"s": "a"}
    assert p.match("a/b.txt") is None


def test_escaped_braces_are_literal():
    p = Pattern("{{x}}/{s}.txt")
    assert p.names == ("s",)
    assert p.match("{x}/a.txt") == {"s": "a"}
    assert p.format({"s": "a"}) == "{x}/a.txt"
    assert format_wildcards("a{{b}}{s}", {"s": "1"}) == "a{b}1"


def test_plain_pattern_is_exact():
    p = Pattern("result.txt")
    assert p.is_plain and p.match("result.txt") == {} and p.match("result.txtx") is None


def test_missing_wildcard_value():
    with pytest.raises(WildcardError, match=r"no value for wildcard \{s\}"):
        Pattern("{s}.txt").format({})


def test_wildcard_names_in_order():
    assert wildcard_names("{b}/{a,x+}/{b}") == ["b", "a"]


def test_expand_product_zip_and_escapes():
    assert expand("{a}_{b}.txt", a=[1, 2], b="xy") == ["1_xy.txt", "2_xy.txt"]
    assert expand("{a}{b}", a="12", b=["x", "y"]) == ["12x", "12y"]
    assert expand("{a}-{b}", zip, a=[1, 2], b=[3, 4]) == ["1-3", "2-4"]
    assert expand("{{keep}}/{a}", a=["z"]) == ["{keep}/z"]
    assert expand(["{a}.x", "{a}.y"], a=[1]) == ["1.x", "1.y"]
    assert expand("{a}/{b}", a=[1], allow_missing=True) == ["1/{b}"]
    with pytest.raises(WildcardError, match="no values given for wildcard {b}"):
        expand("{a}/{b}", a=[1])


def test_expand_one_list():
    """One list (the fast path): every combinator gives one path per value, in order."""
    values = [3, "b", 1.5, "a b", "{x}"]
    want = ["c/3.txt", "c/b.txt", "c/1.5.txt", "c/a b.txt", "c/{x}.txt"]
    assert expand("c/{s}.txt", s=values) == want
    assert expand("c/{s}.txt", zip, s=values) == want
    assert expand("c/{s}.txt", s=(v for v in values)) == want
    assert expand(["{s}.x", "{s}/{s}.y"], s=[1, 2]) == ["1.x", "2.x", "1/1.y", "2/2.y"]
    assert expand("{s}", lambda *lists: [("only",)], s=[1, 2]) == ["only"]


def test_glob_wildcards(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw").mkdir()
    for name in ["b.fq", "a.fq", "c.txt"]:
        (tmp_path / "raw" / name).write_text("")
    assert glob_wildcards("raw/{s}.fq").s == ["a", "b"]
    assert glob_wildcards("raw/{s}.{ext}").ext == ["fq", "fq", "txt"]
