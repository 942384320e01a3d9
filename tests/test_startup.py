"""Start-up cost (issue 12): `rulekit check` imports only what checking a rule file needs.

The guard runs the command in a fresh interpreter and then looks at `sys.modules`, so a
new top-level import of a heavy library (or of the planner, the store, the executor) in a
module `check` loads fails here instead of slowly adding milliseconds to every command.
"""

import ast
import os
import subprocess
import sys
import textwrap

RULES = """\
REF = "ref/genome.fa"

rule a:
    input: "data/{s}.in", ref=REF
    output: "out/{s}.a"
    params: k=1, label="step"
    threads: 1
    shell: "cp {input[0]} {output} && echo {params.label}"

rule b:
    input: "out/{s}.a"
    output: "out/{s}.b"
    run:
        with open(output[0], "w") as fh:
            fh.write("b")
"""

# Not needed to parse and check a rule file. `check` must not import them (directly or
# through a module it imports); they stay imported lazily where they are used.
NOT_FOR_CHECK = (
    "pandas", "networkx", "yaml", "rich", "distributed", "matplotlib", "docutils",
    "sqlite3", "filelock", "json", "subprocess", "tempfile", "logging", "hashlib", "pickle",
    "traceback", "importlib.resources", "lark", "rulekit.lang.parser", "rulekit.lang.userule",
    "rulekit.ui.overrides", "rulekit.planning.dag", "rulekit.planning.plan",
    "rulekit.state", "rulekit.execution", "rulekit.ui.api", "rulekit.ui.console",
)

_PROBE = textwrap.dedent("""
    import sys
    before = set(sys.modules)
    sys.argv = ["rulekit", "check", "-f", sys.argv[1]]
    from rulekit.ui.cli import main
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    new = sorted(set(sys.modules) - before)
    print(repr({"code": code, "modules": new}), file=sys.stderr)
""")


def _modules_after_check(folder):
    """What `rulekit check` imports for a rule file it has checked before (its syntax tree
    is then read from the parse cache)."""
    (folder / "Rulesfile").write_text(RULES)
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _PROBE, "Rulesfile"], cwd=folder, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.stdout == "Rulesfile: ok (2 rules)\n", out.stdout + out.stderr
    report = ast.literal_eval(out.stderr.strip().splitlines()[-1])
    assert report["code"] == 0
    return report["modules"]


def test_check_imports_nothing_it_does_not_need(tmp_path):
    modules = _modules_after_check(tmp_path)
    loaded = [m for m in NOT_FOR_CHECK if any(n == m or n.startswith(m + ".") for n in modules)]
    assert not loaded, f"rulekit check imported {loaded}"


def test_lazily_imported_names_work_in_rule_files(tmp_path):
    # subprocess, tempfile, json, hashlib, platform, glob and logger stand in the namespace
    # until first used (lang/preloaded.py): used without an import, they are the modules
    (tmp_path / "Rulesfile").write_text(textwrap.dedent("""\
        import types
        assert isinstance(json, types.ModuleType) and json.__name__ == "json"
        TOP = hashlib.sha256(b"x").hexdigest()[:8]
        logger.info("loaded " + TOP)

        rule all:
            input: "out.txt"

        rule one:
            output: "out.txt"
            run:
                folder = tempfile.mkdtemp()
                echo = subprocess.run(["echo", "hi"], capture_output=True, text=True).stdout
                with open(output[0], "w") as fh:
                    fh.write(json.dumps([echo.strip(), TOP, platform.system() != "",
                                         glob.glob(folder + "/*")]))
        """))
    first = subprocess.run([sys.executable, "-m", "rulekit", "run", "--cores", "1"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "loaded 2d711642\n" in first.stderr
    assert (tmp_path / "out.txt").read_text() == '["hi", "2d711642", true, []]'
    second = subprocess.run([sys.executable, "-m", "rulekit", "run", "--cores", "1"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and "Nothing to do" in second.stdout, second.stdout
