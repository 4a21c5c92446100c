"""The terminal chat (``pendamping chat``) on the path every channel's message takes.

A typed line is stored in the inbox, the inbox workers run the engine, which queues the
replies in the outbox in the step's own transaction, and the dispatcher sends them to the
console channel, which draws them. A line is handled to its last reply before the next is
read, so a replayed script prints a transcript in order. A line whose handling fails is
not tried again (a person at a terminal is waiting): it is kept as failed and the apology
every channel sends is drawn instead.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from typing import TextIO

from bot.bootstrap import App, build_media_fetcher, file_loader
from bot.channels.console import QUIT_WORDS, ConsoleSender, arrival, from_inbox
from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from handlers.messages import Reply
from models.enums import Channel
from scheduler.dispatcher import Dispatcher


class Terminal:
    """One terminal's round trip: a line in, its replies drawn."""

    def __init__(self, app: App, engine: Engine, out: TextIO) -> None:
        translator = Translator(app.settings.general.locale)
        self.out = out
        self.inbox = InboxWorkers(
            app.sessions, engine, {Channel.CONSOLE: from_inbox}, app.clock, translator,
            max_attempts=1,
        )
        self.sender = ConsoleSender(out, translator, file_loader(app))
        self.fetcher = build_media_fetcher(app, None, None)  # a photo typed as `foto PATH`
        self.dispatcher = Dispatcher(
            app.sessions, {Channel.CONSOLE: self.sender}, {}, app.clock, max_attempts=1
        )

    async def say(self, address: str, line: str) -> list[Reply]:
        """Send one line from ``address``; returns the replies drawn for it."""
        before = len(self.sender.sent)
        await self.inbox.store([arrival(line, address)])
        await self.inbox.drain()
        await self.fetcher.drain()  # kept, or refused with a reply drawn below
        while (await self.dispatcher.run_once()).progressed:
            pass
        return self.sender.sent[before:]

    async def converse(self, address: str, lines: Iterable[str], *, echo: bool) -> int:
        """Send each line and draw its replies; returns how many lines were sent."""
        sent = 0
        for line in lines:
            if line.strip() in QUIT_WORDS:
                break
            if echo:
                self.out.write(f"> {line.rstrip()}\n")
            await self.say(address, line)
            sent += 1
        return sent

    async def run(self, address: str, banner: str, stdin: TextIO | None = None) -> int:
        """Interactive at a terminal (a prompt per line); a script on standard input is
        replayed with each line echoed before its replies."""
        stdin = stdin or sys.stdin
        if not stdin.isatty():
            script = (line for line in stdin if line.strip())
            return await self.converse(address, script, echo=True)
        self.out.write(banner + "\n\n")
        await self.converse(address, ["/mulai"], echo=False)
        loop = asyncio.get_running_loop()
        sent = 0
        while True:
            line = await loop.run_in_executor(None, _read_line, "anda> ")
            if line is None or line.strip() in QUIT_WORDS:
                return sent
            sent += await self.converse(address, [line], echo=False)


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
