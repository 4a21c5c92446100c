"""Ways into the web console: one-time login links and the sessions they open.

A link's token and a session's token are random, shown once (in a chat, or on a terminal)
and kept only as SHA-256 hashes, like invite codes. A link works once, for a few minutes;
a session ends at logout, after an idle time, or when its staff member is deactivated.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.tables import Staff, WebLoginLink, WebSession

LINK_MINUTES = 10
LINKS_PER_HOUR = 5
"""How many links one staff member may ask for in an hour (a lost phone, a slow network)."""
TOUCH_EVERY = timedelta(minutes=1)
"""A session's last-seen time is written at most this often (a page view is a read)."""


class LinkProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    INACTIVE = "inactive"


class TooManyLinks(Exception):
    """More links asked for within the hour than :data:`LINKS_PER_HOUR`."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "ignore")).hexdigest()


async def create_login_link(
    session: AsyncSession,
    staff: Staff,
    *,
    now: datetime,
    actor: str,
    valid_minutes: int = LINK_MINUTES,
    per_hour: int = LINKS_PER_HOUR,
) -> str:
    """A new one-time link token for ``staff``; only its hash is stored.

    Raises :class:`TooManyLinks` past ``per_hour`` links within the last hour."""
    recent = await session.scalar(
        select(func.count())
        .select_from(WebLoginLink)
        .where(
            WebLoginLink.staff_id == staff.id,
            WebLoginLink.created_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= per_hour:
        raise TooManyLinks
    token = secrets.token_urlsafe(32)
    link = WebLoginLink(
        staff_id=staff.id,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(minutes=valid_minutes),
    )
    session.add(link)
    await session.flush()
    await audit(session, actor=actor, action="web.link", entity="staff", entity_id=staff.id)
    return token


async def link_holder(session: AsyncSession, token: str, *, now: datetime) -> Staff | LinkProblem:
    """Who a link is for, without using it (the page that asks to confirm the login)."""
    found = await session.execute(
        select(WebLoginLink, Staff)
        .join(Staff, Staff.id == WebLoginLink.staff_id)
        .where(WebLoginLink.token_hash == token_hash(token))
    )
    row = found.first()
    if row is None:
        return LinkProblem.UNKNOWN
    link, staff = row
    if link.used_at is not None:
        return LinkProblem.USED
    if link.expires_at <= now:
        return LinkProblem.EXPIRED
    if not staff.active:
        return LinkProblem.INACTIVE
    return staff


@dataclass(frozen=True)
class OpenedSession:
    staff_id: int
    token: str
    """The cookie's value: shown to the browser once, kept here only as a hash."""


async def redeem_login_link(
    session: AsyncSession, token: str, *, now: datetime
) -> OpenedSession | LinkProblem:
    """Use a link once and open a session for its staff member.

    The link is marked used in the same statement that checks it is unused, so two
    browsers opening one link at once get one session between them."""
    holder = await link_holder(session, token, now=now)
    if not isinstance(holder, Staff):
        return holder
    used = await session.execute(
        update(WebLoginLink)
        .where(WebLoginLink.token_hash == token_hash(token), WebLoginLink.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return LinkProblem.USED
    session_token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            staff_id=holder.id,
            token_hash=token_hash(session_token),
            created_at=now,
            last_seen_at=now,
        )
    )
    await audit(session, actor=f"staff:{holder.id}", action="web.login", entity="staff",
                entity_id=holder.id)
    return OpenedSession(holder.id, session_token)


async def session_staff(
    session: AsyncSession, token: str, *, now: datetime, idle: timedelta
) -> Staff | None:
    """The active staff member a session token belongs to, or None (unknown, idle past
    ``idle``, or deactivated); the last-seen time is moved on at most every minute."""
    found = await session.execute(
        select(WebSession, Staff)
        .join(Staff, Staff.id == WebSession.staff_id)
        .where(WebSession.token_hash == token_hash(token))
    )
    row = found.first()
    if row is None:
        return None
    web_session, staff = row
    if web_session.last_seen_at <= now - idle or not staff.active:
        await session.execute(delete(WebSession).where(WebSession.id == web_session.id))
        return None
    if now - web_session.last_seen_at >= TOUCH_EVERY:
        web_session.last_seen_at = now
    return staff


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


async def forget_stale(session: AsyncSession, *, now: datetime, idle: timedelta) -> int:
    """Delete links past their time and sessions idle past ``idle`` (housekeeping)."""
    links = await session.execute(
        delete(WebLoginLink).where(WebLoginLink.expires_at <= now - timedelta(days=1))
    )
    sessions = await session.execute(
        delete(WebSession).where(WebSession.last_seen_at <= now - idle)
    )
    return int(links.rowcount or 0) + int(sessions.rowcount or 0)  # type: ignore[attr-defined]
