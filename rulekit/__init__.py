"""rulekit: file-based workflows from version-controlled rule files."""

__version__ = "0.1.0"
