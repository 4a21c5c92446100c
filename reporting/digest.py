"""The coordinator's weekly digest: a short text, a chart and a workbook.

The figures cover the pendamping in the staff member's scope (a coordinator's region, a
supervisor's pendamping, a pendamping's own groups) up to the reference day: the local
date of ``as_of`` in the staff member's time zone. The text fits one Telegram message;
what does not fit is in the workbook, and the text says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.cases import CASE_CATEGORIES
from models.db.sql import is_postgres
from models.enums import StaffRole
from models.messaging.sms_usage import month_bounds
from models.regions import timezone_of_region
from models.rules.case_categories import category_label
from models.rules.commitments import CommitmentRules
from models.scope import kelompok_scope
from models.tables import Region, Staff
from reporting.chart import MAX_ROWS, attendance_chart
from reporting.figures import DigestFigures, PendampingFigures, digest_figures
from reporting.graduation import DEFAULT_PROGRAMME_KEYS
from reporting.workbook import digest_workbook

Translate = Callable[..., str]
TELEGRAM_LIMIT = 4096
LANES = 2
"""Digests :func:`build_all_digests` builds at a time on PostgreSQL (connections in use)."""


@dataclass(frozen=True)
class DigestOptions:
    horizon_days: int = 90
    threshold: float = 7.0
    target_per_year: int = 10
    chart_months: int = 6
    locale: str = "id"
    default_timezone: str = "Asia/Jakarta"
    categories: tuple[str, ...] = CASE_CATEGORIES
    category_labels: Mapping[str, str] = field(default_factory=dict)
    """Case categories named in the configuration rather than by the catalog."""
    text_limit: int = TELEGRAM_LIMIT - 96  # room for a channel's own additions
    absentees_listed: int = 10
    pesan_late_hours: int = 24
    commitments: CommitmentRules = field(default_factory=CommitmentRules)
    programmes: tuple[str, ...] = DEFAULT_PROGRAMME_KEYS
    """The complementary programmes' keys: a family needing one is not a mandiri candidate."""


@dataclass(frozen=True)
class Digest:
    staff_id: int
    week: str  # the ISO week it is for, e.g. "2026-W47"
    ref_day: date
    text: str
    chart_png: bytes
    workbook: bytes
    figures: DigestFigures
    summary: dict[str, Any] = field(default_factory=dict)
    """The values of ``digest.summary``: the WhatsApp template sent instead of the text
    outside the 24-hour window (the chart and the workbook follow as they are)."""

    @property
    def chart_filename(self) -> str:
        return f"kehadiran-{self.week}.png"

    @property
    def workbook_filename(self) -> str:
        return f"ringkasan-{self.week}.xlsx"


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def staff_timezone(session: AsyncSession, staff: Staff, default: str) -> ZoneInfo:
    return ZoneInfo(await timezone_of_region(session, staff.region_id) or default)


async def build_digest(
    session: AsyncSession,
    staff: Staff,
    *,
    as_of: datetime,
    options: DigestOptions,
    translate: Translate,
    week: str | None = None,
    on_demand: bool = False,
) -> Digest:
    """The digest for ``staff``'s scope, with figures up to the local date of ``as_of``;
    ``week`` labels it (default: the ISO week of that date). ``on_demand`` (/ringkasan):
    not titled "mingguan", it is not the weekly one."""
    ref_day, figures = await scope_figures(session, staff, as_of=as_of, options=options)
    scope = await _scope_name(session, staff)
    writer = Writer(translate, options)
    text = writer.text(figures, scope, title="digest.title_now" if on_demand else "digest.title")
    # Rendering is CPU work of a tenth of a second or so: off the event loop, so that
    # webhooks and the dispatcher in the same process keep answering meanwhile.
    chart, workbook = await asyncio.to_thread(_render, figures, options, translate)
    label = week or iso_week(ref_day)
    return Digest(
        staff.id, label, ref_day, text, chart, workbook, figures, writer.summary(figures, scope)
    )


async def scope_figures(
    session: AsyncSession, staff: Staff, *, as_of: datetime, options: DigestOptions
) -> tuple[date, DigestFigures]:
    """The digest's figures for ``staff``'s scope up to the local date of ``as_of`` (the
    reference day, returned with them): what the digest and the web console show."""
    zone = await staff_timezone(session, staff, options.default_timezone)
    ref_day = as_of.astimezone(zone).date()
    figures = await digest_figures(
        session,
        kelompok_scope(staff),
        ref_day=ref_day,
        chart_months=options.chart_months,
        horizon_days=options.horizon_days,
        threshold=options.threshold,
        programmes=options.programmes,
        commitments=options.commitments,
        pesan_late_before=as_of - timedelta(hours=options.pesan_late_hours),
        sms_month=month_bounds(as_of, zone.key),
    )
    return ref_day, figures


def digest_chart(figures: DigestFigures, options: DigestOptions, translate: Translate) -> bytes:
    """The digest's attendance chart (PNG)."""
    return attendance_chart(
        [p.name for p in figures.pendamping],
        figures.months,
        [[p.month_rate(m) for m in figures.months] for p in figures.pendamping],
        title=_chart_title(figures, translate),
        no_data=translate("digest.no_data"),
        locale=options.locale,
        percent=lambda value: format_decimal(value * 100, "#,##0", locale=options.locale),
    )


def _render(
    figures: DigestFigures, options: DigestOptions, translate: Translate
) -> tuple[bytes, bytes]:
    chart = digest_chart(figures, options, translate)
    workbook = digest_workbook(
        figures,
        t=translate,
        categories=options.categories,
        category_labels=options.category_labels,
        target=options.target_per_year,
        locale=options.locale,
    )
    return chart, workbook


def _chart_title(figures: DigestFigures, translate: Translate) -> str:
    months, total = len(figures.months), len(figures.pendamping)
    if total > MAX_ROWS:  # the rest are in the workbook; the chart says so
        return translate("digest.chart_title_partial", months=months, shown=MAX_ROWS, total=total)
    return translate("digest.chart_title", months=months)


async def coordinators(session: AsyncSession) -> list[Staff]:
    """The active coordinators, who receive the weekly digest."""
    rows = await session.scalars(
        select(Staff).where(Staff.role == StaffRole.KOORDINATOR, Staff.active).order_by(Staff.id)
    )
    return list(rows)


async def build_all_digests(
    sessions: async_sessionmaker[AsyncSession],
    *,
    as_of: datetime,
    options: DigestOptions,
    translate: Translate,
) -> list[Digest]:
    """Every active coordinator's digest, each built in a read transaction of its own.
    On PostgreSQL :data:`LANES` digests are built at a time, each on a connection of its
    own: the database works on one's figures while another's are gathered or written
    (the chart and workbook, in a thread). SQLite builds one at a time."""
    async with sessions() as session:
        staff = await coordinators(session)
        lanes = LANES if is_postgres(session) else 1
    free = asyncio.Semaphore(lanes)

    async def one(member: Staff) -> Digest:
        async with free, sessions() as session:
            return await build_digest(
                session, member, as_of=as_of, options=options, translate=translate
            )

    tasks = [asyncio.create_task(one(member)) for member in staff]
    try:
        return list(await asyncio.gather(*tasks))
    finally:  # one failed: the others are not wanted any more
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _scope_name(session: AsyncSession, staff: Staff) -> str:
    if staff.role is StaffRole.KOORDINATOR and staff.region_id is not None:
        name = await session.scalar(select(Region.name).where(Region.id == staff.region_id))
        if name:
            return name
    return staff.name


class Writer:
    """The digest's text, within a length limit: lines that do not fit are counted and
    pointed to the workbook."""

    def __init__(self, t: Translate, options: DigestOptions) -> None:
        self.t = t
        self.options = options

    def percent(self, value: float | None) -> str:
        if value is None:
            return self.t("digest.rate_none")
        return format_percent(value, "#,##0%", locale=self.options.locale)

    def change(self, now: float | None, before: float | None) -> str:
        if now is None or before is None:
            return self.t("digest.change_none")
        points = round((now - before) * 100, 1)
        shown = format_decimal(abs(points), "0.#", locale=self.options.locale)
        if points > 0:
            return self.t("digest.change_up", points=shown)
        if points < 0:
            return self.t("digest.change_down", points=shown)
        return self.t("digest.change_same")

    def comparison(self, now: float | None, before: float | None) -> str:
        if now is None or before is None:
            return self.t("digest.change_none")
        return self.t("digest.compared", change=self.change(now, before))

    def summary(self, figures: DigestFigures, scope: str) -> dict[str, Any]:
        """The values of ``digest.summary``: the digest's head figures in one sentence."""
        return {
            "scope": scope,
            "date": format_date(figures.ref_day, "EEEE, d MMMM y", locale=self.options.locale),
            "held": figures.total("held"),
            "planned": figures.total("planned"),
            "rate": self.percent(figures.rate),
            "urgent": figures.total("urgent_cases"),
        }

    def text(self, figures: DigestFigures, scope: str, title: str = "digest.title") -> str:
        t, month = self.t, figures.months[-1]
        head = [
            t(
                title,
                scope=scope,
                date=format_date(figures.ref_day, "EEEE, d MMMM y", locale=self.options.locale),
            )
        ]
        if not figures.pendamping:
            return "\n".join([*head, "", t("digest.empty")])
        categories = figures.cases_by_category
        listed = ", ".join(
            f"{category_label(t, c, self.options.category_labels)} {categories[c]}"
            for c in (
                *self.options.categories,
                *sorted(set(categories) - set(self.options.categories)),
            )
            if categories.get(c)
        )
        head += [
            "",
            t(
                "digest.meetings",
                month=format_date(month, "MMMM y", locale=self.options.locale),
                held=figures.total("held"),
                planned=figures.total("planned"),
                rate=self.percent(figures.rate),
                comparison=self.comparison(figures.rate, figures.previous_rate),
            ),
            *self.without_pendamping(figures),
            *self.commitment_lines(figures),
            t(
                "digest.cases",
                open=figures.total("open_cases"),
                urgent=figures.total("urgent_cases"),
                overdue=figures.total("overdue_cases"),
            )
            + (" " + t("digest.cases_by_category", categories=listed) if listed else ""),
            t(
                "digest.graduation",
                candidates=figures.total("candidates"),
                graduated=figures.total("graduated_this_year"),
                target=self.options.target_per_year * len(figures.pendamping),
            ),
        ]
        if figures.total("pesan_late"):
            head.append(
                t(
                    "digest.pesan_late",
                    count=figures.total("pesan_late"),
                    hours=self.options.pesan_late_hours,
                )
            )
        if figures.sms.messages:  # SMS cost money: what the month's took
            head.append(
                t("digest.sms", messages=figures.sms.messages, segments=figures.sms.segments)
            )
        reach = self.reach_line(figures)
        if reach:
            head.append(reach)
        people = [self.pendamping_line(n, p) for n, p in enumerate(figures.pendamping, 1)]
        absentees = [
            t("digest.absent_line", name=s.name, kelompok=s.kelompok or "-", streak=s.streak)
            for s in figures.absentees
        ]
        shown = absentees[: self.options.absentees_listed]
        tail = [""]
        if absentees:
            tail.append(t("digest.absent_heading", count=len(absentees)))
            tail += shown
            if len(absentees) > len(shown):
                tail.append(t("digest.absent_more", count=len(absentees) - len(shown)))
        else:
            tail.append(t("digest.absent_none"))
        budget = self.options.text_limit - len("\n".join([*head, "", *tail]))
        body = ["", t("digest.per_pendamping")]
        body += self._fit(people, budget - 40, lambda left: t("digest.more_pendamping", count=left))
        return "\n".join([*head, *body, *tail])

    def commitment_lines(self, figures: DigestFigures) -> list[str]:
        """The commitment checks of the period: none when no commitment is configured."""
        period = figures.commitment_period
        if period is None or not self.options.commitments.commitments:
            return []
        return [
            self.t(
                "digest.commitments",
                period=period.label(self.options.locale),
                done=figures.total("commitments_done"),
                due=figures.total("commitments_due"),
                not_met=figures.total("commitments_not_met"),
            )
        ]

    def without_pendamping(self, figures: DigestFigures) -> list[str]:
        """A warning when meetings were held by the ketua without the pendamping."""
        count = figures.total("held_by_ketua")
        return [self.t("digest.without_pendamping", count=count)] if count else []

    def reach_line(self, figures: DigestFigures) -> str | None:
        """The share of families a reminder reaches directly (not through the ketua, not
        lost), per pendamping: only when some are not reached directly."""
        counted = [p for p in figures.pendamping if p.reach[1]]
        if all(p.reach[0] == p.reach[1] for p in counted):
            return None
        direct = sum(p.reach[0] for p in counted)
        total = sum(p.reach[1] for p in counted)
        each = ", ".join(f"{p.name} {self.percent(p.reach[0] / p.reach[1])}" for p in counted)
        return self.t("digest.reach", share=self.percent(direct / total), each=each)

    def pendamping_line(self, number: int, p: PendampingFigures) -> str:
        line = self.t(
            "digest.pendamping_line",
            number=number,
            name=p.name,
            held=p.held,
            planned=p.planned,
            rate=self.percent(p.rate),
            change=self.change(p.rate, p.previous_rate),
            open=p.open_cases,
            urgent=p.urgent_cases,
            overdue=p.overdue_cases,
            absent=len(p.absentees),
            checks_done=p.commitments_done,
            checks_due=p.commitments_due,
            not_met=p.commitments_not_met,
            candidates=p.candidates,
            graduated=p.graduated_this_year,
            target=self.options.target_per_year,
        )
        if p.held_by_ketua:  # held by the ketua without the pendamping: a warning
            line += self.t("digest.pendamping_without", count=p.held_by_ketua)
        return line

    @staticmethod
    def _fit(lines: Sequence[str], budget: int, more: Callable[[int], str]) -> list[str]:
        kept: list[str] = []
        used = 0
        for index, line in enumerate(lines):
            if used + len(line) + 1 > budget:
                return [*kept, more(len(lines) - index)]
            kept.append(line)
            used += len(line) + 1
        return kept
