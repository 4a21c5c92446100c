"""WhatsApp and SMS end to end: signed Twilio webhooks -> engine -> Twilio REST API (the real
``twilio`` SDK against a local fake of the Messages API; no test reaches Twilio)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.whatsapp import TwilioChannel, from_inbox
from bot.config import TwilioSettings
from bot.runner import twilio_webhooks
from bot.web import TWILIO_SIGNATURE_HEADER, create_web_app
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from models.enums import Channel, OutboxStatus
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.outbox import Claimed, outbox_counts
from models.messaging.tables import Outbox
from models.messaging.templates import TEMPLATES
from models.optout import OPTED_OUT
from models.rules.clock import FixedClock
from models.tables import Attendance, ChannelIdentity, Kpm
from scheduler.dispatcher import Dispatcher
from tests.fakes.twilio_api import (
    FakeTwilioApi,
    inbound_sms_params,
    inbound_whatsapp_params,
    status_callback_params,
    twilio_signature,
)
from tests.world import NOW, World, build_world, make_engine

PUBLIC = "https://pkh.example.org"
SENDER = "+14155238886"
ANI = "whatsapp:+6281211110001"
REMINDER_SID = "HX" + "a" * 32
t = Translator()


@dataclass
class Env:
    fake: FakeTwilioApi
    channel: TwilioChannel
    client: httpx.AsyncClient
    world: World
    sessions: async_sessionmaker[AsyncSession]
    clock: FixedClock
    inbox: InboxWorkers
    dispatcher: Dispatcher  # replies queued in the outbox: it sends them
    sequence: int = 0

    async def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        signed_url: str | None = None,
        signature: str | None = "compute",
    ) -> httpx.Response:
        if signature == "compute":
            signature = twilio_signature(self.fake.auth_token, signed_url or PUBLIC + path, params)
        headers = {TWILIO_SIGNATURE_HEADER: signature} if signature else {}
        response = await self.client.post(path, data=params, headers=headers)
        if params.get("From"):
            self.fake.user_wrote(params["From"])  # Twilio saw the message: the window opens
        await self.inbox.drain()
        while (await self.dispatcher.run_once()).sent:
            pass
        return response

    async def say(self, body: str, sender: str = ANI, **kwargs: Any) -> httpx.Response:
        self.sequence += 1
        params = inbound_whatsapp_params(
            from_=sender, body=body, message_sid=f"SM{self.sequence:032x}", **kwargs
        )
        return await self.post("/twilio/whatsapp", params)

    def bodies(self, to: str = ANI) -> list[str]:
        return [m["body"] for m in self.fake.messages.values() if m["to"] == to]

    async def outbox(self) -> list[Outbox]:
        async with self.sessions() as session:
            return list(await session.scalars(select(Outbox).order_by(Outbox.id)))

    async def send(self, address: str, kind: str, payload: dict[str, Any]) -> Outbox:
        """What the sweeps and the engine do: queue a message; the dispatcher sends it.
        Returns its outbox row after the dispatcher's attempt."""
        async with self.sessions.begin() as session:
            await enqueue(
                session,
                [Enqueue(Channel.WHATSAPP, address, kind, payload, priority=Priority.REPLY)],
                now=self.clock.now(),
            )
        await self.dispatcher.run_once()
        return (await self.outbox())[-1]


@pytest.fixture
async def env(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Env]:
    """As `pendamping run` wires it: webhooks stored in the inbox, the inbox workers run
    the engine, replies queued with the step and sent by the dispatcher, against a fake
    that enforces WhatsApp's 24-hour window."""
    world = await build_world(sessions)
    async with sessions.begin() as session:
        session.add(ChannelIdentity(address=ANI, channel=Channel.WHATSAPP, staff_id=world.ani))
    clock = FixedClock(NOW)
    async with FakeTwilioApi() as fake:
        fake.enforce_window(clock.now)
        settings = TwilioSettings(
            account_sid=fake.account_sid,
            auth_token=fake.auth_token,
            whatsapp_sender=SENDER,
            sms_sender="+6281100000001",
            api_base_url=fake.base_url,
            public_base_url=PUBLIC,
            templates={TEMPLATES["reminder.kpm"].name: REMINDER_SID},
        )
        engine = make_engine(sessions, clock, queued_channels=["whatsapp", "sms"])
        translate = {Channel.WHATSAPP: from_inbox, Channel.SMS: from_inbox}
        inbox = InboxWorkers(sessions, engine, translate, clock, Translator())
        channel = TwilioChannel(
            settings,
            sessions,
            clock,
            Translator(),
            retry_wait=0.01,
            timeout=1.0,
            inbox=inbox.store,
        )
        web = create_web_app(twilio=twilio_webhooks(channel))
        # The app sits behind a TLS proxy: it is reached at an internal address.
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://10.0.0.5:8080"
        ) as client:
            send = channel.send_claimed
            senders = {Channel.WHATSAPP: send, Channel.SMS: send}
            dispatcher = Dispatcher(sessions, senders, {}, clock, base_delay=0.01)
            yield Env(fake, channel, client, world, sessions, clock, inbox, dispatcher)
        await channel.stop()


async def test_a_valid_signature_on_the_public_url_is_accepted_behind_a_proxy(env: Env) -> None:
    response = await env.say("bantuan")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response></Response>" in response.text
    assert env.bodies()[-1] == t("help.general")


@pytest.mark.parametrize("forgery", ["missing", "wrong token", "body altered", "internal url"])
async def test_a_missing_or_wrong_signature_gets_403_and_nothing_is_processed(
    env: Env, forgery: str
) -> None:
    params = inbound_whatsapp_params(from_=ANI, body="hadir", message_sid="SM" + "f" * 32)
    path = "/twilio/whatsapp"
    if forgery == "missing":
        response = await env.post(path, params, signature=None)
    elif forgery == "wrong token":
        response = await env.post(
            path, params, signature=twilio_signature("wrong", PUBLIC + path, params)
        )
    elif forgery == "body altered":
        signature = twilio_signature(env.fake.auth_token, PUBLIC + path, params)
        response = await env.post(path, {**params, "Body": "kasus"}, signature=signature)
    else:
        response = await env.post(path, params, signed_url="http://10.0.0.5:8080" + path)
    assert response.status_code == 403
    assert env.fake.messages == {}
    assert await env.outbox() == []


async def test_a_whole_attendance_conversation_by_typing(env: Env) -> None:
    await env.say("hadir")
    today = t("attendance.meeting_today", date="Minggu, 22 November 2026")
    assert f"{t('whatsapp.reply_with_number')}\n1. {today}" in env.bodies()[-1]
    await env.say("1")
    await env.say("7")  # P2K2 session 7
    words = [t(f"attendance.option_{key}").upper() for key in ("done", "all_present", "next")]
    assert t("whatsapp.reply_with_word", words=" · ".join(words)) in env.bodies()[-1]
    await env.say("tidak hadir: Sumarni (sakit)")
    assert t("attendance.ask_photo") in env.bodies()[-1]
    await env.say(
        "", num_media=1, media_urls=["https://api.twilio.com/media/ME1"], media_types=["image/jpeg"]
    )
    summary = t(
        "attendance.summary",
        name="Kelompok Melati",
        date="Minggu, 22 November 2026",
        sesi=7,
        hadir=11,
        izin=0,
        sakit=1,
        alpa=0,
        photos=1,
        facilitator=t("attendance.facilitator_pendamping"),
        absentees="• Sumarni: sakit",
    )
    assert summary in env.bodies()[-1]
    await env.say("simpan")
    assert t("attendance.saved", name="Kelompok Melati", hadir=11, total=12) in env.bodies()[-1]
    async with env.sessions() as session:
        marks = await session.scalar(select(func.count()).select_from(Attendance))
    assert marks == 12
    rows = await env.outbox()
    assert all(row.status is OutboxStatus.QUEUED and row.provider_id for row in rows)
    assert all(m["from"] == f"whatsapp:{SENDER}" for m in env.fake.messages.values())


async def test_a_message_delivered_twice_is_processed_once(env: Env) -> None:
    params = inbound_whatsapp_params(from_=ANI, body="bantuan", message_sid="SM" + "1" * 32)
    await env.post("/twilio/whatsapp", params)
    await env.post("/twilio/whatsapp", params)
    assert len(env.bodies()) == 1


async def test_a_quick_reply_button_is_the_same_choice_as_typing(env: Env) -> None:
    await env.say("hadir")
    await env.say("", button_payload="new", button_text="Pertemuan lain")
    assert t("attendance.ask_date") in env.bodies()[-1]


async def test_an_sms_conversation_uses_the_sms_sender_and_plain_numbers(env: Env) -> None:
    async with env.sessions() as session:
        kpm = await session.get(Kpm, env.world.kpm["Siti Aminah"])
    params = inbound_sms_params(from_=kpm.phone, body="halo", message_sid="SM" + "2" * 32)
    await env.post("/twilio/sms", params)
    (message,) = env.fake.messages.values()
    assert message["to"] == kpm.phone and message["from"] == "+6281100000001"
    # "halo" is a pesan KPM; Siti is addressed as Ibu, with her name
    assert message["body"] == t("pesan.ack_forwarded", sapaan="Ibu", name="Siti Aminah")


async def kpm_address(env: Env, name: str, last_inbound_hours_ago: float | None) -> str:
    async with env.sessions.begin() as session:
        kpm = await session.get(Kpm, env.world.kpm[name])
        address = f"whatsapp:{kpm.phone}"
        last = (
            None
            if last_inbound_hours_ago is None
            else NOW - timedelta(hours=last_inbound_hours_ago)
        )
        session.add(
            ChannelIdentity(
                address=address, channel=Channel.WHATSAPP, kpm_id=kpm.id, last_inbound_at=last
            )
        )
    return address


REMINDER = {
    "kelompok": "Kelompok Melati",
    "date": "Selasa, 8 Desember 2026",
    "time": "09.00 WIB",
    "place": "Balai Desa",
    "pendamping": "Ani Suryani",
    "penerima": "Ibu Siti Aminah",
}


def reminder(**values: str) -> dict[str, Any]:
    """A KPM's meeting reminder as the sweep queues it (a new dict each time: enqueue
    adds the template variables to the payload it is given)."""
    return {"key": "reminder.kpm", "values": {**REMINDER, **values}}


async def test_outside_the_window_a_business_message_goes_as_its_template(env: Env) -> None:
    address = await kpm_address(env, "Siti Aminah", last_inbound_hours_ago=30)
    row = await env.send(address, "meeting_reminder", reminder())
    call = env.fake.calls_to("messages")[-1]
    assert call.params["ContentSid"] == REMINDER_SID
    assert call.params["ContentVariables"] == (
        '{"1": "Ibu Siti Aminah", "2": "Kelompok Melati", "3": "Selasa, 8 Desember 2026", '
        '"4": "09.00 WIB", "5": "Balai Desa", "6": "Ani Suryani"}'
    )
    assert "Body" not in call.params
    assert row.status is OutboxStatus.QUEUED and row.provider_id in env.fake.messages


async def test_inside_the_window_it_goes_as_free_text(env: Env) -> None:
    address = await kpm_address(env, "Sri Wahyuni", last_inbound_hours_ago=2)
    await env.send(address, "meeting_reminder", reminder())
    call = env.fake.calls_to("messages")[-1]
    assert call.params["Body"] == t("reminder.kpm", **REMINDER)
    assert "ContentSid" not in call.params


async def test_a_message_without_its_template_is_not_sent_and_says_why(env: Env) -> None:
    address = await kpm_address(env, "Nur Hasanah", last_inbound_hours_ago=None)
    summary = TEMPLATES["digest.summary"]
    values = {variable.name: variable.example for variable in summary.variables}
    row = await env.send(
        address, "weekly_digest", {"text": "x", "key": summary.key, "values": values}
    )
    assert env.fake.calls_to("messages") == []
    assert row.status is OutboxStatus.FAILED
    assert row.error == (
        "outside the 24-hour window and no approved template is configured for "
        "digest.summary (twilio.templates.digest_summary)"
    )
    # A business message of free text has no template at all: not sent either.
    free = await env.send(address, "weekly_digest", {"text": "x"})
    assert env.fake.calls_to("messages") == []
    assert free.status is OutboxStatus.FAILED
    assert free.error == "outside the 24-hour window and no WhatsApp template is declared"
    # both rows kept, failed
    assert [stored.id for stored in await env.outbox()] == [row.id, free.id]


async def test_empty_template_variables_are_refused_before_sending(env: Env) -> None:
    address = await kpm_address(env, "Yuli Astuti", last_inbound_hours_ago=None)
    row = await env.send(address, "meeting_reminder", reminder(date=" "))
    assert row.status is OutboxStatus.FAILED
    assert row.error == "template reminder_kpm: {{3}} (date) is empty"
    assert row.attempts == 0  # refused as it was enqueued: never tried
    assert env.fake.calls_to("messages") == []


async def test_a_value_whatsapp_would_refuse_fails_at_enqueue_and_outbox_shows_it(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """An urgent case whose category is its code, not its label, for staff on WhatsApp:
    written failed as it is enqueued, with the template and the variable, never
    sent, and listed by `pendamping outbox` (its latest failures); the log names no one."""
    values = {
        "id": 128,
        "category": "kks_bermasalah",
        "pendamping": "Ani Suryani",
        "kpm": "Siti Aminah",
        "kelompok": "Kelompok Melati",
    }
    caplog.set_level(logging.WARNING, logger="models.messaging.enqueue")
    row = await env.send(ANI, "alert", {"key": "alert.urgent_case", "values": values})
    urgent = TEMPLATES["alert.urgent_case"]
    reason = f"template {urgent.name}: {{{{2}}}} (category) is a code, not label text"
    assert urgent.number("category") == 2
    assert (row.status, row.error, row.attempts) == (OutboxStatus.FAILED, reason, 0)
    assert row.provider_id is None and "template_variables" not in row.payload
    assert env.fake.calls_to("messages") == []
    async with env.sessions() as session:
        counts = await outbox_counts(session)
    assert counts.by_status_and_channel == [("failed", "whatsapp", 1)]
    assert [failure[:5] for failure in counts.latest_failures] == [
        (row.id, "whatsapp", "alert", None, reason)
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "models.messaging.enqueue"]
    assert logged == [f"1 message(s) not enqueued for sending: {reason}"]


async def test_after_berhenti_nothing_the_business_starts_is_sent(env: Env) -> None:
    address = await kpm_address(env, "Ratna Sari", last_inbound_hours_ago=1)
    await env.say("BERHENTI", sender=address)
    assert env.bodies(address) == [t("optout.stopped")]
    row = await env.send(address, "meeting_reminder", reminder())
    # withheld before the channel is asked: not a failure of the number
    assert (row.status, row.error) == (OutboxStatus.CANCELLED, OPTED_OUT)
    assert len(env.bodies(address)) == 1
    async with env.sessions() as session:
        kpm = await session.get(Kpm, env.world.kpm["Ratna Sari"])
    assert kpm.opted_out_at == NOW
    await env.say("MULAI", sender=address)
    assert env.bodies(address)[-1] == t("optout.resumed")


async def test_a_berhenti_between_the_dispatcher_s_look_and_the_send_still_stops_it(
    env: Env,
) -> None:
    address = await kpm_address(env, "Ratna Sari", last_inbound_hours_ago=1)
    await env.say("BERHENTI", sender=address)
    # The dispatcher looked before the "berhenti" was stored: the channel asks again.
    claimed = Claimed(1, Channel.WHATSAPP, address, "meeting_reminder", reminder(), 1)
    result = await env.channel.send_claimed(claimed)
    assert (result.status, result.error) == (OutboxStatus.CANCELLED, OPTED_OUT)
    assert env.bodies(address) == [t("optout.stopped")]


async def test_status_callbacks_out_of_order_never_go_backwards(env: Env) -> None:
    await env.say("bantuan")
    (row,) = await env.outbox()
    sid = row.provider_id
    for status, expected in (
        ("delivered", "delivered"),
        ("sent", "delivered"),
        ("read", "read"),
        ("delivered", "read"),
    ):
        response = await env.post(
            "/twilio/status", status_callback_params(message_sid=sid, status=status)
        )
        assert response.status_code == 204
        assert (await env.outbox())[0].status.value == expected
    forged = status_callback_params(message_sid=sid, status="failed")
    assert (await env.post("/twilio/status", forged, signature="bogus")).status_code == 403


async def test_a_failure_receipt_records_its_error_code(env: Env) -> None:
    await env.say("bantuan")
    (row,) = await env.outbox()
    await env.post(
        "/twilio/status",
        status_callback_params(
            message_sid=row.provider_id, status="undelivered", error_code="63016"
        ),
    )
    (stored,) = await env.outbox()
    assert stored.status is OutboxStatus.UNDELIVERED and stored.error_code == "63016"


@pytest.mark.parametrize("fault", ["429", "503", "drop", "slow"])
async def test_temporary_provider_errors_are_retried(env: Env, fault: str) -> None:
    if fault == "429":
        env.fake.fail_next(status=429)
    elif fault == "503":
        env.fake.fail_next(status=503)
    elif fault == "drop":
        env.fake.drop_next()
    else:
        env.fake.delay_next(3.0)  # beyond the 1 s timeout of every call
    await env.say("bantuan")
    # Queued: the dispatcher retries it after a backoff.
    (row,) = await env.outbox()
    assert row.status is OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at > env.clock.now()
    env.clock.advance(timedelta(minutes=1))
    env.fake.user_wrote(ANI)  # the clock moved: still inside the window
    assert (await env.dispatcher.run_once()).sent == 1
    (row,) = await env.outbox()
    assert row.status is OutboxStatus.QUEUED and row.attempts == 2
    assert row.provider_id is not None


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (21211, "not a valid phone number"),
        (63016, "outside the allowed window"),
        (21610, "unsubscribed"),
    ],
)
async def test_permanent_errors_are_not_retried_and_keep_their_code(
    env: Env, code: int, text: str
) -> None:
    env.fake.fail_next(status=400, code=code)
    await env.say("bantuan")
    (row,) = await env.outbox()
    assert row.status is OutboxStatus.FAILED and row.attempts == 1
    assert row.error_code == str(code) and text in row.error.lower()
    assert len(env.fake.calls_to("messages")) == 1


async def test_a_reply_after_the_window_closed_is_not_attempted(env: Env) -> None:
    async with env.sessions.begin() as session:
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.address == ANI)
            .values(last_inbound_at=NOW - timedelta(hours=25))
        )
    row = await env.send(ANI, "reply", {"text": "terlambat"})
    assert row.status is OutboxStatus.FAILED and "24-hour window" in row.error
    assert env.fake.calls_to("messages") == []


async def test_the_account_check_for_doctor(env: Env) -> None:
    assert "active" in await env.channel.check()


async def test_the_dispatcher_sends_a_queued_reminder_as_its_template(env: Env) -> None:
    from scheduler.dispatcher import Dispatcher

    address = await kpm_address(env, "Kurniasih", last_inbound_hours_ago=None)
    async with env.sessions.begin() as session:
        await enqueue(
            session,
            [
                Enqueue(
                    channel=Channel.WHATSAPP,
                    address=address,
                    kind="meeting_reminder",
                    payload=reminder(),
                    priority=Priority.REMINDER,
                )
            ],
            now=NOW,
        )
    env.fake.fail_next(status=429)
    dispatcher = Dispatcher(
        env.sessions,
        {Channel.WHATSAPP: env.channel.send_claimed},
        {Channel.WHATSAPP: 80.0},
        env.clock,
    )
    await dispatcher.run_once()
    (row,) = await env.outbox()
    assert row.status is OutboxStatus.PENDING and row.error_code == "20429"
    env.clock.advance(timedelta(minutes=5))
    await dispatcher.run_once()
    (row,) = await env.outbox()
    assert row.status is OutboxStatus.QUEUED and row.attempts == 2
    assert env.fake.messages[row.provider_id]["to"] == address
    assert env.fake.calls_to("messages")[-1].params["ContentSid"] == REMINDER_SID


# --- first contact: the reply is inside the window the message itself opened -----------------


async def test_a_number_never_seen_that_says_halo_gets_the_one_sentence_answer(env: Env) -> None:
    stranger = "whatsapp:+6285799990001"
    response = await env.say("halo", sender=stranger)
    assert response.status_code == 200
    assert env.bodies(stranger) == [t("register.unknown_sender")]
    (row,) = await env.outbox()
    assert row.status is OutboxStatus.QUEUED and row.error is None


async def test_a_new_staff_member_linking_by_daftar_gets_the_welcome_and_the_menu(
    env: Env,
) -> None:
    from models.staff import create_invite
    from models.tables import Staff

    async with env.sessions.begin() as session:
        budi = await session.get(Staff, env.world.budi)
        code = await create_invite(session, budi, now=NOW, valid_days=14)
    newcomer = "whatsapp:+6285799990002"
    await env.say(f"DAFTAR {code}", sender=newcomer)
    (welcome,) = env.bodies(newcomer)
    assert welcome.startswith(t("register.welcome", name=budi.name))
    assert t("whatsapp.reply_with_number") in welcome  # the menu, as a numbered list
    assert all(row.status is OutboxStatus.QUEUED for row in await env.outbox())


async def test_a_reply_waiting_past_the_window_its_message_opened_is_not_sent_free_form(
    env: Env,
) -> None:
    """The window is the inbound message's: a reply still queued 24 hours later is
    refused by us, not sent to be refused by WhatsApp."""
    stranger = "whatsapp:+6285799990003"
    env.fake.fail_next(status=503)  # the first try fails: the reply waits for a retry
    await env.say("halo", sender=stranger)
    env.clock.advance(timedelta(hours=25))
    await env.dispatcher.run_once()
    (row,) = await env.outbox()
    assert row.status is OutboxStatus.FAILED
    assert "24-hour window" in row.error
    assert env.bodies(stranger) == []


async def test_a_business_message_to_a_number_last_heard_25_hours_ago_uses_its_template(
    env: Env,
) -> None:

    address = await kpm_address(env, "Kurniasih", last_inbound_hours_ago=25)
    env.fake.user_wrote(address, NOW - timedelta(hours=25))
    async with env.sessions.begin() as session:
        await enqueue(
            session,
            [
                Enqueue(
                    Channel.WHATSAPP,
                    address,
                    "meeting_reminder",
                    reminder(),
                    Priority.REMINDER,
                )
            ],
            now=NOW,
        )
    await env.dispatcher.run_once()
    (row,) = await env.outbox()
    assert row.status is OutboxStatus.QUEUED
    assert env.fake.calls_to("messages")[-1].params["ContentSid"] == REMINDER_SID


async def test_a_messaging_service_sends_from_its_pool_instead_of_a_number(env: Env) -> None:
    service = "MG" + "1" * 32
    settings = TwilioSettings(
        account_sid=env.fake.account_sid, auth_token=env.fake.auth_token,
        messaging_service_sid=service, api_base_url=env.fake.base_url, public_base_url=PUBLIC,
    )
    pooled = TwilioChannel(settings, env.sessions, env.clock, Translator(), retry_wait=0.01,
                           timeout=1.0)
    try:
        env.fake.user_wrote(ANI)  # she just wrote: a reply inside the window
        payload = {"text": "halo dari pool", "in_reply_to_at": env.clock.now().isoformat()}
        async with env.sessions.begin() as session:
            await enqueue(session, [Enqueue(Channel.WHATSAPP, ANI, "reply", payload,
                                            Priority.REPLY)], now=env.clock.now())
        dispatcher = Dispatcher(env.sessions, {Channel.WHATSAPP: pooled.send_claimed}, {},
                                env.clock, base_delay=0.01)
        assert (await dispatcher.run_once()).sent == 1
    finally:
        await pooled.stop()
    (message,) = env.fake.messages.values()
    assert (message["messaging_service_sid"], message["from"]) == (service, None)
    assert message["to"] == ANI and message["body"] == "halo dari pool"
