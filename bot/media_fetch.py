"""Media fetch workers: the files people send are downloaded, checked and kept by us.

The engine registers each file of a message as a ``media_file`` row in the step's own
transaction; these workers claim due rows (a lease, as the inbox's), download the file
from the provider through a :class:`MediaSource` (Twilio's media URL, Telegram's
``getFile``, a local path for the console) into a private temporary file while hashing
it, find its type from its first bytes, and keep it in the :class:`~bot.media_store.MediaStore`
under its SHA-256. A file over ``[media] max_bytes`` or of a type not in
``[media] allowed_types`` is refused, and its sender is told so politely (one reply). A
download that fails is tried again a few times soon (``quick_attempts``), then every
``retry_later_minutes`` (doubling) until ``give_up_after_hours``; `doctor` lists those that
keep failing. The message it came with was handled on arrival: nothing waits for this.

After a file from Twilio is kept (or refused), Twilio's own copy is deleted through its
Media API when ``[media] delete_at_twilio`` is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import MediaSettings
from bot.media_store import MediaStore, fetch_temp
from handlers.i18n import Translator
from models.db import transaction
from models.enums import Channel, MediaStatus
from models.media import (
    Claimed,
    Stored,
    claim,
    fetch_later,
    mark_refused,
    mark_stored,
    provider_deleted,
)
from models.media_content import SNIFF_BYTES, photo_facts, sniff
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.rules.clock import Clock

log = logging.getLogger(__name__)
REFUSAL_KIND = "reply"  # an answer to the message the file came with (inside its window)
PROVIDER_DELETE_WAIT = timedelta(minutes=10)
QUICK_WAIT = timedelta(seconds=20)
LONGEST_WAIT = timedelta(hours=24)


class FetchFailed(Exception):
    """A download that may work later (a network error, a timeout, a 404 or 5xx)."""


class Refused(Exception):
    """A file that is not kept: ``too_large`` or ``wrong_type``."""

    def __init__(self, reason: str, content_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.content_type = content_type


@dataclass(frozen=True)
class Download:
    """An open download: the provider's type and length when it said them, and the bytes."""

    chunks: AsyncIterator[bytes]
    content_type: str | None = None
    length: int | None = None


class MediaSource(Protocol):
    """Where the files of one channel come from (its provider)."""

    def open(self, ref: str, max_bytes: int) -> AbstractAsyncContextManager[Download]:
        """The download of ``ref``; raises :class:`FetchFailed` or :class:`Refused`."""

    async def delete_at_provider(self, ref: str) -> None:
        """Delete the provider's copy (nothing to do for most); raises on failure."""


class LocalFileSource:
    """``file:<path>`` references of the terminal chat (its photos): read from the disk."""

    @asynccontextmanager
    async def open(self, ref: str, max_bytes: int) -> AsyncIterator[Download]:
        if not ref.startswith("file:"):
            raise FetchFailed("not a file reference")
        try:
            handle = await asyncio.to_thread(Path(ref.removeprefix("file:")).open, "rb")
        except OSError as error:
            raise FetchFailed(type(error).__name__) from None
        with handle:

            async def chunks() -> AsyncIterator[bytes]:
                while chunk := handle.read(1 << 16):
                    yield chunk

            yield Download(chunks())

    async def delete_at_provider(self, ref: str) -> None:
        return None


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    allowed_types: frozenset[str]
    delete_at_twilio: bool = True
    quick_attempts: int = 3
    retry_later: timedelta = timedelta(minutes=30)
    give_up_after: timedelta = timedelta(hours=72)
    timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: MediaSettings) -> FetchPolicy:
        return cls(
            max_bytes=settings.max_bytes,
            allowed_types=frozenset(settings.allowed_types),
            delete_at_twilio=settings.delete_at_twilio,
            quick_attempts=settings.quick_attempts,
            retry_later=timedelta(minutes=settings.retry_later_minutes),
            give_up_after=timedelta(hours=settings.give_up_after_hours),
            timeout=settings.timeout_seconds,
        )

    def next_try(self, attempts: int, received_at: datetime, now: datetime) -> datetime | None:
        """When a download that failed ``attempts`` times is tried again; None: give up."""
        if now - received_at >= self.give_up_after:
            return None
        if attempts < self.quick_attempts:
            return now + QUICK_WAIT * 2 ** (attempts - 1)
        wait = self.retry_later * 2 ** (attempts - self.quick_attempts)
        return now + min(wait, LONGEST_WAIT)


WRITE_BATCH = 1 << 20
"""Bytes a download gathers before they are hashed and written in a thread (hashlib and
file writes release the GIL): the event loop keeps answering webhooks meanwhile, and a
download holds at most this much (plus a part) in memory."""


def _write(out: IO[bytes], digest: Any, parts: list[bytes]) -> None:
    for part in parts:
        digest.update(part)
        out.write(part)


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.0f} MB" if size >= 1_000_000 else f"{size // 1000} KB"


class MediaFetcher:
    """Claims due media rows and fetches them, ``concurrency`` at a time, until stopped."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: MediaStore,
        sources: Mapping[Channel, MediaSource],
        clock: Clock,
        translator: Translator,
        policy: FetchPolicy,
        *,
        concurrency: int = 4,
        lease: timedelta = timedelta(minutes=5),
        idle: float = 2.0,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._sources = dict(sources)
        self._clock = clock
        self._t = translator
        self.policy = policy
        self._concurrency = concurrency
        self._lease = lease
        self._idle = idle
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def notify(self) -> None:
        """Something may be due now (a message with files was handled)."""
        self._wake.set()

    async def close(self) -> None:
        """Close the sources' HTTP clients."""
        for source in {id(s): s for s in self._sources.values()}.values():
            close = getattr(source, "close", None)
            if close is not None:
                await close()

    async def run_once(self) -> int:
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        async with self._sessions.begin() as session:
            rows = await claim(session, now=self._clock.now(), limit=free, lease=self._lease)
        for row in rows:
            task = asyncio.create_task(self._handle(row), name=f"media-{row.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(rows)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def drain(self) -> None:
        """Fetch everything due now (for tests and the command line)."""
        while True:
            busy = bool(self._in_flight)
            claimed = await self.run_once()
            if not claimed and not busy and not self._in_flight:
                return
            if self._in_flight:
                await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception:  # the database may be briefly away
                log.exception("media claim failed")
                claimed = 0
            if claimed:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle)
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    def _source(self, row: Claimed) -> MediaSource | None:
        return self._sources.get(row.channel)

    async def _handle(self, row: Claimed) -> None:
        try:
            if row.status is MediaStatus.PENDING:
                await self._fetch(row)
            elif row.provider_delete:
                await self._delete_at_provider(row)
        except Exception:  # a worker survives anything; the row comes back with its lease
            log.exception("media %s (%s) could not be handled", row.id, row.channel)

    async def _fetch(self, row: Claimed) -> None:
        source = self._source(row)
        if source is None:
            await self._failed(row, f"no {row.channel.value} source in this process")
            return
        try:
            stored = await self._download(source, row.provider_ref)
        except Refused as refused:
            await self._refused(row, refused)
        except (FetchFailed, TimeoutError, OSError) as error:
            await self._failed(row, str(error) or type(error).__name__)
        else:
            # recorded first: a process killed before the provider's copy is deleted leaves
            # that deletion due, never a file of ours that no row names
            delete = self._deletes_at_provider(row)
            async with transaction(self._sessions) as session:
                await mark_stored(
                    session, row.id, stored, delete_at_provider=delete, now=self._clock.now()
                )
            log.info("media %s (%s) stored: %d bytes", row.id, row.channel, stored.size_bytes)
            if delete:
                await self._delete_at_provider(row)

    async def _deleted_there(self, row: Claimed) -> bool:
        """Delete the provider's copy now; False when that failed (tried again later)."""
        source = self._source(row)
        try:
            if source is not None:
                await source.delete_at_provider(row.provider_ref)
        except Exception as error:
            log.warning("media %s (%s): provider copy not deleted yet: %s",
                        row.id, row.channel, type(error).__name__)
            return False
        return True

    def _deletes_at_provider(self, row: Claimed) -> bool:
        return self.policy.delete_at_twilio and row.channel in (Channel.WHATSAPP, Channel.SMS)

    async def _download(self, source: MediaSource, ref: str) -> Stored:
        """Stream ``ref`` to a private temporary file, hashing and checking as it comes;
        then keep it in the store under its hash."""
        policy = self.policy
        temp = fetch_temp(self._store.temp_folder)
        try:
            digest = hashlib.sha256()
            size = 0
            head = bytearray()
            kind: str | None = None
            async with asyncio.timeout(policy.timeout):
                async with source.open(ref, policy.max_bytes) as download:
                    if download.length is not None and download.length > policy.max_bytes:
                        raise Refused("too_large")
                    with temp.open("wb") as out:
                        pending: list[bytes] = []
                        buffered = 0
                        async for chunk in download.chunks:
                            size += len(chunk)
                            if size > policy.max_bytes:
                                raise Refused("too_large")
                            if kind is None:
                                head += chunk[: SNIFF_BYTES - len(head)]
                                if len(head) >= SNIFF_BYTES:
                                    kind = self._checked(bytes(head))
                            pending.append(chunk)
                            buffered += len(chunk)
                            if buffered >= WRITE_BATCH:  # hashed and written off the loop
                                await asyncio.to_thread(_write, out, digest, pending)
                                pending, buffered = [], 0
                        await asyncio.to_thread(_write, out, digest, pending)
            kind = kind or self._checked(bytes(head))
            image = kind.startswith("image/")
            facts = await asyncio.to_thread(photo_facts, temp) if image else None
            key = digest.hexdigest()
            await self._store.put(temp, key, kind)
            return Stored(
                sha256=key,
                size_bytes=size,
                content_type=kind,
                storage_key=key,
                taken_at=facts.taken_at if facts else None,
                latitude=facts.latitude if facts else None,
                longitude=facts.longitude if facts else None,
            )
        finally:
            temp.unlink(missing_ok=True)

    def _checked(self, head: bytes) -> str:
        kind = sniff(head)
        if kind is None or kind not in self.policy.allowed_types:
            raise Refused("wrong_type", kind)
        return kind

    async def _refused(self, row: Claimed, refused: Refused) -> None:
        now = self._clock.now()
        delete = self._deletes_at_provider(row)
        if refused.reason == "too_large":
            text = self._t("media.refused_too_large", limit=megabytes(self.policy.max_bytes))
        else:
            text = self._t("media.refused_type")
        async with transaction(self._sessions) as session:
            first = await mark_refused(
                session,
                row.id,
                refused.reason + (f": {refused.content_type}" if refused.content_type else ""),
                content_type=refused.content_type,
                delete_at_provider=delete,
                now=now,
            )
            if first:
                await self._tell_sender(session, row, text, now)
        log.info("media %s (%s) refused: %s", row.id, row.channel, refused.reason)
        if delete:
            await self._delete_at_provider(row)

    async def _tell_sender(
        self, session: AsyncSession, row: Claimed, text: str, now: datetime
    ) -> None:
        """One polite reply to the chat the file came from (an answer to that message)."""
        if row.channel is Channel.NONE:
            return
        payload = {"text": text, "in_reply_to_at": row.received_at.isoformat()}
        await enqueue(
            session,
            [
                Enqueue(
                    row.channel,
                    row.address,
                    REFUSAL_KIND,
                    payload,
                    Priority.REPLY,
                    dedupe_key=f"media-refused:{row.id}",
                )
            ],
            now=now,
        )

    async def _failed(self, row: Claimed, error: str) -> None:
        now = self._clock.now()
        retry_at = self.policy.next_try(row.attempts, row.received_at, now)
        async with transaction(self._sessions) as session:
            await fetch_later(session, row.id, error=error, retry_at=retry_at, now=now)
        if retry_at is None:
            log.warning("media %s (%s) given up after %d attempts: %s",
                        row.id, row.channel, row.attempts, error)
        else:
            log.warning("media %s (%s) download failed, attempt %d: %s",
                        row.id, row.channel, row.attempts, error)

    async def _delete_at_provider(self, row: Claimed) -> None:
        deleted = await self._deleted_there(row)  # else kept for a later try
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            await provider_deleted(
                session, row.id, now=now, retry_at=None if deleted else now + PROVIDER_DELETE_WAIT
            )
