"""The rule-file language: source text -> syntax tree -> a loaded Workflow (and Snakemake compat).
May import rulekit.core only."""
