"""Settings of the Python process for the long-running services (`run`, `scheduler`)."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def tune_garbage_collector() -> None:
    """Freeze what start-up built and collect less often.

    Modules, mappers, compiled statements and the channels' objects live as long as the
    process; frozen, the collector's full passes no longer walk them. A chat step
    allocates a few thousand objects and leaves little cyclic garbage, so collecting the
    young generation every 50,000 allocations instead of 700 costs little memory. With
    Python's defaults, full collections over that heap were the slowest 1% of chat steps
    (``bench/conversation.py`` on SQLite: p99 27 ms, max 145 ms; tuned: p99 14 ms, max 28 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
