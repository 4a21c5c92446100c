"""Linking a kelompok's group chat (Telegram or WhatsApp group) with a one-time code."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.attendance import group_in_scope
from models.audit import audit
from models.messaging.tables import GroupLinkCode
from models.staff import RedeemProblem, hash_code, new_code
from models.tables import Kelompok, Staff

CODE_VALID = timedelta(hours=24)


async def create_group_code(
    session: AsyncSession, staff: Staff, kelompok_id: int, *, now: datetime
) -> str:
    """A code the pendamping sends in the group chat to link it to ``kelompok_id``."""
    kelompok = await group_in_scope(session, staff, kelompok_id)
    code = new_code()
    session.add(
        GroupLinkCode(
            kelompok_id=kelompok.id,
            staff_id=staff.id,
            code_hash=hash_code(code),
            created_at=now,
            expires_at=now + CODE_VALID,
        )
    )
    return code


async def link_group_chat(
    session: AsyncSession, staff: Staff, code: str, address: str, *, now: datetime
) -> Kelompok | RedeemProblem:
    """Link the group chat at ``address`` to the kelompok the code was made for.

    Only the staff member who made the code can use it; a chat linked before to another
    kelompok moves to this one."""
    link = await session.scalar(
        select(GroupLinkCode).where(GroupLinkCode.code_hash == hash_code(code)).with_for_update()
    )
    if link is None or link.staff_id != staff.id:
        return RedeemProblem.UNKNOWN
    if link.used_at is not None:
        return RedeemProblem.USED
    if link.expires_at <= now:
        return RedeemProblem.EXPIRED
    previous = await session.scalar(select(Kelompok).where(Kelompok.group_chat_address == address))
    if previous is not None:
        previous.group_chat_address = None
        await session.flush()
    kelompok = await group_in_scope(session, staff, link.kelompok_id)
    kelompok.group_chat_address = address
    link.used_at = now
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="kelompok.link_group",
        entity="kelompok",
        entity_id=kelompok.id,
    )
    return kelompok
