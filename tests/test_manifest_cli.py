"""The committed content manifest (issue 15): `rulekit manifest`, content judgement of jobs
without store records, and a fresh git clone whose inputs look newer than its outputs."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jobhelp import rk, run_ok, write

# each test makes a git repository and runs rulekit several times: seconds each
pytestmark = [pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
              pytest.mark.slow]

RULES = '''\
SAMPLES = ["a", "b"]

rule all:
    input: expand("out/{s}.count", s=SAMPLES)

rule count:
    input: "zdata/{s}.txt"
    output: "out/{s}.count"
    params: n=1
    shell: "wc -c < {input} | tr -d ' ' > {output}"
'''


def blake(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env,
                         check=False)
    assert res.returncode == 0, res.stderr
    return res.stdout


def make_origin(root: Path) -> Path:
    """A repository with the rule file, inputs, outputs made by a run, and the manifest."""
    origin = root / "origin"
    write(origin, {"Rulesfile": RULES, "zdata/a.txt": "alpha\n", "zdata/b.txt": "beta\n"})
    run_ok(origin)
    made = rk(origin, "manifest")
    assert made.returncode == 0, made.stderr
    assert made.stdout == "rulekit.manifest: 2 jobs written (2 new)\n"
    git(origin, "init", "-q")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "results")
    return origin


def clone_with_newer_inputs(origin: Path, dest: Path) -> Path:
    """A clone in which every input is newer than every output (what checkout order does to
    `zdata/` against `out/` in many fresh clones)."""
    git(origin.parent, "clone", "-q", str(origin), str(dest))
    for path in (dest / "out").iterdir():
        os.utime(path, (1_600_000_000, 1_600_000_000))
    for path in (dest / "zdata").iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return dest


def test_manifest_text_is_one_sorted_entry_per_job(tmp_path: Path) -> None:
    origin = make_origin(tmp_path)
    code = _code_hash_of(origin)
    text = (origin / "rulekit.manifest").read_text()
    body = text[text.index("rulekit-manifest 1\n"):]
    assert body == (
        "rulekit-manifest 1\n"
        "\n"
        "job count\n"
        "  wildcard s a\n"
        '  params {"n": 1}\n'
        f"  code {code}\n"
        f"  in {blake(b'alpha' + bytes([10]))} 6 zdata/a.txt\n"
        f"  out {blake(b'6' + bytes([10]))} 2 out/a.count\n"
        "\n"
        "job count\n"
        "  wildcard s b\n"
        '  params {"n": 1}\n'
        f"  code {code}\n"
        f"  in {blake(b'beta' + bytes([10]))} 5 zdata/b.txt\n"
        f"  out {blake(b'5' + bytes([10]))} 2 out/b.count\n")
    assert text.startswith("# rulekit.manifest")
    # the store never gets committed: .rulekit/ carries its own .gitignore
    assert (origin / ".rulekit" / ".gitignore").read_text() == "*\n"
    assert ".rulekit" not in git(origin, "ls-files")
    assert git(origin, "status", "--porcelain") == ""


def _code_hash_of(folder: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "import rulekit,sys; wf = rulekit.load(sys.argv[1]); "
         "print(wf.model.rules['count'].code_hash)", str(folder / "Rulesfile")],
        capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_fresh_clone_plan_check_by_content(tmp_path: Path) -> None:
    origin = make_origin(tmp_path)
    clone = clone_with_newer_inputs(origin, tmp_path / "clone")
    assert not (clone / ".rulekit").exists()

    # without the manifest the clone looks stale: this is the problem being solved
    (clone / "rulekit.manifest").rename(clone / "aside")
    stale = rk(clone, "plan", "--check")
    assert stale.returncode == 1 and "older than input zdata/a.txt" in stale.stdout
    (clone / "aside").rename(clone / "rulekit.manifest")
    shutil.rmtree(clone / ".rulekit")

    fresh = rk(clone, "plan", "--check")
    assert (fresh.returncode, fresh.stdout, fresh.stderr) == (
        0, "Nothing to do: all outputs are up to date.\n", "")

    # same size, new content: the hash decides; a touched file with the same bytes does not
    (clone / "zdata" / "a.txt").write_text("ALPHA\n")
    os.utime(clone / "zdata" / "b.txt")
    changed = rk(clone, "plan", "--check")
    assert changed.returncode == 1
    assert changed.stdout.splitlines()[:2] == [
        "rule   wildcards  outputs      reasons",
        "count  s=a        out/a.count  content of input zdata/a.txt differs from "
        f"rulekit.manifest ({blake(b'alpha' + bytes([10]))[:12]} -> "
        f"{blake(b'ALPHA' + bytes([10]))[:12]})",
    ]
    assert "s=b" not in changed.stdout

    # a run makes it again and refreshes only that job's entry
    before = (clone / "rulekit.manifest").read_text()
    run_ok(clone)
    after = (clone / "rulekit.manifest").read_text()
    assert after == before.replace(blake(b"alpha\n"), blake(b"ALPHA\n"))
    assert rk(clone, "plan", "--check").returncode == 0
    diff = git(clone, "diff", "--stat")
    assert "rulekit.manifest | 2 +-" in diff


def test_clone_judges_params_code_and_edited_outputs(tmp_path: Path) -> None:
    origin = make_origin(tmp_path)
    clone = clone_with_newer_inputs(origin, tmp_path / "clone")
    (clone / "out" / "b.count").write_text("9\n")      # an output edited by hand
    rules = RULES.replace("n=1", "n=2")
    (clone / "Rulesfile").write_text(rules)
    plan = rk(clone, "plan", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    import json

    kinds = {job["wildcards"]["s"]: [r["kind"] for r in job["reasons"]]
             for job in json.loads(plan.stdout)["jobs"] if job["rule"] == "count"}
    assert kinds == {"a": ["params-changed"], "b": ["content-changed", "params-changed"]}
    texts = [r["text"] for job in json.loads(plan.stdout)["jobs"] for r in job["reasons"]]
    assert "param n changed: 1 -> 2" in texts
    assert any(t.startswith("content of output out/b.count differs from rulekit.manifest")
               for t in texts)
    (clone / "Rulesfile").write_text(rules.replace("tr -d ' '", "tr -d '  '"))
    (clone / "out" / "b.count").write_text("5\n")
    plan = rk(clone, "plan")
    assert "rule code changed" in plan.stdout


def test_hashes_are_cached_by_size_and_mtime(tmp_path: Path) -> None:
    """Once a file is hashed, the store knows its hash for its size and mtime: a plan hashes
    only files whose size or mtime differs from what the store knows."""
    origin = make_origin(tmp_path)
    clone = clone_with_newer_inputs(origin, tmp_path / "clone")
    assert rk(clone, "plan", "--check").returncode == 0
    # same size and mtime, other bytes: the cached hash is believed (no rehash)
    path = clone / "zdata" / "a.txt"
    st = path.stat()
    path.write_text("ALPHA\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert rk(clone, "plan", "--check").returncode == 0
    # a new mtime makes it hash again and see the change
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert rk(clone, "plan", "--check").returncode == 1


def test_jobs_missing_from_the_manifest_are_judged_by_time_with_a_warning(tmp_path: Path) -> None:
    origin = make_origin(tmp_path)
    text = (origin / "rulekit.manifest").read_text()
    cut = text.index("job count\n  wildcard s b")
    (origin / "rulekit.manifest").write_text(text[:cut].rstrip("\n") + "\n")
    git(origin, "commit", "-q", "-am", "drop b")
    clone = clone_with_newer_inputs(origin, tmp_path / "clone")
    res = rk(clone, "plan", "--check")
    assert res.returncode == 1
    assert "s=a" not in res.stdout and "older than input zdata/b.txt" in res.stdout
    assert res.stderr == ("warning: 1 job with outputs but no record is not in "
                          "rulekit.manifest (count[s=b]): judged by timestamps; "
                          "`rulekit manifest` adds it\n")
    # `rulekit manifest` lists only up-to-date jobs: b is stale here, so it stays out
    made = rk(clone, "manifest")
    assert made.returncode == 0
    assert made.stderr.splitlines()[-1] == (
        "warning: 1 job is not up to date, so its entry is not written: count[s=b]; "
        "run it first")
    assert made.stdout == "rulekit.manifest: 1 job written (1 unchanged)\n"


def test_a_broken_manifest_is_an_error_with_its_line(tmp_path: Path) -> None:
    origin = make_origin(tmp_path)
    path = origin / "rulekit.manifest"
    lines = path.read_text().splitlines(keepends=True)
    at = lines.index("job count\n")
    lines.insert(at, "<<<<<<< HEAD\n")
    path.write_text("".join(lines))
    shutil.rmtree(origin / ".rulekit")
    res = rk(origin, "plan")
    assert res.returncode == 2
    assert res.stderr.splitlines()[:3] == [
        f"rulekit.manifest:{at + 1}:1: error: unexpected line in rulekit.manifest",
        "    <<<<<<< HEAD",
        "    ^",
    ]
    assert "hint:" in res.stderr and "rulekit manifest" in res.stderr
    assert "Traceback" not in res.stderr


def test_no_manifest_no_new_files(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": RULES, "zdata/a.txt": "alpha\n", "zdata/b.txt": "beta\n"})
    run_ok(tmp_path)
    assert not (tmp_path / "rulekit.manifest").exists()
    assert rk(tmp_path, "plan", "--check").returncode == 0
    assert not (tmp_path / "rulekit.manifest").exists()


DIRS = '''\
rule all:
    input: "out/split", "out/with space.txt"

rule split:
    input: "zdata/in.txt"
    output: directory("out/split")
    shell: "mkdir -p {output}/sub && cp {input} {output}/one.txt && cp {input} {output}/sub/two.txt"

rule spaced:
    input: "zdata/in.txt"
    output: "out/with space.txt"
    shell: "cp {input} {output:q}"
'''


def test_folders_and_odd_paths_round_trip(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    write(origin, {"Rulesfile": DIRS, "zdata/in.txt": "data\n"})
    run_ok(origin)
    assert rk(origin, "manifest").returncode == 0
    text = (origin / "rulekit.manifest").read_text()
    assert " - out/split\n" in text and ' 5 "out/with space.txt"\n' not in text
    assert " 5 out/with space.txt\n" in text
    git(origin, "init", "-q")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "results")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    for path in (clone / "out").rglob("*"):
        os.utime(path, (1_600_000_000, 1_600_000_000))
    os.utime(clone / "zdata" / "in.txt", (1_700_000_000, 1_700_000_000))
    assert rk(clone, "plan", "--check").returncode == 0
    (clone / "out" / "split" / "sub" / "two.txt").write_text("edited\n")
    res = rk(clone, "plan", "--check")
    assert res.returncode == 1
    assert "content of output out/split differs from rulekit.manifest" in res.stdout
    assert "spaced" not in res.stdout


def test_a_plan_hashes_only_what_the_store_does_not_know(tmp_path: Path, monkeypatch) -> None:
    """Counted in process: the first plan of a clone hashes each listed file once, the next
    none, and after one input changes, that input alone."""
    import rulekit
    from rulekit.planning import content

    origin = make_origin(tmp_path)
    clone = clone_with_newer_inputs(origin, tmp_path / "clone")
    hashed: list[str] = []
    real = content.file_checksum

    def counting(path: str) -> str:
        hashed.append(os.path.relpath(path, clone))
        return real(path)

    monkeypatch.setattr(content, "file_checksum", counting)
    wf = rulekit.load(clone / "Rulesfile")
    assert wf.plan().is_empty
    assert sorted(hashed) == ["out/a.count", "out/b.count", "zdata/a.txt", "zdata/b.txt"]
    hashed.clear()
    assert wf.plan().is_empty
    assert hashed == []
    (clone / "zdata" / "b.txt").write_text("BETA\n")
    assert [p.job.name for p in wf.plan()] == ["count[s=b]", "all"]
    assert hashed == ["zdata/b.txt"]


def test_refresh_only_after_successful_runs(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": RULES, "zdata/a.txt": "alpha\n", "zdata/b.txt": "beta\n"})
    run_ok(tmp_path)
    assert rk(tmp_path, "manifest").returncode == 0
    manifest = tmp_path / "rulekit.manifest"
    before = manifest.read_text()
    (tmp_path / "zdata" / "a.txt").write_text("longer alpha\n")
    assert rk(tmp_path, "run", "-n").returncode == 0
    assert manifest.read_text() == before                     # a dry run writes nothing
    broken = RULES.replace("wc -c < {input}", "exit 1; wc -c < {input}")
    (tmp_path / "Rulesfile").write_text(broken)
    assert rk(tmp_path, "run").returncode == 1
    assert manifest.read_text() == before                     # nor does a failed run
    (tmp_path / "Rulesfile").write_text(RULES)
    assert rk(tmp_path, "run", "--touch").returncode == 0     # --touch marks jobs done
    after = manifest.read_text()
    assert blake(b"longer alpha\n") in after and blake(b"alpha\n") not in after


def test_manifest_with_targets_keeps_other_entries(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": RULES, "zdata/a.txt": "alpha\n", "zdata/b.txt": "beta\n"})
    run_ok(tmp_path)
    assert rk(tmp_path, "manifest", "out/b.count").stdout == \
        "rulekit.manifest: 1 job written (1 new)\n"
    assert rk(tmp_path, "manifest", "out/a.count").stdout == \
        "rulekit.manifest: 1 job written (1 new)\n"
    assert (tmp_path / "rulekit.manifest").read_text().count("job count\n") == 2
    text = RULES.replace('SAMPLES = ["a", "b"]', 'SAMPLES = ["a"]')
    (tmp_path / "Rulesfile").write_text(text)
    assert rk(tmp_path, "manifest").stdout == \
        "rulekit.manifest: 1 job written (1 unchanged, 1 dropped)\n"


def test_concurrent_runs_both_refresh_the_manifest(tmp_path: Path) -> None:
    write(tmp_path, {"Rulesfile": RULES, "zdata/a.txt": "alpha\n", "zdata/b.txt": "beta\n"})
    run_ok(tmp_path)
    assert rk(tmp_path, "manifest").returncode == 0
    (tmp_path / "zdata" / "a.txt").write_text("new alpha\n")
    (tmp_path / "zdata" / "b.txt").write_text("new beta\n")
    procs = [subprocess.Popen([sys.executable, "-m", "rulekit", "run", target], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for target in ("out/a.count", "out/b.count")]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
    text = (tmp_path / "rulekit.manifest").read_text()
    assert blake(b"new alpha\n") in text and blake(b"new beta\n") in text
    assert (tmp_path / ".rulekit-locks" / ".gitignore").read_text() == "*\n"
