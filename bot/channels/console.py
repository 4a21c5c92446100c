"""The terminal channel: chat with the real engine from a shell, or replay a script.

Options are drawn as a numbered list, toggles as check boxes. A photo is sent by typing
``/foto PATH`` (the path is kept as the media reference). Reading a script from standard
input (one message per line) prints a transcript, so conversations can be demonstrated
and tested without a chat app.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from typing import TextIO

from handlers.engine import Engine
from handlers.messages import IncomingMessage, Media, Reply
from models.rules.clock import Clock

CHANNEL = "console"
PHOTO_PREFIX = "/foto"
QUIT_WORDS = {"/keluar", "/quit", "/exit"}


def render(reply: Reply) -> str:
    """A reply as terminal text."""
    lines = [reply.text]
    for toggle in reply.toggles:
        lines.append(f"  [{'x' if toggle.on else ' '}] {toggle.label}")
    if reply.options:
        if reply.numbered_options:
            lines.extend(
                f"  {n}. {option.label}" for n, option in enumerate(reply.options, start=1)
            )
        else:
            lines.append("  » " + " · ".join(option.label for option in reply.options))
    for media in reply.media:
        lines.append(f"  [media: {media.ref}]")
    if reply.document is not None:
        lines.append(f"  [dokumen: {reply.document.filename}]")
    return "\n".join(lines)


def to_message(line: str, address: str, clock: Clock) -> IncomingMessage:
    text = line.strip()
    media: tuple[Media, ...] = ()
    if text.casefold().startswith(PHOTO_PREFIX):
        path = text[len(PHOTO_PREFIX) :].strip() or "foto.jpg"
        media, text = (Media(ref=f"file:{path}", content_type="image/jpeg"),), ""
    return IncomingMessage(
        channel=CHANNEL,
        address=address,
        received_at=clock.now(),
        text=text,
        media=media,
        external_id=None,
    )


async def converse(
    engine: Engine, clock: Clock, address: str, lines: Iterable[str], out: TextIO, *, echo: bool
) -> int:
    """Send each line to the engine and print the replies; returns messages sent."""
    sent = 0
    for line in lines:
        if line.strip() in QUIT_WORDS:
            break
        if echo:
            out.write(f"> {line.rstrip()}\n")
        outcome = await engine.handle(to_message(line, address, clock))
        sent += 1
        for reply in outcome.replies:
            out.write(render(reply) + "\n\n")
        out.flush()
    return sent


async def run_console(
    engine: Engine,
    clock: Clock,
    address: str,
    banner: str,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> int:
    if stdin.isatty():
        out.write(banner + "\n\n")
        await converse(engine, clock, address, ["/mulai"], out, echo=False)
        loop = asyncio.get_running_loop()
        sent = 0
        while True:
            line = await loop.run_in_executor(None, _read_line, "anda> ")
            if line is None or line.strip() in QUIT_WORDS:
                return sent
            sent += await converse(engine, clock, address, [line], out, echo=False)
    return await converse(
        engine, clock, address, (line for line in stdin if line.strip()), out, echo=True
    )


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
