"""Persistent option defaults: a Snakemake-style profile and `[tool.rulekit]` in pyproject.toml.

A profile is a folder holding `config.yaml` (or `profile.yaml`), or such a file itself, whose
keys are long option names without the dashes and whose values are what the option takes:

    cores: 4
    keep-going: true
    printshellcmds: true          # Snakemake's name for -p is understood too
    config: {threshold: 3}        # a mapping becomes K=V items; a list is taken as is
    default-resources: [mem_mb=1000]

`[tool.rulekit]` in the pyproject.toml of the current folder (or the nearest folder above it)
uses the same keys. Precedence: the command line, then the profile, then pyproject.toml.
The result is a click `default_map` for the command being run; keys the command does not
know are reported once as warnings and ignored.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import click

from ..core.errors import UsageError

__all__ = ["load_defaults", "profile_path"]

# Snakemake option names that are spelled differently in rulekit.
ALIASES = {"printshellcmds": "print-commands", "jobs": "cores", "snakefile": "file",
           "keep-going": "keep-going", "dryrun": "dry-run", "directory": "directory",
           "notemp": "no-temp", "default-res": "default-resources", "res": "resources",
           "configfiles": "configfile", "restart-times": "retries"}
# Accepted for compatibility, without effect in rulekit.
IGNORED = {"rerun-incomplete", "ri", "use-conda", "use-singularity", "use-apptainer",
           "executor", "show-failed-logs", "verbose", "reason", "printshellcmds-all",
           "groups", "group-components"}


def profile_path(profile: str) -> str:
    """The profile's YAML file: PROFILE itself, or config.yaml / profile.yaml inside it."""
    if os.path.isfile(profile):
        return profile
    if os.path.isdir(profile):
        for name in ("profile.yaml", "config.yaml"):
            path = os.path.join(profile, name)
            if os.path.isfile(path):
                return path
        raise UsageError(f"profile {profile}: no config.yaml or profile.yaml in it")
    raise UsageError(f"profile not found: {profile}",
                     hint="give a folder holding config.yaml, or the YAML file itself")


def _read_profile(profile: str) -> dict[str, Any]:
    import yaml

    path = profile_path(profile)
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"profile {path} cannot be read: {err}") from None
    if not isinstance(data, dict):
        raise UsageError(f"profile {path} must hold a mapping of option names to values")
    return data


def _read_pyproject(start: str) -> dict[str, Any]:
    folder = os.path.abspath(start)
    while True:
        path = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(path):
            try:
                import tomllib
            except ImportError:   # Python 3.10: no TOML reader in the standard library
                return {}
            try:
                with open(path, "rb") as fh:
                    data = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as err:
                raise UsageError(f"{path} cannot be read: {err}") from None
            section = data.get("tool", {}).get("rulekit", {})
            return dict(section) if isinstance(section, dict) else {}
        parent = os.path.dirname(folder)
        if parent == folder:
            return {}
        folder = parent


def _as_items(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        items: list[str] = []
        for k, v in value.items():
            if isinstance(v, Mapping):   # set-resources: {rule: {mem_mb: 100}} -> rule:mem_mb=100
                items.extend(f"{k}:{k2}={v2}" for k2, v2 in v.items())
            else:
                items.append(f"{k}={v}")
        return items
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _default_map(command: click.Command, values: Mapping[str, Any], where: str,
                 warn: Callable[[str], None]) -> dict[str, Any]:
    by_opt: dict[str, click.Parameter] = {}
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                by_opt[opt[2:]] = param
    out: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).replace("_", "-")
        key = ALIASES.get(key, key)
        found = by_opt.get(key)
        if found is None or found.name is None:
            if key not in IGNORED:
                warn(f"{where}: option {raw_key!r} is not known to `rulekit "
                     f"{command.name}`; ignored")
            continue
        choices = getattr(found.type, "choices", None)
        if choices is not None and not getattr(found, "multiple", False) \
                and str(value) not in choices:
            # e.g. `executor: slurm` from a Snakemake profile: never a bare click error
            # that does not say where the value came from.
            warn(f"{where}: {raw_key}: {value!r} is not one of "
                 f"{', '.join(map(str, choices))} for `rulekit {command.name}`; ignored")
            continue
        if getattr(found, "multiple", False):
            out[found.name] = _as_items(value)
        elif isinstance(found, click.Option) and found.is_flag:
            out[found.name] = bool(value)
        else:
            out[found.name] = value
    return out


def load_defaults(command: click.Command, profile: str | None, folder: str,
                  warn: Callable[[str], None]) -> dict[str, Any]:
    """The default_map for `command`: pyproject.toml's [tool.rulekit], then the profile."""
    defaults = _default_map(command, _read_pyproject(folder), "pyproject.toml [tool.rulekit]",
                            warn)
    if profile:
        defaults.update(_default_map(command, _read_profile(profile),
                                     f"profile {profile_path(profile)}", warn))
    return defaults
