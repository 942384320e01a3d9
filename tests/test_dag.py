"""Targets -> jobs: resolution, ruleorder, and the missing/ambiguous/cycle errors."""

from __future__ import annotations

import os
from typing import Any

import pytest

from rulekit.core.errors import AmbiguousRuleError, CycleError, MissingInputError, UsageError
from rulekit.core.model import AnnotatedPath, IncompleteCheckpoint, Rule, Unpack, Workflow
from rulekit.core.patterns import Pattern
from rulekit.core.source import Span
from rulekit.planning.fs import FileSystem
from rulekit.planning.resolve import build_dag

T0 = 1_700_000_000 * 10**9  # ns


# --------------------------------------------------------------------------- helpers

def make_rule(name: str, output: Any = (), input: Any = (), *, index: int = 0,
              constraints: dict[str, str] | None = None, wf_constraints: dict[str, str] | None = None,
              **kw: Any) -> Rule:
    """A Rule as the loader would build it. input: list of paths/values or (name, value)."""
    outputs = [output] if isinstance(output, str) else list(output)
    items = [input] if isinstance(input, str) else list(input)
    pairs = [i if isinstance(i, tuple) else (None, i) for i in items]
    cons = {**(wf_constraints or {}), **(constraints or {})}
    patterns = [Pattern(o, cons) for o in outputs]
    names = frozenset(n for p in patterns for n in p.names)
    return Rule(name=name, span=Span("Rulesfile", index * 10 + 1, 1), input=pairs,
                output=outputs, output_patterns=patterns, wildcard_names=names, index=index,
                wildcard_constraints=dict(constraints or {}), **kw)


def make_wf(root: Any, *rules: Rule, ruleorder: list[list[str]] | None = None,
            constraints: dict[str, str] | None = None) -> Workflow:
    wf = Workflow(path=os.path.join(root, "Rulesfile"), basedir=str(root), workdir=str(root),
                  ruleorder=ruleorder or [], wildcard_constraints=constraints or {})
    for i, rule in enumerate(rules):
        rule.index = i
        rule.span = Span("Rulesfile", i * 10 + 1, 1)
        wf.rules[rule.name] = rule
    return wf


def touch(root: Any, *paths: str, t: int = 0) -> None:
    """Create files with mtime T0 + t seconds."""
    for path in paths:
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full) or ".", exist_ok=True)
        with open(full, "a"):
            pass
        os.utime(full, ns=(T0 + t * 10**9, T0 + t * 10**9))


def chain_wf(root: Any, samples: list[str]) -> Workflow:
    return make_wf(
        root,
        make_rule("agg", "result.txt", [[f"c/{s}.txt" for s in samples]]),
        make_rule("a", "a/{s}.txt", "raw/{s}.txt"),
        make_rule("b", "b/{s}.txt", "a/{s}.txt"),
        make_rule("c", "c/{s}.txt", "b/{s}.txt"),
    )


def names(dag: Any) -> list[str]:
    return [j.name for j in dag.jobs]


# --------------------------------------------------------------------------- resolution

def test_chain_resolves_in_topological_order(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt", "raw/y.txt")
    wf = chain_wf(tmp_path, ["x", "y"])
    dag = build_dag(wf, (), FileSystem(tmp_path))
    assert names(dag) == ["a[s=x]", "b[s=x]", "c[s=x]", "a[s=y]", "b[s=y]", "c[s=y]", "agg"]
    assert [j.id for j in dag.jobs] == list(range(7))
    assert dag.targets == [dag.jobs[-1]]
    agg = dag.jobs[-1]
    assert [d.name for d in agg.deps] == ["c[s=x]", "c[s=y]"]
    assert list(dag.jobs[1].input) == ["a/x.txt"]
    assert list(dag.jobs[1].output) == ["b/x.txt"]
    assert dag.jobs[1].wildcards == {"s": "x"}
    # the same again, in the same order
    assert names(build_dag(wf, (), FileSystem(tmp_path))) == names(dag)


def test_jobs_are_shared_between_consumers(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    wf = make_wf(tmp_path,
                 make_rule("all", (), ["b/x.txt", "c/x.txt"]),
                 make_rule("a", "a/{s}.txt", "raw/{s}.txt"),
                 make_rule("b", "b/{s}.txt", "a/{s}.txt"),
                 make_rule("c", "c/{s}.txt", "a/{s}.txt"))
    dag = build_dag(wf, (), FileSystem(tmp_path))
    assert names(dag) == ["a[s=x]", "b[s=x]", "c[s=x]", "all"]


def test_targets_rules_and_paths(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    wf = chain_wf(tmp_path, ["x"])
    dag = build_dag(wf, ["b/x.txt", "a/x.txt"], FileSystem(tmp_path))
    assert names(dag) == ["a[s=x]", "b[s=x]"]
    assert [t.name for t in dag.targets] == ["b[s=x]", "a[s=x]"]
    dag = build_dag(wf, [os.path.join(tmp_path, "a/x.txt")], FileSystem(tmp_path))
    assert names(dag) == ["a[s=x]"]
    # a source file as a target: nothing to make
    dag = build_dag(wf, ["raw/x.txt"], FileSystem(tmp_path))
    assert names(dag) == [] and dag.target_files == ["raw/x.txt"]


def test_default_target_rule(tmp_path: Any) -> None:
    touch(tmp_path, "in.txt")
    wf = make_wf(tmp_path, make_rule("first", "one.txt", "in.txt"),
                 make_rule("second", "two.txt", "in.txt", default_target=True))
    assert names(build_dag(wf, (), FileSystem(tmp_path))) == ["second"]
    wf.rules["second"].default_target = False
    assert names(build_dag(wf, (), FileSystem(tmp_path))) == ["first"]


def test_rule_target_with_wildcards_is_an_error(tmp_path: Any) -> None:
    wf = make_wf(tmp_path, make_rule("a", "a/{s}.txt", "raw/{s}.txt"))
    with pytest.raises(UsageError) as err:
        build_dag(wf, ["a"], FileSystem(tmp_path))
    assert err.value.exit_code == 2
    assert err.value.show() == (
        "Rulesfile:1:1: error: rule a cannot be a target: its output has wildcards ({s})\n"
        "  Rule:   a\n"
        "  Output: a/{s}.txt\n"
        "  hint: ask for a file instead (e.g. one path with the wildcards filled in), "
        "or add a target rule whose input lists the files")


def test_constraints_and_multiple_outputs(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    wf = make_wf(tmp_path,
                 make_rule("num", "out/{n}.txt", "raw/x.txt", constraints={"n": r"\d+"}),
                 make_rule("word", "out/{w}.txt", "raw/x.txt"),
                 make_rule("pair", ["p/{s}.bam", "p/{s}.bai"], "raw/{s}.txt"),
                 ruleorder=[["num", "word"]])
    dag = build_dag(wf, ["out/12.txt", "out/ab.txt", "p/x.bai", "p/x.bam"],
                    FileSystem(tmp_path))
    assert names(dag) == ["num[n=12]", "word[w=ab]", "pair[s=x]"]
    assert list(dag.jobs[2].output) == ["p/x.bam", "p/x.bai"]


def test_input_functions_unpack_params_threads(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt", "raw/x.idx", "ref.fa")
    seen: list[Any] = []

    def inputs(wc: Any) -> list[str]:
        seen.append(wc.s)
        return [f"raw/{wc.s}.txt"]

    rule = make_rule(
        "a", "a/{s}.txt",
        [("reads", inputs), Unpack(lambda wc: {"index": f"raw/{wc.s}.idx", "ref": "ref.fa"})],
        params=[("prefix", "out/{s}"), ("n", lambda wildcards, input: len(input)),
                (None, "{{literal}}")],
        threads=lambda wc: 2 if wc.s == "x" else 1,
        log=["logs/{s}.log"], log_names={"main": 0}, benchmark="bench/{s}.tsv")
    wf = make_wf(tmp_path, rule)
    job = build_dag(wf, ["a/x.txt"], FileSystem(tmp_path)).jobs[0]
    assert seen == ["x"]
    assert list(job.input) == ["raw/x.txt", "raw/x.idx", "ref.fa"]
    assert job.input.reads == ["raw/x.txt"] and job.input.ref == "ref.fa"
    assert job.params.prefix == "out/x" and job.params.n == 3 and job.params[2] == "{literal}"
    assert job.threads == 2
    assert job.log.main == "logs/x.log" and job.benchmark == "bench/x.tsv"


def test_ancient_flag_survives_formatting(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    wf = make_wf(tmp_path, make_rule("a", "a/{s}.txt", AnnotatedPath("raw/{s}.txt", ["ancient"])))
    job = build_dag(wf, ["a/x.txt"], FileSystem(tmp_path)).jobs[0]
    assert job.input[0] == "raw/x.txt" and "ancient" in job.input[0].flags


def test_directory_outputs_and_files_inside_them(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    wf = make_wf(tmp_path,
                 make_rule("use", "use/{s}.txt", "unpacked/{s}/part1.txt"),
                 make_rule("unpack", AnnotatedPath("unpacked/{s}", ["directory"]), "raw/{s}.txt"))
    dag = build_dag(wf, ["use/x.txt"], FileSystem(tmp_path))
    assert names(dag) == ["unpack[s=x]", "use[s=x]"]
    assert dag.jobs[1].deps == [dag.jobs[0]]


def test_candidate_with_missing_input_gives_way(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.csv")
    wf = make_wf(tmp_path,
                 make_rule("from_txt", "out/{s}.dat", "raw/{s}.txt"),
                 make_rule("from_csv", "out/{s}.dat", "raw/{s}.csv"))
    assert names(build_dag(wf, ["out/x.dat"], FileSystem(tmp_path))) == ["from_csv[s=x]"]


def test_existing_file_whose_rule_cannot_run_is_a_source(tmp_path: Any) -> None:
    touch(tmp_path, "a/x.txt")
    wf = chain_wf(tmp_path, ["x"])
    assert names(build_dag(wf, ["b/x.txt"], FileSystem(tmp_path))) == ["b[s=x]"]


def test_checkpoint_waits(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")

    def after_split(wc: Any) -> list[str]:
        if not os.path.exists(os.path.join(tmp_path, f"split/{wc.s}")):
            raise IncompleteCheckpoint("split", f"split/{wc.s}")
        return sorted(os.listdir(os.path.join(tmp_path, f"split/{wc.s}")))

    wf = make_wf(tmp_path,
                 make_rule("merge", "merged/{s}.txt", [after_split]),
                 make_rule("split", AnnotatedPath("split/{s}", ["directory"]), "raw/{s}.txt",
                           checkpoint=True))
    dag = build_dag(wf, ["merged/x.txt"], FileSystem(tmp_path))
    assert names(dag) == ["split[s=x]", "merge[s=x]"]
    assert dag.waiting == {1: "split"}
    assert dag.jobs[1].deps == [dag.jobs[0]] and list(dag.jobs[1].input) == []


def test_upstream_of_for_until(tmp_path: Any) -> None:
    touch(tmp_path, "raw/x.txt")
    dag = build_dag(chain_wf(tmp_path, ["x"]), (), FileSystem(tmp_path))
    keep = dag.upstream_of(["b"])
    assert [j.name for j in dag.jobs if keep[j.id]] == ["a[s=x]", "b[s=x]"]


# --------------------------------------------------------------------------- errors

def test_missing_input_error_names_file_job_and_rules(tmp_path: Any) -> None:
    wf = make_wf(tmp_path,
                 make_rule("all", (), ["out/x y.txt"]),
                 make_rule("b", "b/{s}.txt", "raw/{s}.txt"),
                 make_rule("c", "out/{s}.txt", "raw/{s}.txt", constraints={"s": r"\w+"}),
                 make_rule("d", "out/{s}.txt", "raw/{s}.txt"))
    with pytest.raises(MissingInputError) as err:
        build_dag(wf, (), FileSystem(tmp_path))
    assert err.value.exit_code == 2
    assert err.value.show() == (
        "Rulesfile:1:1: error: no rule can make 'out/x y.txt' and the file does not exist\n"
        "  File:        out/x y.txt\n"
        "  Needed by:   all (Rulesfile:1:1)\n"
        "  Rules tried: rule b: output pattern 'b/{s}.txt' does not match\n"
        "               rule c: wildcard {s} value 'x y' fails constraint '\\\\w+'\n"
        "               rule d: its input 'raw/x y.txt' is missing\n"
        "  hint: create the file, fix the path, or add a rule whose output pattern matches it")


def test_missing_input_follows_single_candidate_chain(tmp_path: Any) -> None:
    wf = chain_wf(tmp_path, ["x"])
    with pytest.raises(MissingInputError) as err:
        build_dag(wf, (), FileSystem(tmp_path))
    assert err.value.show().splitlines()[:3] == [
        "Rulesfile:11:1: error: no rule can make 'raw/x.txt' and the file does not exist",
        "  File:        raw/x.txt",
        "  Needed by:   a[s=x] (Rulesfile:11:1)",
    ]


def test_missing_target_file(tmp_path: Any) -> None:
    wf = chain_wf(tmp_path, ["x"])
    with pytest.raises(MissingInputError) as err:
        build_dag(wf, ["nothing.txt"], FileSystem(tmp_path))
    assert err.value.show().splitlines()[:3] == [
        "error: no rule can make 'nothing.txt' and the file does not exist",
        "  File:        nothing.txt",
        "  Needed by:   the command line (a target)",
    ]


def test_ambiguous_rules_error_is_stable(tmp_path: Any) -> None:
    touch(tmp_path, "in.txt")
    wf = make_wf(tmp_path,
                 make_rule("all", (), ["out/x.txt"]),
                 make_rule("zeta", "out/{s}.txt", "in.txt"),
                 make_rule("alpha", "out/{name}.txt", "in.txt"))
    texts = set()
    for _ in range(3):
        with pytest.raises(AmbiguousRuleError) as err:
            build_dag(wf, (), FileSystem(tmp_path))
        texts.add(err.value.show())
    assert texts == {
        "error: ambiguous rules for 'out/x.txt': zeta, alpha can all make it\n"
        "  File:      out/x.txt\n"
        "  Needed by: all (Rulesfile:1:1)\n"
        "  Rules:     rule zeta: output 'out/{s}.txt' (Rulesfile:11:1)\n"
        "             rule alpha: output 'out/{name}.txt' (Rulesfile:21:1)\n"
        "  hint: add 'ruleorder: zeta > alpha' to prefer one, or make the output patterns "
        "distinct (e.g. wildcard_constraints)"}
    wf.ruleorder = [["alpha", "zeta"]]
    assert names(build_dag(wf, (), FileSystem(tmp_path))) == ["alpha[name=x]", "all"]


def test_cycle_error_prints_the_path(tmp_path: Any) -> None:
    wf = make_wf(tmp_path,
                 make_rule("x", "a.txt", "b.txt"),
                 make_rule("y", "b.txt", "a.txt"))
    with pytest.raises(CycleError) as err:
        build_dag(wf, ["a.txt"], FileSystem(tmp_path))
    assert err.value.exit_code == 2
    assert err.value.show() == (
        "Rulesfile:1:1: error: cycle in the job graph: "
        "a.txt -> rule x -> b.txt -> rule y -> a.txt\n"
        "  Cycle: a.txt -> rule x -> b.txt -> rule y -> a.txt\n"
        "  hint: a rule's output must not be needed, directly or through other rules, "
        "by its own inputs")


def test_endless_wildcard_recursion_is_refused(tmp_path: Any) -> None:
    wf = make_wf(tmp_path, make_rule("grow", "{s}.txt", "{s}.raw.txt"))
    with pytest.raises(MissingInputError) as err:
        build_dag(wf, ["a.txt"], FileSystem(tmp_path))
    assert "would apply to its own output again" in err.value.show()
