"""`pendamping staff deactivate|reactivate|role|unlink` and `pendamping kelompok reassign`:
staff who leave, come back, change role or lose a phone, and kelompok handed over. Each
runs in one transaction and prints one line of what it did (names and counts, never a
number or a NIK)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import App
from bot.commands import CommandError
from models.enums import StaffRole
from models.staff_changes import (
    Handover,
    StaffChangeError,
    deactivate,
    find_one,
    reactivate,
    reassign,
    set_role,
    unlink,
)

T = TypeVar("T")


async def _change(app: App, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One transaction; a change that cannot be made is one line, and nothing is written."""
    try:
        async with app.sessions.begin() as session:
            return await work(session)
    except StaffChangeError as exc:
        raise CommandError(str(exc)) from exc


def _handover_line(handover: Handover, target: str) -> str:
    told = ", ".join(handover.told) if handover.told else "nobody (no linked chat)"
    return (
        f"{len(handover.kelompok)} kelompok to {target} ({', '.join(handover.kelompok)}): "
        f"{handover.cases} open cases, {handover.messages_moved} waiting messages moved, "
        f"{handover.open_pesan} open pesan KPM follow; told in chat: {told}"
    )


async def staff_deactivate(app: App, out: Console, who: str, to: str | None) -> None:
    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        target = await find_one(session, to) if to else None
        handover = await deactivate(session, staff, now=app.clock.now(), to=target)
        line = f"{staff.name} deactivated: their chats are told access ended"
        if handover is not None and target is not None:
            line += "; " + _handover_line(handover, target.name)
        return line

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def staff_reactivate(app: App, out: Console, who: str) -> None:
    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        await reactivate(session, staff)
        return f"{staff.name} is active again (kelompok are not given back: reassign them)"

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def staff_role(app: App, out: Console, who: str, role: StaffRole) -> None:
    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        before = staff.role.value
        await set_role(session, staff, role)
        return f"{staff.name}: {before} -> {role.value}"

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def staff_unlink(app: App, out: Console, who: str, address: str) -> None:
    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        await unlink(session, staff, address)
        return f"{staff.name}: one chat address unlinked"

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def kelompok_reassign(
    app: App, out: Console, source: str, target: str, kelompok: list[str]
) -> None:
    async def work(session: AsyncSession) -> str:
        from_staff = await find_one(session, source)
        to_staff = await find_one(session, target)
        handover = await reassign(
            session, from_staff, to_staff, now=app.clock.now(), kelompok=kelompok
        )
        return f"from {from_staff.name}: " + _handover_line(handover, to_staff.name)

    out.print(await _change(app, work), markup=False, soft_wrap=True)
