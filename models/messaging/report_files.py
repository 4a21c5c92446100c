"""Generated files kept for a while so that a channel can send them later.

A digest's chart and workbook, or an export asked for in chat, are stored with an expiry:
Telegram uploads the bytes when the dispatcher sends the message; WhatsApp fetches them
from a signed, expiring URL of the web app (see bot/media.py). Expired files are purged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from models.db.sql import rowcount
from models.messaging.tables import ReportFile

DEFAULT_TTL = timedelta(days=7)


async def store_file(
    session: AsyncSession,
    *,
    filename: str,
    content_type: str,
    content: bytes,
    now: datetime,
    staff_id: int | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> int:
    """Keep a file until ``now + ttl``; returns its id (in the caller's transaction)."""
    row = ReportFile(
        filename=filename,
        content_type=content_type,
        content=content,
        staff_id=staff_id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    await session.flush()
    return row.id


async def load_file(session: AsyncSession, file_id: int, *, now: datetime) -> ReportFile | None:
    """The file, or None when it does not exist or has expired."""
    row = await session.get(ReportFile, file_id)
    if row is None or row.expires_at <= now:
        return None
    return row


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(delete(ReportFile).where(ReportFile.expires_at <= now))
    return int(rowcount(result) or 0)
