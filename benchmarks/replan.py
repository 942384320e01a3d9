"""How much one process grows when it plans many times (run.py's replan metric).

    python benchmarks/replan.py RULEFILE [--calls 200] [--same-workflow]

Each call is `rulekit.load(RULEFILE).plan()` (with --same-workflow: one load, then
`plan()` calls). Prints `OBJECTS RSS_MB seconds`: how many more objects the garbage
collector holds (tracked plus frozen) after the last call than after the 10th (the first
calls warm caches), both after a `gc.collect()`, and the same for the resident set in MB
(which also counts memory the allocator keeps for reuse, so it is noisier). A
`gc.freeze()` that outlived a call would keep every reference cycle that was garbage at
that moment (a loaded workflow's functions and namespaces form cycles) out of the
collector's reach for good: the count would grow with every call.
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


def held() -> int:
    """Objects the collector holds: tracked ones plus frozen ones."""
    return len(gc.get_objects()) + gc.get_freeze_count()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rulefile")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--same-workflow", action="store_true", help="load once, plan each call")
    args = ap.parse_args()
    import rulekit

    wf = rulekit.load(args.rulefile)
    heap, rss = 0, 0.0
    t0 = time.perf_counter()
    for i in range(args.calls):
        if not args.same_workflow:
            wf = rulekit.load(args.rulefile)
        wf.plan()
        if i == 9:
            gc.collect()
            heap, rss = held(), rss_mb()
    gc.collect()
    heap_end, rss_end = held(), rss_mb()
    print(f"{heap_end - heap:.0f} {rss_end - rss:.1f} {time.perf_counter() - t0:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
