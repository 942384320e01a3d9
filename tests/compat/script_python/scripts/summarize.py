# ruff: noqa: F821  (the script: directive defines `snakemake`)
with open(snakemake.input[0]) as fh:
    values = [int(x) for x in fh.read().split()]
with open(snakemake.output[0], "w") as out:
    out.write(f"{snakemake.wildcards.name} {snakemake.params.label}={sum(values)}\n")
