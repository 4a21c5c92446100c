"""The event loop every process of ours runs on: uvloop where it exists.

A chat step on PostgreSQL is five round trips to the server (BEGIN, three statements,
COMMIT), and each one is a write, a wake-up and a read of the event loop. uvloop (libuv,
by asyncpg's authors) does that work in C: on this machine it took a step's CPU in our
process from 1.4 to 1.0 ms and the p99 under 500 steps/s from 23-29 to 16 ms
(bench/conversation.py). It is public API only (``uvloop.new_event_loop`` handed to
``asyncio.Runner``). It has no Windows build; there the standard loop runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

try:
    import uvloop
except ImportError:  # pragma: no cover - only where uvloop has no build (Windows)
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop of the kind the bot runs on."""
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def loop_name() -> str:
    """What :func:`new_event_loop` makes, for logs and benchmark output."""
    return "uvloop" if uvloop is not None else "asyncio"


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """``asyncio.run`` on the bot's loop."""
    factory: Callable[[], asyncio.AbstractEventLoop] = new_event_loop
    with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
        return runner.run(main)
