# ruff: noqa: F821  (the script: directive defines `snakemake`)
lines = [snakemake.params.title]
for path in snakemake.input:
    with open(path) as fh:
        lines.append(fh.read().strip())
with open(snakemake.output[0], "w") as out:
    out.write("\n".join(lines) + "\n")
