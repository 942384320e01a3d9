"""Loading a rule file that uses every construct, and the semantics of each."""

import os
import shutil
import traceback
from pathlib import Path

import pytest

from rulekit.core.model import AnnotatedPath, FlaggedCallable, Unpack, Wildcards, has_flag
from rulekit.lang.loader import load

DATA = Path(__file__).parent / "data" / "everything"


@pytest.fixture
def everything(tmp_path):
    shutil.copytree(DATA, tmp_path / "wf", ignore=shutil.ignore_patterns(".rulekit"))
    return load(tmp_path / "wf" / "Rulesfile")


def test_rules_in_file_order_with_includes_anonymous_and_renamed(everything):
    assert list(everything.rules) == [
        "included_rule", "all", "process", "generic", "special", "split", "merge",
        "summary", "9", "renamed", "tabbed"]
    assert everything.default_rule().name == "all"
    assert everything.rules["split"].checkpoint
    assert everything.files[1].endswith("common.rules")


def test_config_files_merge_in_order(everything):
    assert everything.config == {"samples": ["a", "b"], "threshold": 0.5,
                                 "nested": {"depth": 1}, "from_json": True}


def test_config_overrides_win_over_configfile(tmp_path):
    shutil.copytree(DATA, tmp_path / "wf", ignore=shutil.ignore_patterns(".rulekit"))
    wf = load(tmp_path / "wf" / "Rulesfile", config={"threshold": 0.01, "nested": {"x": 2}})
    assert wf.config["threshold"] == 0.01
    assert wf.config["nested"] == {"depth": 1, "x": 2}
    # top-level `if` ran with the overridden value
    assert wf.rules["process"].params[0] == ("mode", "loose")


def test_top_level_keywords(everything):
    assert everything.localrules == {"all", "summary", "merge"}
    assert everything.ruleorder == [["special", "generic"]]
    assert everything.wildcard_constraints == {"sample": "[a-z]+"}
    assert len(everything.onstart) == len(everything.onsuccess) == len(everything.onerror) == 1
    assert os.path.samefile(everything.workdir, everything.basedir)


def test_directive_values(everything):
    p = everything.rules["process"]
    names = [n for n, _ in p.input]
    assert names == ["raw", "ref"]
    assert callable(p.input[0][1]) and p.input[0][1](Wildcards.from_dict({"sample": "a"})) == "raw/a.txt"
    assert isinstance(p.input[1][1], AnnotatedPath) and has_flag(p.input[1][1], "ancient")
    assert p.output == ["work/{sample}.tmp", "work/{sample}.idx", "work/{sample}.log"]
    assert p.output_names == {"main": 0, "extra": (1, 3)}
    assert has_flag(p.output[0], "temp")
    assert [n for n, _ in p.params] == ["mode", "prefix", "size"]
    assert p.params[1] == ("prefix", "work/{sample}")
    assert p.log == ["logs/process/{sample}.log"] and p.benchmark == "bench/{sample}.tsv"
    assert p.threads == 2 and p.priority == 3 and p.retries == 1
    assert p.resources["mem_mb"] == 100 and callable(p.resources["runtime"])
    assert p.message == "processing {wildcards.sample}: {NOTE}"
    assert p.wildcard_constraints == {"sample": "[a-z]"}
    assert p.output_patterns[0].match("work/ab.tmp") is None  # rule constraint beats global
    assert p.output_patterns[0].match("work/a.tmp") == {"sample": "a"}
    assert p.wildcard_names == frozenset({"sample"})
    assert "# '#' inside a shell string" in p.body.command
    assert p.body.kind == "shell"


def test_rules_reference_and_flags(everything):
    g = everything.rules["generic"]
    assert g.input == [(None, "work/{sample}.tmp")]
    assert has_flag(g.output[0], "protected")
    assert has_flag(everything.rules["split"].output[0], "directory")
    assert has_flag(everything.rules["merge"].output[0], "touch")
    assert isinstance(everything.rules["merge"].input[0][1], Unpack)
    assert everything.rules["merge"].localrule


def test_bracketed_value_at_lower_indentation_and_tabs(everything):
    assert everything.rules["renamed"].params == [("values", [1, 2, 3])]
    assert everything.rules["tabbed"].body.command == "touch {output}"


def test_script_path_is_relative_to_rule_file(everything):
    body = everything.rules["summary"].body
    assert body.kind == "script" and body.script.endswith(os.path.join("scripts", "summarise.py"))


def test_run_body_keeps_rule_file_line_numbers(tmp_path):
    rf = tmp_path / "Rulesfile"
    rf.write_text('x = 1\n\nrule a:\n    output: "a.txt"\n    run:\n        y = 2\n        raise ValueError("boom")\n')
    wf = load(rf)
    func = wf.rules["a"].body.func
    with pytest.raises(ValueError) as info:
        func(*[None] * 10)
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert (last.filename, last.lineno, last.line) == (str(rf), 7, 'raise ValueError("boom")')


def test_inline_run_body_and_value_over_several_lines(tmp_path):
    rf = tmp_path / "Rulesfile"
    rf.write_text('rule a:\n    output:\n        "a.txt",\n        b="b.txt"\n    run: open(output[0], "w").close()\n')
    wf = load(rf)
    assert wf.rules["a"].output == ["a.txt", "b.txt"]
    assert wf.rules["a"].output_names == {"b": 1}
    assert wf.rules["a"].body.kind == "run"


def test_flagged_input_function(tmp_path):
    rf = tmp_path / "Rulesfile"
    rf.write_text('rule a:\n    input: ancient(lambda wc: "x")\n    output: "a.txt"\n')
    value = load(rf).rules["a"].input[0][1]
    assert isinstance(value, FlaggedCallable) and value.flags == {"ancient"}


def test_include_nested_relative_to_including_file(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "Rulesfile").write_text('include: "sub/a.rules"\n')
    (tmp_path / "sub" / "a.rules").write_text('include: "deeper/b.rules"\nA = B + 1\n')
    (tmp_path / "sub" / "deeper" / "b.rules").write_text('B = 1\nrule b:\n    output: "b.txt"\n')
    wf = load(tmp_path / "Rulesfile")
    assert list(wf.rules) == ["b"]


def test_workdir_statement_moves_working_directory(tmp_path):
    (tmp_path / "Rulesfile").write_text('workdir: "work"\nrule a:\n    output: "a.txt"\n')
    wf = load(tmp_path / "Rulesfile")
    assert wf.workdir == str(tmp_path / "work")
    assert os.getcwd() != wf.workdir  # load() restores the caller's cwd


def test_snakemake_shell_configuration(tmp_path):
    (tmp_path / "Rulesfile").write_text(
        'shell.executable("/bin/bash")\nshell.prefix("set -x; ")\nrule a:\n    output: "a"\n')
    wf = load(tmp_path / "Rulesfile")
    assert (wf.shell_executable, wf.shell_prefix) == ("/bin/bash", "set -x; ")


def test_configfile_option_beats_statement_and_config_beats_both(tmp_path):
    shutil.copytree(DATA, tmp_path / "wf", ignore=shutil.ignore_patterns(".rulekit"))
    (tmp_path / "over.yaml").write_text("threshold: 0.2\nsamples: [c]\n")
    wf = load(tmp_path / "wf" / "Rulesfile", configfiles=[str(tmp_path / "over.yaml")],
              config={"samples": ["d"]})
    assert wf.config["threshold"] == 0.2 and wf.config["samples"] == ["d"]


def test_workflow_cores_is_the_runs_cores(tmp_path):
    (tmp_path / "Rulesfile").write_text('rule a:\n    output: "a"\n    threads: workflow.cores\n')
    assert load(tmp_path / "Rulesfile", cores=3).rules["a"].threads == 3
