"""The P2K2 sessions offered at /hadir come from configuration (``[[programme.p2k2.modules]]``):
today's titles by default, a configured curriculum in its stead, with its numbering, its
module of each session stored with the meeting and the suggestion wrapping after its last."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.bootstrap import p2k2_curriculum
from bot.config import load_settings
from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.registry import COMMANDS, FLOWS
from handlers.settings import EngineSettings
from models.rules.clock import FixedClock
from models.tables import Meeting
from tests.world import NOW, Chat, build_world, default_catalog, make_engine

t = Translator()
CURRICULUM = """
[[programme.p2k2.modules]]
number = 1
title = "Pengasuhan"
sessions = [{ number = 1, title = "Menjadi Orangtua" }, { number = 2, title = "Anak Belajar" }]
[[programme.p2k2.modules]]
number = 2
title = "Keuangan"
sessions = [{ number = 3, title = "Mengelola Keuangan Keluarga" }]
"""


def _labels(chat: Chat) -> list[str]:
    return [option.label for option in chat.last[-1].options]


async def test_the_default_sessions_carry_today_s_titles(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/hadir")
    await chat.send(choice=chat.option("Hari ini"))
    labels = _labels(chat)
    assert t("attendance.sesi_label", number=8,
             title="Pentingnya Gizi dan Layanan Kesehatan Ibu Hamil") in labels
    assert t("attendance.sesi_label", number=9,
             title="Pentingnya Gizi Ibu Menyusui dan Balita") in labels
    assert t("attendance.sesi_label", number=10,
             title="Kesakitan pada Anak dan Kesehatan Lingkungan") in labels
    assert len(labels) == 14
    assert not any("lanjutan" in label for label in labels)


async def test_a_configured_curriculum_is_offered_and_stored_with_its_module(
    sessions, tmp_path: Path
) -> None:
    world = await build_world(sessions)
    path = tmp_path / "config.toml"
    path.write_text(CURRICULUM, encoding="utf-8")
    modules, p2k2 = p2k2_curriculum(load_settings(path, environ={}).settings)
    settings = EngineSettings(catalog=default_catalog(), modules=modules, sessions=p2k2)
    clock = FixedClock(NOW)
    chat = Chat(Engine(sessions, settings, clock, FLOWS, COMMANDS), clock, "console:ani")
    await chat.send("/hadir")
    await chat.send(choice=chat.option("Hari ini"))
    assert _labels(chat) == [
        t("attendance.sesi_label", number=1, title="Menjadi Orangtua"),
        t("attendance.sesi_label", number=2, title="Anak Belajar"),
        t("attendance.sesi_label", number=3, title="Mengelola Keuangan Keluarga"),
    ]
    await chat.send("4")
    assert t("attendance.pick_sesi_invalid", count=3) in chat.text
    await chat.send("3")
    await chat.send("semua hadir")
    await chat.send("lewati")
    await chat.send("simpan")
    async with sessions() as session:
        meeting = await session.get(Meeting, world.melati_today)
    assert meeting is not None and (meeting.modul, meeting.sesi) == (2, 3)

    await chat.send("/hadir")  # the group's last was the curriculum's last: back to 1
    await chat.send(choice="new")
    await chat.send("kemarin")
    assert "(Saran: sesi 1)" in chat.text
    async with sessions() as session:
        held = list(await session.scalars(select(Meeting.sesi).where(Meeting.sesi.is_not(None))))
    assert held == [3]
