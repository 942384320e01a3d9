"""Imports flow one way, package by package (docs/design.md, "The map").

    core  <-  lang  <-  planning  <-  state  <-  execution  <-  ui  <-  rulekit/__init__

Every import counts, also those inside functions (lazy imports) and under TYPE_CHECKING:
each file is parsed whole with `ast`. A module may import its own package and the
packages ALLOWED lists for it, nothing else of rulekit. The package root (`rulekit`,
i.e. `from .. import x`) is importable by nobody but `__main__`: it imports everything.
"""

import ast
from pathlib import Path

import rulekit

PACKAGE = Path(rulekit.__file__).parent

PACKAGES = ("core", "lang", "planning", "state", "execution", "ui")

# package -> the other packages it may import
ALLOWED = {
    "core": set(),
    "lang": {"core"},
    "planning": {"core"},                       # a loaded model only: no syntax, no store
    "state": {"core", "lang", "planning"},
    "execution": {"core", "lang", "planning", "state"},
    "ui": {"core", "lang", "planning", "state", "execution"},
    "<root>": set(PACKAGES),                    # rulekit/__init__.py, __main__.py
}


def _package_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else "<root>"


def _module_parts(path: Path) -> list[str]:
    """['rulekit', 'planning', 'plan'] for planning/plan.py; a package's __init__ is the package."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = ["rulekit", *rel.parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(path: Path) -> set[str]:
    """Absolute names of every rulekit module or package `path` imports, anywhere in it."""
    here = _module_parts(path)
    pkg = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "rulekit")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "rulekit":
                continue
            if node.module is None or target == "rulekit" or target.count(".") == 1:
                # `from . import x` / `from ..core import x`: x may be a module of that package
                found.update(f"{target}.{a.name}" for a in node.names)
            else:
                found.add(target)
    return found


def _target_package(name: str) -> str:
    parts = name.split(".")
    if len(parts) >= 2 and parts[1] in PACKAGES:
        return parts[1]
    return "<root>"


def test_every_module_is_in_a_package():
    loose = sorted(p.name for p in PACKAGE.glob("*.py")
                   if p.name not in ("__init__.py", "__main__.py"))
    assert not loose, f"put these modules in a package ({', '.join(PACKAGES)}): {loose}"
    unknown = sorted(p.name for p in PACKAGE.iterdir()
                     if p.is_dir() and p.name not in PACKAGES and any(p.glob("*.py")))
    assert not unknown, f"add these packages to ALLOWED and docs/design.md: {unknown}"


def test_imports_point_down():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _package_of(path)
        for name in sorted(_imported(path)):
            other = _target_package(name)
            if other == me and me != "<root>":
                continue
            if other == "<root>" and path.name != "__main__.py" and me != "<root>":
                bad.append(f"{path.relative_to(PACKAGE)} imports the package root ({name})")
            elif other != "<root>" and other not in ALLOWED[me] and other != me:
                bad.append(f"{path.relative_to(PACKAGE)} ({me}) imports {name} ({other})")
    assert not bad, "\n".join(bad)


def test_the_check_sees_lazy_imports():
    # The parser must find imports inside functions and relative ones two levels up.
    probe = PACKAGE / "core" / "model.py"
    names = _imported(probe)
    assert names and all(n.startswith("rulekit.core.") for n in names)
    lazy = PACKAGE / "lang" / "namespace.py"
    assert "rulekit.core.shellfmt" in _imported(lazy)


def test_only_execution_starts_processes():
    # core formats commands, lang's shell() hands them to the runner the package root
    # installs (execution/shellrun.py): no other package starts a process.
    starters = {"run", "Popen", "call", "check_call", "check_output", "posix_spawn",
                "posix_spawnp", "fork", "system", "execv", "execvp"}
    bad = []
    for package in ("core", "lang", "planning", "state"):
        for path in sorted((PACKAGE / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in starters
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id in ("subprocess", "os")):
                    bad.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not bad, bad
