"""Operator (admin) pages: the index, the outbox (counts, failures with their reasons,
resend or cancel), `doctor` as a page and the audit log. Everyone else gets 404.

The figures and checks come from the same functions as `pendamping outbox`, `pendamping
doctor` and `pendamping audit`; a resend or a cancel goes through
:mod:`models.messaging.outbox`, audited with the operator's id. Roster upload and staff
invites are in :mod:`bot.dashboard.operator_roster` and :mod:`bot.dashboard.operator_staff`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from rich.errors import MarkupError
from rich.text import Text
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.audit_command import describe_change
from bot.commands import Marks, doctor_checks
from bot.config import CONFIG_ENV
from bot.dashboard.console import Console, Page, Viewer
from models.history import changes, id_pkh_of, kelompok_names, meeting_dates, moved_kelompok
from models.kpm_changes import KpmChangeError, find_kpm
from models.messaging.outbox import cancel_pending, outbox_counts, resend_failed
from models.roster.status import parse_date
from models.rules.text import mask_phone
from models.staff_changes import StaffChangeError, find_one
from reporting.console_outbox import OutboxMessage, failed_messages, waiting_messages

PER_PAGE = 50
NOTICES = {
    "resent": "web.operator_outbox_resent",
    "cancelled": "web.operator_outbox_cancelled",
    "not_failed": "web.operator_outbox_not_failed",
    "not_pending": "web.operator_outbox_not_pending",
}


def operator_only(console: Console, handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """A page for operators: a signed-in staff member of another role gets 404."""

    async def guarded(request: Request, viewer: Viewer) -> Response:
        if not viewer.is_operator:
            raise HTTPException(404)
        return await handler(request, viewer)

    return console.staff_page(guarded)


def page_number(request: Request, name: str = "halaman") -> int:
    """The page asked for (1 when missing or not a number)."""
    written = request.query_params.get(name, "")
    return max(1, min(int(written), 100_000)) if written.isdigit() else 1


def masked_address(address: str) -> str:
    """A chat address as the chat shows a phone: ``whatsapp:+62*******890``."""
    channel, _, rest = address.partition(":")
    return f"{channel}:{mask_phone(rest)}" if rest else mask_phone(channel)


def local_time(console: Console, at: datetime | None) -> str:
    if at is None:
        return "–"
    return at.astimezone(ZoneInfo(console.app.settings.general.timezone)).strftime(
        "%Y-%m-%d %H:%M"
    )


@dataclass(frozen=True)
class DoctorRow:
    check: str
    status: str  # the catalog's word: OK, PERINGATAN, GAGAL
    level: str  # "ok", "warn" or "fail", for the page's badge
    detail: str


def _plain(cell: object) -> str:
    """A cell of `doctor`'s Rich table as text (markup as the terminal would read it)."""
    if not isinstance(cell, str):
        return str(cell)
    try:
        return Text.from_markup(cell).plain
    except MarkupError:
        return cell


def doctor_rows(console: Console, table: object) -> list[DoctorRow]:
    """The rows of the table :func:`bot.commands.doctor_checks` built."""
    from rich.table import Table

    assert isinstance(table, Table)
    marks = Marks(console.t)
    levels = {marks.ok: "ok", marks.warn: "warn", marks.fail: "fail"}
    columns = [list(column.cells) for column in table.columns]
    return [
        DoctorRow(_plain(check), _plain(status), levels.get(str(status), "ok"), _plain(detail))
        for check, status, detail in zip(*columns, strict=True)
    ]


def operator_routes(console: Console) -> list[BaseRoute]:
    app = console.app
    t = console.t

    async def index(request: Request, viewer: Viewer) -> Response:
        return console.render(request, "operator.html", viewer)

    async def outbox(request: Request, viewer: Viewer) -> Response:
        failed_page, waiting_page = page_number(request, "gagal"), page_number(request, "tunggu")
        async with app.read_sessions() as session:
            counts = await outbox_counts(session, failures=0)
            failed = await failed_messages(
                session, offset=(failed_page - 1) * PER_PAGE, limit=PER_PAGE + 1
            )
            waiting = await waiting_messages(
                session, offset=(waiting_page - 1) * PER_PAGE, limit=PER_PAGE + 1
            )

        def shown(rows: list[OutboxMessage]) -> list[dict[str, object]]:
            return [
                {
                    "row": row,
                    "address": masked_address(row.address),
                    "at": local_time(console, row.at),
                }
                for row in rows[:PER_PAGE]
            ]

        notice = NOTICES.get(request.query_params.get("ok", ""))
        return console.render(
            request, "operator_outbox.html", viewer,
            counts=counts.by_status_and_channel,
            failed=shown(failed), failed_page=failed_page, failed_more=len(failed) > PER_PAGE,
            waiting=shown(waiting), waiting_page=waiting_page,
            waiting_more=len(waiting) > PER_PAGE,
            notice=t(notice) if notice else None,
            ok=request.query_params.get("ok") in ("resent", "cancelled"),
        )

    async def change(request: Request, viewer: Viewer, resend: bool) -> Response:
        written = request.path_params["id"]
        async with app.sessions() as session:
            changer = resend_failed if resend else cancel_pending
            done = await changer(
                session, written, now=app.clock.now(), by_staff_id=viewer.staff.id
            )
            await session.commit()
        if resend:
            outcome = "resent" if done else "not_failed"
        else:
            outcome = "cancelled" if done else "not_pending"
        return RedirectResponse(f"/operator/outbox?ok={outcome}", status_code=303)

    async def resend(request: Request, viewer: Viewer) -> Response:
        return await change(request, viewer, resend=True)

    async def cancel(request: Request, viewer: Viewer) -> Response:
        return await change(request, viewer, resend=False)

    async def doctor(request: Request, viewer: Viewer) -> Response:
        source = os.environ.get(CONFIG_ENV) or None
        table, healthy = await doctor_checks(app, Path(source) if source else None)
        return console.render(
            request, "operator_doctor.html", viewer,
            rows=doctor_rows(console, table), healthy=healthy,
        )

    async def audit(request: Request, viewer: Viewer) -> Response:
        query = request.query_params
        kpm, staff, since = (query.get(name, "").strip() for name in ("kpm", "staf", "sejak"))
        number = page_number(request)
        errors: dict[str, str] = {}
        start = None
        if since:
            day = parse_date(since)
            if day is None:
                errors["sejak"] = t("web.operator_audit_bad_since", value=since)
            else:
                zone = ZoneInfo(app.settings.general.timezone)
                start = datetime.combine(day, time(0), zone)
        rows: list[dict[str, str]] = []
        async with app.read_sessions() as session:
            kpm_id = staff_id = None
            try:
                kpm_id = (await find_kpm(session, kpm)).id if kpm else None
            except KpmChangeError:
                errors["kpm"] = t("web.operator_audit_bad_kpm", value=kpm)
            try:
                staff_id = (await find_one(session, staff)).id if staff else None
            except StaffChangeError as exc:
                errors["staf"] = t(f"cli.staff_error.{exc.key}", **exc.values)
            found = []
            if not errors:
                found = await changes(
                    session, kpm_id=kpm_id, staff_id=staff_id, since=start, limit=PER_PAGE,
                    offset=(number - 1) * PER_PAGE,
                )
            groups = await kelompok_names(session, moved_kelompok(found))
            days = await meeting_dates(
                session, {c.entity_id for c in found if c.entity == "meeting" and c.entity_id}
            )
            pkh = await id_pkh_of(session, {c.kpm_id for c in found if c.kpm_id})
        for found_change in reversed(found):  # newest first
            what, before, after = describe_change(t, found_change, groups, days)
            rows.append(
                {
                    "at": local_time(console, found_change.at),
                    "who": found_change.actor,
                    "what": what,
                    "kpm": pkh.get(found_change.kpm_id or 0, "–"),
                    "before": before,
                    "after": after,
                }
            )
        filters = {"kpm": kpm, "staf": staff, "sejak": since}
        kept = urlencode({name: value for name, value in filters.items() if value})
        return console.render(
            request, "operator_audit.html", viewer,
            rows=rows, filters=filters, errors=errors, page=number,
            more=len(found) >= PER_PAGE, kept=kept,
            status_code=400 if errors else 200,
        )

    return [
        Route("/operator", operator_only(console, index), methods=["GET"]),
        Route("/operator/outbox", operator_only(console, outbox), methods=["GET"]),
        Route(
            "/operator/outbox/{id:int}/kirim-ulang", operator_only(console, resend),
            methods=["POST"],
        ),
        Route("/operator/outbox/{id:int}/batal", operator_only(console, cancel), methods=["POST"]),
        Route("/operator/doctor", operator_only(console, doctor), methods=["GET"]),
        Route("/operator/audit", operator_only(console, audit), methods=["GET"]),
    ]
