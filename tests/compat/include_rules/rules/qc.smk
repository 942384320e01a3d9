rule qc:
    input:
        "raw/{sample}.txt"
    output:
        "qc/{sample}.qc"
    shell:
        "wc -c < {input} | tr -d ' ' > {output}"
