"""The interfaces: the Python API (api.py), the `rulekit` command and all it prints.
May import every other package; nothing but the package root imports it."""
