"""Imports flow one way: parse -> model -> dag -> plan -> execute -> store.

Each module may import only modules of its own layer or below it. The table is the
architecture; a new module must be placed in it.
"""

import ast
from pathlib import Path

import rulekit

PACKAGE = Path(rulekit.__file__).parent

# layer number per module (lower layers never import higher ones)
LAYERS = {
    "errors": 0, "startsig": 0, "paramtext": 0, "source": 0, "hashing": 0, "patterns": 0, "syntax": 1, "records": 1, "grammar": 1,
    "parser": 2, "model": 2, "iopaths": 2, "namespace": 3, "snakecompat": 3, "loader": 4, "fs": 4,
    "dag": 5, "jobs": 5, "jobvalues": 5, "resolve_errors": 5, "reasons": 5, "triggers": 5, "plan": 6, "graphviz": 6, "planview": 7,
    "shellfmt": 3, "shellcheck": 3, "store": 1, "locks": 1, "state": 7, "runguard": 8,
    "executor": 8, "touching": 8, "overrides": 4, "report": 8, "console": 8, "api": 9, "cli": 10, "cliargs": 10, "profiles": 10, "__main__": 11,
    "__init__": 12,
}
# Modules of the rule-file loader split out of loader.py (kept apart: fewer merge conflicts).
LAYERS.update({"nested": 3, "configfile": 1, "usererrors": 1})


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return rel.parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rulekit"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_module_has_a_layer():
    missing = {_module_name(p) for p in PACKAGE.rglob("*.py")} - set(LAYERS)
    assert not missing, f"place these modules in LAYERS: {sorted(missing)}"


def test_imports_point_down():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        me = _module_name(path)
        for other in _imports(path):
            if other in LAYERS and other != me and LAYERS[other] > LAYERS[me]:
                bad.append(f"{path.relative_to(PACKAGE)} imports {other}")
    assert not bad, bad
