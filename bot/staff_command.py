"""`pendamping staff deactivate|reactivate|role|unlink` and `pendamping kelompok reassign`:
staff who leave, come back, change role or lose a phone, and kelompok handed over. Each
runs in one transaction and prints one line of what it did (names and counts, never a
number or a NIK), in the configured locale (``cli.staff.*``, ``cli.staff_error.*``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import App
from bot.commands import CommandError, translator
from handlers.i18n import Translator
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
from models.web_access import TooManyLinks, create_login_link

T = TypeVar("T")


async def _change(app: App, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One transaction; a change that cannot be made is one line, and nothing is written."""
    try:
        async with app.sessions.begin() as session:
            return await work(session)
    except StaffChangeError as exc:
        t = translator(app)
        raise CommandError(t(f"cli.staff_error.{exc.key}", **exc.values)) from exc


def _handover_line(t: Translator, handover: Handover, target: str) -> str:
    told = ", ".join(handover.told) if handover.told else t("cli.staff.told_nobody")
    return t(
        "cli.staff.handover",
        count=len(handover.kelompok),
        target=target,
        groups=", ".join(handover.kelompok),
        cases=handover.cases,
        moved=handover.messages_moved,
        pesan=handover.open_pesan,
        told=told,
    )


async def staff_deactivate(app: App, out: Console, who: str, to: str | None) -> None:
    t = translator(app)

    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        target = await find_one(session, to) if to else None
        handover = await deactivate(session, staff, now=app.clock.now(), to=target)
        line = t("cli.staff.deactivated", name=staff.name)
        if handover is not None and target is not None:
            line += "; " + _handover_line(t, handover, target.name)
        return line

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def staff_reactivate(app: App, out: Console, who: str) -> None:
    t = translator(app)

    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        await reactivate(session, staff)
        return t("cli.staff.reactivated", name=staff.name)

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def staff_role(app: App, out: Console, who: str, role: StaffRole) -> None:
    t = translator(app)

    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        before = staff.role.value
        await set_role(session, staff, role)
        return t("cli.staff.role_changed", name=staff.name, before=before, after=role.value)

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def staff_unlink(app: App, out: Console, who: str, address: str) -> None:
    t = translator(app)

    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        await unlink(session, staff, address)
        return t("cli.staff.unlinked", name=staff.name)

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def kelompok_reassign(
    app: App, out: Console, source: str, target: str, kelompok: list[str]
) -> None:
    t = translator(app)

    async def work(session: AsyncSession) -> str:
        from_staff = await find_one(session, source)
        to_staff = await find_one(session, target)
        handover = await reassign(
            session, from_staff, to_staff, now=app.clock.now(), kelompok=kelompok
        )
        line = _handover_line(t, handover, to_staff.name)
        return t("cli.staff.reassigned", name=from_staff.name, handover=line)

    out.print(await _change(app, work), markup=False, soft_wrap=True)


async def web_login(app: App, out: Console, who: str) -> None:
    """`pendamping web-login NAME`: a one-time link into the web console, on the terminal
    (for operators, and for staff who cannot reach the bot)."""
    t = translator(app)
    web = app.settings.web
    if not web.console:
        raise CommandError(t("cli.web_login.disabled"))

    async def work(session: AsyncSession) -> str:
        staff = await find_one(session, who)
        if not staff.active:
            raise CommandError(t("cli.web_login.unknown", name=who))
        try:
            token = await create_login_link(
                session,
                staff,
                now=app.clock.now(),
                actor="cli",
                valid_minutes=web.login_link_minutes,
                per_hour=web.login_links_per_hour,
            )
        except TooManyLinks:
            raise CommandError(
                t("cli.web_login.too_many", count=web.login_links_per_hour, name=staff.name)
            ) from None
        url = f"{web.base_url}/masuk/{token}"
        return t("cli.web_login.link", name=staff.name, minutes=web.login_link_minutes, url=url)

    out.print(await _change(app, work), markup=False, soft_wrap=True)
