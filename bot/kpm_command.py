"""`pendamping kpm move` and `pendamping kpm leave`: a family moved to another kelompok, or
leaving the programme. Each runs in one transaction and prints one line (the ID PKH and
kelompok names, never a name, a number or a NIK), in the configured locale (``cli.kpm.*``,
``cli.kpm_error.*``)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import App
from bot.commands import CommandError, date_option, translator
from handlers.i18n import Translator
from models.enums import ExitReason
from models.kpm_changes import KpmChangeError, find_kpm, leave, move
from models.regions import timezone_of_region
from models.tables import Kelompok


def _refusal(t: Translator, error: KpmChangeError) -> CommandError:
    return CommandError(t(f"cli.kpm_error.{error.key}", **error.values))


async def _kelompok(session: AsyncSession, t: Translator, written: str) -> Kelompok:
    """A kelompok by id or by its name (whole, any case); exactly one."""
    text = written.strip()
    if text.isdigit() and (found := await session.get(Kelompok, int(text))) is not None:
        return found
    named = list(
        await session.scalars(
            select(Kelompok).where(Kelompok.name.ilike(text)).order_by(Kelompok.id).limit(6)
        )
    )
    if not named:
        raise CommandError(t("cli.kpm.no_kelompok", name=written))
    if len(named) > 1:
        ids = ", ".join(str(k.id) for k in named)
        raise CommandError(t("cli.kpm.several_kelompok", name=written, ids=ids))
    return named[0]


async def kpm_move(app: App, out: Console, who: str, kelompok: str) -> None:
    t = translator(app)
    try:
        async with app.sessions.begin() as session:
            kpm = await find_kpm(session, who)
            target = await _kelompok(session, t, kelompok)
            moved = await move(session, kpm, target, by=None, now=app.clock.now())
    except KpmChangeError as exc:
        raise _refusal(t, exc) from exc
    out.print(
        t(
            "cli.kpm.moved",
            id_pkh=kpm.id_pkh,
            before=moved.from_kelompok or "-",
            after=moved.to_kelompok,
            withdrawn=moved.withdrawn,
            cases=moved.cases_moved,
        ),
        markup=False,
        soft_wrap=True,
    )


async def kpm_leave(
    app: App, out: Console, who: str, reason: ExitReason, written_date: str | None
) -> None:
    t = translator(app)
    now = app.clock.now()
    try:
        async with app.sessions.begin() as session:
            kpm = await find_kpm(session, who)
            today = await _today_of(session, app, kpm.kelompok_id, now)
            on = date_option(t, "--on", written_date) if written_date is not None else today
            left = await leave(session, kpm, reason, on, today=today, by=None, now=now)
    except KpmChangeError as exc:
        raise _refusal(t, exc) from exc
    out.print(
        t(
            "cli.kpm.left",
            id_pkh=kpm.id_pkh,
            date=f"{left.on:%Y-%m-%d}",
            reason=left.reason.value,
            withdrawn=left.withdrawn,
        ),
        markup=False,
        soft_wrap=True,
    )


async def _today_of(
    session: AsyncSession, app: App, kelompok_id: int | None, now: datetime
) -> date:
    """Today where the KPM lives (its kelompok's province), else in the default zone."""
    desa = (
        await session.scalar(select(Kelompok.desa_id).where(Kelompok.id == kelompok_id))
        if kelompok_id is not None
        else None
    )
    name = await timezone_of_region(session, desa) or app.settings.general.timezone
    return now.astimezone(ZoneInfo(name)).date()
