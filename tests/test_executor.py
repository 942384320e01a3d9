"""The scheduler with real processes, on jobs built by hand (no rule file needed)."""

import os
import time

import pytest

from rulekit.core.errors import Interrupted
from rulekit.core.model import Body, Job, NamedList, Rule, Workflow, flag
from rulekit.core.source import Span, compile_block
from rulekit.execution import ExecOptions, execute
from rulekit.lang.namespace import make_namespace
from rulekit.ui.runview import Reporter

SPAN = Span("Rulesfile", 1)


class Net:
    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.wf = Workflow(path=str(tmp_path / "Rulesfile"), basedir=str(tmp_path),
                           workdir=str(tmp_path))
        self.jobs = []

    def rule(self, name, command=None, func=None, **kw):
        body = None
        if command is not None:
            body = Body("shell", SPAN, command, "x", command=command)
        elif func is not None:
            body = Body("run", SPAN, "", "x", func=func)
        rule = Rule(name, SPAN, body=body, **kw)
        self.wf.rules[name] = rule
        return rule

    def job(self, rule, output=(), input=(), deps=(), threads=1, resources=None, log=(), wc=None):
        job = Job(rule, wc or {"i": str(len(self.jobs))}, NamedList(input), NamedList(output),
                  NamedList(), NamedList(log), None, threads, resources or {})
        job.deps.extend(deps)
        self.jobs.append(job)
        return job

    def run(self, jobs=None, **opts):
        opts.setdefault("cores", 2)
        opts.setdefault("reporter", Reporter(quiet=True, progress=False))
        opts.setdefault("start_method", "fork")
        return execute(self.wf, self.jobs if jobs is None else jobs, ExecOptions(**opts))

    def read(self, name):
        return (self.dir / name).read_text()


@pytest.fixture
def net(tmp_path):
    cwd = os.getcwd()
    yield Net(tmp_path)
    os.chdir(cwd)


def intervals(net, names):
    spans = []
    for name in names:
        start, end = net.read(name).split()
        spans.append((float(start), float(end)))
    return spans


def max_overlap(spans):
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = best = 0
    for _, d in events:
        now += d
        best = max(best, now)
    return best


TIMED = "s=$(date +%s.%N); sleep {params.t}; echo $s $(date +%s.%N) > {output}"


def timed_job(net, rule, name, t=0.3, **kw):
    job = net.job(rule, output=[name], **kw)
    job.params = NamedList([str(t)], {"t": 0})
    return job


def test_parallel_speedup(net):
    r = net.rule("sleep", "sleep 1; touch {output}")
    for i in range(4):
        net.job(r, output=[f"o{i}"])
    t = time.monotonic()
    result = net.run(cores=2)
    elapsed = time.monotonic() - t
    assert result.ok and len(result.by_status("done")) == 4
    assert 1.8 < elapsed < 3.5


def test_threads_limit_holds(net):
    r = net.rule("t", TIMED)
    for i in range(4):
        timed_job(net, r, f"t{i}", threads=2)
    big = timed_job(net, r, "big", threads=16)  # min(16, cores) cores: runs alone
    assert net.run(cores=3).ok
    spans = intervals(net, [f"t{i}" for i in range(4)])
    assert max_overlap(spans) == 1
    b = intervals(net, ["big"])[0]
    assert all(e <= b[0] or s >= b[1] for s, e in spans)
    assert big.threads == 16


def test_resources_limit_holds(net):
    r = net.rule("m", TIMED)
    for i in range(4):
        timed_job(net, r, f"m{i}", resources={"mem_mb": 60})
    for i in range(2):
        timed_job(net, r, f"free{i}")
    assert net.run(cores=4, resources={"mem_mb": 100}).ok
    assert max_overlap(intervals(net, [f"m{i}" for i in range(4)])) == 1
    assert max_overlap(intervals(net, [f"m{i}" for i in range(4)] + ["free0", "free1"])) >= 2


def test_dependencies_and_priority(net):
    a = net.rule("a", "echo a > {output}")
    b = net.rule("b", "cat {input} > {output}; echo b >> {output}")
    ja = net.job(a, output=["x/a.txt"])
    net.job(b, output=["y/b.txt"], input=["x/a.txt"], deps=[ja])
    assert net.run(cores=1).ok
    assert net.read("y/b.txt") == "a\nb\n"


def failing_net(net):
    ok = net.rule("ok", "sleep 0.5; echo ok > {output}")
    bad = net.rule("bad", "echo partial > {output}; echo boom >&2; exit 3")
    down = net.rule("down", "cp {input} {output}")
    later = net.rule("later", "echo later > {output}")
    net.job(ok, output=["ok.txt"])
    jb = net.job(bad, output=["bad.txt"])
    net.job(down, output=["down.txt"], input=["bad.txt"], deps=[jb])
    for i in range(3):
        net.job(later, output=[f"later{i}.txt"])
    for j in net.jobs:
        j.rule.priority = 0
    bad.priority = 10


def test_failure_stops_new_jobs_and_removes_outputs(net):
    failing_net(net)
    result = net.run(cores=2)
    assert not result.ok
    status = {r.job.rule.name: r.status for r in result.results}
    assert status["bad"] == "failed" and status["down"] == "not started"
    assert status["ok"] == "done"  # was running: allowed to finish
    assert not (net.dir / "bad.txt").exists()
    assert not any((net.dir / f"later{i}.txt").exists() for i in range(3))
    err = result.failed[0].error
    assert "exit status 3" in err and "boom" in err
    with pytest.raises(Exception) as info:
        result.raise_for_status()
    assert getattr(info.value, "exit_code", None) == 1


def test_keep_going_runs_independent_jobs(net):
    failing_net(net)
    result = net.run(cores=2, keep_going=True)
    counts = result.counts()
    assert counts == {"done": 4, "failed": 1, "not started": 1}
    assert all((net.dir / f"later{i}.txt").exists() for i in range(3))


def test_keep_incomplete_keeps_output(net):
    bad = net.rule("bad", "echo partial > {output}; exit 1")
    net.job(bad, output=["bad.txt"])
    assert not net.run(keep_incomplete=True).ok
    assert net.read("bad.txt") == "partial\n"


def test_retries(net):
    r = net.rule("flaky", "echo x >> count; [ $(wc -l < count) -ge 3 ]; touch {output}",
                 retries=2)
    net.job(r, output=["done.txt"])
    result = net.run()
    assert result.ok and result.results[0].attempts == 3
    r.retries = 1
    os.remove(net.dir / "count")
    result = net.run()
    assert not result.ok and result.results[0].attempts == 2


def test_missing_output_error(net):
    r = net.rule("lazy", "touch {output[0]}")
    net.job(r, output=["made.txt", "sub/never.txt"])
    result = net.run()
    err = result.failed[0].error
    assert "did not create 1 of its outputs: sub/never.txt" in err
    assert not (net.dir / "made.txt").exists()


def test_latency_wait_accepts_late_output(net):
    r = net.rule("late", "(sleep 0.3; touch {output}) >/dev/null 2>&1 &")
    net.job(r, output=["late.txt"])
    assert net.run(latency_wait=3).ok


def test_hostile_file_name_runs_no_command(net):
    evil = "a b;echo pwned>x.txt"
    (net.dir / evil).write_text("data\n")
    r = net.rule("copy", "cat {input} > {output}")
    net.job(r, output=["out dir/o;k.txt"], input=[evil])
    assert net.run().ok
    assert net.read("out dir/o;k.txt") == "data\n"
    assert not (net.dir / "x.txt").exists()


def test_log_receives_output_and_shows_on_failure(net):
    r = net.rule("logged", "echo to-log; echo err-line >&2; exit 2")
    net.job(r, output=["o.txt"], log=["logs/l.txt"])
    result = net.run()
    assert "to-log" in net.read("logs/l.txt") and "err-line" in net.read("logs/l.txt")
    assert "log logs/l.txt" in result.failed[0].error and "err-line" in result.failed[0].error


def test_temp_protected_touch(net):
    a = net.rule("a", "echo a > {output}")
    b = net.rule("b", "cp {input} {output}")
    c = net.rule("c", "sleep 0.1")
    ja = net.job(a, output=[flag("tmp.txt", "temp")])
    net.job(b, output=[flag("keep.txt", "protected")], input=["tmp.txt"], deps=[ja])
    net.job(c, output=[flag("flag.done", "touch")])
    assert net.run().ok
    assert not (net.dir / "tmp.txt").exists()
    assert not (net.dir / "keep.txt").stat().st_mode & 0o222  # root ignores access bits
    assert (net.dir / "flag.done").exists()
    net.jobs = net.jobs[1:2]
    net.jobs[0].deps.clear()
    (net.dir / "tmp.txt").write_text("again")
    result = net.run()
    assert "protected output keep.txt exists" in result.failed[0].error


def make_func(tmp_path, body, wf=None):
    path = tmp_path / "Rulesfile"
    path.write_text("rule a:\n    output: 'x'\n    run:\n" + body)
    code = compile_block("def __rulekit_run__(input, output, params, wildcards, threads, "
                         "resources, log, config, rule, jobid):", body, str(path), 4)
    ns = make_namespace(wf) if wf is not None else {}
    exec(code, ns)
    return ns["__rulekit_run__"]


def test_run_body_in_worker_with_traceback(net, tmp_path):
    func = make_func(tmp_path, "        x = 1\n        open(output[0], 'w').write(str(threads))\n"
                               "        if wildcards.i == '1':\n            x = 1 / 0\n")
    r = net.rule("a", func=func)
    net.job(r, output=["r0.txt"], wc={"i": "0"}, threads=2)
    net.job(r, output=["r1.txt"], wc={"i": "1"})
    result = net.run(keep_going=True)
    assert net.read("r0.txt") == "2"
    err = result.failed[0].error
    assert f'File "{tmp_path / "Rulesfile"}", line 7, in rule a' in err
    assert "x = 1 / 0" in err and "ZeroDivisionError" in err
    assert "rulekit/execution" not in err


def test_shell_inside_run_body(net, tmp_path):
    func = make_func(tmp_path, "        name = 'a b'\n"
                               "        shell('echo {name} > {output}')\n", net.wf)
    net.job(net.rule("a", func=func), output=["sp ace.txt"])
    assert net.run().ok
    assert net.read("sp ace.txt") == "a b\n"


def test_checkpoint_replan_and_observer(net):
    cp = net.rule("cp", "echo 3 > {output}", checkpoint=True)
    w = net.rule("w", "touch {output}")
    jc = net.job(cp, output=["n.txt"])
    seen = {"started": [], "finished": []}

    class Obs:
        def jobs_started(self, jobs):
            seen["started"].extend(j.name for j in jobs)

        def jobs_finished(self, results):
            seen["finished"].extend((r.job.name, r.status) for r in results)

    def replan(job):
        n = int(net.read("n.txt"))
        return [net.job(w, output=[f"w{i}.txt"], input=["n.txt"], deps=[jc], wc={"i": str(i)})
                for i in range(n)]

    result = net.run(jobs=[jc], replan=replan, observer=Obs())
    assert result.ok and len(result.results) == 4
    assert all((net.dir / f"w{i}.txt").exists() for i in range(3))
    assert seen["started"][0] == "cp[i=0]" and len(seen["finished"]) == 4


def test_interrupt_terminates_and_cleans(net):
    import signal
    import threading

    r = net.rule("long", "echo partial > {output}; sleep 30")
    net.job(r, output=["l1.txt"])
    net.job(r, output=["l2.txt"])
    threading.Timer(0.8, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    t = time.monotonic()
    with pytest.raises(Interrupted) as info:
        net.run(grace_period=1)
    assert time.monotonic() - t < 5
    assert info.value.exit_code == 130
    assert info.value.result.counts() == {"cancelled": 2}
    assert not (net.dir / "l1.txt").exists() and not (net.dir / "l2.txt").exists()
