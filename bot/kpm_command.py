"""`pendamping kpm move` and `pendamping kpm leave`: a family moved to another kelompok, or
leaving the programme. Each runs in one transaction and prints one line (the ID PKH and
kelompok names, never a name, a number or a NIK), in the configured locale (``cli.kpm.*``,
``cli.kpm_error.*``).

`pendamping kpm export` and `pendamping kpm erase`: a family's own access and erasure
requests (UU PDP 27/2022), by ID PKH or NIK (``cli.kpm_export.*``, ``cli.kpm_erase.*``).
The export is the one file with the NIK in full, written readable by the service's user
only (0600)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import App
from bot.commands import CommandError, date_option, translator
from handlers.i18n import Translator
from models.audit import audit
from models.enums import ExitReason
from models.erasure import ErasureError, erase, find_subject, preview
from models.kpm_changes import KpmChangeError, find_kpm, leave, move
from models.private_files import private_temp
from models.regions import timezone_of_region
from models.tables import Kelompok, Kpm
from reporting.kpm_record import kpm_record, write_json, write_xlsx


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


EXPORT_SUFFIXES = (".xlsx", ".json")


def _erasure_refusal(t: Translator, error: ErasureError) -> CommandError:
    return CommandError(t(f"cli.kpm_error.{error.key}", **error.values))


async def kpm_export(app: App, out: Console, who: str, path: Path) -> None:
    """Everything held on one family to ``path`` (.xlsx or .json), written 0600 through a
    temporary file; audited (who, which KPM, the format: no values)."""
    t = translator(app)
    suffix = path.suffix.casefold()
    if suffix not in EXPORT_SUFFIXES:
        raise CommandError(t("cli.kpm_export.bad_suffix", name=path.name))
    if not path.parent.is_dir():  # noqa: ASYNC240 (a stat, once)
        raise CommandError(t("cli.export.no_folder", path=path.parent))
    now = app.clock.now()
    try:
        async with app.sessions.begin() as session:
            kpm = await find_subject(session, who)
            record = await kpm_record(session, kpm)
            _write_private(
                path,
                lambda handle: write_json(record, handle, exported_at=now)
                if suffix == ".json"
                else write_xlsx(
                    record, handle, t, exported_at=now,
                    zone=ZoneInfo(app.settings.general.timezone),
                ),
            )
            rows = sum(len(rows) for rows in record.sheets.values())
            await audit(
                session, actor="cli", action="kpm.export", entity="kpm", entity_id=kpm.id,
                detail={"format": suffix.lstrip("."), "rows": rows}, at=now,
            )
    except ErasureError as exc:
        raise _erasure_refusal(t, exc) from exc
    out.print(
        t("cli.kpm_export.written", id_pkh=record.id_pkh, path=path, rows=rows,
          sheets=len(record.sheets)),
        markup=False,
        soft_wrap=True,
    )


def _write_private(path: Path, write: Callable[[Any], None]) -> None:
    """Write a file only its owner can read (0600 whatever the umask), whole or not at all."""
    temp = private_temp(path.parent, path.name)
    try:
        with temp.open("wb") as handle:
            write(handle)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


async def kpm_erase(
    app: App,
    out: Console,
    who: str,
    reason: str,
    *,
    confirm: Callable[[str], str] | None,
) -> bool:
    """Erase one family's personal data after showing what goes and reading "ya" from
    ``confirm`` (None: ``--yes``, no question); False when the operator did not confirm.
    Asked again, it says when it was done."""
    t = translator(app)
    if not reason.strip():
        raise CommandError(t("cli.kpm_erase.no_reason"))
    try:
        async with app.sessions.begin() as session:
            kpm = await find_subject(session, who)
            if kpm.erased_at is not None:
                _say_already(out, t, kpm)
                return True
            shown = await preview(session, kpm)
        if confirm is not None:
            question = t(
                "cli.kpm_erase.confirm", id_pkh=shown.id_pkh, addresses=shown.addresses,
                messages=shown.messages, cases=shown.cases, photos=shown.photos,
                waiting=shown.waiting, yes=t("cli.yes"),
            )
            if confirm(question).strip().casefold() != t("cli.yes").casefold():
                out.print(t("cli.kpm_erase.cancelled"), markup=False)
                return False
        async with app.sessions.begin() as session:
            kpm = await session.get_one(Kpm, shown.kpm_id)
            if kpm.erased_at is not None:  # erased meanwhile (another operator, a chat)
                _say_already(out, t, kpm)
                return True
            done = await erase(session, kpm, reason, by=None, now=app.clock.now())
    except ErasureError as exc:
        raise _erasure_refusal(t, exc) from exc
    out.print(
        t(
            "cli.kpm_erase.done", id_pkh=done.id_pkh, pseudonym=done.pseudonym,
            addresses=done.addresses, messages=done.messages, cases=done.cases,
            photos=done.photos, withdrawn=done.withdrawn, scrubbed=done.scrubbed,
        ),
        markup=False,
        soft_wrap=True,
    )
    return True


def _say_already(out: Console, t: Translator, kpm: Kpm) -> None:
    assert kpm.erased_at is not None
    out.print(
        t("cli.kpm_erase.already", id_pkh=kpm.id_pkh, date=f"{kpm.erased_at:%Y-%m-%d}"),
        markup=False,
        soft_wrap=True,
    )
