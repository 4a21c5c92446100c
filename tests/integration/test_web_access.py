"""Login links and console sessions, on both databases: a link works once and for minutes
only, two browsers racing for one link get one session, links are rate limited, and a
session ends when idle, at logout, or when its staff member is deactivated."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.tables import AuditLog, Staff, WebLoginLink, WebSession
from models.web_access import (
    LinkProblem,
    OpenedSession,
    TooManyLinks,
    create_login_link,
    end_session,
    forget_stale,
    redeem_login_link,
    session_staff,
)
from tests.world import build_world

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)


async def _link(sessions: async_sessionmaker[AsyncSession], staff_id: int, at: datetime) -> str:
    async with sessions.begin() as session:
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        return await create_login_link(session, staff, now=at, actor="test")


async def _redeem(
    sessions: async_sessionmaker[AsyncSession], token: str, at: datetime
) -> OpenedSession | LinkProblem:
    async with sessions.begin() as session:
        return await redeem_login_link(session, token, now=at)


async def test_a_link_opens_one_session_once_and_only_its_hash_is_kept(sessions) -> None:
    world = await build_world(sessions)
    token = await _link(sessions, world.dewi, NOW)
    opened = await _redeem(sessions, token, NOW + timedelta(minutes=2))
    assert isinstance(opened, OpenedSession) and opened.staff_id == world.dewi
    assert await _redeem(sessions, token, NOW + timedelta(minutes=3)) is LinkProblem.USED
    assert await _redeem(sessions, "not-a-token", NOW) is LinkProblem.UNKNOWN
    async with sessions() as session:
        hashes = set(await session.scalars(select(WebLoginLink.token_hash)))
        hashes |= set(await session.scalars(select(WebSession.token_hash)))
        assert token not in hashes and opened.token not in hashes
        actions = set(await session.scalars(select(AuditLog.action)))
        assert {"web.link", "web.login"} <= actions


async def test_a_link_past_its_minutes_is_refused(sessions) -> None:
    world = await build_world(sessions)
    token = await _link(sessions, world.ani, NOW)
    assert await _redeem(sessions, token, NOW + timedelta(minutes=10)) is LinkProblem.EXPIRED


async def test_two_browsers_racing_for_one_link_get_one_session(sessions) -> None:
    world = await build_world(sessions)
    token = await _link(sessions, world.ani, NOW)
    results = await asyncio.gather(
        *(_redeem(sessions, token, NOW) for _ in range(4)), return_exceptions=True
    )
    opened = [r for r in results if isinstance(r, OpenedSession)]
    assert len(opened) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebSession)) == 1


async def test_links_are_limited_per_staff_member_and_hour(sessions) -> None:
    world = await build_world(sessions)
    for minute in range(5):
        await _link(sessions, world.ani, NOW + timedelta(minutes=minute))
    with pytest.raises(TooManyLinks):
        await _link(sessions, world.ani, NOW + timedelta(minutes=30))
    await _link(sessions, world.dewi, NOW + timedelta(minutes=30))  # others are not held up
    await _link(sessions, world.ani, NOW + timedelta(minutes=61))  # an hour later, again


async def test_a_session_ends_when_idle_at_logout_or_when_its_staff_leaves(sessions) -> None:
    world = await build_world(sessions)
    tokens = []
    for _ in range(3):
        opened = await _redeem(sessions, await _link(sessions, world.ani, NOW), NOW)
        assert isinstance(opened, OpenedSession)
        tokens.append(opened.token)
    idle, logged_out, kept = tokens
    async with sessions.begin() as session:
        staff = await session_staff(session, kept, now=NOW + timedelta(minutes=20), idle=IDLE)
        assert staff is not None and staff.id == world.ani
        await end_session(session, logged_out)
    async with sessions.begin() as session:
        later = NOW + timedelta(minutes=45)  # 25 minutes after the last page of `kept`
        assert await session_staff(session, idle, now=later, idle=IDLE) is None
        assert await session_staff(session, logged_out, now=later, idle=IDLE) is None
        assert await session_staff(session, kept, now=later, idle=IDLE) is not None
        ani = await session.get(Staff, world.ani)
        assert ani is not None
        ani.active = False
    async with sessions.begin() as session:
        assert await session_staff(session, kept, now=later, idle=IDLE) is None


async def test_housekeeping_forgets_old_links_and_idle_sessions(sessions) -> None:
    world = await build_world(sessions)
    await _link(sessions, world.ani, NOW)
    opened = await _redeem(sessions, await _link(sessions, world.dewi, NOW), NOW)
    assert isinstance(opened, OpenedSession)
    async with sessions.begin() as session:
        assert await forget_stale(session, now=NOW + timedelta(minutes=20), idle=IDLE) == 0
    async with sessions.begin() as session:
        assert await forget_stale(session, now=NOW + timedelta(days=2), idle=IDLE) == 3
