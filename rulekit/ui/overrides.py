"""Command-line overrides of a loaded workflow's rules, as Snakemake's options make them.

`apply_overrides(workflow, Overrides(...))` changes the rules in place before planning:
`--set-threads`, `--max-threads`, `--set-resources`, `--default-resources`, `--retries`,
`--consider-ancient`, `--all-temp` and `--no-temp`. Unknown rule names are usage errors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import UsageError
from ..core.model import AnnotatedPath, FlaggedCallable, Rule, Workflow, flag

__all__ = ["Overrides", "apply_overrides", "resource_function"]


@dataclass
class Overrides:
    set_threads: Mapping[str, int | str] = field(default_factory=dict)
    max_threads: int | None = None
    set_resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    default_resources: Mapping[str, Any] = field(default_factory=dict)
    retries: int | None = None
    consider_ancient: Mapping[str, list[int | str]] = field(default_factory=dict)
    all_temp: bool = False
    no_temp: bool = False

    def __bool__(self) -> bool:
        return bool(self.set_threads or self.max_threads is not None or self.set_resources
                    or self.default_resources or self.retries is not None
                    or self.consider_ancient or self.all_temp or self.no_temp)


def _rule(wf: Workflow, name: str, option: str) -> Rule:
    rule = wf.rules.get(name)
    if rule is None:
        raise UsageError(f"{option} names an unknown rule {name!r}",
                         facts=[("Rules", ", ".join(wf.rules) or "none")])
    return rule


def resource_function(name: str, text: str, always: bool = False) -> Any:
    """A resource given as text on the command line: a size such as "4GB" stays text; a
    Python expression of input, threads, attempt (e.g. `2*input.size_mb`) becomes a function."""
    if not always and not any(c in text for c in "*+()/") and \
            not text.startswith(("input", "threads", "attempt")):
        return text
    try:
        code = compile(text, f"<resource {name}>", "eval")
    except SyntaxError:
        return None if always else text

    def evaluate(wildcards: Any, input: Any, threads: Any, attempt: Any) -> Any:
        value = eval(code, {"__builtins__": __builtins__},  # noqa: S307 - the user's own option
                     {"input": input, "threads": threads, "attempt": attempt,
                      "wildcards": wildcards})
        # Whole units, rounded as Snakemake rounds them: 1000.1 -> 1000.
        return round(value) if isinstance(value, float) else value
    return evaluate


def _capped(value: int | Callable[..., Any], cap: int) -> int | Callable[..., Any]:
    if not callable(value):
        return min(value, cap)

    @functools.wraps(value)   # keeps the signature the caller inspects
    def capped(*args: Any) -> Any:
        return min(int(value(*args)), cap)
    return capped


def _retemp(item: Any, add: bool) -> Any:
    flags = set(getattr(item, "flags", ()))
    if add:
        return flag(item, "temp")
    if "temp" not in flags:
        return item
    flags.discard("temp")
    if isinstance(item, FlaggedCallable):
        return FlaggedCallable(item.func, frozenset(flags))
    return AnnotatedPath(str(item), flags) if flags else str(item)


def _mark_inputs(rule: Rule, picks: list[int | str]) -> None:
    names = [n for n, _ in rule.input]
    for pick in picks:
        if isinstance(pick, int):
            if pick >= len(rule.input):
                raise UsageError(f"--consider-ancient {rule.name}={pick}: rule {rule.name} has "
                                 f"only {len(rule.input)} input items")
            index = pick
        elif pick in names:
            index = names.index(pick)
        else:
            raise UsageError(f"--consider-ancient {rule.name}={pick}: rule {rule.name} has no "
                             f"input named {pick!r}")
        name, value = rule.input[index]
        rule.input[index] = (name, flag(value, "ancient"))


def apply_overrides(wf: Workflow, opts: Overrides) -> None:
    if not opts:
        return
    for name, threads in opts.set_threads.items():
        rule = _rule(wf, name, "--set-threads")
        if isinstance(threads, str):
            func = resource_function("threads", threads, always=True)
            if not callable(func):
                raise UsageError(f"--set-threads {name}={threads}: not a number of threads "
                                 "nor a Python expression")
            rule.threads = func
        else:
            rule.threads = threads
    for name, values in opts.set_resources.items():
        rule = _rule(wf, name, "--set-resources")
        rule.resources = {**rule.resources,
                          **{k: resource_function(k, v) if isinstance(v, str) else v
                             for k, v in values.items()}}
    for name, picks in opts.consider_ancient.items():
        _mark_inputs(_rule(wf, name, "--consider-ancient"), picks)
    for rule in wf.rules.values():
        if opts.max_threads is not None:
            rule.threads = _capped(rule.threads, opts.max_threads)
        for key, value in opts.default_resources.items():
            if key not in rule.resources:
                rule.resources = {**rule.resources,
                                  key: resource_function(key, value) if isinstance(value, str)
                                  else value}
        if opts.retries is not None and "retries" not in rule.spans:
            rule.retries = opts.retries
        if opts.all_temp or opts.no_temp:
            rule.output = [_retemp(o, opts.all_temp) for o in rule.output]
            for pattern, text in zip(rule.output_patterns, rule.output):
                pattern.text = text
