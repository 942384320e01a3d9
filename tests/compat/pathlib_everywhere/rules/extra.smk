rule extra:
    output:
        Path("out") / "extra.txt",
    shell:
        "echo extra > {output}"
