"""Pausing the cyclic garbage collector while many objects are built (`no_gc`).

Apart from the DAG so that the command line can set `KEEP_FROZEN` without importing the
planner (start-up time, issue 12).
"""

from __future__ import annotations

import contextlib
import gc
from typing import Any

__all__ = ["KEEP_FROZEN", "no_gc"]


#: Set by the command line, whose process ends after one command: what a paused section
#: built stays frozen (never walked by the collector again). In any other process (a
#: library user calling plan() in a loop) nothing stays frozen: see no_gc().
KEEP_FROZEN = [False]


@contextlib.contextmanager
def no_gc() -> Any:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Its full collections walk every live object, which makes building 10^5 jobs
    quadratic-ish; nothing built here forms reference cycles.
    """
    was = gc.isenabled()
    # no one else's frozen objects to release below (the count walks them: skip it when
    # they stay frozen anyway)
    own = KEEP_FROZEN[0] or gc.get_freeze_count() == 0
    gc.disable()
    try:
        yield
    finally:
        if was:
            # Everything allocated meanwhile sits in the youngest generation; enabling as
            # it is would make the next collections walk it all, two or three times. A
            # freeze and unfreeze moves it straight to the oldest generation instead (two
            # list splices): walked only by the next full collection, and still freed by
            # it when it is garbage, so repeated plans do not grow the process.
            if KEEP_FROZEN[0] or own:
                gc.freeze()
                if not KEEP_FROZEN[0]:
                    gc.unfreeze()
            gc.enable()
