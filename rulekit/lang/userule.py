"""`use rule` (a rule copied under a new name, some directives replaced) and `module`
(another rule file loaded in its own namespace, whose rules `use rule ... from` copies).

Semantics follow Snakemake's rule inheritance and modules:
- the copy keeps the original's evaluated values; a `with:` block replaces whole
  directives, except `params:`, whose named items are replaced one by one (positional items
  are replaced only when the block gives some); the body (`shell:`/`run:`/`script:`) cannot
  be replaced;
- `use rule * from m as m_*` copies every rule of module `m`, `exclude a, b` leaves some out,
  and the `*` in the new name stands for the original name;
- a module runs in a namespace of its own (`m.name` reaches its globals) with `config:` as
  its whole config (its `configfile:` statements are then ignored) or else the main
  workflow's config; its `script:` and `include:` paths are relative to its own file, its
  input and output paths to the working directory, moved under `prefix:` when given.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import LoadError, WorkflowError
from ..core.model import (
    _PRODUCER,
    AnnotatedPath,
    FlaggedCallable,
    Rule,
    Unpack,
    Workflow,
    producer_flag,
)
from ..core.source import Span
from .namespace import make_namespace, register_rule
from .rulepaths import check_rule_paths
from .shellcheck import check_rule_texts
from .syntax import Directive, ModuleDecl, UseRule

if TYPE_CHECKING:
    from .loader import _Loader

__all__ = ["LoadedModule", "use_rule", "declare_module"]

_NAME = r"[A-Za-z_]\w*"
_NAMES = rf"{_NAME}(?:\s*,\s*{_NAME})*"
_HEADER = re.compile(
    rf"rule\s+(?P<names>\*|{_NAMES})"
    rf"(?:\s+from\s+(?P<module>{_NAME}))?"
    rf"(?:\s+exclude\s+(?P<exclude>{_NAMES}))?"
    r"(?:\s+as\s+(?P<alias>[A-Za-z_*][\w*]*))?\s*$")
# What a module statement may set; the rest of Snakemake's are named in an error.
_MODULE_KEYS = ("snakefile", "config", "prefix", "replace_prefix", "skip_validation")
_BODIES = ("run", "shell", "script")


@dataclass
class LoadedModule:
    """A `module NAME:` statement's workflow, loaded in its own namespace."""

    name: str
    workflow: Workflow
    prefix: str | None = None
    replace_prefix: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)   # module rule -> used name


def declare_module(loader: _Loader, decl: ModuleDecl) -> None:
    """Load the module's rule file now, in its own namespace; bind its name to its globals."""
    settings: dict[str, Directive] = {}
    for d in decl.directives:
        if d.name not in _MODULE_KEYS:
            raise WorkflowError(f"module setting '{d.name}:' is not supported by rulekit",
                                d.span, hint="a module takes snakefile:, config:, prefix:, "
                                             "replace_prefix: and skip_validation:")
        settings[d.name] = d
    if "snakefile" not in settings:
        raise LoadError(f"module {decl.name} needs 'snakefile:'", decl.span)
    if decl.name in loader.modules:
        raise LoadError(f"module {decl.name} is declared twice", decl.span)
    value = settings["snakefile"].value
    path = _single_str(loader, "snakefile", value)
    if "://" in path:
        raise WorkflowError("a module's snakefile: must be a local path (URLs and code "
                            "hosting providers are not supported by rulekit)", value.span)
    target = os.path.normpath(os.path.join(os.path.dirname(decl.span.path), path))
    if not os.path.isfile(target):
        raise LoadError(f"module {decl.name}: snakefile not found: {path}", value.span,
                        facts=[("looked for", target)])
    main = loader.wf
    sub = Workflow(path=target, basedir=os.path.dirname(target), workdir=main.workdir)
    sub.cores = main.cores
    sub.checkpoint_state = main.checkpoint_state   # the planner updates the main one
    sub.namespace = make_namespace(sub)
    own_config = "config" in settings
    if own_config:
        (args, kwargs) = loader.eval_value(settings["config"].value)
        cfg = args[0] if len(args) == 1 and not kwargs else None
        if not isinstance(cfg, dict):
            raise LoadError("a module's config: must be a mapping (like config[\"name\"])",
                            settings["config"].value.span)
        sub.config = copy.deepcopy(cfg)
    else:
        sub.config = main.config       # shared, as in Snakemake
    sub.namespace["config"] = sub.config
    prefix = None
    if "prefix" in settings:
        prefix = _single_str(loader, "prefix", settings["prefix"].value)
    replace: dict[str, str] = {}
    if "replace_prefix" in settings:
        args, kwargs = loader.eval_value(settings["replace_prefix"].value)
        mapping = args[0] if len(args) == 1 and not kwargs else None
        if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
            raise LoadError("a module's replace_prefix: must map path prefixes to their "
                            "replacements ({\"results/\": \"results/m/\"})",
                            settings["replace_prefix"].value.span)
        replace = dict(mapping)
    if sub.basedir not in sys.path:
        sys.path.insert(0, sub.basedir)
    child = type(loader)(sub, {})
    child.replace_config = own_config
    child.modules = {}
    child.load_file(target)
    check_rule_texts(sub.rules.values(), sub.namespace)
    main.files.extend(p for p in sub.files if p not in main.files)
    loader.modules[decl.name] = LoadedModule(decl.name, sub, prefix, replace)
    loader.ns[decl.name] = types.SimpleNamespace(**{
        k: v for k, v in sub.namespace.items() if not k.startswith("__")})


def use_rule(loader: _Loader, use: UseRule) -> None:
    """Define the rules a `use rule` statement names."""
    m = _HEADER.match(use.header)
    if m is None:
        raise WorkflowError(
            f"cannot read 'use {use.header}': expected 'use rule NAME as NEW', "
            "'use rule NAME from MODULE [as NEW]' or 'use rule * from MODULE as PREFIX_*'",
            use.header_span)
    names, module_name, alias = m["names"], m["module"], m["alias"]
    exclude = {n.strip() for n in (m["exclude"] or "").split(",") if n.strip()}
    for d in use.directives:
        if d.name in _BODIES:
            raise WorkflowError(f"'use rule ... with:' cannot replace the rule's body "
                                f"'{d.name}:'", d.span,
                                hint="write a new rule to run something else")
    module = None
    if module_name is not None:
        module = loader.modules.get(module_name)
        if module is None:
            raise LoadError(f"no module named '{module_name}' is declared above this line",
                            use.header_span, hint=f"declare it first: module {module_name}:")
        source = module.workflow.rules
    else:
        source = loader.wf.rules
    if names == "*":
        if module is None:
            raise LoadError("'use rule *' needs 'from MODULE'", use.header_span)
        chosen = [n for n in source if n not in exclude]
    else:
        chosen = [n.strip() for n in names.split(",")]
    for name in chosen:
        if name not in source:
            where = f"module {module_name}" if module else "this file above this line"
            raise LoadError(f"use rule: no rule named '{name}' in {where}", use.header_span)
    if alias is not None and "*" not in alias and len(chosen) > 1:
        raise LoadError(f"use rule: 'as {alias}' names one rule but {len(chosen)} are used; "
                        "write a pattern like 'as prefix_*'", use.header_span)
    renamed = {n: alias.replace("*", n) if alias else n for n in chosen}
    for name in chosen:
        new_name = renamed[name]
        if module is None and new_name == name:
            raise LoadError(f"use rule {name}: give the new rule its own name with "
                            f"'as NEW_NAME'", use.header_span)
        base = source[name]
        rule = _derive(base, new_name, use.span, len(loader.wf.rules))
        if module is not None:
            rule.home = rule.home or module.workflow
            module.renamed.update(renamed)
            # the module's global wildcard_constraints: still apply (the rule's own win)
            rule.wildcard_constraints = {**module.workflow.wildcard_constraints,
                                         **rule.wildcard_constraints}
            _rewire(rule, module, module.renamed)
        _override(loader, rule, use.directives)
        check_rule_paths(rule, loader.wf.wildcard_constraints)
        _register(loader, rule, use.span, names == "*")
    if module is not None:
        _carry_statements(loader, module)


def _derive(base: Rule, name: str, span: Span, index: int) -> Rule:
    """A copy of `base` named `name`: lists and dicts copied, so overrides stay local."""
    rule = copy.copy(base)
    rule.name, rule.span, rule.index = name, span, index
    rule.input, rule.output, rule.params, rule.log = (
        list(base.input), list(base.output), list(base.params), list(base.log))
    rule.output_names, rule.log_names = dict(base.output_names), dict(base.log_names)
    rule.resources = dict(base.resources)
    rule.wildcard_constraints = dict(base.wildcard_constraints)
    rule.spans = dict(base.spans)
    rule.output_patterns = []
    return rule


def _override(loader: _Loader, rule: Rule, directives: list[Directive]) -> None:
    seen: dict[str, Span] = {}
    for d in directives:
        loader.check_directive_name(d)
        if d.name in seen:
            raise WorkflowError(f"directive '{d.name}' given twice (first at line "
                                f"{seen[d.name].line})", d.span)
        seen[d.name] = d.span
        old_params = list(rule.params)
        if d.name == "name":
            raise WorkflowError("'use rule ... with:' cannot rename the rule; use 'as NAME'",
                                d.span)
        loader.set_directive(rule, d.name, d.value)
        rule.spans[d.name] = d.value.span
        if d.name == "params":
            rule.params = _merge_params(old_params, rule.params)
        elif d.name == "output":
            rule.output_patterns = []


def _merge_params(old: list[tuple[str | None, Any]], new: list[tuple[str | None, Any]]
                  ) -> list[tuple[str | None, Any]]:
    """Snakemake's params override: named items one by one, positional ones as a whole."""
    positional = [v for k, v in new if k is None] or [v for k, v in old if k is None]
    named = {k: v for k, v in old if k is not None}
    named.update((k, v) for k, v in new if k is not None)
    return [(None, v) for v in positional] + list(named.items())


def _rewire(rule: Rule, module: LoadedModule, rename: dict[str, str]) -> None:
    """A module rule's paths in the using workflow: relative input/output/log/benchmark
    paths move under the module's `prefix:`, and `rules.x.output` items name x's new name."""
    def move(path: Any) -> Any:
        if isinstance(path, list):
            return [move(p) for p in path]
        if not isinstance(path, str):
            return path         # (input functions: see _moving_results)
        text = str(path)
        if not os.path.isabs(text) and "local" not in getattr(path, "flags", ()):
            for old, new in module.replace_prefix.items():
                if text.startswith(old):
                    text = new + text[len(old):]
                    break
            if module.prefix:
                text = os.path.join(module.prefix, text)
        flags = getattr(path, "flags", None)
        if flags is None:
            return text
        flags = frozenset(
            producer_flag(rename.get(f[len(_PRODUCER):], f[len(_PRODUCER):]))
            if f.startswith(_PRODUCER) else f for f in flags)
        return AnnotatedPath(text, flags)

    if module.prefix or module.replace_prefix:
        # as Snakemake does, what an input function returns moves too (when it is called)
        rule.input = [(k, _moving_results(v, move)) if callable(v) or isinstance(v, Unpack)
                      else (k, move(v)) for k, v in rule.input]
    else:
        rule.input = [(k, move(v)) for k, v in rule.input]
    rule.output = [move(p) for p in rule.output]
    rule.log = [move(p) for p in rule.log]
    if rule.benchmark:
        rule.benchmark = move(rule.benchmark)


def _moving_results(value: Any, move: Callable[[Any], Any]) -> Any:
    """An input function (plain, flagged or in `unpack()`) whose results go through `move`;
    the wrapper keeps the function's signature, so it is still asked for the same arguments."""
    if isinstance(value, Unpack):
        return Unpack(_moving_results(value.func, move))
    if isinstance(value, FlaggedCallable):
        return FlaggedCallable(_moving_results(value.func, move), value.flags)

    def moved(result: Any) -> Any:
        if isinstance(result, dict):
            return {k: moved(v) for k, v in result.items()}
        if isinstance(result, (list, tuple)):
            return [moved(v) for v in result]
        if isinstance(result, os.PathLike):
            result = os.fspath(result)
        return move(result) if isinstance(result, str) else result

    @functools.wraps(value)
    def call(*args: Any, **kwargs: Any) -> Any:
        return moved(value(*args, **kwargs))

    return call


def _carry_statements(loader: _Loader, module: LoadedModule) -> None:
    """The module's `localrules:` and `ruleorder:` apply to its used rules, renamed."""
    wf, names = loader.wf, module.renamed
    wf.localrules.update(names[n] for n in module.workflow.localrules if n in names)
    for chain in module.workflow.ruleorder:
        if all(n in names for n in chain):
            renamed = [names[n] for n in chain]
            if renamed not in wf.ruleorder:
                wf.ruleorder.append(renamed)


def _register(loader: _Loader, rule: Rule, span: Span, star: bool) -> None:
    if rule.name in loader.star_names and not star:
        # Snakemake allows one `use rule x from m as m_x with:` after `use rule * from m
        # as m_*`: it replaces the copy the star made, keeping its place.
        loader.star_names.discard(rule.name)
        rule.index = loader.wf.rules[rule.name].index
        del loader.rule_spans[rule.name]
    elif rule.name in loader.rule_spans:
        first = loader.rule_spans[rule.name]
        raise WorkflowError(f"two rules are named '{rule.name}' (the first is at {first})",
                            span)
    loader.rule_spans[rule.name] = span
    loader.wf.rules[rule.name] = rule
    if star:
        loader.star_names.add(rule.name)
    if rule.localrule:
        loader.wf.localrules.add(rule.name)
    register_rule(loader.ns, rule)


def _single_str(loader: _Loader, key: str, value: Any) -> str:
    args, kwargs = loader.eval_value(value)
    if len(args) != 1 or kwargs or not isinstance(args[0], (str, os.PathLike)):
        raise LoadError(f"{key}: expected one path", value.span)
    return os.fspath(args[0])
