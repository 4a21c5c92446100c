"""SMS where WhatsApp cannot reach, from the family's side and the pendamping's: reminders
written for SMS, a number not on WhatsApp reached by SMS once, the pendamping told the
next morning, the next reminders by SMS directly, and the SMS budget (the real ``twilio``
SDK against the local fake of Twilio's API; SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import SmsSettings
from handlers.i18n import Translator
from models.enums import Channel, OutboxStatus
from models.messaging.sms_usage import SMS_BUDGET_SPENT, month_bounds, sms_by_kabupaten
from models.messaging.tables import Outbox
from models.rules.sms import is_gsm7, segments
from models.tables import Kpm, Staff
from reporting.digest import DigestOptions, build_digest
from scheduler.nudges import enqueue_nudges
from tests.fakes.twilio_api import inbound_whatsapp_params
from tests.sms_world import SMS_SENDER, sms_env

t = Translator()
LONG_PLACE = (
    "Balai Desa “Sukamaju” – Ruang Serbaguna RT 03/RW 05, di samping Masjid Al-Ikhlas 🕌 "
    "dan pos ronda dekat lapangan voli, masuk gang sebelah warung Bu Endang…"
)


def rsvp_answers(body: str) -> bool:
    return "Balas 1 jika hadir, 2 jika tidak bisa" in body


# --- reminders written for SMS -----------------------------------------------------------


@pytest.mark.parametrize("max_segments", [2, 1])
async def test_an_sms_reminder_is_gsm7_within_the_segments_and_keeps_the_answers(
    sessions: async_sessionmaker[AsyncSession], max_segments: int
) -> None:
    async with sms_env(sessions, sms=SmsSettings(max_segments=max_segments)) as env:
        await env.prefer_sms("Iis Dahlia")
        await env.set_place(LONG_PLACE)  # curly quotes, an en dash, an emoji, an ellipsis
        await env.sweep()
        await env.dispatch()
        (sms,) = env.sent_to(env.phone("Iis Dahlia"))
        body = str(sms["body"])
        assert sms["from"] == SMS_SENDER
        assert is_gsm7(body) and segments(body) <= max_segments
        assert int(str(sms["num_segments"])) <= max_segments  # as Twilio counts it
        assert rsvp_answers(body) and body.startswith("Yth. Ibu Iis Dahlia, pertemuan")
        assert "Rabu, 25 November 2026 jam 09.00 WIB di Balai Desa" in body
        assert body.endswith("Ani Suryani, PKH")
        row = next(r for r in await env.outbox() if r.channel is Channel.SMS)
        assert row.status is OutboxStatus.QUEUED and row.segments == int(str(sms["num_segments"]))
        # the others, on WhatsApp, get the WhatsApp template with the place as it is
        to_tuti = [
            call for call in env.fake.calls_to("messages")
            if call.params.get("To") == f"whatsapp:{env.phone('Tuti Alawiyah')}"
        ]
        assert "“Sukamaju” –" in json.loads(to_tuti[0].params["ContentVariables"])["5"]


async def test_an_sms_reply_to_a_family_is_written_in_gsm7(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sms_env(sessions) as env:
        await env.prefer_sms("Iis Dahlia")
        await env.sweep()
        await env.dispatch()
        await env.sms_says(env.phone("Iis Dahlia"), "1")
        await env.dispatch()
        replies = env.sent_to(env.phone("Iis Dahlia"))
        assert len(replies) == 2
        assert str(replies[1]["body"]) == t("rsvp.coming", sapaan="Ibu", name="Iis Dahlia")
        assert all(is_gsm7(str(reply["body"])) for reply in replies)


# --- a number that is not on WhatsApp ---------------------------------------------------


@pytest.mark.parametrize("at_once", [False, True], ids=["status-callback", "at-once"])
async def test_a_number_not_on_whatsapp_gets_the_reminder_by_sms_once(
    sessions: async_sessionmaker[AsyncSession], at_once: bool
) -> None:
    async with sms_env(sessions) as env:
        tuti = env.phone("Tuti Alawiyah")
        env.fake.not_on_whatsapp(tuti, at_once=at_once)
        await env.sweep()
        await env.dispatch()
        sms_rows = [r for r in await env.outbox() if r.channel is Channel.SMS]
        assert len(sms_rows) == (1 if at_once else 0)  # by callback: not before the receipt
        callbacks = await env.post_callbacks()  # Twilio's "failed" receipt (none when at once)
        assert len(callbacks) == (0 if at_once else 1)
        rows = await env.outbox()
        failed = next(r for r in rows if r.address == f"whatsapp:{tuti}")
        assert failed.status is OutboxStatus.FAILED and failed.error_code == "63003"
        (fallback,) = [r for r in rows if r.channel is Channel.SMS]
        head, _, who = failed.dedupe_key.rpartition(":")
        assert fallback.dedupe_key == f"{head}~sms:{who}" and fallback.address == f"sms:{tuti}"
        assert fallback.payload["fallback_of"] == failed.id

        await env.dispatch()  # a dispatcher started afresh sends it
        (sms,) = env.sent_to(tuti)
        assert rsvp_answers(str(sms["body"])) and is_gsm7(str(sms["body"]))
        assert str(sms["body"]).startswith("Yth. Ibu Tuti Alawiyah,")

        for url, params in callbacks:  # Twilio posts the receipt again
            await env.post("/twilio/status", params, url)
        await env.dispatch()  # and another restart
        assert len(env.sent_to(tuti)) == 1
        assert len([r for r in await env.outbox() if r.channel is Channel.SMS]) == 1
        identity = await env.identity(f"whatsapp:{tuti}")
        assert identity is not None and identity.kpm_id == env.world.kpm["Tuti Alawiyah"]
        assert identity.not_on_whatsapp_at == env.clock.now()
        # the others, on WhatsApp, got theirs there and nothing by SMS
        for name in ("Ani Marlina", "Iis Dahlia"):
            assert len(env.sent_to(f"whatsapp:{env.phone(name)}")) == 1
            assert env.sent_to(env.phone(name)) == []


async def test_after_the_switch_reminders_go_by_sms_without_trying_whatsapp_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sms_env(sessions) as env:
        tuti = env.phone("Tuti Alawiyah")
        env.fake.not_on_whatsapp(tuti)
        await env.sweep()
        await env.dispatch()
        await env.post_callbacks()
        await env.dispatch()
        assert len(env.sent_to(f"whatsapp:{tuti}")) == 1 and len(env.sent_to(tuti)) == 1

        # The one-day reminder was queued for WhatsApp before the switch: it goes by SMS
        # without another WhatsApp attempt.
        env.clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
        await env.dispatch()
        await env.dispatch()
        assert len(env.sent_to(f"whatsapp:{tuti}")) == 1
        assert len(env.sent_to(tuti)) == 2

        # The next sweep sends her reminders by SMS directly.
        next_meeting = await env.add_meeting(datetime(2026, 12, 9, 2, 0, tzinfo=UTC))
        env.clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
        await env.sweep()
        rows = [r for r in await env.outbox() if r.payload.get("meeting_id") == next_meeting]
        by_kpm = {r.dedupe_key.rpartition(":")[2]: r for r in rows}
        assert by_kpm[str(env.world.kpm["Tuti Alawiyah"])].address == f"sms:{tuti}"
        assert by_kpm[str(env.world.kpm["Iis Dahlia"])].channel is Channel.WHATSAPP
        await env.dispatch()
        assert len(env.sent_to(f"whatsapp:{tuti}")) == 1 and len(env.sent_to(tuti)) == 3

        # She writes from WhatsApp: she is on WhatsApp now, and her reminders go there.
        params = inbound_whatsapp_params(
            from_=f"whatsapp:{tuti}", body="halo", message_sid="SM" + "e" * 32
        )
        assert await env.post("/twilio/whatsapp", params) == 200
        identity = await env.identity(f"whatsapp:{tuti}")
        assert identity is not None and identity.not_on_whatsapp_at is None
        later = await env.add_meeting(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
        env.clock.set(datetime(2026, 12, 13, 9, 0, tzinfo=UTC))
        await env.sweep()
        mine = [
            r for r in await env.outbox()
            if r.payload.get("meeting_id") == later
            and r.dedupe_key.endswith(f":{env.world.kpm['Tuti Alawiyah']}")
        ]
        assert mine and {r.address for r in mine} == {f"whatsapp:{tuti}"}


async def test_the_pendamping_is_told_the_next_morning_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sms_env(sessions) as env:
        tuti = env.phone("Tuti Alawiyah")
        env.fake.not_on_whatsapp(tuti, at_once=True)
        await env.sweep()
        await env.dispatch()  # Sunday 16:00 WIB: the switch

        async def nudge(at: datetime) -> list[Outbox]:
            env.clock.set(at)
            await enqueue_nudges(sessions, now=at, morning_time=time(6, 30))
            return [
                r for r in await env.outbox()
                if r.payload.get("key") == "nudge.sms_switched"
            ]

        assert await nudge(datetime(2026, 11, 22, 14, 0, tzinfo=UTC)) == []  # 21:00 WIB
        assert await nudge(datetime(2026, 11, 22, 23, 0, tzinfo=UTC)) == []  # 06:00 WIB
        (told,) = await nudge(datetime(2026, 11, 22, 23, 35, tzinfo=UTC))  # Monday 06:35
        assert told.address == "console:ani"  # the pendamping of Kelompok Mawar
        assert told.payload["values"] == {"count": 1, "names": "Tuti Alawiyah"}
        text = t("nudge.sms_switched", **told.payload["values"])
        assert "Tuti Alawiyah" in text and "SMS" in text
        assert len(await nudge(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))) == 1  # not twice
        assert len(await nudge(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))) == 1  # nor next day
        identity = await env.identity(f"whatsapp:{tuti}")
        assert identity is not None and identity.sms_switch_told_at is not None


# --- SMS costs money ---------------------------------------------------------------------


async def test_segments_are_counted_per_kabupaten_and_in_the_coordinators_digest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sms_env(sessions) as env:
        await env.prefer_sms("Iis Dahlia", "Ani Marlina")
        await env.sweep()
        await env.dispatch()
        sent = [r for r in await env.outbox() if r.channel is Channel.SMS and r.sent_at]
        assert len(sent) == 2 and all(r.segments for r in sent)  # the one-day ones wait
        segments_sent = sum(r.segments or 0 for r in sent)
        async with sessions() as session:
            start, end = month_bounds(env.clock.now(), "Asia/Jakarta")
            (kabupaten,) = await sms_by_kabupaten(session, start, end)
            assert (kabupaten.kabupaten, kabupaten.messages) == ("Sukamaju", 2)
            assert kabupaten.segments == segments_sent
            coordinator = await session.get(Staff, env.world.dewi)
            assert coordinator is not None
            digest = await build_digest(
                session, coordinator, as_of=env.clock.now(), options=DigestOptions(),
                translate=t,
            )
        assert t("digest.sms", messages=2, segments=segments_sent) in digest.text
        # a month later the new month has none, and the digest says nothing of SMS
        async with sessions() as session:
            later = env.clock.now() + timedelta(days=31)
            assert await sms_by_kabupaten(session, *month_bounds(later, "Asia/Jakarta")) == []
            coordinator = await session.get(Staff, env.world.dewi)
            assert coordinator is not None
            digest = await build_digest(
                session, coordinator, as_of=later, options=DigestOptions(), translate=t
            )
        assert "SMS" not in digest.text


async def test_the_budget_stops_a_reminder_but_not_a_reply(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    async with sms_env(sessions, budget=1) as env:
        await env.prefer_sms("Iis Dahlia", "Ani Marlina")
        await env.sweep()
        dispatcher = env.dispatcher()
        with caplog.at_level(logging.WARNING, logger="scheduler"):
            await env.dispatch(dispatcher)
            env.clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # the one-day reminders
            await env.dispatch(dispatcher)
        rows = [r for r in await env.outbox() if r.channel is Channel.SMS]
        went = [r for r in rows if r.status is OutboxStatus.QUEUED]
        stopped = [r for r in rows if r.status is OutboxStatus.FAILED]
        assert len(went) == 1 and went[0].segments == 1
        assert len(stopped) == 3 and {r.error for r in stopped} == {SMS_BUDGET_SPENT}
        spent = [r for r in caplog.records if SMS_BUDGET_SPENT in r.getMessage()]
        assert len(spent) == 1  # one line, however many it stops
        assert "Iis" not in caplog.text and "+62" not in caplog.text

        # A family that writes still gets its answer by SMS.
        before = len(env.fake.messages)
        await env.sms_says(env.phone("Ani Marlina"), "2 anak sakit")
        await env.dispatch()
        (reply,) = list(env.fake.messages.values())[before:]
        assert reply["to"] == env.phone("Ani Marlina")
        assert str(reply["body"]).startswith("Terima kasih")


async def test_a_fallback_by_sms_is_stopped_by_the_budget_like_any_reminder(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sms_env(sessions, budget=1) as env:
        await env.prefer_sms("Iis Dahlia")  # her reminder takes the month's one segment
        tuti = env.phone("Tuti Alawiyah")
        env.fake.not_on_whatsapp(tuti, at_once=True)
        await env.sweep()
        await env.dispatch()
        fallback = next(r for r in await env.outbox() if r.address == f"sms:{tuti}")
        assert fallback.status is OutboxStatus.FAILED and fallback.error == SMS_BUDGET_SPENT
        assert env.sent_to(tuti) == [] and len(env.sent_to(env.phone("Iis Dahlia"))) == 1


async def test_a_family_that_said_stop_gets_no_sms_in_place_of_whatsapp(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sms_env(sessions) as env:
        tuti = env.phone("Tuti Alawiyah")
        env.fake.not_on_whatsapp(tuti, at_once=True)
        await env.sweep()
        async with sessions.begin() as session:  # BERHENTI, after the reminder was queued
            kpm = await session.get(Kpm, env.world.kpm["Tuti Alawiyah"])
            assert kpm is not None
            kpm.opted_out_at = env.clock.now()
        await env.dispatch()
        await env.dispatch()
        assert env.sent_to(tuti) == []
        assert [r for r in await env.outbox() if r.channel is Channel.SMS] == []
