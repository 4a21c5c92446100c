"""KPM on phone channels: recognised by their roster number; STOP and MULAI."""

from __future__ import annotations

from sqlalchemy import select

from handlers.i18n import Translator
from models.optout import is_opted_out
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity, Kpm
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()


async def roster_phone(sessions, kpm_id: int) -> str:
    async with sessions() as session:
        return (await session.get(Kpm, kpm_id)).phone


async def test_a_kpm_writing_from_their_roster_number_is_recognised(sessions) -> None:
    world = await build_world(sessions)
    phone = await roster_phone(sessions, world.kpm["Siti Aminah"])
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, f"whatsapp:{phone}")
    await chat.send("halo bu")  # anything but an answer is a pesan KPM for Ani
    assert chat.text == t("pesan.ack_forwarded", sapaan="Ibu", name="Siti Aminah")
    async with sessions() as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.address == f"whatsapp:{phone}")
        )
    assert identity.kpm_id == world.kpm["Siti Aminah"] and identity.last_inbound_at == NOW


async def test_stop_is_confirmed_once_and_mulai_resumes(sessions) -> None:
    world = await build_world(sessions)
    phone = await roster_phone(sessions, world.kpm["Sri Wahyuni"])
    address = f"whatsapp:{phone}"
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, address)
    await chat.send("BERHENTI")
    assert chat.text == t("optout.stopped")
    await chat.send("stop")
    assert chat.last == []  # confirmed once only
    async with sessions() as session:
        assert await is_opted_out(session, address)
        kpm = await session.get(Kpm, world.kpm["Sri Wahyuni"])
        assert kpm.opted_out_at == NOW
    await chat.send("MULAI")
    assert chat.text == t("optout.resumed")
    async with sessions() as session:
        assert not await is_opted_out(session, address)
        kpm = await session.get(Kpm, world.kpm["Sri Wahyuni"])
        assert kpm.opted_out_at is None and kpm.consent_at == NOW


async def test_an_unknown_number_can_opt_out_too(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "sms:+6285712345678")
    await chat.send("Unsubscribe")
    assert chat.text == t("optout.stopped")
    async with sessions() as session:
        assert await is_opted_out(session, "sms:+6285712345678")


async def test_mulai_is_still_the_menu_for_staff_who_never_opted_out(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("mulai")
    assert chat.text == t("menu.title")
