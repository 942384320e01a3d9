"""The model every layer shares: rules, jobs, patterns, job values, shell text, errors.
Imports nothing else of rulekit; every other package may import it."""
