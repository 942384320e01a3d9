"""Threads, resources and params functions: values, units, bounds, located errors, and
evaluation just before the job runs (issues 17.2, 10.5, 11.6, 11.12)."""

from __future__ import annotations

from jobhelp import nothing_to_do, rk, run_ok, write


def test_resource_functions_see_the_evaluated_threads(tmp_path):
    write(tmp_path, {"Snakefile": '''
rule a:
    output: "a.txt"
    threads: lambda wildcards: 4
    resources: mem_mb=lambda wildcards, threads: threads * 1000
    params: m=lambda wildcards, resources: resources.mem_mb + 1
    shell: "echo {threads} {resources.mem_mb} {params.m} > {output}"
'''})
    run_ok(tmp_path, "--cores", "4", "--resources", "mem_mb=8000")
    assert (tmp_path / "a.txt").read_text() == "4 4000 4001\n"
    nothing_to_do(tmp_path, "--cores", "4")


BOUND = '''
rule all:
    input: "small.txt", "big.txt"

rule small:
    output: "small.txt"
    shell: "touch {output}"

rule big:
    output: "big.txt"
    resources: mem_mb=4000
    shell: "touch {output}"
'''


def test_demand_over_the_bound_is_an_error_before_anything_runs(tmp_path):
    write(tmp_path, {"Snakefile": BOUND})
    res = rk(tmp_path, "run", "--resources", "mem_mb=1000")
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.startswith(
        "Snakefile:11:16: error: job big needs mem_mb=4000, more than --resources mem_mb=1000 "
        "allows, so it could never start\n"), res.stderr
    assert "hint: raise the --resources bound" in res.stderr
    assert not (tmp_path / "small.txt").exists()
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr


def test_demand_over_the_bound_on_a_retry_fails_the_job(tmp_path):
    write(tmp_path, {"Snakefile": '''
rule a:
    output: "a.txt"
    retries: 3
    resources: mem_mb=lambda wildcards, attempt: attempt * 1000
    shell: "echo {resources.mem_mb} >> tries.txt; false"
'''})
    res = rk(tmp_path, "run", "--resources", "mem_mb=2500")
    assert res.returncode == 1
    assert (tmp_path / "tries.txt").read_text() == "1000\n2000\n"
    assert "job a needs mem_mb=3000, more than --resources mem_mb=2500 allows" in res.stdout + res.stderr


def test_human_readable_resources(tmp_path):
    write(tmp_path, {"Snakefile": '''
rule a:
    output: "a.txt"
    resources: mem="2GB", disk="5MB", runtime="1h", partition="long"
    shell: "echo {resources.mem_mb} {resources.mem_mib} {resources.mem} {resources.disk_mb} {resources.runtime} {resources.partition} > {output}"

rule b:
    output: "b.txt"
    resources: mem=lambda wildcards, attempt: f"{attempt}GiB", runtime="90 min"
    run:
        with open(output[0], "w") as fh:
            fh.write(f"{resources.mem_mb} {resources['runtime']}\\n")
'''})
    run_ok(tmp_path, "a.txt", "b.txt", "--resources", "mem_mb=3000")
    assert (tmp_path / "a.txt").read_text() == "2000 1908 2GB 5 60 long\n"
    assert (tmp_path / "b.txt").read_text() == "1074 90\n"


def test_bad_resource_values_are_located_errors(tmp_path):
    cases = {
        'mem="lots"': "resource mem of rule a is 'lots', not a number or a size such as '5GB'",
        'mem_mb="2G"': "resource mem_mb of rule a is '2G', not a number (use mem='2G' for a "
                       "size with a unit)",
        'runtime="soon"': "resource runtime of rule a is 'soon', not a number of minutes or "
                          "a timespan such as '1h'",
        "gpu=[1]": "resource gpu of rule a is list [1], not a number",
    }
    for value, message in cases.items():
        write(tmp_path, {"Snakefile": f'rule a:\n    output: "a.txt"\n    resources: {value}\n'
                                      '    shell: "touch {output}"\n'})
        res = rk(tmp_path, "run")
        assert res.returncode == 2, res.stdout + res.stderr
        assert res.stderr.startswith(f"Snakefile:3:16: error: {message}\n"), res.stderr
        assert "  Job:       a\n" in res.stderr, res.stderr
    write(tmp_path, {"Snakefile": 'rule a:\n    output: "a.txt"\n    resources: gpu="big"\n'
                                  '    shell: "touch {output}"\n'})
    res = rk(tmp_path, "run", "--resources", "gpu=1")
    assert res.returncode == 2
    assert "job a has resource gpu='big', which is not a number" in res.stderr


FUNCS = '''
def mem_for(wildcards):
    sizes = {"a": 1}
    return sizes[wildcards.x] * 1000

rule all:
    input: "a.txt", "b.txt"

rule make:
    output: "{x}.txt"
    resources: mem_mb=mem_for
    params:
        ratio=lambda wc: 1 / (wc.x == "a")
    shell: "touch {output}"
'''


def test_failing_functions_are_located_at_the_line_that_raised(tmp_path):
    write(tmp_path, {"Snakefile": FUNCS})
    res = rk(tmp_path, "run")
    assert res.returncode == 2
    assert res.stderr.startswith(
        "Snakefile:4:12: error: resources mem_mb function of rule make failed: KeyError: 'b'\n"
        "        return sizes[wildcards.x] * 1000\n"), res.stderr
    assert "  Job:       make[x=b]\n  Wildcards: x=b\n" in res.stderr
    write(tmp_path, {"Snakefile": FUNCS.replace("mem_for\n", "1000\n")})
    res = rk(tmp_path, "run")
    assert res.returncode == 2
    assert res.stderr.startswith(
        "Snakefile:13:26: error: params function of rule make failed: "
        "ZeroDivisionError: division by zero\n"), res.stderr
    assert "Wildcards: x=b" in res.stderr
    write(tmp_path, {"Snakefile": 'rule a:\n    output: "a.txt"\n'
                                  '    threads: lambda wc: "four"\n    shell: "touch {output}"\n'})
    res = rk(tmp_path, "run")
    assert res.returncode == 2
    assert res.stderr.startswith("Snakefile:3:14: error: threads of rule a is str 'four', "
                                 "not a number\n"), res.stderr


def test_input_function_error_points_at_the_raising_line(tmp_path):
    write(tmp_path, {"Snakefile": '''
def inputs(wildcards):
    table = {"a": "x.txt"}
    return table[wildcards.s]

rule make:
    input: inputs
    output: "{s}.out"
    shell: "touch {output}"
''', "x.txt": ""})
    res = rk(tmp_path, "run", "b.out")
    assert res.returncode == 2
    assert res.stderr.startswith("Snakefile:4:12: error: input function of rule make failed: "
                                 "KeyError: 'b'\n"), res.stderr


UPSTREAM = '''
rule all:
    input: "b.txt"

rule count:
    output: "n.txt"
    shell: "echo 3 > {output}"

rule use:
    input: "n.txt"
    output: "b.txt"
    params: n=lambda wildcards, input: int(open(input[0]).read())
    resources: mem_mb=lambda wildcards, input: 100 * int(open(input[0]).read())
    shell: "echo {params.n} {resources.mem_mb} > {output}"
'''


def test_params_and_resources_functions_read_upstream_inputs(tmp_path):
    write(tmp_path, {"Snakefile": UPSTREAM})
    res = rk(tmp_path, "plan")
    assert res.returncode == 0, res.stderr
    run_ok(tmp_path, "--resources", "mem_mb=1000")
    assert (tmp_path / "b.txt").read_text() == "3 300\n"
    nothing_to_do(tmp_path)
    (tmp_path / "n.txt").write_text("4\n")    # newer input: reruns with the new params
    run_ok(tmp_path)
    assert (tmp_path / "b.txt").read_text() == "4 400\n"
    nothing_to_do(tmp_path)


def test_resources_are_evaluated_again_on_each_retry(tmp_path):
    write(tmp_path, {"Snakefile": '''
rule a:
    output: "a.txt"
    retries: 2
    resources: mem_mb=lambda wildcards, attempt: attempt * 1000
    params: tag=lambda wildcards, resources: f"m{resources.mem_mb}"
    shell: "echo {resources.mem_mb} {params.tag} >> tries.txt; test {resources.mem_mb} -ge 3000; touch {output}"
'''})
    run_ok(tmp_path)
    assert (tmp_path / "tries.txt").read_text() == "1000 m1000\n2000 m2000\n3000 m3000\n"
