"""Issue 11 items 1-5 and 18: Snakefiles written for Snakemake load and run unchanged.

Each test writes a small Snakefile in Snakemake's style into a temp folder, runs
`rulekit run` twice through the CLI (the second run must plan nothing) and checks files.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def rulekit(*args, cwd):
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def run_twice(folder: Path, *args: str) -> subprocess.CompletedProcess:
    args = args or ("--cores", "2")
    first = rulekit("run", *args, cwd=folder)
    assert first.returncode == 0, first.stdout + first.stderr
    second = rulekit("run", *args, cwd=folder)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Nothing to do" in second.stdout, second.stdout
    return first


def test_predefined_names_and_rule_folder_on_sys_path(tmp_path):
    write(tmp_path, {
        "helper.py": "def shout(text):\n    return text.upper()\n",
        "Snakefile": """
            import helper

            SAMPLES = sorted(re.sub(r"\\.txt$", "", os.path.basename(p))
                             for p in glob.glob("data/*.txt"))
            OUT = Path("out")

            rule all:
                input: expand("out/{s}.upper", s=SAMPLES), "out/env.txt"

            rule upper:
                input: "data/{s}.txt"
                output: "out/{s}.upper"
                run:
                    with open(output[0], "w") as fh:
                        fh.write(helper.shout(Path(input[0]).read_text()))

            rule env:
                output: OUT / "env.txt"
                run:
                    with open(output[0], "w") as fh:
                        fh.write(f"{sys.version_info.major} {json.dumps([1])}\\n")
            """,
        "data/a.txt": "a\n", "data/b.txt": "b\n",
    })
    run_twice(tmp_path)
    assert (tmp_path / "out/a.upper").read_text() == "A\n"
    assert (tmp_path / "out/b.upper").read_text() == "B\n"
    assert (tmp_path / "out/env.txt").read_text() == f"{sys.version_info.major} [1]\n"


def test_path_objects_everywhere(tmp_path):
    write(tmp_path, {
        "Snakefile": """
            from pathlib import Path

            configfile: Path("config.yaml")

            IDS = glob_wildcards(Path("in") / "{id}.csv").id

            rule all:
                input: Path("res") / "merged.txt", directory(Path("res/folder")), "res/extra.txt"

            include: Path("rules") / "extra.smk"

            def pick(wildcards):
                return Path("in") / f"{wildcards.id}.csv"

            rule copy:
                input: pick
                output: Path("res") / "{id}.copy"
                log: Path("logs") / "{id}.log"
                benchmark: Path("bench") / "{id}.tsv"
                shell: "cp {input} {output} && echo done > {log}"

            rule merge:
                input: [Path("res") / f"{i}.copy" for i in IDS]
                output: Path("res") / "merged.txt"
                params: n=config["n"]
                shell: "cat {input} > {output} && echo {params.n} >> {output}"

            rule folder:
                output: directory(Path("res") / "folder")
                shell: "mkdir -p {output} && touch {output}/x"
            """,
        "rules/extra.smk": """
            rule extra:
                output: Path("res/extra.txt")
                shell: "echo extra > {output}"
            """,
        "config.yaml": "n: 7\n",
        "in/a.csv": "1\n", "in/b.csv": "2\n",
    })
    run_twice(tmp_path)
    assert (tmp_path / "res/merged.txt").read_text() == "1\n2\n7\n"
    assert (tmp_path / "logs/a.log").read_text() == "done\n"
    assert (tmp_path / "bench/b.tsv").exists()
    assert (tmp_path / "res/folder/x").exists()
    assert (tmp_path / "res/extra.txt").read_text() == "extra\n"


def test_io_path_methods_and_checkpoint_open(tmp_path):
    write(tmp_path, {
        "Snakefile": """
            rule all:
                input: "report.txt", "total.txt"

            rule report:
                input: data="big.bin"
                output: "report.txt"
                resources: mem_mb=lambda wildcards, input: max(int(input.size_mb * 100), 100)
                params: size=lambda wildcards, input: input.data.size
                run:
                    assert input.data.exists() and not Path("nope").exists()
                    assert input[0].mtime > 0 and input.size_gb < 1
                    with input.data.open("rb") as fh:
                        first = fh.read(1)
                    with output[0].open("w") as out:
                        out.write(f"{params.size} {input.data.size_mb:.0f} "
                                  f"{resources.mem_mb} {first.decode()}\\n")

            checkpoint count:
                output: "n.txt"
                shell: "echo 3 > {output}"

            def parts(wildcards):
                with checkpoints.count.get().output[0].open() as fh:
                    n = int(fh.read())
                return [f"part{i}.txt" for i in range(n)]

            rule part:
                output: "part{i}.txt"
                shell: "echo {wildcards.i} > {output}"

            rule total:
                input: parts
                output: "total.txt"
                shell: "cat {input} > {output}"
            """,
    })
    (tmp_path / "big.bin").write_bytes(b"x" * 2 * 1024 * 1024)
    run_twice(tmp_path)
    assert (tmp_path / "report.txt").read_text() == f"{2 * 1024 * 1024} 2 200 x\n"
    assert (tmp_path / "total.txt").read_text() == "0\n1\n2\n"


def test_snakemake_compat_module(tmp_path):
    write(tmp_path, {
        "Snakefile": """
            from snakemake.utils import min_version, update_config, validate
            from snakemake import __version__
            import snakemake

            min_version("6.0")
            configfile: "config.yaml"
            validate(config, "schema.yaml")
            update_config(config, {"deep": {"b": 2}})

            rule all:
                output: "out.txt"
                run:
                    with open(output[0], "w") as fh:
                        fh.write(f"{config['deep']} {config['threshold']} "
                                 f"{__version__ == snakemake.__version__}\\n")
            """,
        "config.yaml": "deep: {a: 1}\n",
        "schema.yaml": """
            type: object
            properties:
              threshold: {type: number, default: 0.5}
              deep: {type: object}
            required: [deep]
            """,
    })
    run_twice(tmp_path)
    assert (tmp_path / "out.txt").read_text() == "{'a': 1, 'b': 2} 0.5 True\n"


def test_validate_failure_points_at_the_line(tmp_path):
    write(tmp_path, {
        "Snakefile": """
            from snakemake.utils import validate
            config["threshold"] = "high"
            validate(config, "schema.yaml")
            rule all:
                output: "x"
                shell: "touch {output}"
            """,
        "schema.yaml": "properties:\n  threshold: {type: number}\n",
    })
    result = rulekit("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "Snakefile:3:" in result.stderr
    assert "config.threshold: 'high' is not of type number" in result.stderr
    assert "Traceback" not in result.stderr


def test_workflow_attributes_threads_and_priority(tmp_path):
    write(tmp_path, {
        "Snakefile": """
            if workflow.is_main_process:
                print("loading in the main process")

            SCRIPT = workflow.source_path("scripts/hello.sh")

            rule all:
                input: "a.txt", "b.txt", "c.txt", "d.txt"

            rule a:
                output: "zero.txt"
                threads: 0
                shell: "echo {threads} > {output}"

            rule b:
                input: "zero.txt"
                output: "a.txt"
                threads: workflow.cores * 0.75
                priority: lambda wildcards: 5
                shell: "cat {input} > {output} && echo {threads} >> {output}"

            rule c:
                output: "b.txt"
                threads: 1.9
                params: base=workflow.basedir, cores=workflow.cores
                shell: "echo {threads} {params.cores} > {output} && test -d {params.base}"

            rule d:
                output: "c.txt"
                params: script=SCRIPT
                shell: "bash {params.script} > {output}"

            rule e:
                output: "d.txt"
                run:
                    with open(output[0], "w") as fh:
                        fh.write(str(workflow.is_main_process))
            """,
        "scripts/hello.sh": "echo hello\n",
    })
    first = run_twice(tmp_path, "--cores", "4")
    assert "loading in the main process" in first.stdout
    assert (tmp_path / "a.txt").read_text() == "0\n3\n"   # threads: 0 as in Snakemake
    assert (tmp_path / "b.txt").read_text() == "1 4\n"
    assert (tmp_path / "c.txt").read_text() == "hello\n"
    assert (tmp_path / "d.txt").read_text() == "False"


def test_shell_read_and_iterable_with_absolute_path_input(tmp_path):
    write(tmp_path, {"Snakefile": """
        from pathlib import Path

        rule:
            input: Path("test.in").resolve()
            output: Path("test.out")
            run:
                test = shell("echo 42;", read=True)
                assert int(test) == 42
                with open(output[0], "w") as f:
                    for line in shell("cat {input}", iterable=True):
                        print(line.upper(), file=f)
        """, "test.in": "a\nb\n"})
    run_twice(tmp_path)
    assert (tmp_path / "test.out").read_text() == "A\nB\n"


def test_temporary_is_temp(tmp_path):
    write(tmp_path, {"Snakefile": """
        rule all:
            input: "final.txt"

        rule a:
            output: temporary("between.txt")
            shell: "echo 1 > {output}"

        rule b:
            input: "between.txt"
            output: "final.txt"
            shell: "cat {input} > {output}"
        """})
    result = rulekit("run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "final.txt").read_text() == "1\n"
    assert not (tmp_path / "between.txt").exists()


def test_logger_and_workflow_error(tmp_path):
    write(tmp_path, {"Snakefile": """
        logger.info(f"samples: {config.get('n', 2)}")
        if config.get("fail"):
            raise WorkflowError("config says fail")
        rule all:
            output: "x"
            shell: "touch {output}"
        """})
    result = rulekit("run", cwd=tmp_path)
    assert result.returncode == 0 and "samples: 2" in result.stderr
    failed = rulekit("run", "--config", "fail=True", cwd=tmp_path)
    assert failed.returncode == 2
    assert "Snakefile:3:5: error: WorkflowError: config says fail" in failed.stderr


@pytest.mark.parametrize("text", ["", "import os\nX = 1\n"])
def test_workflow_without_rules_has_nothing_to_do(tmp_path, text):
    (tmp_path / "Snakefile").write_text(text)
    for _ in range(2):
        result = rulekit("run", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Nothing to do" in result.stdout
    assert rulekit("plan", cwd=tmp_path).returncode == 0
