"""What rulekit remembers between runs: the metadata store, its records, run locks, the run
recorder, summary/provenance queries and clean. May import core, lang and planning."""
