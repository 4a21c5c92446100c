"""/hapus_data: a coordinator erases a family's personal data in chat, for a family of
their region, after giving a reason and confirming; a pendamping cannot, a coordinator of
another kabupaten does not find the family, and asked again it is already done."""

from __future__ import annotations

from sqlalchemy import select

from handlers.i18n import Translator
from models.enums import Channel, StaffRole
from models.erasure import pseudonym
from models.regions import RegionIndex
from models.rules.clock import FixedClock
from models.rules.text import name_key
from models.tables import AuditLog, ChannelIdentity, Kpm, Staff
from tests.erasure_world import NAME, build_family_world, found_anywhere, needles
from tests.world import NOW, Chat, make_engine

t = Translator()


async def test_a_coordinator_erases_a_family_of_her_region_after_confirming(sessions) -> None:
    family = await build_family_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    dewi = Chat(engine, clock, "console:dewi")

    await dewi.send(f"/hapus_data {NAME}")
    assert dewi.text == t("erasure.ask_reason", name=NAME, id_pkh=family.id_pkh)
    await dewi.send("ok")  # too short to say why
    assert dewi.text.startswith(t("erasure.reason_invalid"))
    await dewi.send("permintaan KPM sendiri")
    assert dewi.text == t(
        "erasure.confirm", name=NAME, id_pkh=family.id_pkh, addresses=1, messages=1,
        cases=1, photos=2, waiting=3,
    )
    await dewi.send("nanti saja")  # neither option
    assert dewi.text.startswith(t("erasure.confirm_invalid"))
    await dewi.send(choice=dewi.option(t("erasure.option_cancel")))
    assert dewi.text == t("erasure.cancelled")
    async with sessions() as session:
        assert (await session.get(Kpm, family.kpm_id)).erased_at is None

    await dewi.send(f"/hapus_data {NAME}")
    await dewi.send("permintaan KPM sendiri")
    await dewi.send(choice=dewi.option(t("erasure.option_erase")))
    assert dewi.text == t(
        "erasure.done", id_pkh=family.id_pkh, pseudonym=pseudonym(family.kpm_id), withdrawn=3
    )
    assert NAME not in dewi.text
    async with sessions() as session:
        kpm = await session.get(Kpm, family.kpm_id)
        assert kpm.nama_pengurus == pseudonym(family.kpm_id)
        assert kpm.erasure_reason == "permintaan KPM sendiri"
        (entry,) = await session.scalars(select(AuditLog).where(AuditLog.action == "kpm.erase"))
        assert (entry.actor, entry.actor_staff_id) == ("staff", family.world.dewi)
    # The coordinator's conversation (the prompts named her) holds nothing of her either.
    assert await found_anywhere(sessions, needles(family)) == {}

    await dewi.send(f"/hapus_data {family.id_pkh}")  # asked twice
    assert dewi.text == t("erasure.already_erased", id_pkh=family.id_pkh, date="22/11/2026")
    await dewi.send(f"/hapus_data {NAME}")  # her name finds nobody now
    assert dewi.text == t("kpm.not_found", query=NAME)


async def test_a_pendamping_cannot_erase_and_another_region_s_coordinator_finds_nobody(
    sessions,
) -> None:
    family = await build_family_world(sessions)
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        elsewhere = await index.ensure_path(["Jawa Tengah", "Kab. Lain"])
        eko = Staff(role=StaffRole.KOORDINATOR, name="Eko Koordinator",
                    name_key=name_key("Eko Koordinator"), region_id=elsewhere)
        session.add(eko)
        await session.flush()
        session.add(ChannelIdentity(address="console:eko", channel=Channel.CONSOLE,
                                    staff_id=eko.id))
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)

    ani = Chat(engine, clock, "console:ani")  # her own pendamping
    await ani.send(f"/hapus_data {NAME}")
    assert ani.text == t("access.flow_not_for_role")
    eko_chat = Chat(engine, clock, "console:eko")
    await eko_chat.send(f"/hapus_data {NAME}")
    assert eko_chat.text == t("kpm.not_found", query=NAME)
    await eko_chat.send(family.id_pkh)
    assert eko_chat.text.startswith(t("kpm.not_found", query=family.id_pkh))
    async with sessions() as session:
        assert (await session.get(Kpm, family.kpm_id)).nama_pengurus == NAME
