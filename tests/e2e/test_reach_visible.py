"""Reach, visible: per meeting, how each member is reached (WhatsApp, SMS, through the
ketua, not at all); /jadwal and the pendamping's morning message name the members no
reminder reaches directly."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import select

from handlers.i18n import Translator
from models.enums import Channel, OutboxStatus
from models.messaging.tables import Outbox
from models.reach_view import (
    direct_share_of_meetings,
    direct_share_per_pendamping,
    meeting_reach,
)
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity, Kelompok, Kpm, Meeting, Staff
from reporting.digest import DigestOptions, build_digest
from scheduler.nudges import enqueue_nudges
from tests.world import Chat, World, build_world, make_engine

t = Translator()
EVENING_BEFORE = datetime(2026, 11, 21, 12, tzinfo=UTC)  # 19.00 WIB, the meeting's eve


async def _cut_off(sessions, world: World) -> None:
    """Sri Wahyuni and Nur Hasanah have no phone; Dewi Lestari's last message failed for
    good; Yuli Astuti is on SMS; Ratna Sari said stop."""
    async with sessions.begin() as session:
        for name in ("Sri Wahyuni", "Nur Hasanah"):
            (await session.get(Kpm, world.kpm[name])).phone = None
        (await session.get(Kpm, world.kpm["Yuli Astuti"])).preferred_channel = Channel.SMS
        (await session.get(Kpm, world.kpm["Ratna Sari"])).opted_out_at = EVENING_BEFORE
        dewi = await session.get(Kpm, world.kpm["Dewi Lestari"])
        session.add(Outbox(channel=Channel.WHATSAPP, address=f"whatsapp:{dewi.phone}",
                           kind="meeting_reminder", payload={}, status=OutboxStatus.FAILED,
                           error_code="30003", error="unreachable handset"))


async def _ketua(sessions, world: World, name: str) -> None:
    async with sessions.begin() as session:
        (await session.get(Kelompok, world.melati)).ketua_kpm_id = world.kpm[name]


async def test_each_member_is_counted_by_how_they_are_reached(sessions) -> None:
    world = await build_world(sessions)
    await _cut_off(sessions, world)
    async with sessions() as session:
        view = (await meeting_reach(session, [world.melati_today]))[world.melati_today]
    assert view.counts == {"whatsapp": 7, "sms": 1, "none": 3}  # Ratna not counted
    assert view.not_reached == ["Dewi Lestari", "Nur Hasanah", "Sri Wahyuni"]
    assert view.via_ketua == [] and view.direct == 8

    await _ketua(sessions, world, "Siti Rahayu")
    async with sessions() as session:
        view = (await meeting_reach(session, [world.melati_today]))[world.melati_today]
    assert view.counts == {"whatsapp": 7, "sms": 1, "ketua": 3}
    assert view.via_ketua == ["Dewi Lestari", "Nur Hasanah", "Sri Wahyuni"]

    await _ketua(sessions, world, "Sri Wahyuni")  # a ketua nobody reaches relays nothing
    async with sessions() as session:
        view = (await meeting_reach(session, [world.melati_today]))[world.melati_today]
    assert view.counts["none"] == 3 and "ketua" not in view.counts


async def test_jadwal_names_who_is_not_reached_directly(sessions) -> None:
    world = await build_world(sessions)
    await _cut_off(sessions, world)
    await _ketua(sessions, world, "Siti Rahayu")
    async with sessions.begin() as session:
        (await session.get(Kpm, world.kpm["Dewi Lestari"])).kelompok_id = world.mawar
    clock = FixedClock(EVENING_BEFORE)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal Melati")
    ways = ", ".join([t("reach.way", way=t("reach.whatsapp"), count=7),
                      t("reach.way", way=t("reach.sms"), count=1),
                      t("reach.way", way=t("reach.ketua"), count=2)])
    assert t("reach.line", ways=ways) in ani.text
    assert t("reach.via_ketua", names="Nur Hasanah, Sri Wahyuni") in ani.text


async def test_the_morning_message_names_the_members_reached_through_others(sessions) -> None:
    world = await build_world(sessions)
    await _cut_off(sessions, world)
    await _ketua(sessions, world, "Siti Rahayu")
    await enqueue_nudges(sessions, now=EVENING_BEFORE, morning_time=time(6, 30))
    again = await enqueue_nudges(sessions, now=EVENING_BEFORE, morning_time=time(6, 30))
    assert again.enqueued == 0
    async with sessions() as session:
        nudges = list(await session.scalars(
            select(Outbox).where(Outbox.dedupe_key.startswith(f"nudge-today:{world.melati_today}:"))
            .order_by(Outbox.id)
        ))
    assert [n.payload["key"] for n in nudges] == ["nudge.today", "nudge.reach"]
    reach = nudges[1]
    assert reach.address == "console:ani" and reach.next_attempt_at == nudges[0].next_attempt_at
    assert reach.payload["values"] == {
        "kelompok": "Kelompok Melati",
        "via_ketua": "Dewi Lestari, Nur Hasanah, Sri Wahyuni",
        "not_reached": "-",
    }


async def test_the_digest_has_the_share_reached_directly_per_pendamping(sessions) -> None:
    world = await build_world(sessions)
    await _cut_off(sessions, world)
    await _ketua(sessions, world, "Siti Rahayu")
    async with sessions() as session:
        dewi = await session.get(Staff, world.dewi)
        digest = await build_digest(session, dewi, as_of=EVENING_BEFORE, options=DigestOptions(),
                                    translate=t)
    ani = next(p for p in digest.figures.pendamping if p.id == world.ani)
    assert ani.reach == (8, 11)  # Melati's coming meeting: 8 of 11 reached directly
    assert t("digest.reach", share="73%", each="Ani Suryani 73%") in digest.text


async def test_the_digest_counts_in_one_statement_as_member_by_member(sessions) -> None:
    """The digest's count (:func:`direct_share_of_meetings`, in the database) agrees with
    the member-by-member view (:func:`direct_share_per_pendamping`) on every rule."""
    world = await build_world(sessions)
    await _cut_off(sessions, world)

    def sent(address: str, status: OutboxStatus, error_code: str | None = None) -> Outbox:
        return Outbox(channel=Channel.WHATSAPP, address=address, kind="meeting_reminder",
                      payload={}, status=status, error_code=error_code)

    async with sessions.begin() as session:
        people = {name: await session.get(Kpm, world.kpm[name]) for name in (
            "Sumarni", "Suparmi", "Lestari Handayani", "Kurniasih", "Wati Suryani",
            "Siti Aminah")}
        # No phone, a linked Telegram chat: reached there.
        people["Sumarni"].phone = None
        session.add(ChannelIdentity(address="telegram:901", channel=Channel.TELEGRAM,
                                    kpm_id=people["Sumarni"].id))
        # No phone, only a WhatsApp chat marked not on WhatsApp: an address, nowhere to go.
        people["Suparmi"].phone = None
        session.add(ChannelIdentity(address="whatsapp:+6281299990001",
                                    channel=Channel.WHATSAPP, kpm_id=people["Suparmi"].id,
                                    not_on_whatsapp_at=EVENING_BEFORE))
        # Failed for good, then a message went out: reached.
        phone = people["Lestari Handayani"].phone
        session.add(sent(f"whatsapp:{phone}", OutboxStatus.UNDELIVERED, "30005"))
        await session.flush()
        session.add(sent(f"sms:{phone}", OutboxStatus.DELIVERED))
        # A temporary error that ran out of attempts says nothing about the number.
        session.add(sent(f"whatsapp:{people['Kurniasih'].phone}", OutboxStatus.FAILED, "429"))
        # A chat that said stop: not counted at all.
        session.add(ChannelIdentity(address="telegram:902", channel=Channel.TELEGRAM,
                                    kpm_id=people["Wati Suryani"].id,
                                    opted_out_at=EVENING_BEFORE))
        # A message went out, then one to another address failed for good: cut off.
        phone = people["Siti Aminah"].phone
        session.add(sent(f"whatsapp:{phone}", OutboxStatus.READ))
        await session.flush()
        session.add(sent(f"sms:{phone}", OutboxStatus.FAILED, "21614"))
    meetings = select(Meeting.id).where(Meeting.id == world.melati_today)
    async with sessions() as session:
        one_by_one = await direct_share_per_pendamping(session, [world.melati_today])
        counted = await direct_share_of_meetings(session, meetings)
    # Of 12: Ratna and Wati said stop; Sri, Nur (no contact), Dewi, Siti Aminah (failed)
    # and Suparmi (nowhere to go) are not reached directly.
    assert one_by_one == {world.ani: (5, 10)}
    assert counted == one_by_one
