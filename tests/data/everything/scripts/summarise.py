with open(snakemake.output[0], "w") as fh:
    fh.write(",".join(rulekit.input) + "\n")
