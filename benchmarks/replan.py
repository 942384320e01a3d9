"""How much one process grows when it calls rulekit's plan() many times (run.py's replan).

    python benchmarks/replan.py RULEFILE [--calls 200]

Prints `GROWTH_MB first_MB last_MB seconds`: resident memory after the last call minus
after the 10th (the first calls warm caches), read from /proc/self/statm. A plan that left
its objects frozen out of the garbage collector's reach (`gc.freeze()`) would grow by the
size of every plan made.
"""

from __future__ import annotations

import argparse
import gc
import os
import time


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rulefile")
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    import rulekit

    wf = rulekit.load(args.rulefile)
    first = 0.0
    t0 = time.perf_counter()
    for i in range(args.calls):
        wf.plan()
        if i == 9:
            gc.collect()
            first = rss_mb()
    gc.collect()
    last = rss_mb()
    print(f"{last - first:.1f} {first:.1f} {last:.1f} {time.perf_counter() - t0:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
