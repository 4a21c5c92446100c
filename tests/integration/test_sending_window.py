"""A sending window (``[scheduler] sending_window_start/end``): a day's reminders are
spread over it, the soonest meetings' first, never closer than the channel's rate, instead
of all at one minute; without a window they all go at ``reminder_time``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from models.enums import Channel, KpmStatus, MeetingStatus, OutboxStatus
from models.messaging.tables import Outbox
from models.tables import Kpm, Meeting
from scheduler import reminders
from scheduler.reminders import enqueue_reminders
from tests.world import build_world

SWEEP_AT = datetime(2026, 11, 23, 0, tzinfo=UTC)  # Monday 07.00 WIB
WIB = timedelta(hours=7)
SETTINGS = {"offsets_days": [3], "reminder_time": time(16, 0), "quiet_start": time(21, 0),
            "quiet_end": time(6, 0)}


@pytest.fixture(autouse=True, params=["one part", "a part per meeting"])
def parts(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sweep reads the meetings as one part, or (as a province's day: its parts kept
    in a temporary file until all are counted, two written at once) each meeting as a
    part of its own: the same reminders at the same times either way."""
    if request.param == "a part per meeting":
        monkeypatch.setattr(reminders, "MEETINGS_PER_PART", 1)
    return str(request.param)


async def _two_meetings_on_thursday(sessions) -> tuple[int, int]:  # noqa: ANN001
    """Melati (12 members) at 09.00 WIB and Kenanga (2) at 07.00 WIB, Thursday 26."""
    world = await build_world(sessions)
    async with sessions.begin() as session:
        melati = await session.get(Meeting, world.melati_today)
        melati.meeting_date = date(2026, 11, 26)
        melati.starts_at = datetime(2026, 11, 26, 2, tzinfo=UTC)
        melati.updated_at = SWEEP_AT - timedelta(days=7)
        kenanga = Meeting(kelompok_id=world.kenanga, meeting_date=date(2026, 11, 26),
                          starts_at=datetime(2026, 11, 26, 0, tzinfo=UTC),
                          status=MeetingStatus.PLANNED, place="Balai Desa",
                          updated_at=SWEEP_AT - timedelta(days=7))
        session.add(kenanga)
        await session.flush()
        return melati.id, kenanga.id


async def _reminders(sessions) -> list[Outbox]:  # noqa: ANN001
    async with sessions() as session:
        return list(await session.scalars(
            select(Outbox).where(Outbox.status == OutboxStatus.PENDING)
            .order_by(Outbox.next_attempt_at, Outbox.id)
        ))


async def test_a_day_s_reminders_are_spread_over_the_window_soonest_meeting_first(
    sessions,  # noqa: ANN001
) -> None:
    melati, kenanga = await _two_meetings_on_thursday(sessions)
    report = await enqueue_reminders(sessions, now=SWEEP_AT, window=(time(9), time(20)),
                                     rates={}, **SETTINGS)
    assert report.enqueued == 14
    rows = await _reminders(sessions)
    times = [row.next_attempt_at for row in rows]
    opens = datetime(2026, 11, 23, 9, tzinfo=UTC) - WIB
    closes = datetime(2026, 11, 23, 20, tzinfo=UTC) - WIB
    assert times[0] == opens and times[-1] < closes
    gap = (closes - opens) / 14
    steps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(abs(step - gap) < timedelta(milliseconds=1) for step in steps)  # evenly
    assert [row.payload["meeting_id"] for row in rows[:2]] == [kenanga, kenanga]
    assert {row.payload["meeting_id"] for row in rows[2:]} == {melati}


async def test_a_slow_channel_is_spread_at_its_rate_and_the_rest_reported(
    sessions,  # noqa: ANN001
) -> None:
    await _two_meetings_on_thursday(sessions)
    late = datetime(2026, 11, 23, 12, 59, 57, tzinfo=UTC)  # 19.59.57 WIB: 3 s left
    report = await enqueue_reminders(sessions, now=late, window=(time(9), time(20)),
                                     rates={Channel.WHATSAPP: 1.0}, **SETTINGS)
    times = [row.next_attempt_at for row in await _reminders(sessions)]
    assert times[0] == late  # the window opened long ago: from now
    assert all(b - a == timedelta(seconds=1) for a, b in zip(times, times[1:], strict=False))
    assert report.shortfall == {"whatsapp": 14 - 3}


async def test_without_a_window_all_go_at_the_reminder_time(sessions) -> None:  # noqa: ANN001
    await _two_meetings_on_thursday(sessions)
    await enqueue_reminders(sessions, now=SWEEP_AT, rates={}, **SETTINGS)
    times = {row.next_attempt_at for row in await _reminders(sessions)}
    assert times == {datetime(2026, 11, 23, 16, tzinfo=UTC) - WIB}


async def test_a_member_who_joins_one_meeting_is_reminded_by_the_next_sweep_alone(
    sessions,  # noqa: ANN001
) -> None:
    """The second sweep finds every key of one meeting there already and all but the
    newcomer's of the other: only hers is enqueued, at the batch's time."""
    melati, kenanga = await _two_meetings_on_thursday(sessions)
    first = await enqueue_reminders(sessions, now=SWEEP_AT, rates={}, **SETTINGS)
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, kenanga)
        assert meeting is not None
        newcomer = Kpm(id_pkh="PKH990099", nik="3399000000990099", nama_pengurus="Rina Wati",
                       kelompok_id=meeting.kelompok_id, phone="+6281299990099",
                       preferred_channel=Channel.WHATSAPP, status=KpmStatus.AKTIF)
        session.add(newcomer)
        await session.flush()
        newcomer_id = newcomer.id
    again = await enqueue_reminders(sessions, now=SWEEP_AT + timedelta(minutes=5), rates={},
                                    **SETTINGS)
    rows = await _reminders(sessions)
    assert (first.enqueued, again.enqueued) == (14, 1)
    assert len(rows) == 15 and len({row.dedupe_key for row in rows}) == 15
    theirs = [row for row in rows if row.dedupe_key.endswith(f":{newcomer_id}")]
    assert [row.payload["meeting_id"] for row in theirs] == [kenanga]
    assert theirs[0].next_attempt_at == datetime(2026, 11, 23, 16, tzinfo=UTC) - WIB
    assert sum(row.payload["meeting_id"] == melati for row in rows) == 12
