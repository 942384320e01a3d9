"""Loader errors: the exact text a user sees for each bad rule file (table-driven)."""

import pytest

from rulekit.core.errors import RulekitError
from rulekit.lang.loader import load

CASES = [
    pytest.param(
        'rule a:\n    ouput: "a.txt"\n',
        'DIR/Rulesfile:2:5: error: unknown directive \'ouput\' - did you mean \'output\'?\n        ouput: "a.txt"\n        ^',
        id='unknown_directive',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt"\n    conda: "env.yaml"\n',
        'DIR/Rulesfile:3:5: error: \'conda\' is not supported by rulekit\n        conda: "env.yaml"\n        ^\n  hint: see docs/snakemake.md for what rulekit supports',
        id='unsupported',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt"\n    output: "b.txt"\n',
        'DIR/Rulesfile:3:5: error: directive \'output\' given twice (first at line 2)\n        output: "b.txt"\n        ^',
        id='twice',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n    run:\n        pass\n',
        "DIR/Rulesfile:4:5: error: a rule has at most one body, but this one has 'shell' and 'run'\n        run:\n        ^",
        id='two_bodies',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt"\n\nrule a:\n    output: "b.txt"\n',
        "DIR/Rulesfile:4:6: error: two rules are named 'a' (the first is at DIR/Rulesfile:1:6)\n    rule a:\n         ^",
        id='dup_rule',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt"\n    run:\n        x = (1 +\n        y = 2\n',
        "DIR/Rulesfile:4:13: error: '(' was never closed\n            x = (1 +\n                ^",
        id='syntax_in_run',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt", =\n',
        'DIR/Rulesfile:2:22: error: invalid Python: invalid syntax\n        output: "a.txt", =\n                         ^',
        id='syntax_in_value',
    ),
    pytest.param(
        'x = 1\ndef f(:\n    pass\n',
        "DIR/Rulesfile:2:6: error: '(' was never closed\n    def f(:\n         ^",
        id='syntax_toplevel',
    ),
    pytest.param(
        'rule a:\n    input: SAMPLES\n    output: "a.txt"\n',
        "DIR/Rulesfile:2:12: error: NameError: name 'SAMPLES' is not defined\n        input: SAMPLES\n               ^",
        id='nameerror_value',
    ),
    pytest.param(
        'import os\nx = undefined_name + 1\n',
        "DIR/Rulesfile:2:5: error: NameError: name 'undefined_name' is not defined\n    x = undefined_name + 1\n        ^",
        id='nameerror_toplevel',
    ),
    pytest.param(
        'include: "nope.rules"\n',
        'DIR/Rulesfile:1:10: error: included file not found: nope.rules\n    include: "nope.rules"\n             ^\n  looked for: DIR/nope.rules',
        id='missing_include',
    ),
    pytest.param(
        'configfile: "nope.yaml"\n',
        'DIR/Rulesfile:1:13: error: config file not found: nope.yaml\n    configfile: "nope.yaml"\n                ^\n  looked for: DIR/nope.yaml',
        id='missing_configfile',
    ),
    pytest.param(
        'rule a:\n    input: "raw/{x}.txt"\n    output: "out/{s}.txt"\n',
        'DIR/Rulesfile:2:12: error: wildcard {x} in input \'raw/{x}.txt\' does not appear in the output\n        input: "raw/{x}.txt"\n               ^\n  hint: every wildcard must be determined by the output; use {{ }} for a literal brace',
        id='wildcard_input',
    ),
    pytest.param(
        'rule a:\n    output: "out/{s}.txt"\n    log: "logs/{t}.log"\n',
        'DIR/Rulesfile:3:10: error: wildcard {t} in log \'logs/{t}.log\' does not appear in the output\n        log: "logs/{t}.log"\n             ^\n  hint: every wildcard must be determined by the output; use {{ }} for a literal brace',
        id='wildcard_log',
    ),
    pytest.param(
        'rule a:\n    output: "out/{s}.txt"\n    benchmark: "b/{t}.tsv"\n',
        'DIR/Rulesfile:3:16: error: wildcard {t} in benchmark \'b/{t}.tsv\' does not appear in the output\n        benchmark: "b/{t}.tsv"\n                   ^\n  hint: every wildcard must be determined by the output; use {{ }} for a literal brace',
        id='wildcard_benchmark',
    ),
    pytest.param(
        'rule a:\n    output: "out/{s}.txt", "out/{t}.log"\n',
        'DIR/Rulesfile:2:13: error: all outputs of a rule must carry the same wildcards: \'out/{s}.txt\' has {s}, \'out/{t}.log\' has {t}\n        output: "out/{s}.txt", "out/{t}.log"\n                ^',
        id='output_wildcards_differ',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt"\n    threads: "many"\n',
        'DIR/Rulesfile:3:14: error: threads must be a non-negative integer or a function, got \'many\'\n        threads: "many"\n                 ^',
        id='threads_type',
    ),
    pytest.param(
        'configfile: "bad.yaml"\n',
        'DIR/Rulesfile:1:13: error: config file bad.yaml is not valid YAML: expected \',\' or \']\', but got \'<stream end>\' (line 2, column 1)\n    configfile: "bad.yaml"\n                ^',
        id='bad_configfile_yaml',
    ),
    pytest.param(
        'ruleorder: a > > b\n',
        "DIR/Rulesfile:1:12: error: ruleorder: expected rule names separated by '>', got an empty name\n    ruleorder: a > > b\n               ^",
        id='ruleorder_bad',
    ),
    pytest.param(
        'rule a:\n    name: 3\n    output: "a.txt"\n',
        'DIR/Rulesfile:2:11: error: name must be a string, got int\n        name: 3\n              ^',
        id='name_not_str',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt"\n    script: "scripts/nope.py"\n',
        'DIR/Rulesfile:3:13: error: script file not found: scripts/nope.py\n        script: "scripts/nope.py"\n                ^\n  looked for: DIR/scripts/nope.py',
        id='script_missing',
    ),
    pytest.param(
        'def f():\n    return 1 / 0\n\nX = f()\n',
        'DIR/Rulesfile:2:12: error: ZeroDivisionError: division by zero\n        return 1 / 0\n               ^',
        id='error_in_function',
    ),
    pytest.param(
        'rule a:\n    output: "a.txt"\n    default_target: "yes"\n',
        'DIR/Rulesfile:3:21: error: default_target must be True or False, got \'yes\'\n        default_target: "yes"\n                        ^',
        id='default_target_type',
    ),
    pytest.param(
        'rule a:\n    output: lambda wc: "a.txt"\n',
        'DIR/Rulesfile:2:13: error: output items must be paths, got function\n        output: lambda wc: "a.txt"\n                ^',
        id='output_function',
    ),
    pytest.param(
        'container: "docker://x"\nrule a:\n    output: "a"\n',
        'DIR/Rulesfile:1:1: error: \'container\' is not supported by rulekit\n    container: "docker://x"\n    ^\n  hint: see docs/snakemake.md for what rulekit supports',
        id='unsupported_toplevel_container',
    ),
    pytest.param(
        'x = 1\nuse rule a from m as b with:\n    output: "b"\n',
        "DIR/Rulesfile:2:5: error: no module named 'm' is declared above this line\n    use rule a from m as b with:\n        ^\n  hint: declare it first: module m:",
        id='use_rule_unknown_module',
    ),
    pytest.param(
        'module other:\n    snakefile: "x"\n',
        'DIR/Rulesfile:2:16: error: module other: snakefile not found: x\n        snakefile: "x"\n                   ^\n  looked for: DIR/x',
        id='module_snakefile_missing',
    ),
    pytest.param(
        'module other:\n    snakefile: "https://x.org/Snakefile"\n',
        'DIR/Rulesfile:2:16: error: a module\'s snakefile: must be a local path (URLs and code hosting providers are not supported by rulekit)\n        snakefile: "https://x.org/Snakefile"\n                   ^',
        id='module_url',
    ),
    pytest.param(
        'module other:\n    snakefile: "x"\n    meta_wrapper: "v1/x"\n',
        'DIR/Rulesfile:3:5: error: module setting \'meta_wrapper:\' is not supported by rulekit\n        meta_wrapper: "v1/x"\n        ^\n  hint: a module takes snakefile:, config:, prefix:, replace_prefix: and skip_validation:',
        id='module_unsupported_setting',
    ),
    pytest.param(
        'rule a:\n    output: "a"\n    shell: "touch {output}"\nuse rule a as b with:\n    shell: "echo"\n',
        'DIR/Rulesfile:5:5: error: \'use rule ... with:\' cannot replace the rule\'s body \'shell:\'\n        shell: "echo"\n        ^\n  hint: write a new rule to run something else',
        id='use_rule_body',
    ),
    pytest.param(
        'use rule a as b\n',
        "DIR/Rulesfile:1:5: error: use rule: no rule named 'a' in this file above this line\n    use rule a as b\n        ^",
        id='use_rule_unknown_rule',
    ),
    pytest.param(
        'rule a:\n    output: "a"\nuse rule a with:\n    output: "b"\n',
        "DIR/Rulesfile:3:5: error: use rule a: give the new rule its own name with 'as NEW_NAME'\n    use rule a with:\n        ^",
        id='use_rule_same_name',
    ),
    pytest.param(
        'rule a:\n    output: "a"\nrule c:\n    output: "c"\nuse rule a, c as b\n',
        "DIR/Rulesfile:5:5: error: use rule: 'as b' names one rule but 2 are used; write a pattern like 'as prefix_*'\n    use rule a, c as b\n        ^",
        id='use_rule_plain_alias_for_many',
    ),
    pytest.param(
        'use rule * as b_*\n',
        "DIR/Rulesfile:1:5: error: 'use rule *' needs 'from MODULE'\n    use rule * as b_*\n        ^",
        id='use_rule_star_without_module',
    ),
    pytest.param(
        'use rule a to b\n',
        "DIR/Rulesfile:1:5: error: cannot read 'use rule a to b': expected 'use rule NAME as NEW', 'use rule NAME from MODULE [as NEW]' or 'use rule * from MODULE as PREFIX_*'\n    use rule a to b\n        ^",
        id='use_rule_garbled',
    ),
    pytest.param(
        'rule a:\n    output: "a"\nuse rule a as b with:\n    output: "b"\nuse rule a as b with:\n    output: "c"\n',
        "DIR/Rulesfile:5:1: error: two rules are named 'b' (the first is at DIR/Rulesfile:3:1)\n    use rule a as b with:\n    ^",
        id='use_rule_name_taken',
    ),
    pytest.param(
        'if True:\n    use rule a as b\n',
        "DIR/Rulesfile:2:5: error: 'use rule' inside a Python block is not supported by rulekit\n        use rule a as b\n        ^\n  hint: write 'use rule' at the top level (indentation 0)",
        id='use_rule_in_block',
    ),
    pytest.param(
        'rule a:\n    input: rules.b.output\n    output: "a.txt"\n',
        "DIR/Rulesfile:2:12: error: AttributeError: no rule named 'b' is defined above this line\n        input: rules.b.output\n               ^",
        id='rules_reference_before_definition',
    ),
    pytest.param(
        'rule b:\n    output: "b"\n\nif True:\n    ruleorder: b > bb\n',
        "DIR/Rulesfile:5:16: error: ruleorder: there is no rule named 'bb'\n        ruleorder: b > bb\n                   ^\n  hint: did you mean 'b'?",
        id='ruleorder_unknown_rule',
    ),
    pytest.param(
        'configfile: "latin1.yaml"\n',
        "DIR/Rulesfile:1:13: error: config file latin1.yaml is not UTF-8 text (invalid continuation byte at byte 5)\n    configfile: \"latin1.yaml\"\n                ^",
        id='config_not_utf8',
    ),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_error_text(tmp_path, text, expected):
    (tmp_path / "Rulesfile").write_text(text)
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    (tmp_path / "latin1.yaml").write_bytes(b"a: 1\n\xe9t\xe9: 2\n")
    with pytest.raises(RulekitError) as info:
        load(tmp_path / "Rulesfile")
    assert info.value.exit_code == 2
    assert info.value.show().replace(str(tmp_path), "DIR") == expected
