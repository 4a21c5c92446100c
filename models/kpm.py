"""KPM look-ups within a staff member's scope: fuzzy search and the KPM card (with the
commitments due this period and the results of the periods before, the latest graduation
assessment and the complementary programmes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from rapidfuzz import fuzz, process, utils
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.bansos import programme_statuses
from models.commitment_history import recent_results
from models.commitments import DueItem, due_items
from models.enums import CaseStatus, CommitmentResult, MeetingStatus
from models.graduation import AssessmentRow, latest_assessment
from models.rules.commitments import CommitmentRules, Period
from models.rules.text import salutation
from models.scope import OutOfScope, kelompok_scope
from models.staff import channel_of
from models.tables import (
    Attendance,
    CaseNote,
    ChannelIdentity,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Staff,
)

MIN_SCORE = 75
RECENT_PERIODS = 3  # the periods before the current one shown on the card


@dataclass(frozen=True)
class KpmHit:
    id: int
    name: str
    kelompok: str
    id_pkh: str


async def kpm_in_scope(session: AsyncSession, staff: Staff, kpm_id: int) -> Kpm:
    """The KPM, when it is in the staff member's scope; else :class:`OutOfScope`."""
    kpm = await session.scalar(
        select(Kpm).where(Kpm.id == kpm_id, Kpm.kelompok_id.in_(kelompok_scope(staff)))
    )
    if kpm is None:
        raise OutOfScope(f"kpm {kpm_id}")
    return kpm


async def search_kpm(
    session: AsyncSession, staff: Staff, query: str, limit: int = 6
) -> list[KpmHit]:
    """KPM in scope matching an ID PKH (whole or its digits) or, fuzzily, a name."""
    query = query.strip()
    if not query:
        return []
    base = (
        select(Kpm.id, Kpm.nama_pengurus, Kelompok.name, Kpm.id_pkh)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(Kpm.kelompok_id.in_(kelompok_scope(staff)))
    )
    if any(char.isdigit() for char in query):
        rows = await session.execute(
            base.where(or_(Kpm.id_pkh == query, Kpm.id_pkh.endswith(query))).limit(limit)
        )
        hits = [KpmHit(*row) for row in rows]
        if hits:
            return hits
    every = (await session.execute(base)).all()
    names = {row[0]: row[1] for row in every}
    matches = process.extract(
        query,
        names,
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=MIN_SCORE,
    )
    by_id = {row[0]: row for row in every}
    if not matches:
        return []
    best = matches[0][1]
    return [KpmHit(*by_id[key]) for _, score, key in matches if score >= best - 10]


@dataclass(frozen=True)
class PeriodResults:
    """A past verification period on the card: how many checks were met, and which not."""

    period: Period
    met: int
    not_met: list[tuple[str, str, str | None]]  # (komponen type, commitment, reason)


@dataclass(frozen=True)
class KpmCard:
    id: int
    id_pkh: str
    name: str
    nik: str
    phone: str | None
    status: str
    kelompok: str | None
    komponen: list[tuple[str, date | None]]
    last_meetings: list[tuple[date, str | None]]  # (date, mark or None when no mark)
    open_cases: list[tuple[int, str, str]]  # (id, category, status)
    pendamping_id: int | None = None  # the pendamping of the KPM's kelompok
    left_on: date | None = None  # when it left the programme
    exit_reason: str | None = None  # why (an ExitReason value)
    commitments: list[DueItem] = field(default_factory=list)  # due this period, with results
    recent_commitments: list[PeriodResults] = field(default_factory=list)  # newest first
    assessment: AssessmentRow | None = None  # the latest graduation assessment
    programmes: dict[str, str] = field(default_factory=dict)  # programme key -> status


async def kpm_card(
    session: AsyncSession, staff: Staff, kpm_id: int, *, rules: CommitmentRules, period: Period
) -> KpmCard:
    """The card of a KPM in scope (else :class:`OutOfScope`); ``period`` is the current
    verification period, whose due commitments are listed with the
    ``RECENT_PERIODS`` periods' results before it."""
    row = (
        await session.execute(
            select(Kpm, Kelompok.name, Kelompok.pendamping_id)
            .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
            .where(Kpm.id == kpm_id, Kpm.kelompok_id.in_(kelompok_scope(staff)))
        )
    ).first()
    if row is None:
        raise OutOfScope(f"kpm {kpm_id}")
    kpm, kelompok, pendamping_id = row
    komponen = (
        (
            await session.execute(
                select(Komponen.id, Komponen.type, Komponen.end_date)
                .where(Komponen.kpm_id == kpm.id)
                .order_by(Komponen.end_date)
            )
        )
        .tuples()
        .all()
    )
    meetings = (
        (
            await session.execute(
                select(Meeting.meeting_date, Attendance.mark)
                .outerjoin(
                    Attendance,
                    (Attendance.meeting_id == Meeting.id) & (Attendance.kpm_id == kpm.id),
                )
                .where(Meeting.kelompok_id == kpm.kelompok_id, Meeting.status == MeetingStatus.HELD)
                .order_by(Meeting.meeting_date.desc())
                .limit(6)
            )
        )
        .tuples()
        .all()
    )
    cases = (
        (
            await session.execute(
                select(CaseNote.id, CaseNote.category, CaseNote.status)
                .where(CaseNote.kpm_id == kpm.id, CaseNote.status != CaseStatus.SELESAI)
                .order_by(CaseNote.created_at)
            )
        )
        .tuples()
        .all()
    )
    types = {komponen_id: kind for komponen_id, kind, _ in komponen}
    return KpmCard(
        id=kpm.id,
        id_pkh=kpm.id_pkh,
        name=kpm.nama_pengurus,
        nik=kpm.nik,
        phone=kpm.phone,
        status=kpm.status.value,
        kelompok=kelompok,
        pendamping_id=pendamping_id,
        komponen=[(kind, end) for _, kind, end in komponen],
        last_meetings=[(day, mark.value if mark else None) for day, mark in meetings],
        open_cases=[(case_id, category, status.value) for case_id, category, status in cases],
        left_on=kpm.left_on,
        exit_reason=kpm.exit_reason.value if kpm.exit_reason else None,
        commitments=await due_items(session, rules, period, kpm_id=kpm.id),
        recent_commitments=await _recent(session, rules, period, kpm.id, types),
        assessment=await latest_assessment(session, kpm.id),
        programmes={
            key: status.value for key, status in (await programme_statuses(session, kpm.id)).items()
        },
    )


async def _recent(
    session: AsyncSession,
    rules: CommitmentRules,
    period: Period,
    kpm_id: int,
    types: dict[int, str],
) -> list[PeriodResults]:
    """The results of the ``RECENT_PERIODS`` periods before ``period``, newest first (a
    period without any is there, empty)."""
    before = [rules.before(period, n) for n in range(1, RECENT_PERIODS + 1)]
    results = await recent_results(session, kpm_id, since=before[-1].start)
    recent = []
    for past in before:
        rows = [row for row in results if row[2] == past.start]
        recent.append(
            PeriodResults(
                period=past,
                met=sum(1 for row in rows if row[3] is CommitmentResult.MEMENUHI),
                not_met=[
                    (types.get(komponen_id, "-"), commitment, reason)
                    for komponen_id, commitment, _, result, reason in rows
                    if result is CommitmentResult.TIDAK_MEMENUHI
                ],
            )
        )
    return recent


async def link_kpm_by_phone(
    session: AsyncSession, address: str, phone: str, *, now: datetime
) -> bool:
    """Link a chat address to the KPM whose roster phone is ``phone`` (E.164).

    Used when a KPM shares their own contact; nothing about the record is returned, so a
    wrong number reveals nobody's data. Several KPM sharing one phone: the first is linked
    (reminders go to every KPM by their own roster phone anyway)."""
    kpm_id = await session.scalar(
        select(Kpm.id).where(Kpm.phone == phone).order_by(Kpm.id).limit(1)
    )
    if kpm_id is None:
        return False
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.address == address)
    )
    if identity is None:
        identity = ChannelIdentity(address=address, channel=channel_of(address), linked_at=now)
        session.add(identity)
    identity.kpm_id, identity.staff_id, identity.linked_at = kpm_id, None, now
    identity.last_inbound_at = now  # linking always happens on a message from them
    await session.flush()
    await audit(
        session,
        actor="kpm",
        action="identity.link_kpm",
        entity="channel_identity",
        entity_id=identity.id,
        detail={"kpm_id": kpm_id},
    )
    return True


async def addressee(session: AsyncSession, kpm_id: int) -> dict[str, str]:
    """How a message to this KPM addresses them: ``{"sapaan": "Ibu", "name": ...}``."""
    row = (
        await session.execute(select(Kpm.nama_pengurus, Kpm.nik).where(Kpm.id == kpm_id))
    ).one()
    return {"sapaan": salutation(row.nik), "name": row.nama_pengurus}

