"""The sending pace shared by dispatcher processes: slots reserved by two processes (two
engines) for one sender never come closer than the rate allows, and idle time earns no
burst."""

from __future__ import annotations

import asyncio
from bisect import bisect_left

from models.db import create_engine, session_factory
from scheduler.dispatcher import SAFETY, SharedPacer

RATE = 80.0


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def _most_in_one_second(slots: list[float]) -> int:
    ordered = sorted(slots)
    return max(bisect_left(ordered, at + 1.0) - n for n, at in enumerate(ordered))


async def test_two_processes_keep_together_to_one_sender_s_rate(db_url: str) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        clock = Clock(1_800_000_000.0)
        pacers = [SharedPacer(session_factory(engine), "whatsapp:+14155550100", RATE, now=clock)
                  for engine in engines]
        slots: list[float] = []
        for _ in range(10):  # both processes take slots at the same time, 400 each
            taken = await asyncio.gather(
                *(pacer.next_slot() for pacer in pacers for _ in range(40))
            )
            slots += taken
            clock.at += 0.5
        assert len(set(slots)) == len(slots) == 800
        ordered = sorted(slots)
        interval = 1.0 / (RATE * SAFETY)
        gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
        assert min(gaps) >= interval - 1e-6  # (a double holds the epoch to 0.2 microseconds)
        assert _most_in_one_second(slots) <= RATE
        assert ordered[-1] - ordered[0] < 800 * interval * 1.01  # and no gap wasted

        other = SharedPacer(session_factory(engines[0]), "telegram", 30.0, now=clock)
        assert await other.next_slot() == clock.at  # another sender has its own pace

        clock.at = ordered[-1] + 60  # a minute idle: no credit for it, no burst
        later = [await pacers[0].next_slot() for _ in range(200)]
        assert later[0] >= clock.at and _most_in_one_second(later) <= RATE
    finally:
        for engine in engines:
            await engine.dispose()
