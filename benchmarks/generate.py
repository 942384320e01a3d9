"""Generate identical benchmark workflows for rulekit, Snakemake and GNU make.

The rule-file text given to rulekit (``Rulesfile``) and to Snakemake (``Snakefile``) is
byte-for-byte the same; make gets an equivalent ``Makefile``.

Workflows (N = size):

* ``chain``: N samples, rules a: raw/{s}.txt -> a/{s}.txt, b: a -> b, c: b -> c, and one
  aggregate rule ``agg`` taking every c/{s}.txt -> result.txt (3N+1 jobs).  raw/ exists.
* ``fan``: one input split into N parts by one ``split`` job, N parallel ``work`` jobs and
  one ``merge`` (N+2 jobs).  input.txt exists.
* ``wide``: N rules of one job each, plus a target rule ``all`` (N jobs + the target).

Each in two body variants: ``shell`` (``cp {input} {output}`` / ``touch {output}``) and
``run`` (a trivial Python body writing the output).  Make has no Python bodies; its
Makefile is the same for both variants.

Usage as a script::

    python benchmarks/generate.py chain 1000 /tmp/chain --variant shell --tool all
    python benchmarks/generate.py big 1000 /tmp/big      # the 1,000-rule load-time file
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

WORKFLOWS = ("chain", "fan", "wide")
VARIANTS = ("shell", "run")
TOOLS = ("rulekit", "snakemake", "make")
RULE_FILE = {"rulekit": "Rulesfile", "snakemake": "Snakefile", "make": "Makefile"}

#: mtime given to pre-existing source files, so that outputs made later are newer.
SOURCE_AGE_S = 3600


@dataclass
class Generated:
    """What was written: the folder, the rule file, the final target and job count."""

    workflow: str
    size: int
    variant: str
    tool: str
    root: Path
    rule_file: Path
    target: str
    jobs: int
    outputs: list[str]  # every file a full build creates, in a valid build order


def sample_names(n: int) -> list[str]:
    return [f"s{i:06d}" for i in range(n)]


def _run_body(text_expr: str) -> str:
    """A `run:` body that writes ``text_expr`` to the rule's first output."""
    return (
        "    run:\n"
        '        with open(output[0], "w") as fh:\n'
        f"            fh.write({text_expr})\n"
    )


def _body(variant: str, shell: str, run: str) -> str:
    """The body line(s) of a rule: `shell: "<shell>"`, or the `run:` block `run`."""
    return f'    shell: "{shell}"' if variant == "shell" else run.rstrip("\n")


def _multi_run_body() -> str:
    return (
        "    run:\n"
        "        for path in output:\n"
        '            with open(path, "w") as fh:\n'
        '                fh.write("x\\n")\n'
    )


# --------------------------------------------------------------------------- chain


def chain_rules(n: int, variant: str) -> str:
    lines = [
        "# rulekit benchmark: chain workflow (3N+1 jobs)",
        f"N = {n}",
        'SAMPLES = [f"s{i:06d}" for i in range(N)]',
        "",
        "",
        "rule agg:",
        '    input: expand("c/{s}.txt", s=SAMPLES)',
        '    output: "result.txt"',
    ]
    lines.append(_body(variant, "touch {output}", _run_body("str(len(input)) + '\\n'")))
    for rule, src in (("a", "raw"), ("b", "a"), ("c", "b")):
        lines += [
            "",
            "",
            f"rule {rule}:",
            f'    input: "{src}/{{s}}.txt"',
            f'    output: "{rule}/{{s}}.txt"',
        ]
        lines.append(_body(variant, "cp {input} {output}", _run_body("wildcards.s + '\\n'")))
    return "\n".join(lines) + "\n"


#: No built-in implicit rules: without this, make tries dozens of implicit rules (RCS, SCCS,
#: yacc...) for every source file, which makes `make -n` at N=10,000 14x slower (12 s vs 0.9 s).
MAKE_PREAMBLE = "MAKEFLAGS += --no-builtin-rules\n.SUFFIXES:\n"


def chain_makefile(n: int) -> str:
    return (
        "# rulekit benchmark: chain workflow (3N+1 jobs) for GNU make\n"
        + MAKE_PREAMBLE +
        "SAMPLES := $(file < samples.txt)\n"
        "C := $(patsubst %,c/%.txt,$(SAMPLES))\n"
        "\n"
        "result.txt: $(C)\n"
        "\ttouch $@\n"
        "\n"
        "a/%.txt: raw/%.txt | a\n\tcp $< $@\n"
        "b/%.txt: a/%.txt | b\n\tcp $< $@\n"
        "c/%.txt: b/%.txt | c\n\tcp $< $@\n"
        "\n"
        "a b c:\n\tmkdir -p $@\n"
        "\n"
        ".SECONDARY:\n"  # keep intermediates; never delete a/ b/ files as 'intermediate'
    )


# --------------------------------------------------------------------------- fan


def part_names(n: int) -> list[str]:
    return [f"p{i:06d}" for i in range(n)]


def fan_rules(n: int, variant: str) -> str:
    lines = [
        "# rulekit benchmark: fan workflow (split -> N parallel jobs -> merge, N+2 jobs)",
        f"N = {n}",
        'PARTS = [f"p{i:06d}" for i in range(N)]',
        "",
        "",
        "rule merge:",
        '    input: expand("parts/{p}.out", p=PARTS)',
        '    output: "merged.txt"',
    ]
    lines.append(_body(variant, "touch {output}", _run_body("str(len(input)) + '\\n'")))
    lines += [
        "",
        "",
        "rule split:",
        '    input: "input.txt"',
        '    output: expand("parts/{p}.in", p=PARTS)',
    ]
    lines.append(_body(variant, "touch {output}", _multi_run_body()))
    lines += [
        "",
        "",
        "rule work:",
        '    input: "parts/{p}.in"',
        '    output: "parts/{p}.out"',
    ]
    lines.append(_body(variant, "cp {input} {output}", _run_body("wildcards.p + '\\n'")))
    return "\n".join(lines) + "\n"


def fan_makefile(n: int) -> str:
    return (
        "# rulekit benchmark: fan workflow (N+2 jobs) for GNU make\n"
        + MAKE_PREAMBLE +
        "PARTS := $(file < parts.txt)\n"
        "IN := $(patsubst %,parts/%.in,$(PARTS))\n"
        "OUT := $(patsubst %,parts/%.out,$(PARTS))\n"
        "\n"
        "merged.txt: $(OUT)\n"
        "\ttouch $@\n"
        "\n"
        "$(IN) &: input.txt\n"
        "\tmkdir -p parts\n"
        "\ttouch $(IN)\n"
        "\n"
        "parts/%.out: parts/%.in\n"
        "\tcp $< $@\n"
        "\n"
        ".SECONDARY:\n"
    )


# --------------------------------------------------------------------------- wide


def wide_rules(n: int, variant: str) -> str:
    lines = [
        "# rulekit benchmark: wide workflow (N rules of one job each)",
        "",
        "rule all:",
        f'    input: [f"out/w{{i:06d}}.txt" for i in range({n})]',
    ]
    for i in range(n):
        lines += [
            "",
            f"rule w{i:06d}:",
            f'    input: "raw/w{i:06d}.txt"',
            f'    output: "out/w{i:06d}.txt"',
        ]
        lines.append(_body(variant, "cp {input} {output}", _run_body("'x\\n'")))
    return "\n".join(lines) + "\n"


def wide_makefile(n: int) -> str:
    names = [f"w{i:06d}" for i in range(n)]
    out = ["# rulekit benchmark: wide workflow for GNU make (one explicit rule per file)",
           MAKE_PREAMBLE.rstrip("\n")]
    out.append("all: " + " ".join(f"out/{w}.txt" for w in names))
    out.append(".PHONY: all")
    out.append("out:\n\tmkdir -p $@")
    for w in names:
        out.append(f"out/{w}.txt: raw/{w}.txt | out\n\tcp $< $@")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- big file


def big_rules(n_rules: int = 1000) -> str:
    """A rule file of ``n_rules`` rules, each with input, output, params and shell."""
    parts = ["# rulekit benchmark: load time of a large rule file", 'REF = "ref/genome.fa"', ""]
    for i in range(n_rules):
        parts.append(
            f"rule r{i:04d}:\n"
            f'    input: "data/{{sample}}.r{i:04d}.in", ref=REF\n'
            f'    output: "out/{{sample}}.r{i:04d}.out"\n'
            f'    params: k={i}, label="step{i:04d}", prefix="out/{{sample}}"\n'
            f"    threads: 1\n"
            f'    shell: "cp {{input[0]}} {{output}} && echo {{params.label}} {{params.k}}"\n'
        )
    return "\n".join(parts)


# --------------------------------------------------------------------------- driver


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _make_sources(root: Path, rel_paths: list[str]) -> None:
    old = time.time() - SOURCE_AGE_S
    made_dirs: set[str] = set()
    for rel in rel_paths:
        d = os.path.dirname(rel)
        if d and d not in made_dirs:
            (root / d).mkdir(parents=True, exist_ok=True)
            made_dirs.add(d)
        p = root / rel
        p.write_text(rel + "\n")
        os.utime(p, (old, old))


def generate(workflow: str, size: int, root: str | os.PathLike, *, variant: str = "shell",
             tool: str = "rulekit") -> Generated:
    """Write ``workflow`` at ``size`` for ``tool`` into ``root`` (created if needed)."""
    if workflow not in WORKFLOWS:
        raise ValueError(f"unknown workflow {workflow!r}; choose from {WORKFLOWS}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; choose from {TOOLS}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rule_file = root / RULE_FILE[tool]

    if workflow == "chain":
        names = sample_names(size)
        _make_sources(root, [f"raw/{s}.txt" for s in names])
        if tool == "make":
            _write(root / "samples.txt", " ".join(names) + "\n")
            _write(rule_file, chain_makefile(size))
        else:
            _write(rule_file, chain_rules(size, variant))
        outputs = [f"{d}/{s}.txt" for d in ("a", "b", "c") for s in names] + ["result.txt"]
        target, jobs = "result.txt", 3 * size + 1
    elif workflow == "fan":
        names = part_names(size)
        _make_sources(root, ["input.txt"])
        if tool == "make":
            _write(root / "parts.txt", " ".join(names) + "\n")
            _write(rule_file, fan_makefile(size))
        else:
            _write(rule_file, fan_rules(size, variant))
        outputs = [f"parts/{p}.in" for p in names] + [f"parts/{p}.out" for p in names]
        outputs.append("merged.txt")
        target, jobs = "merged.txt", size + 2
    else:  # wide
        names = [f"w{i:06d}" for i in range(size)]
        _make_sources(root, [f"raw/{w}.txt" for w in names])
        if tool == "make":
            _write(rule_file, wide_makefile(size))
        else:
            _write(rule_file, wide_rules(size, variant))
        outputs = [f"out/{w}.txt" for w in names]
        target, jobs = "all", size + 1
    return Generated(workflow, size, variant, tool, root, rule_file, target, jobs, outputs)


def prebuild(gen: Generated) -> None:
    """Create every output in build order with increasing mtimes (no tool involved).

    Used for the no-op measurement when a tool's real full build would take too long.
    """
    base = time.time() - SOURCE_AGE_S / 2
    made_dirs: set[str] = set()
    for k, rel in enumerate(gen.outputs):
        d = os.path.dirname(rel)
        if d and d not in made_dirs:
            (gen.root / d).mkdir(parents=True, exist_ok=True)
            made_dirs.add(d)
        p = gen.root / rel
        p.write_text("x\n")
        t = base + k * 1e-3
        os.utime(p, (t, t))


def generate_big(root: str | os.PathLike, n_rules: int = 1000) -> Path:
    """Write the large rule file as ``big.rules`` in ``root``; return its path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "big.rules"
    path.write_text(big_rules(n_rules))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workflow", choices=(*WORKFLOWS, "big"))
    ap.add_argument("size", type=int)
    ap.add_argument("dest")
    ap.add_argument("--variant", choices=VARIANTS, default="shell")
    ap.add_argument("--tool", choices=(*TOOLS, "all"), default="all",
                    help="which tool's files to write; 'all' writes one sub-folder per tool")
    args = ap.parse_args(argv)
    if args.workflow == "big":
        print(generate_big(args.dest, args.size))
        return 0
    tools = TOOLS if args.tool == "all" else (args.tool,)
    for tool in tools:
        dest = Path(args.dest) / tool if args.tool == "all" else Path(args.dest)
        g = generate(args.workflow, args.size, dest, variant=args.variant, tool=tool)
        print(f"{tool}: {g.rule_file} ({g.jobs} jobs, target {g.target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
