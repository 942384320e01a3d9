"""Fixes from a fresh-user trial, end to end through the CLI in temp dirs: jobs without
outputs, temp files another run reads, state leaking between run: bodies, unlock during a
live run, removed temps with changed params, clean of files rulekit never made, benchmark
files, script languages, and exact messages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX only")


def rk(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env=env)


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip())


def test_rule_with_inputs_and_a_body_but_no_outputs_runs_every_time(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule all:
            input: "in.txt"
            run:
                print("RUN BODY")
        ''')
    (tmp_path / "in.txt").write_text("x\n")
    for _ in range(2):
        done = rk(tmp_path, "run")
        assert done.returncode == 0, done.stderr
        assert "RUN BODY" in done.stdout
    plan = rk(tmp_path, "plan")
    assert "rule has no output files, so its body runs every time" in plan.stdout


def test_rule_all_without_a_body_plans_nothing_the_second_time(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule all:
            input: "out.txt"
        rule make:
            output: "out.txt"
            shell: "echo hi > {output}"
        ''')
    assert rk(tmp_path, "run").returncode == 0
    again = rk(tmp_path, "run")
    assert again.returncode == 0 and "Nothing to do" in again.stdout + again.stderr
    assert "Nothing to do" in rk(tmp_path, "plan").stdout


TEMP_READERS = '''
    rule t:
        output: temp("T.txt")
        shell: "echo tdata > {output}"
    rule y:
        input: "T.txt"
        output: "Y.txt"
        shell: "sleep 3; cat {input} > {output}"
    rule x:
        input: "T.txt"
        output: "X.txt"
        shell: "cat {input} > {output}"
    '''


def _start_slow_reader(tmp_path: Path) -> subprocess.Popen[str]:
    """`rulekit run Y.txt` in the background, once its job reading T.txt has started."""
    import time

    slow = subprocess.Popen([sys.executable, "-m", "rulekit", "run", "Y.txt"], cwd=tmp_path,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, NO_COLOR="1"))
    deadline = time.time() + 30
    locks = tmp_path / ".rulekit-locks"
    while time.time() < deadline:
        if locks.is_dir() and any(p.suffix == ".json" for p in locks.iterdir()):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    return slow


@pytest.mark.slow
@pytest.mark.parametrize("how", ["run", "delete-temp-output"])
def test_temp_removal_keeps_a_file_another_live_run_reads(tmp_path, how):
    write(tmp_path / "Snakefile", TEMP_READERS)
    assert rk(tmp_path, "run", "T.txt").returncode == 0
    slow = _start_slow_reader(tmp_path)
    try:
        if how == "run":
            other = rk(tmp_path, "run", "X.txt")
        else:
            other = rk(tmp_path, "run", "--delete-temp-output", "X.txt")
        assert other.returncode == 0, other.stdout + other.stderr
        assert (tmp_path / "T.txt").exists()
        assert ("warning: kept temp() file T.txt: a live rulekit run reads it (pid "
                f"{slow.pid} on ") in other.stderr
        assert "it is removed when no run needs it" in other.stderr
        out, _ = slow.communicate(timeout=60)
    finally:
        if slow.poll() is None:
            slow.kill()
    assert slow.returncode == 0, out
    assert (tmp_path / "Y.txt").read_text() == "tdata\n"
    if how == "run":
        assert (tmp_path / "X.txt").read_text() == "tdata\n"
        assert not (tmp_path / "T.txt").exists()   # the last reader removed it


def test_run_bodies_do_not_leak_state_to_later_jobs_in_the_same_worker(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "Snakefile", '''
        import sys
        COUNTER = [0]
        SEEN = set()
        NAME = "start"
        rule all:
            input: expand("o{i}.txt", i=range(4))
        rule r:
            output: "o{i}.txt"
            run:
                global NAME
                COUNTER[0] += 1
                SEEN.add(wildcards.i)
                config["seen"] = config.get("seen", 0) + 1
                os.environ["X"] = os.environ.get("X", "") + "x"
                with open(output[0], "w") as f:
                    f.write(f"{COUNTER[0]} {len(SEEN)} {config['seen']} {os.environ['X']} "
                            f"{NAME} {sys.path.count('/nowhere')} {os.getcwd()}\\n")
                NAME = "changed"
                sys.path.append("/nowhere")
                os.chdir("sub")
        ''')
    done = rk(tmp_path, "run", "--cores", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    for i in range(4):
        assert (tmp_path / f"o{i}.txt").read_text() == f"1 1 1 x start 0 {tmp_path}\n"
    assert list((tmp_path / "sub").iterdir()) == []


def _wait_for(cond, timeout: float = 30) -> None:
    import time

    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_unlock_refuses_a_live_run_and_a_forced_unlock_never_kills_its_job(tmp_path):
    import socket

    write(tmp_path / "Snakefile", '''
        rule slow:
            output: "out.txt"
            shell: "echo partial > {output}; sleep 6; echo done >> {output}"
        ''')
    live = subprocess.Popen([sys.executable, "-m", "rulekit", "run"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, NO_COLOR="1"))
    try:
        _wait_for(lambda: (tmp_path / "out.txt").exists())
        plan = rk(tmp_path, "plan")
        assert (f"output out.txt is incomplete: a live rulekit run (pid {live.pid}) is "
                "writing it") in plan.stdout
        refused = rk(tmp_path, "unlock")
        assert refused.returncode == 3
        assert refused.stderr.startswith(
            "error: the locks are held by a live rulekit run "
            f"(pid {live.pid} on {socket.gethostname()})\n")
        assert "rulekit unlock --force" in refused.stderr
        forced = rk(tmp_path, "unlock", "--force")
        assert forced.returncode == 0 and forced.stdout.startswith("Released ")
        again = rk(tmp_path, "run")
        assert again.returncode == 3, again.stdout + again.stderr
        assert again.stderr.startswith(
            "error: output out.txt is being written by another rulekit run: a live run "
            f"(pid {live.pid}) is running slow\n")
        out, _ = live.communicate(timeout=60)
    finally:
        if live.poll() is None:
            live.kill()
    assert live.returncode == 0, out
    assert (tmp_path / "out.txt").read_text() == "partial\ndone\n"
    assert "Nothing to do" in rk(tmp_path, "run").stdout


REMOVED_TEMP = '''
    rule all:
        input: "final.txt"
    rule mid:
        output: temp("mid.txt")
        params: factor=config.get("factor", 1)
        shell: "echo {params.factor} > {output}"
    rule final:
        input: "mid.txt"
        output: "final.txt"
        shell: "cat {input} > {output}"
    '''


def test_changed_params_or_code_of_a_removed_temp_reruns_it_and_its_readers(tmp_path):
    write(tmp_path / "Snakefile", REMOVED_TEMP)
    assert rk(tmp_path, "run", "-q").returncode == 0
    assert not (tmp_path / "mid.txt").exists()
    assert "Nothing to do" in rk(tmp_path, "plan").stdout
    plan = rk(tmp_path, "plan", "--config", "factor=5").stdout
    assert "param factor changed: 1 -> 5" in plan
    assert "final             final.txt  input made by mid, which runs" in plan
    assert rk(tmp_path, "run", "-q", "--config", "factor=5").returncode == 0
    assert (tmp_path / "final.txt").read_text() == "5\n"
    assert not (tmp_path / "mid.txt").exists()
    assert "Nothing to do" in rk(tmp_path, "plan", "--config", "factor=5").stdout
    write(tmp_path / "Snakefile", REMOVED_TEMP.replace("echo {params.factor}",
                                                       "echo x{params.factor}"))
    plan = rk(tmp_path, "plan", "--config", "factor=5").stdout
    assert "rule code changed (" in plan
    assert rk(tmp_path, "run", "-q", "--config", "factor=5").returncode == 0
    assert (tmp_path / "final.txt").read_text() == "x5\n"
    assert "Nothing to do" in rk(tmp_path, "run", "--config", "factor=5").stdout


def test_clean_keeps_files_rulekit_has_no_record_of_making(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule all:
            input: "a.out", "b.out"
        rule make:
            input: "{s}.in"
            output: "{s}.out"
            shell: "cp {input} {output}"
        ''')
    for name in ("a.in", "b.in"):
        (tmp_path / name).write_text("x\n")
    assert rk(tmp_path, "run", "-q", "b.out").returncode == 0
    (tmp_path / "a.out").write_text("mine\n")   # made by hand, newer than a.in
    dry = rk(tmp_path, "clean", "-n")
    assert dry.returncode == 0
    assert dry.stdout == ("would remove b.out\n"
                          "kept a.out: no record that rulekit made it\n"
                          "Kept 1 file with no record; 'rulekit clean --all' removes them "
                          "too.\n")
    done = rk(tmp_path, "clean")
    assert done.returncode == 0
    assert done.stdout == ("removed b.out\n"
                           "kept a.out: no record that rulekit made it\n"
                           "Kept 1 file with no record; 'rulekit clean --all' removes them "
                           "too.\n")
    assert (tmp_path / "a.out").read_text() == "mine\n" and not (tmp_path / "b.out").exists()
    forced = rk(tmp_path, "clean", "--all")
    assert forced.returncode == 0 and forced.stdout == "removed a.out\n"
    assert not (tmp_path / "a.out").exists()
    assert rk(tmp_path, "clean").stdout == "Nothing to clean.\n"


def test_a_deleted_benchmark_file_reruns_its_job(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule make:
            output: "out.txt"
            benchmark: "bench/make.tsv"
            shell: "echo hi > {output}"
        ''')
    assert rk(tmp_path, "run", "-q").returncode == 0
    assert (tmp_path / "bench" / "make.tsv").read_text().startswith("s\th:m:s\tmax_rss")
    assert "Nothing to do" in rk(tmp_path, "run").stdout
    (tmp_path / "bench" / "make.tsv").unlink()
    plan = rk(tmp_path, "plan").stdout
    assert "make             out.txt  missing output bench/make.tsv\n" in plan
    assert rk(tmp_path, "run", "-q").returncode == 0
    assert (tmp_path / "bench" / "make.tsv").exists()
    assert "Nothing to do" in rk(tmp_path, "run").stdout


@pytest.mark.parametrize(("script", "example"), [
    ("s.R", "Rscript s.R {input} {output}"),
    ("s.sh", "bash s.sh {input} {output}"),
    ("s.jl", "julia s.jl {input} {output}"),
    ("s.Rmd", "Rscript -e 'rmarkdown::render(commandArgs(TRUE)[1])' s.Rmd"),
    ("s.ipynb", "jupyter nbconvert --to notebook --execute s.ipynb {input} {output}"),
])
def test_script_in_another_language_is_a_load_error(tmp_path, script, example):
    write(tmp_path / "Snakefile", f'''
        rule a:
            output: "o.txt"
            script: "{script}"
        ''')
    (tmp_path / script).write_text("")
    for command in ("check", "run", "plan"):
        res = rk(tmp_path, command)
        assert res.returncode == 2
        assert res.stderr == (
            f"Snakefile:3:13: error: script: runs Python files (*.py) only, not '{script}'\n"
            f'        script: "{script}"\n'
            "                ^\n"
            f'  hint: call it from shell: instead, e.g. shell: "{example}" (the path is '
            "relative to the working directory there)\n")
    assert not (tmp_path / "o.txt").exists()


def test_provenance_of_folder_contents_absolute_outputs_and_unknown_files(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "outside.txt"
    write(work / "Snakefile", f'''
        rule all:
            input: "d", "{outside}"
        rule unpack:
            output: directory("d")
            shell: "mkdir -p {{output}}; echo x > {{output}}/x.txt"
        rule absol:
            output: "{outside}"
            shell: "echo a > {{output}}"
        ''')
    assert rk(work, "run", "-q").returncode == 0
    inside = rk(work, "provenance", "d/x.txt")
    assert inside.returncode == 0
    lines = inside.stdout.splitlines()
    assert lines[0] == "d/x.txt  [inside d/, a directory() output]"
    assert lines[1] == "  d  <- rule unpack"
    absolute = rk(work, "provenance", str(outside))
    assert absolute.returncode == 0
    assert absolute.stdout.splitlines()[0] == f"{outside}  <- rule absol"
    unknown = rk(work, "provenance", "nothere.txt")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.startswith("error: no such file and no record: nothere.txt\n")


def test_the_working_directory_as_a_target_is_named_as_such(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule a:
            output: "o.txt"
            shell: "touch {output}"
        ''')
    res = rk(tmp_path, "run", ".")
    assert res.returncode == 2
    assert res.stderr.startswith(
        "error: no rule can make '.': it is the working directory itself, not a file a rule "
        "makes\n")
    assert ("  hint: give output files or rule names as targets, or none for the default "
            "target (rule a)\n") in res.stderr


def test_wildcards_in_a_rule_without_wildcards_says_so(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule a:
            output: "o.txt"
            shell: "touch {wildcards.s} {output}"
        ''')
    res = rk(tmp_path, "check")
    assert res.returncode == 2
    assert res.stderr == (
        "Snakefile:3:12: error: rule a: shell command refers to {wildcards.s}, but this rule "
        "has no wildcards\n"
        '        shell: "touch {wildcards.s} {output}"\n'
        "               ^\n"
        "  hint: its output paths have no {name} parts; write the value itself, or put {s} "
        "in the output paths\n")


def test_a_job_skipped_for_identical_rebuilt_inputs_is_not_counted_as_done(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule all:
            input: "b.txt"
        rule a:
            input: "raw.txt"
            output: "a.txt"
            shell: "wc -l < {input} > {output}"
        rule b:
            input: "a.txt"
            output: "b.txt"
            shell: "cp {input} {output}"
        ''')
    (tmp_path / "raw.txt").write_text("x\ny\n")
    assert rk(tmp_path, "run", "-q", "--rerun-triggers", "checksum").returncode == 0
    (tmp_path / "raw.txt").write_text("p\nq\n")   # same line count: a.txt comes out the same
    res = rk(tmp_path, "run", "--rerun-triggers", "checksum")
    assert res.returncode == 0
    assert "skip  b (inputs rebuilt with identical content)" in res.stdout
    assert "b          1       0       0" in res.stdout
    assert "rulekit: ok: 2 of 3 jobs done, 1 skipped (up to date) in " in res.stdout


def test_a_failed_shell_job_shows_its_command(tmp_path):
    write(tmp_path / "Snakefile", '''
        rule a:
            output: "o.txt"
            shell: "echo hello; exit 3"
        ''')
    res = rk(tmp_path, "run")
    assert res.returncode == 1
    assert ("  shell command failed (exit status 3)\n"
            "  command: echo hello; exit 3\n"
            "  output (last lines):\n"
            "      hello\n") in res.stderr


SLOW_WRITER = '''
    rule slow:
        output: "out.txt"
        shell: "echo start > {output}; for i in $(seq 1 60); do echo $i >> progress.txt; sleep 0.25; done"
    '''


@pytest.mark.slow
@pytest.mark.parametrize("cluster", ["local", "external"])
def test_dask_shell_job_dies_with_a_killed_driver(tmp_path, cluster):
    """kill -9 of rulekit (the driver alone): the shell job on the Dask worker stops within
    about a second, whether the worker dies with the driver (a LocalCluster) or lives on (an
    external cluster); the output stays incomplete and the next plan rebuilds it."""
    import signal
    import socket
    import time

    pytest.importorskip("distributed")
    write(tmp_path / "Snakefile", SLOW_WRITER)
    procs: list[subprocess.Popen[bytes]] = []
    args = ["run", "--executor", "dask", "--cores", "1"]
    try:
        if cluster == "external":
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            address = f"tcp://127.0.0.1:{port}"
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                 "127.0.0.1", "--port", str(port), "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads",
                 "1", "--no-dashboard"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True))
            args += ["--scheduler", address]
        driver = subprocess.Popen([sys.executable, "-m", "rulekit", *args], cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        procs.append(driver)
        progress = tmp_path / "progress.txt"
        _wait_for(lambda: progress.exists() and progress.read_text().count("\n") >= 2, 90)
        driver.send_signal(signal.SIGKILL)   # the driver process only, not its group
        driver.wait()
        time.sleep(2.5)
        lines = progress.read_text().count("\n")
        time.sleep(2)
        assert progress.read_text().count("\n") == lines < 60
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    plan = rk(tmp_path, "plan").stdout
    assert "output out.txt is incomplete (an earlier run was interrupted or failed)" in plan
