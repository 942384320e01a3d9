"""Benchmark rulekit against Snakemake and GNU make on identical generated workflows.

Example::

    python benchmarks/run.py --sizes 1000,10000 --tools rulekit,snakemake,make \\
        --repeat 3 --out benchmarks/results/latest.md

Metrics (median over --repeat runs; peak RSS is the largest over those runs):

* plan  - dry run from scratch, no outputs exist (rulekit plan / snakemake -n / make -n)
* noop  - the normal run command when everything is up to date
* exec  - full build with trivial bodies on --cores 2, reported as jobs/s (shell: and run:)
* plan json - the same dry run as ``plan --format json`` (rulekit; ratio against make -n)
* load  - wall time to parse and validate a generated 3-rule file (start-up: the median of
  at least 11 runs) and a 1,000-rule file
* replan - rulekit only: objects one process still holds after 200 ``load().plan()`` calls
  beyond those after 10 (and its RSS growth); see replan.py

``--only plan,noop`` picks metrics; ``--peers make`` compares rulekit with make alone and
puts the ratio to make next to each rulekit figure.

Only the standard library is used.  See docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as gen  # noqa: E402

HERE = Path(__file__).resolve().parent
CORES = 2
# Measured commands run as after a normal install: Python writes and reuses bytecode
# (with PYTHONDONTWRITEBYTECODE set, every rulekit process would compile its own modules
# again, 40-90 ms per command).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


# --------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    wall: float
    rss_mb: float
    rc: int | None  # None: timed out


def measure(cmd: list[str], cwd: Path, timeout: float) -> Sample:
    """Run ``cmd`` in ``cwd``; return wall time, peak RSS and exit code.

    Peak RSS comes from ``os.wait4``: on Linux it is the largest resident set of the
    process or any descendant it waited for (the biggest single process of the tree).
    On timeout the whole process group is killed and ``rc`` is None.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True, env=ENV)
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
    scale = 1024 if sys.platform != "darwin" else 1  # ru_maxrss: KiB on Linux, bytes on macOS
    rss_mb = ru.ru_maxrss * scale / 1e6
    return Sample(wall, rss_mb, None if timed_out.is_set() else proc.returncode)


@dataclass
class Result:
    """One cell: a tool's figure for (workflow, metric, size)."""

    value: float | None = None  # seconds, or jobs/s for exec
    rss_mb: float | None = None
    runs: int = 0
    note: str = ""  # "timeout", "failed (rc 2)", "skipped: ..."
    unit: str = "s"

    def text(self) -> str:
        if self.value is None:
            return self.note or "—"
        v = f"{self.value:.3g} {self.unit}" if self.value < 1000 else f"{self.value:.0f} {self.unit}"
        rss = f" · {self.rss_mb:.0f} MB" if self.rss_mb else ""
        extra = f" ({self.note})" if self.note else ""
        return f"{v}{rss}{extra}"


def summarise(samples: list[Sample], *, jobs: int | None = None) -> Result:
    bad = [s for s in samples if s.rc != 0]
    if bad:
        s = bad[0]
        return Result(note="timeout" if s.rc is None else f"failed (rc {s.rc})", runs=len(samples))
    wall = statistics.median(s.wall for s in samples)
    rss = max(s.rss_mb for s in samples)
    if jobs is not None:
        return Result(jobs / wall, rss, len(samples), unit="jobs/s")
    return Result(wall, rss, len(samples))


# --------------------------------------------------------------------------- tools


@dataclass
class Tool:
    name: str
    exe: list[str] | None  # None: not available
    why_missing: str = ""
    version: str = ""
    notes: list[str] = field(default_factory=list)

    def plan(self, g: gen.Generated, fmt: str = "table") -> list[str]:
        f = g.rule_file.name
        if self.name == "rulekit":
            return [*self.exe, "plan", "-f", f] + (["--format", "json"] if fmt == "json" else [])
        if self.name == "snakemake":
            return [*self.exe, "-s", f, "-n", "--cores", "1"]
        return [*self.exe, "-f", f, "-n"]

    def build(self, g: gen.Generated) -> list[str]:
        f = g.rule_file.name
        if self.name == "rulekit":
            return [*self.exe, "run", "-f", f, "--cores", str(CORES)]
        if self.name == "snakemake":
            return [*self.exe, "-s", f, "--cores", str(CORES)]
        return [*self.exe, "-f", f, f"-j{CORES}"]

    def load(self, big: Path) -> list[str] | None:
        if self.name == "rulekit":
            return [*self.exe, "check", "-f", big.name]
        if self.name == "snakemake":
            return [*self.exe, "-s", big.name, "--list-rules"]
        return None


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=ENV)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def find_tools(args: argparse.Namespace) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for name in args.tools:
        if name == "rulekit":
            exe = args.rulekit or shutil.which("rulekit", path=str(Path(sys.executable).parent))
            exe = exe or shutil.which("rulekit")
            t = Tool(name, [exe] if exe else None, "rulekit not found (pip install -e .)")
            if exe:
                t.version = _version([sys.executable, "-c",
                                      "import rulekit; print(getattr(rulekit, '__version__', '?'))"])
                # bytecode for every module now, so no measured run compiles any
                _version([sys.executable, "-c", "import compileall, os, rulekit; "
                          "compileall.compile_dir(os.path.dirname(rulekit.__file__), quiet=1)"])
        elif name == "snakemake":
            exe = args.snakemake or shutil.which("snakemake")
            t = Tool(name, [exe] if exe else None,
                     "snakemake not on PATH (pip install -r benchmarks/requirements.txt, "
                     "or pass --snakemake PATH)")
            if exe:
                t.version = "snakemake " + _version([exe, "--version"])
        elif name == "make":
            exe = args.make or shutil.which("make")
            t = Tool(name, [exe] if exe else None, "GNU make not found")
            if exe:
                t.version = _version([exe, "--version"])
        else:
            raise SystemExit(f"unknown tool {name!r}; choose from rulekit, snakemake, make")
        if t.exe and not os.access(t.exe[0], os.X_OK):
            t.exe, t.why_missing = None, f"{t.exe[0]} is not executable"
        tools[name] = t
    return tools


# --------------------------------------------------------------------------- benchmark


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def target_mtime(g: gen.Generated) -> float | None:
    p = g.root / g.outputs[-1]
    return p.stat().st_mtime_ns if p.exists() else None


def repeat_runs(cmd: list[str], cwd: Path, args: argparse.Namespace, label: str) -> list[Sample]:
    """Run ``cmd`` up to --repeat times; a run slower than --slow is not repeated."""
    samples: list[Sample] = []
    for i in range(args.repeat):
        s = measure(cmd, cwd, args.timeout)
        samples.append(s)
        status = "timeout" if s.rc is None else f"rc {s.rc}"
        log(f"  {label} #{i + 1}: {s.wall:.3f} s, {s.rss_mb:.0f} MB, {status}")
        if s.rc != 0 or s.wall > args.slow:
            break
    return samples


def exec_skip_reason(tool: Tool, variant: str, size: int, args: argparse.Namespace) -> str:
    if tool.name == "make" and variant == "run":
        return "n/a: make has no Python bodies"
    if tool.name == "snakemake":
        if variant == "run" and size > args.max_snakemake_run_exec:
            return f"skipped: N > --max-snakemake-run-exec {args.max_snakemake_run_exec}"
        if size > args.max_snakemake_exec:
            return f"skipped: N > --max-snakemake-exec {args.max_snakemake_exec}"
    return ""


def bench_workflow(tool: Tool, workflow: str, size: int, args: argparse.Namespace,
                   scratch: Path, results: dict) -> None:
    def fresh(variant: str, tag: str) -> gen.Generated:
        d = Path(tempfile.mkdtemp(prefix=f"{tool.name}-{workflow}-{size}-{variant}-{tag}-",
                                  dir=scratch))
        return gen.generate(workflow, size, d, variant=variant, tool=tool.name)

    key = (workflow, size)
    label = f"{tool.name} {workflow} N={size}"

    # (a) planning from scratch
    if "plan" in args.only or "plan-json" in args.only:
        g = fresh("shell", "plan")
    if "plan" in args.only:
        log(f"{label}: plan ({g.jobs} jobs)")
        results[(*key, "plan")][tool.name] = summarise(
            repeat_runs(tool.plan(g), g.root, args, "plan"))
    if "plan-json" in args.only and tool.name == "rulekit":
        log(f"{label}: plan --format json ({g.jobs} jobs)")
        results[(*key, "plan json")][tool.name] = summarise(
            repeat_runs(tool.plan(g, "json"), g.root, args, "plan json"))

    # (c) full execution, shell: and run: bodies
    built: gen.Generated | None = None
    for variant in ("shell", "run") if "exec" in args.only else ():
        cell = results[(*key, f"exec {variant}:")]
        why = exec_skip_reason(tool, variant, size, args)
        if why:
            cell[tool.name] = Result(note=why)
            continue
        samples: list[Sample] = []
        for i in range(args.repeat):
            gi = fresh(variant, f"exec{i}")
            s = measure(tool.build(gi), gi.root, args.timeout)
            if s.rc == 0 and target_mtime(gi) is None:
                s.rc = -999  # claimed success but made nothing
            samples.append(s)
            log(f"  exec {variant}: #{i + 1}: {s.wall:.3f} s, {s.rss_mb:.0f} MB, "
                f"{gi.jobs / s.wall:.0f} jobs/s, rc {s.rc}")
            if variant == "shell" and s.rc == 0:
                built = gi
            if s.rc != 0 or s.wall > args.slow:
                break
        cell[tool.name] = summarise(samples, jobs=gi.jobs)

    # (b) no-op: everything up to date
    if "noop" not in args.only:
        return
    note = ""
    if built is None:
        built = fresh("shell", "noop")
        gen.prebuild(built)
        note = "outputs pre-made"
        if tool.name == "rulekit":
            # the store in use, as after a real build: `run --touch --forceall` records
            # every job (touching the outputs in build order), in seconds instead of the
            # build's minutes at N=30,000
            touched = measure([*tool.build(built), "--touch", "--forceall", "-q"], built.root,
                              args.timeout)
            note = ("outputs pre-made, recorded by run --touch" if touched.rc == 0 else
                    f"outputs pre-made; run --touch failed (rc {touched.rc}): no records")
    before = target_mtime(built)
    samples = repeat_runs(tool.build(built), built.root, args, "noop")
    r = summarise(samples)
    if r.value is not None and target_mtime(built) != before:
        r.note = "REBUILT: not a no-op"
    elif r.value is not None and note:
        r.note = note
    results[(*key, "noop")][tool.name] = r


def bench_load(tool: Tool, args: argparse.Namespace, scratch: Path, results: dict,
               rules: int) -> None:
    d = Path(tempfile.mkdtemp(prefix=f"{tool.name}-big-", dir=scratch))
    big = gen.generate_big(d, rules)
    cmd = tool.load(big)
    key = ("big", rules, "load")
    if cmd is None:
        results[key][tool.name] = Result(note="n/a")
        return
    log(f"{tool.name}: load {rules}-rule file")
    # the 3-rule file measures start-up: more runs, its median is steadier
    runs = argparse.Namespace(**{**vars(args), "repeat": max(args.repeat, 11 if rules <= 3
                                                                else args.repeat)})
    results[key][tool.name] = summarise(repeat_runs(cmd, d, runs, "load"))


def bench_replan(args: argparse.Namespace, scratch: Path, results: dict) -> None:
    """What one process calling rulekit's load().plan() 200 times keeps (replan.py)."""
    d = scratch / "replan"
    g = gen.generate("chain", args.replan_size, d, tool="rulekit")
    cmd = [sys.executable, str(HERE / "replan.py"), str(g.rule_file), "--calls", "200"]
    log(f"rulekit: load().plan() x200 in one process, chain N={args.replan_size}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    key = ("chain", args.replan_size, "replan")
    if out.returncode != 0:
        results[key] = {"rulekit": Result(note=f"failed (rc {out.returncode})")}
        log(out.stderr)
        return
    objects, rss = (float(x) for x in out.stdout.split()[:2])
    log(f"  {out.stdout.strip()}")
    results[key] = {"rulekit": Result(objects, None, 1, note=f"RSS {rss:+.0f} MB",
                                      unit="objects kept")}


# --------------------------------------------------------------------------- profile


def profile_rulekit(args: argparse.Namespace, scratch: Path) -> str:
    """Plan the chain workflow at the largest size under cProfile; return the top 25."""
    import pstats
    from io import StringIO

    size = max(args.sizes)
    g = gen.generate("chain", size, scratch / "profile", tool="rulekit")
    prof = scratch / "rulekit-plan.prof"
    if args.profile_out:
        prof = Path(args.profile_out).resolve()
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof),
           str(HERE / "rulekit_entry.py"), "plan", "-f", g.rule_file.name]
    log(f"profile: {shlex.join(cmd)}")
    s = measure(cmd, g.root, args.timeout)
    if not prof.exists():
        return f"profile failed (rc {s.rc}); is rulekit importable by {sys.executable}?"
    buf = StringIO()
    st = pstats.Stats(str(prof), stream=buf)
    st.sort_stats("cumulative").print_stats(25)
    return (f"cProfile of `rulekit plan` on chain N={size} (rc {s.rc}, {s.wall:.2f} s wall "
            f"under the profiler), written to {prof}\n\n```\n{buf.getvalue().strip()}\n```\n")


# --------------------------------------------------------------------------- report


METRIC_ORDER = ["plan", "plan json", "noop", "exec shell:", "exec run:", "load", "replan"]
METRICS = ("plan", "plan-json", "noop", "exec", "load", "replan")


def ratio(a: Result | None, b: Result | None) -> str:
    if not a or not b or a.value is None or b.value is None or not b.value:
        return ""
    return f"{a.value / b.value:.2f}"


def peer_cell(key: tuple, results: dict, peer: str) -> Result | None:
    """The peer figure a rulekit figure is compared with (`plan json`: the peer's plan)."""
    cells = results.get(key, {})
    if peer in cells or key[2] != "plan json":
        return cells.get(peer)
    return results.get((key[0], key[1], "plan"), {}).get(peer)


def machine_info(tools: dict[str, Tool]) -> list[str]:
    lines = [
        f"- CPUs: {os.cpu_count()} ({platform.processor() or platform.machine()}), "
        f"cores used: {CORES}",
        f"- OS: {platform.platform()}",
        f"- Python: {platform.python_version()} ({sys.executable})",
    ]
    for t in tools.values():
        lines.append(f"- {t.name}: {t.version if t.exe else 'not available: ' + t.why_missing}"
                     + (f" ({t.exe[0]})" if t.exe else ""))
    return lines


def render(results: dict, tools: dict[str, Tool], argv: list[str], elapsed: float,
           peer_names: tuple[str, ...] = ()) -> str:
    names = list(tools)
    peers = [n for n in names if n != "rulekit"]
    header = ["workflow", "metric", "N", *names]
    if "rulekit" in names:
        header += [f"rulekit/{p}" for p in peers]
    rows = []
    keys = sorted(results, key=lambda k: (k[0] == "big", k[0], METRIC_ORDER.index(k[2]), k[1]))
    for key in keys:
        cells = results[key]
        row = [key[0], key[2], str(key[1])]
        texts = [cells[n].text() if n in cells else "—" for n in names]
        if "rulekit" in names and peer_names:
            for p in peer_names:   # --peers: the ratio beside the rulekit figure
                r = ratio(cells.get("rulekit"), peer_cell(key, results, p))
                if r:
                    texts[names.index("rulekit")] += f" [{r}x {p}]"
        row += texts
        if "rulekit" in names:
            row += [ratio(cells.get("rulekit"), peer_cell(key, results, p)) for p in peers]
        rows.append(row)
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    out = [
        "# rulekit benchmark results",
        "",
        "Command: `" + shlex.join(["python", "benchmarks/run.py", *argv]) + "`",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M %Z')}; total benchmark time {elapsed:.0f} s.",
        "",
        "Machine:",
        "",
        *machine_info(tools),
        "",
        "Cells: median wall time (s) or median throughput (jobs/s), then the largest peak RSS "
        "of one process seen over the runs. Ratios are rulekit ÷ peer: below 1 is better for "
        "times, above 1 is better for jobs/s (`plan json` is compared with the peer's plan; "
        "`replan`: objects rulekit's process still holds after 200 `load().plan()` calls, "
        "beyond those after 10, and its RSS growth).",
        "",
        *table,
        "",
    ]
    notes = [f"- {n}: {t.why_missing}" for n, t in tools.items() if not t.exe]
    if notes:
        out += ["Skipped tools:", "", *notes, ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated N (default 1000,10000)")
    ap.add_argument("--tools", default="rulekit,snakemake,make")
    ap.add_argument("--peers", default="",
                    help="compare rulekit with these tools only (e.g. make): sets --tools to "
                         "rulekit plus them and prints each ratio beside the rulekit figure")
    ap.add_argument("--only", default=",".join(METRICS),
                    help=f"metrics to measure, any of {','.join(METRICS)} (default all)")
    ap.add_argument("--replan-size", type=int, default=None,
                    help="N of the chain workflow the replan metric plans 200 times "
                         "(default: the smallest --sizes, at most 1000)")
    ap.add_argument("--workflows", default="chain",
                    help="any of chain,fan,wide (default chain; fan at N=10,000 adds ~5 min "
                         "because one Snakemake dry run of it takes ~130 s)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--slow", type=float, default=30.0,
                    help="a run longer than this many seconds is not repeated (default 30)")
    ap.add_argument("--timeout", type=float, default=600.0, help="per command, seconds")
    ap.add_argument("--out", help="write the markdown report here")
    ap.add_argument("--profile", action="store_true",
                    help="also profile `rulekit plan` (chain, largest size) with cProfile")
    ap.add_argument("--profile-out", help="where to keep the .prof file")
    ap.add_argument("--rulekit", help="path of the rulekit executable")
    ap.add_argument("--snakemake", help="path of the snakemake executable (default: PATH)")
    ap.add_argument("--make", help="path of GNU make (default: PATH)")
    ap.add_argument("--max-snakemake-exec", type=int, default=1000,
                    help="skip Snakemake full execution above this N (default 1000)")
    ap.add_argument("--max-snakemake-run-exec", type=int, default=0,
                    help="skip Snakemake execution of run: bodies above this N (default 0: "
                         "always; Snakemake starts a new snakemake process per run: job)")
    ap.add_argument("--big-rules", type=int, default=1000, help="rules in the load-time file")
    ap.add_argument("--no-load", action="store_true", help="skip the load-time measurement")
    ap.add_argument("--workdir", help="scratch folder (default: a new temp dir, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.peers = tuple(t.strip() for t in args.peers.split(",") if t.strip())
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if args.peers:
        args.tools = ["rulekit", *[p for p in args.peers if p != "rulekit"]]
    if args.replan_size is None:
        args.replan_size = min([*args.sizes, 1000])
    args.only = {m.strip() for m in args.only.split(",") if m.strip()}
    for m in args.only:
        if m not in METRICS:
            ap.error(f"unknown metric {m!r}; choose from {', '.join(METRICS)}")
    args.workflows = [w.strip() for w in args.workflows.split(",") if w.strip()]
    for w in args.workflows:
        if w not in gen.WORKFLOWS:
            ap.error(f"unknown workflow {w!r}; choose from {', '.join(gen.WORKFLOWS)}")
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    tools = find_tools(args)
    for t in tools.values():
        if not t.exe:
            log(f"note: {t.name} skipped: {t.why_missing}")
    scratch = Path(tempfile.mkdtemp(prefix="rulekit-bench-", dir=args.workdir))
    results: dict = {}
    t0 = time.perf_counter()
    try:
        for size in args.sizes:
            for workflow in args.workflows:
                for metric in ("plan", "plan json", "noop", "exec shell:", "exec run:"):
                    wanted = {"plan json": "plan-json", "exec shell:": "exec",
                              "exec run:": "exec"}.get(metric, metric)
                    if wanted in args.only:
                        results[(workflow, size, metric)] = {}
                for tool in tools.values():
                    if tool.exe:
                        bench_workflow(tool, workflow, size, args, scratch, results)
        if "replan" in args.only and tools.get("rulekit") and tools["rulekit"].exe:
            bench_replan(args, scratch, results)
        if not args.no_load and "load" in args.only:
            for rules in (3, args.big_rules):   # start-up, then a big file
                results[("big", rules, "load")] = {}
                for tool in tools.values():
                    if tool.exe:
                        bench_load(tool, args, scratch, results, rules)
        report = render(results, tools, argv, time.perf_counter() - t0, args.peers)
        if args.profile:
            if tools.get("rulekit") and tools["rulekit"].exe:
                report += "\n## Profile\n\n" + profile_rulekit(args, scratch)
            else:
                report += "\n## Profile\n\nskipped: rulekit not available\n"
        print(report, flush=True)
        if args.out:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(report)
            log(f"written to {out}")
    finally:
        if args.keep:
            log(f"scratch kept in {scratch}")
        else:
            log(f"removing {scratch} ...")
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
