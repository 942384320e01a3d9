SAMPLES = ["p", "q"]

rule fetch:
    output:
        "raw/{sample}.txt"
    shell:
        "echo raw {wildcards.sample} > {output}"
