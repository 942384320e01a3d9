"""Output flags end to end: each flag, with a literal and with a wildcard path, through
`rulekit run` twice (issue 9 items 1-4 and 10). The first run must leave the right files and
modes, the second must plan nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

NOTHING = "Nothing to do: all outputs are up to date.\n"


def rulekit(wf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=wf,
                          capture_output=True, text=True, timeout=60)


def workflow(tmp_path: Path, text: str, **files: str) -> Path:
    wf = tmp_path / "wf"
    wf.mkdir()
    (wf / "Rulesfile").write_text(textwrap.dedent(text))
    for rel, content in files.items():
        path = wf / rel.replace("__", "/").replace("_", ".")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return wf


def run_ok(wf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = rulekit(wf, "run", "--cores", "2", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def nothing_to_do(wf: Path) -> None:
    again = rulekit(wf, "run", "--cores", "2")
    assert (again.returncode, again.stdout, again.stderr) == (0, NOTHING, ""), again.stdout


def read_only(path: Path) -> bool:
    return not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _age(wf: Path, rel: str) -> None:
    """Make an output older than everything else (its ancient input is then newer)."""
    old = time.time() - 3600
    os.utime(wf / rel, (old, old))


# --------------------------------------------------------------------------- the table

def _temp_literal(wf: Path) -> bool:
    return not (wf / "mid.txt").exists() and (wf / "final.txt").read_text() == "made\n"


def _temp_wildcard(wf: Path) -> bool:
    return (not (wf / "mid/x.txt").exists() and not (wf / "mid/y.txt").exists()
            and (wf / "final/y.txt").read_text() == "y\n")


def _dir_literal(wf: Path) -> bool:
    return (wf / "d").is_dir() and int((wf / "n.txt").read_text()) == 2


def _dir_wildcard(wf: Path) -> bool:
    return ((wf / "d/x").is_dir() and (wf / "d/y").is_dir()
            and int((wf / "n/y.txt").read_text()) == 1)


Check = Callable[[Path], bool]
Change = Callable[[Path], None] | None

# (flag, form, rule file, source files, check after each run, change before the second run)
CASES: list[tuple[str, str, str, dict[str, str], Check, Change]] = [
    ("temp", "literal", """
        rule all:
            input: "final.txt"
        rule a:
            output: temp("mid.txt")
            shell: "echo made > {output}"
        rule b:
            input: "mid.txt"
            output: "final.txt"
            shell: "cat {input} > {output}"
     """, {}, _temp_literal, None),
    ("temp", "wildcard", """
        rule all:
            input: "final/x.txt", "final/y.txt"
        rule a:
            output: temp("mid/{s}.txt")
            shell: "echo {wildcards.s} > {output}"
        rule b:
            input: "mid/{s}.txt"
            output: "final/{s}.txt"
            shell: "cat {input} > {output}"
     """, {}, _temp_wildcard, None),
    ("protected", "literal", """
        rule all:
            input: "p.txt"
        rule p:
            output: protected("p.txt")
            shell: "echo p > {output}"
     """, {}, lambda wf: read_only(wf / "p.txt"), None),
    ("protected", "wildcard", """
        rule all:
            input: "p/x.txt", "p/y.txt"
        rule p:
            output: protected("p/{s}.txt")
            shell: "echo {wildcards.s} > {output}"
     """, {}, lambda wf: read_only(wf / "p/x.txt") and read_only(wf / "p/y.txt"), None),
    ("touch", "literal", """
        rule all:
            input: "flag.txt"
        rule t:
            output: touch("flag.txt")
            shell: "true"
     """, {}, lambda wf: (wf / "flag.txt").is_file(), None),
    ("touch", "wildcard", """
        rule all:
            input: "flags/x.flag", "flags/y.flag"
        rule t:
            output: touch("flags/{s}.flag")
            shell: "true"
     """, {}, lambda wf: (wf / "flags/x.flag").is_file() and (wf / "flags/y.flag").is_file(),
     None),
    ("directory", "literal", """
        rule all:
            input: "n.txt"
        rule d:
            output: directory("d")
            shell: "mkdir {output} && echo 1 > {output}/a && echo 2 > {output}/b"
        rule n:
            input: "d"
            output: "n.txt"
            shell: "ls {input} | wc -l > {output}"
     """, {}, _dir_literal, None),
    ("directory", "wildcard", """
        rule all:
            input: "n/x.txt", "n/y.txt"
        rule d:
            output: directory("d/{s}")
            shell: "mkdir {output} && echo 1 > {output}/a"
        rule n:
            input: "d/{s}"
            output: "n/{s}.txt"
            shell: "ls {input} | wc -l > {output}"
     """, {}, _dir_wildcard, None),
    ("ancient", "literal", """
        rule all:
            input: "out.txt"
        rule a:
            input: ancient("ref.txt")
            output: "out.txt"
            shell: "cat {input} > {output}"
     """, {"ref_txt": "r\n"}, lambda wf: (wf / "out.txt").read_text() == "r\n",
     lambda wf: _age(wf, "out.txt")),
    ("ancient", "wildcard", """
        rule all:
            input: "out/x.txt"
        rule a:
            input: ancient("ref/{s}.txt")
            output: "out/{s}.txt"
            shell: "cat {input} > {output}"
     """, {"ref__x_txt": "x\n"}, lambda wf: (wf / "out/x.txt").read_text() == "x\n",
     lambda wf: _age(wf, "out/x.txt")),
]


@pytest.mark.parametrize(("flag", "form", "text", "files", "check", "change"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_flag_first_run_right_second_run_nothing(
        tmp_path: Path, flag: str, form: str, text: str, files: dict[str, str], check: Check,
        change: Callable[[Path], None] | None) -> None:
    wf = workflow(tmp_path, text, **files)
    run_ok(wf)
    assert check(wf), f"{flag} ({form}): wrong files or modes after the first run"
    if change is not None:   # ancient: the input is now newer than the output
        change(wf)
    nothing_to_do(wf)
    assert check(wf), f"{flag} ({form}): wrong files or modes after the second run"


def test_no_temp_and_all_temp_reach_wildcard_outputs(tmp_path: Path) -> None:
    wf = workflow(tmp_path, CASES[1][2])     # temp, wildcard
    run_ok(wf, "--no-temp")
    assert (wf / "mid/x.txt").is_file() and (wf / "mid/y.txt").is_file()
    run_ok(wf, "--all-temp", "--forceall")   # every output is temp; only `all` reads final/
    assert not any((wf / p).exists() for p in ("mid/x.txt", "mid/y.txt", "final/x.txt"))


# --------------------------------------------------------------------------- item 2: temp

def test_plain_temp_chain_settles_and_reruns_when_its_source_changes(tmp_path: Path) -> None:
    wf = workflow(tmp_path, """
        rule all:
            input: "final.txt"
        rule a:
            input: "raw.txt"
            output: temp("mid.txt")
            shell: "cat {input} > {output}; echo a >> runs.log"
        rule b:
            input: "mid.txt"
            output: "final.txt"
            shell: "cat {input} > {output}"
    """, raw_txt="one\n")
    run_ok(wf)
    assert not (wf / "mid.txt").exists()
    plan = rulekit(wf, "plan")
    assert plan.stdout == NOTHING, plan.stdout   # not "input files changed: added mid.txt"
    nothing_to_do(wf)
    rows = json.loads(rulekit(wf, "summary", "--format", "json").stdout)["outputs"]
    assert {r["path"]: r["status"] for r in rows} == {"mid.txt": "temp removed",
                                                      "final.txt": "ok"}
    _age(wf, "final.txt")
    (wf / "raw.txt").write_text("two\n")
    plan = rulekit(wf, "plan")
    assert "missing output mid.txt" in plan.stdout, plan.stdout
    run_ok(wf)
    assert (wf / "final.txt").read_text() == "two\n"
    assert not (wf / "mid.txt").exists()
    assert (wf / "runs.log").read_text() == "a\na\n"
    nothing_to_do(wf)


# --------------------------------------------------------------------------- item 3

def test_temp_needed_by_an_output_less_target_is_built(tmp_path: Path) -> None:
    wf = workflow(tmp_path, """
        rule all:
            input: "foo.txt"
        rule a:
            output: temp("foo.txt")
            shell: "echo foo > {output}; echo a >> runs.log"
    """)
    plan = rulekit(wf, "plan")
    assert "missing output foo.txt" in plan.stdout, plan.stdout
    done = run_ok(wf)
    assert "start a" in done.stdout
    assert (wf / "runs.log").read_text() == "a\n"
    assert not (wf / "foo.txt").exists()   # read by `all`, then removed
    nothing_to_do(wf)
    assert (wf / "runs.log").read_text() == "a\n"


def test_temp_made_by_hand_history_unknown_is_missing(tmp_path: Path) -> None:
    """final.txt exists but the store never saw mid.txt: a missing temp is just missing."""
    wf = workflow(tmp_path, """
        rule all:
            input: "final.txt"
        rule a:
            output: temp("mid.txt")
            shell: "echo made > {output}"
        rule b:
            input: "mid.txt"
            output: "final.txt"
            shell: "cat {input} > {output}"
    """, final_txt="by hand\n")
    plan = rulekit(wf, "plan")
    assert "missing output mid.txt" in plan.stdout, plan.stdout
    run_ok(wf)
    assert (wf / "final.txt").read_text() == "made\n"
    nothing_to_do(wf)


CHECKPOINT_TEMP = """
    rule all:
        input: "agg.txt", "other.txt"

    checkpoint split:
        input: "n.txt"
        output: directory("parts")
        shell: "sleep 0.5; mkdir {output}; for i in $(seq $(cat {input})); do echo $i > {output}/p$i; done"

    rule hdr:
        output: temp("hdr.txt")
        shell: "echo header > {output}; echo hdr >> runs.log"

    rule other:
        input: "hdr.txt"
        output: "other.txt"
        shell: "cat {input} > {output}"

    def parts(wildcards):
        folder = checkpoints.split.get().output[0]
        return ["hdr.txt"] + sorted(os.path.join(folder, f) for f in os.listdir(folder))

    rule agg:
        input: parts
        output: "agg.txt"
        shell: "cat {input} > {output}"
"""


def test_temp_needed_by_a_job_waiting_for_a_checkpoint(tmp_path: Path) -> None:
    """`other` reads hdr.txt long before the checkpoint is done; the temp must stay until
    the re-plan after the checkpoint shows that `agg` reads it too. In a later run, the
    removed temp is made again when only the re-plan shows a reader that runs."""
    wf = workflow(tmp_path, "import os\n" + textwrap.dedent(CHECKPOINT_TEMP), n_txt="2\n")
    run_ok(wf)
    assert (wf / "agg.txt").read_text() == "header\n1\n2\n"
    assert not (wf / "hdr.txt").exists()
    nothing_to_do(wf)
    (wf / "n.txt").write_text("3\n")
    run_ok(wf)
    assert (wf / "agg.txt").read_text() == "header\n1\n2\n3\n"
    assert (wf / "runs.log").read_text() == "hdr\nhdr\n"
    assert not (wf / "hdr.txt").exists()
    nothing_to_do(wf)


# --------------------------------------------------------------------------- item 4

def test_directory_outputs_are_left_for_the_job_to_make(tmp_path: Path) -> None:
    wf = workflow(tmp_path, """
        rule all:
            input: "mk", "py/x", "link"
        rule mk:
            output: directory("mk")
            shell: "mkdir {output} && echo 1 > {output}/f"
        rule py:
            output: directory("py/{s}")
            run:
                import os
                os.makedirs(output[0])
                open(os.path.join(output[0], "f"), "w").close()
        rule ln:
            input: "mk"
            output: directory("link")
            shell: "ln -s {input} {output}"
    """)
    run_ok(wf)
    assert (wf / "mk/f").is_file() and (wf / "py/x/f").is_file()
    assert (wf / "link").is_symlink() and os.readlink(wf / "link") == "mk"
    nothing_to_do(wf)
    # rerun everything: the old folders and the link are removed first, so mkdir/ln work again
    run_ok(wf, "--forceall")
    assert (wf / "mk/f").is_file() and (wf / "link").is_symlink()
    nothing_to_do(wf)


def test_directory_output_that_is_a_file_fails_the_job(tmp_path: Path) -> None:
    wf = workflow(tmp_path, """
        rule d:
            output: directory("d")
            shell: "echo oops > {output}"
    """)
    done = rulekit(wf, "run", "--cores", "1")
    assert done.returncode == 1
    assert "job finished but these directory() outputs are not folders: d" in done.stderr
    assert not (wf / "d").exists()


# --------------------------------------------------------------------------- item 10

def test_flags_on_pathlib_paths_and_on_input_functions(tmp_path: Path) -> None:
    wf = workflow(tmp_path, """
        from pathlib import Path

        rule all:
            input: "final/x.txt", "dirs/x", "p/x.txt", "fn/x.txt"
        rule a:
            output: temp(Path("mid") / "{s}.txt")
            shell: "echo {wildcards.s} > {output}"
        rule b:
            input: "mid/{s}.txt", ancient(Path("ref.txt"))
            output: "final/{s}.txt"
            shell: "cat {input} > {output}"
        rule d:
            output: directory(Path("dirs/{s}"))
            shell: "mkdir {output}"
        rule p:
            output: protected(Path("p/{s}.txt"))
            shell: "echo p > {output}"
        rule f:
            input:
                ancient(lambda wc: Path(f"ref/{wc.s}.txt")),
                lambda wc: ancient(f"ref/{wc.s}.txt"),
            output: "fn/{s}.txt"
            shell: "cat {input} > {output}"
    """, ref_txt="r\n", ref__x_txt="rx\n")
    run_ok(wf)
    assert not (wf / "mid/x.txt").exists()
    assert (wf / "final/x.txt").read_text() == "x\nr\n"
    assert (wf / "dirs/x").is_dir() and read_only(wf / "p/x.txt")
    assert (wf / "fn/x.txt").read_text() == "rx\nrx\n"
    nothing_to_do(wf)
    _age(wf, "fn/x.txt")        # both function inputs are ancient: still nothing to do
    nothing_to_do(wf)


def test_touched_unchanged_input_behind_a_removed_temp_reruns_nothing(tmp_path: Path) -> None:
    """in.txt -> temp b.txt -> protected c.txt: touching in.txt without changing its bytes
    plans nothing (the temp's record knows them); changing them remakes the temp and c (and
    c being protected, that is the usual protected-output error)."""
    wf = workflow(tmp_path, """
        rule all:
            input: "c.txt", "d.txt"
        rule b:
            input: "in.txt"
            output: temp("b.txt")
            shell: "cp {input} {output}"
        rule c:
            input: "b.txt"
            output: protected("c.txt")
            shell: "cp {input} {output}"
        rule d:
            input: "b.txt"
            output: "d.txt"
            shell: "cp {input} {output}"
        """, in_txt="one\n")
    run_ok(wf)
    assert not (wf / "b.txt").exists()
    time.sleep(0.02)
    os.utime(wf / "in.txt")
    nothing_to_do(wf)
    (wf / "in.txt").write_text("two\n")
    plan = rulekit(wf, "plan")
    assert plan.returncode == 2
    assert "c.txt" in plan.stderr and "protected" in plan.stderr
