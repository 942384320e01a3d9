"""`import snakemake` for Snakefiles when Snakemake itself is not installed.

Snakefiles often start with `from snakemake.utils import min_version` or read
`snakemake.__version__`. While rulekit loads a rule file, `compat_imports()` puts a finder
at the end of `sys.meta_path` that answers imports of `snakemake`, `snakemake.utils`,
`snakemake.io`, `snakemake.exceptions`, `snakemake.logging` and `snakemake.shell` with
small modules built from rulekit's own helpers. It does so only if no real Snakemake can be
imported (checked once per process), so an installed Snakemake is never shadowed; being
last on `sys.meta_path`, it also never hides any other module.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import os
import re
import sys
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from ..core.model import NamedList
from ..core.patterns import expand, glob_wildcards
from .namespace import (
    WorkflowError,
    ancient,
    directory,
    multiext,
    protected,
    temp,
    temporary,
    touch,
    unpack,
    update_config,
)
from .preloaded import snakefile_logger

if TYPE_CHECKING:
    import importlib.abc

__all__ = ["compat_imports", "SNAKEMAKE_VERSION", "validate", "min_version"]

# The Snakemake release whose core language rulekit follows; what `snakemake.__version__`
# reads as under rulekit (rulekit's own version is rulekit.__version__).
SNAKEMAKE_VERSION = "9.0.0"
_MODULES = ("snakemake", "snakemake.utils", "snakemake.io", "snakemake.exceptions",
            "snakemake.logging", "snakemake.shell")
_real: list[bool] = []
# The `shell` of the workflow being loaded: `from snakemake import shell` and
# `from snakemake.shell import shell` give it (the modules stay cached between loads).
_current_shell: list[Any] = [None]


def min_version(version: str) -> None:
    """Accepted for any well-formed version: rulekit implements the core language itself."""
    if not re.fullmatch(r"\d+(\.\d+)*\S*", str(version).strip()):
        raise WorkflowError(f"min_version: {version!r} is not a version number")


def available_cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def makedirs(dirnames: str | list[str]) -> None:
    for name in [dirnames] if isinstance(dirnames, str) else dirnames:
        os.makedirs(name, exist_ok=True)


# --------------------------------------------------------------------------- validate

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list, tuple), "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number"):
        import numbers

        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return False
        if isinstance(value, numbers.Integral):
            return True
        if isinstance(value, numbers.Real):
            return name == "number" or float(value).is_integer()
        return False
    if name == "boolean":
        return isinstance(value, bool) or type(value).__name__ == "bool_"
    return isinstance(value, _TYPES.get(name, (object,)))


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)   # None or NaN


def _check(value: Any, schema: dict[str, Any], where: str, set_default: bool) -> None:
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_type_ok(value, n) for n in names):
            raise WorkflowError(f"{where}: {value!r} is not of type {' or '.join(names)}")
    if "enum" in schema and value not in schema["enum"]:
        raise WorkflowError(f"{where}: {value!r} is not one of {schema['enum']!r}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        raise WorkflowError(f"{where}: {value!r} does not match {schema['pattern']!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise WorkflowError(f"{where}: {value!r} is less than the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise WorkflowError(f"{where}: {value!r} is more than the maximum {schema['maximum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                raise WorkflowError(f"{where}: {key!r} is a required property")
        for key, sub in props.items():
            if key in value:
                _check(value[key], sub, f"{where}.{key}", set_default)
            elif set_default and isinstance(sub, dict) and "default" in sub:
                value[key] = sub["default"]
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise WorkflowError(f"{where}: additional properties are not allowed ({extra[0]!r})")
    if isinstance(value, (list, tuple)) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{i}]", set_default)


def validate(data: Any, schema: str | os.PathLike[str], set_default: bool = True) -> None:
    """Check a config dict (or each row of a pandas DataFrame) against a JSON schema file
    (YAML or JSON, relative to the calling rule file's folder). Supports type, enum,
    pattern, minimum/maximum, properties, required, additionalProperties, items, default."""
    path = os.fspath(schema)
    if not os.path.isabs(path):
        caller = sys._getframe(1).f_code.co_filename
        path = os.path.join(os.path.dirname(os.path.abspath(caller)), path)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.endswith(".json"):
        import json

        spec = json.loads(text)
    else:
        import yaml

        spec = yaml.safe_load(text)
    if hasattr(data, "collect") and hasattr(data, "columns"):   # a polars LazyFrame
        data = data.collect()
    if hasattr(data, "to_dicts"):                               # a polars DataFrame
        for i, row in enumerate(data.to_dicts()):
            _check({k: v for k, v in row.items() if not _is_null(v)}, spec, f"row {i}", False)
        return
    if hasattr(data, "to_dict") and hasattr(data, "columns"):   # a pandas DataFrame
        rows = [{k: v for k, v in row.items() if not _is_null(v)}
                for row in data.to_dict("records")]
        for i, row in enumerate(rows):
            _check(row, spec, f"row {i}", set_default)
        if set_default:
            for key, sub in spec.get("properties", {}).items():
                if isinstance(sub, dict) and "default" in sub:
                    values = [row.get(key, sub["default"]) for row in rows]
                    data[key] = values
        return
    _check(data, spec, "config", set_default)


# --------------------------------------------------------------------------- the finder

def _build(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = __file__
    if name == "snakemake":
        module.__path__ = []   # a package, so `import snakemake.utils` works
        module.__version__ = SNAKEMAKE_VERSION  # type: ignore[attr-defined]
        module.shell = _current_shell[0]  # type: ignore[attr-defined]
    elif name == "snakemake.utils":
        from .paramspace import Paramspace

        module.__dict__.update(min_version=min_version, update_config=update_config,
                               validate=validate, available_cpu_count=available_cpu_count,
                               makedirs=makedirs, Paramspace=Paramspace)
    elif name == "snakemake.io":
        module.__dict__.update(
            expand=expand, glob_wildcards=glob_wildcards, temp=temp, temporary=temporary,
            protected=protected, directory=directory, touch=touch, ancient=ancient,
            multiext=multiext, unpack=unpack, Namedlist=NamedList)
    elif name == "snakemake.exceptions":
        module.__dict__.update(WorkflowError=WorkflowError)
    elif name == "snakemake.logging":
        module.__dict__.update(logger=snakefile_logger())
    elif name == "snakemake.shell":
        module.__dict__.update(shell=_current_shell[0])
    return module


class _Loader:   # no importlib.abc base: it adds nothing needed here and is slow to import
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _build(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        if module.__name__ == "snakemake":
            # As Snakemake's package does: its `shell` is the callable, not the submodule
            # (registered now so that a later `import snakemake.shell` does not rebind it).
            sys.modules.setdefault("snakemake.shell", _build("snakemake.shell"))
        parent, _, child = module.__name__.rpartition(".")
        if parent and parent in sys.modules and child != "shell":
            setattr(sys.modules[parent], child, module)


class _Finder:
    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _MODULES:
            return None
        loader = cast("importlib.abc.Loader", _Loader())   # a loader by its two methods
        return importlib.machinery.ModuleSpec(fullname, loader,
                                              is_package=fullname == "snakemake")


def _snakemake_installed() -> bool:
    if not _real:
        module = sys.modules.get("snakemake")
        if module is not None:
            _real.append(getattr(module, "__file__", None) != __file__)
        else:
            try:
                _real.append(importlib.util.find_spec("snakemake") is not None)
            except (ImportError, ValueError):
                _real.append(False)
    return _real[0]


@contextlib.contextmanager
def compat_imports(shell: Any = None) -> Iterator[None]:
    """While the block runs, `import snakemake...` finds the compatibility modules (unless
    a real Snakemake is installed); their `shell` is the given workflow's."""
    if _snakemake_installed():
        yield
        return
    _current_shell[0] = shell
    for name in ("snakemake", "snakemake.shell"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None) == __file__:
            module.shell = shell  # type: ignore[attr-defined]
    finder = _Finder()
    sys.meta_path.append(finder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)
