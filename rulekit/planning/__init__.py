"""Planning: the filesystem seam, jobs from rules, the DAG, rerun triggers, reasons, the plan.
May import rulekit.core only (it sees a loaded model, never rule-file syntax or the store's tables)."""
