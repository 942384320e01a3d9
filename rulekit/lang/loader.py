"""Syntax tree -> Workflow: run top-level Python in order, evaluate directive values,
compile bodies in place, and check what can be checked before any job exists.

Every problem becomes a WorkflowError pointing at the rule-file position; exceptions raised
by the user's own top-level code are reported at the user's line, never as a rulekit
traceback.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import hashing
from ..core.errors import LoadError, RulesSyntaxError, WorkflowError
from ..core.iopaths import fspaths
from ..core.model import Body, Rule, Workflow
from ..core.patterns import Pattern
from ..core.source import VALUE_CALL, Span, compile_block, register_source
from . import blockstatements, nested, scattergather, usererrors
from .configfile import deep_merge, read_config
from .directiveargs import (
    check_envvars,
    constraints,
    flatten_paths,
    single,
    single_str,
    spread_named,
)
from .namespace import make_namespace, register_rule
from .parsecache import compiled_value, keep_compiled, parse
from .rulepaths import check_rule_paths, no_nul
from .scriptlang import check_script_language
from .shellcheck import check_rule_texts
from .snakecompat import compat_imports
from .syntax import Directive, Keyword, ModuleDecl, PyChunk, RuleDecl, UseRule, Value
from .unsupported import (
    UNSUPPORTED,
    UNSUPPORTED_STATEMENTS,
    check_directive_name,
    check_unsupported_statement,
)

if TYPE_CHECKING:
    from .userule import LoadedModule

__all__ = ["load", "DIRECTIVES", "UNSUPPORTED", "deep_merge", "working_directory"]

IO_DIRECTIVES = ("input", "output", "params", "log")
BODIES = ("run", "shell", "script")
# Accepted and without effect under rulekit's local executor: `group:` only bundles cluster
# jobs, `version:` only documents the tool.
NO_EFFECT = ("group", "version")
DIRECTIVES = (*IO_DIRECTIVES, "benchmark", "threads", "resources", "priority", "message",
              "wildcard_constraints", "retries", "name", "default_target", "localrule",
              *NO_EFFECT, *BODIES)
# A line that may start a keyword statement inside a Python block (blockstatements.py).
_STATEMENT_LINE = re.compile(
    r"^[ \t]*(?:" + "|".join(sorted(blockstatements.STATEMENTS)) + r")[ \t]*:", re.M)
RUN_HEADER = ("def __rulekit_run__(input, output, params, wildcards, threads, resources, log,"
              " config, rule, jobid):")
HANDLER_HEADER = "def __rulekit_handler__(log=None):"


@contextlib.contextmanager
def working_directory(path: str) -> Iterator[None]:
    """Run a block with `path` as cwd (input functions and top-level code use relative paths)."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def load(path: str | os.PathLike[str], *, config: Mapping[str, Any] | None = None,
         configfiles: tuple[str, ...] | list[str] = (), workdir: str | None = None,
         cores: int | None = None, replace_config: bool = False,
         scatter: Mapping[str, int] | None = None) -> Workflow:
    """Load a rule file. `config` overrides every config file; `workdir` defaults to the
    rule file's folder (a `workdir:` statement moves it). With `replace_config` and
    `configfiles`, the rule file's `configfile:` statements are ignored: `configfiles` and
    `config` are the whole config (Snakemake's --replace-workflow-config). `scatter`
    replaces counts of `scattergather:` (--set-scatter); each name must be declared."""
    rulefile = os.path.abspath(os.fspath(path))
    if not os.path.isfile(rulefile):
        raise LoadError(f"rule file not found: {os.fspath(path)}")
    basedir = os.path.dirname(rulefile)
    if basedir not in sys.path:
        sys.path.insert(0, basedir)   # `import helper` finds helper.py beside the rule file
    wf = Workflow(path=rulefile, basedir=basedir, workdir=os.path.abspath(workdir or basedir))
    if not os.path.isdir(wf.workdir):
        raise LoadError(f"working directory not found: {wf.workdir}")
    if cores is not None:
        wf.cores = cores
    wf.namespace = make_namespace(wf)
    with working_directory(wf.workdir), compat_imports(wf.namespace["shell"]):
        # --configfile files and --config items override every configfile: statement, in
        # that order: they are re-applied after each statement (Snakemake's precedence).
        overrides: dict[str, Any] = {}
        for cf in configfiles:
            deep_merge(overrides, read_config(os.path.abspath(cf), None))
        deep_merge(overrides, dict(config or {}))
        loader = _Loader(wf, overrides)
        loader.replace_config = replace_config and bool(configfiles)
        loader.set_scatter = dict(scatter or {})
        loader.apply_overrides()
        loader.load_file(rulefile)
        loader.check_ruleorder()
        scattergather.check_overrides(wf.scatter, loader.set_scatter)
        check_rule_texts(wf.rules.values(), wf.namespace)
    _apply_global_constraints(wf)
    return wf


def _docstring(source: str) -> str | None:
    """A rule's docstring, as Python takes a function's: only a plain string literal is one
    (an f-string or bytes first line is an expression that is thrown away)."""
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _apply_global_constraints(wf: Workflow) -> None:
    """A global `wildcard_constraints:` applies to every rule, also those defined above it
    (as in Snakemake): compile the output patterns again with the final set."""
    if not wf.wildcard_constraints:
        return
    for rule in wf.rules.values():
        constraints = {**wf.wildcard_constraints, **rule.wildcard_constraints}
        rule.output_patterns = [Pattern(p, constraints) for p in rule.output]


class _Loader:
    def __init__(self, wf: Workflow, overrides: dict[str, Any]) -> None:
        self.wf = wf
        self.overrides = overrides
        self.ns = wf.namespace
        self.ns["__rulekit_args__"] = self.ns[VALUE_CALL] = lambda *args, **kwargs: (args, kwargs)
        self.rule_spans: dict[str, Span] = {}
        self.replace_config = False
        self.set_scatter: dict[str, int] = {}   # --set-scatter NAME=N
        self.ruleorder_spans: list[tuple[list[str], Span]] = []   # checked once all is loaded
        self.loading: list[str] = []      # the include chain being loaded, outermost first
        self.nested: list[RuleDecl] = []    # rules inside Python blocks, by call key
        self.ns[nested.CALL] = self.nested_rule
        self.block_keywords: list[Keyword] = []   # include: etc. inside Python blocks, by key
        self.ns[blockstatements.CALL] = self.block_keyword
        self.modules: dict[str, LoadedModule] = {}
        self.star_names: set[str] = set()   # rules `use rule *` made: one override allowed

    # -- files -------------------------------------------------------------------------
    def load_file(self, path: str) -> None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise LoadError(f"{path} is not UTF-8 text ({err.reason})") from None
        register_source(path, text)
        self.wf.files.append(path)
        module = parse(text, path)
        self.loading.append(path)
        for item in module.items:
            if isinstance(item, PyChunk):
                self.exec_chunk(item)
            elif isinstance(item, RuleDecl):
                self.define_rule(item)
            elif isinstance(item, UseRule):
                from .userule import use_rule  # only for files that use rules

                use_rule(self, item)
            elif isinstance(item, ModuleDecl):
                from .userule import declare_module

                declare_module(self, item)
            else:
                self.keyword(item)
        keep_compiled(path)   # the values compiled for it go into the parse cache
        self.loading.pop()

    def load_configfile(self, path: str, span: Span | None) -> None:
        if self.replace_config:
            return
        deep_merge(self.wf.config, read_config(path, span))

    def apply_overrides(self) -> None:
        deep_merge(self.wf.config, self.overrides)

    # -- user code -----------------------------------------------------------------------
    def user_error(self, exc: BaseException, fallback: Span) -> WorkflowError:
        return usererrors.user_error(exc, fallback, self.wf.files)

    def exec_chunk(self, chunk: PyChunk) -> None:
        text = chunk.text
        if chunk.rules:
            keys = list(range(len(self.nested), len(self.nested) + len(chunk.rules)))
            self.nested.extend(chunk.rules)
            text = nested.rewrite_chunk(chunk, keys)
        source = "\n" * (chunk.span.line - 1) + text
        if _STATEMENT_LINE.search(text):
            source, found = blockstatements.rewrite_statements(source, chunk.span.path,
                                                               len(self.block_keywords))
            self.block_keywords.extend(found)
        try:
            tree = ast.parse(source, chunk.span.path)
        except SyntaxError as exc:
            check_unsupported_statement(chunk.span.path, exc.lineno)
            raise self.user_error(exc, chunk.span) from None
        for node in ast.walk(tree):
            # `container: "..."` is valid Python (an annotation) but a Snakemake statement;
            # in a block only with a string value (a class field `container: str` is fine).
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                    node.target.id in UNSUPPORTED_STATEMENTS and node.value is None and (
                        node in tree.body
                        or isinstance(node.annotation, (ast.Constant, ast.JoinedStr))):
                check_unsupported_statement(chunk.span.path, node.lineno)
        try:
            exec(compile(tree, chunk.span.path, "exec"), self.ns)
        except Exception as exc:  # user code: report at the user's line
            raise self.user_error(exc, chunk.span) from None

    def nested_rule(self, key: int, g: dict[str, Any], local: dict[str, Any]) -> None:
        """A rule inside a Python block, reached by the running code: define it now."""
        self.define_rule(self.nested[key], nested.scope_for(self.ns, g, local))

    def block_keyword(self, key: int, g: dict[str, Any], local: dict[str, Any]) -> None:
        """`include:` or another statement inside a Python block, reached by the running
        code: carry it out now, its value evaluated in the caller's scope."""
        self.keyword(self.block_keywords[key], nested.scope_for(self.ns, g, local))

    def eval_value(self, value: Value, scope: dict[str, Any] | None = None
                   ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        text = value.text
        line, col = value.span.line, value.span.col
        if value.block:
            text, line, col = _dedent_block(value)
        try:
            code = compiled_value(text, value.span.path, line, col)
            values: tuple[tuple[Any, ...], dict[str, Any]] = eval(
                code, self.ns if scope is None else scope)
            return values
        except Exception as exc:
            raise self.user_error(exc, value.span) from None

    def compile_function(self, header: str, value: Value, name: str,
                         scope: dict[str, Any] | None = None) -> Any:
        if value.block:
            body, line = _strip_leading_blank(value.text, value.span.line)
        else:
            body, line = " " * (value.span.col - 1) + value.text + "\n", value.span.line
            if not body.strip():
                raise RulesSyntaxError("expected Python code", value.span)
        try:
            code = compile_block(header, body, value.span.path, line)
        except SyntaxError as exc:
            raise self.user_error(exc, value.span) from None
        local: dict[str, Any] = {}
        exec(code, self.ns if scope is None else scope, local)
        return local[name]

    # -- top-level keywords ----------------------------------------------------------------
    def keyword(self, kw: Keyword, scope: dict[str, Any] | None = None) -> None:
        name = kw.name
        if name in ("onstart", "onsuccess", "onerror"):
            func = self.compile_function(HANDLER_HEADER, kw.value, "__rulekit_handler__")
            getattr(self.wf, name).append(func)
            return
        if name in ("localrules", "ruleorder"):
            self.names_statement(kw)
            return
        args, kwargs = self.eval_value(kw.value, scope)
        if name == "envvars":
            check_envvars(args, kwargs, kw.value.span)
            return
        if name == "wildcard_constraints":
            self.wf.wildcard_constraints.update(constraints(kwargs, args, kw.value.span))
            return
        if name == "scattergather":
            scattergather.declare(self.wf.scatter, args, kwargs, kw.value.span,
                                  self.set_scatter)
            self.wf.wildcard_constraints.setdefault("scatteritem", scattergather.SCATTERITEM)
            return
        path = single_str(name, args, kwargs, kw.value.span)
        no_nul(name, path, kw.value.span)
        if name in ("include", "report"):
            # relative to the rule file that holds the statement; `report:` names the text
            # at the top of `rulekit report`
            target = os.path.normpath(os.path.join(os.path.dirname(kw.span.path), path))
            what = "included file" if name == "include" else "report description"
            if os.path.isdir(target):
                raise LoadError(f"{what} {path} is a folder, not a file", kw.value.span)
            if not os.path.isfile(target):
                raise LoadError(f"{what} not found: {path}", kw.value.span,
                                facts=[("looked for", target)])
            if name == "include":
                self.include(target, kw.value.span)
            else:
                self.wf.report_description = target
        elif name == "configfile":
            self.load_configfile(os.path.abspath(path), kw.value.span)
            self.apply_overrides()
        elif name == "workdir":
            target = os.path.abspath(path)
            if os.path.exists(target) and not os.path.isdir(target):
                raise LoadError(f"workdir: {path} is a file, not a folder", kw.value.span)
            if not os.path.isdir(target):
                os.makedirs(target, exist_ok=True)
            self.wf.workdir = target
            os.chdir(target)

    def include(self, target: str, span: Span) -> None:
        real = os.path.realpath(target)
        chain = [os.path.realpath(p) for p in self.loading]
        if real in chain:
            cycle = [*self.loading[chain.index(real):], target]
            shown = " -> ".join(os.path.relpath(p, self.wf.basedir) for p in cycle)
            raise LoadError(f"include cycle: {shown}", span,
                            hint="a file cannot include itself, directly or through others")
        if any(os.path.realpath(p) == real for p in self.wf.files):
            return          # included before: Snakemake ignores a repeated include
        self.load_file(target)

    def names_statement(self, kw: Keyword) -> None:
        text = " ".join(re.sub(r"#[^\n]*", "", kw.value.text).split())
        sep = ">" if kw.name == "ruleorder" else ","
        names = [n.strip() for n in text.split(sep)]
        for n in names:
            if not n.isidentifier():
                raise RulesSyntaxError(
                    f"{kw.name}: expected rule names separated by '{sep.strip()}', got {repr(n) if n else 'an empty name'}",
                    kw.value.span)
        if kw.name == "ruleorder":
            self.wf.ruleorder.append(names)
            self.ruleorder_spans.append((names, kw.value.span))
        else:
            self.wf.localrules.update(names)

    def check_ruleorder(self) -> None:
        """Every name in a `ruleorder:` is a rule (checked at the end: rules may come later)."""
        for names, span in self.ruleorder_spans:
            for name in names:
                if name not in self.wf.rules:
                    import difflib

                    close = difflib.get_close_matches(name, list(self.wf.rules), n=1)
                    raise LoadError(f"ruleorder: there is no rule named {name!r}", span,
                                    hint=f"did you mean {close[0]!r}?" if close else
                                    "name rules defined in this workflow")

    # -- rules -------------------------------------------------------------------------------
    def define_rule(self, decl: RuleDecl, scope: dict[str, Any] | None = None) -> None:
        directives: dict[str, Directive] = {}
        for d in decl.directives:
            self.check_directive_name(d)
            if d.name in directives:
                first = directives[d.name].span
                raise WorkflowError(f"directive '{d.name}' given twice (first at line {first.line})", d.span)
            if d.name in BODIES:
                other = next((b for b in BODIES if b in directives), None)
                if other:
                    raise WorkflowError(f"a rule has at most one body, but this one has '{other}' and '{d.name}'", d.span)
            else:
                body = next((b for b in BODIES if b in directives), None)
                if body:
                    raise WorkflowError(
                        f"directive '{d.name}' comes after the rule's body '{body}:' "
                        f"(line {directives[body].span.line})", d.span,
                        hint=f"move '{d.name}:' above '{body}:'; the body is the rule's "
                             "last directive")
            directives[d.name] = d

        # Snakemake's name for an anonymous rule: its number among the rules defined so far.
        name = decl.name or str(len(self.wf.rules) + 1)
        if "name" in directives:
            name = single_str("name", *self.eval_value(directives["name"].value, scope),
                               directives["name"].value.span)
        if name in self.rule_spans:
            first = self.rule_spans[name]
            raise WorkflowError(f"two rules are named '{name}' (the first is at {first})", decl.name_span)
        rule = Rule(name=name, span=decl.span, checkpoint=decl.keyword == "checkpoint",
                    index=len(self.wf.rules))
        rule.spans = {k: d.value.span for k, d in directives.items()}
        if decl.docstring is not None:
            rule.docstring = _docstring(decl.docstring)
        for key, d in directives.items():
            if key in BODIES or key == "name":
                continue
            self.set_directive(rule, key, d.value, scope)
        for key in BODIES:
            if key in directives:
                rule.body = self.make_body(rule, key, directives[key].value, scope)
        check_rule_paths(rule, self.wf.wildcard_constraints)
        self.rule_spans[name] = decl.name_span
        self.wf.rules[name] = rule
        if rule.localrule:
            self.wf.localrules.add(name)
        register_rule(self.ns, rule)

    @staticmethod
    def check_directive_name(d: Directive) -> None:
        check_directive_name(d, DIRECTIVES)

    def set_directive(self, rule: Rule, key: str, value: Value,
                      scope: dict[str, Any] | None = None) -> None:
        args, kwargs = self.eval_value(value, scope)
        span = value.span
        args, kwargs = spread_named(args, kwargs, key, span)   # multiext("a", bam=".bam")
        if key in ("input", "output", "log", "benchmark"):
            args, kwargs = fspaths(args), fspaths(kwargs)
        if key in ("input", "params"):
            setattr(rule, key, [(None, a) for a in args] + list(kwargs.items()))
        elif key in ("output", "log"):
            flat, names = flatten_paths(key, args, kwargs, span)
            setattr(rule, key, flat)
            setattr(rule, f"{key}_names", names)
        elif key in ("benchmark", "message"):
            setattr(rule, key, single_str(key, args, kwargs, span))
        elif key in ("threads", "priority", "retries"):
            val = single(key, args, kwargs, span)
            if key in ("threads", "priority") and callable(val):
                setattr(rule, key, val)
            elif key == "threads" and isinstance(val, float) and val >= 0:
                rule.threads = int(val)   # Snakemake truncates: cores * 0.75 -> int
            elif isinstance(val, bool) or not isinstance(val, int) or (val < 0 and key != "priority"):
                raise LoadError(f"{key} must be a non-negative integer{' or a function' if key == 'threads' else ''}, got {val!r}", span)
            else:
                setattr(rule, key, val)
        elif key == "resources":
            if args:
                raise LoadError("resources must be given as name=value", span)
            rule.resources = dict(kwargs)
        elif key == "wildcard_constraints":
            rule.wildcard_constraints = constraints(kwargs, args, span)
        elif key in ("default_target", "localrule"):
            val = single(key, args, kwargs, span)
            if not isinstance(val, bool):
                raise LoadError(f"{key} must be True or False, got {val!r}", span)
            setattr(rule, key, val)

    def make_body(self, rule: Rule, kind: str, value: Value,
                  scope: dict[str, Any] | None = None) -> Body:
        if kind == "run":
            func = self.compile_function(RUN_HEADER, value, "__rulekit_run__", scope)
            text = value.text
            return Body("run", value.span, text, hashing.code_hash("run", text), func=func)
        args, kwargs = self.eval_value(value, scope)
        text = single_str(kind, args, kwargs, value.span)
        if kind == "shell":
            return Body("shell", value.span, text, hashing.code_hash("shell", text), command=text)
        script = os.path.normpath(os.path.join(os.path.dirname(value.span.path), text))
        check_script_language(text, value.span)
        try:
            content = Path(script).read_text(encoding="utf-8")
        except OSError:
            raise LoadError(f"script file not found: {text}", value.span,
                            facts=[("looked for", script)]) from None
        return Body("script", value.span, text, hashing.code_hash("run", content), script=script)


def _strip_leading_blank(text: str, line: int) -> tuple[str, int]:
    """Drop leading blank/comment-only lines; the parser's span is the first code line."""
    lines = text.splitlines(keepends=True)
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("#")):
        lines.pop(0)
    return "".join(lines), line


def _dedent_block(value: Value) -> tuple[str, int, int]:
    """A block value is an argument list spread over lines; indentation is irrelevant inside
    the wrapping call, so keep the text and position as they are."""
    text, line = _strip_leading_blank(value.text, value.span.line)
    col = value.span.col
    return text[col - 1:] if text[: col - 1].strip() == "" else text, line, col

