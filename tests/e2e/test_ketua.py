"""The ketua kelompok, from the user's side: the pendamping sets who it is in chat; the
ketua answers for the members no reminder reaches ("hadir semua", "Siti Aminah tidak bisa,
sakit"), a name that fits two members or nobody is asked about, and /konfirmasi shows who
answered for whom (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from handlers.i18n import Translator
from models.enums import RsvpAnswer
from models.rules.clock import FixedClock
from models.tables import AuditLog, Kelompok, Kpm, KpmMessage, Rsvp
from tests.ketua_world import FIRST_REMINDER, KetuaWorld, build_ketua_world, sweep_ketua
from tests.world import MELATI, Chat, make_engine

t = Translator()
LATER = datetime(2026, 11, 23, 11, tzinfo=UTC)  # Monday 18.00 WIB
DEWI = {"sapaan": "Ibu", "name": "Dewi Lestari"}
THURSDAY = "Kamis, 26 November 2026"


Answers = dict[str, tuple[RsvpAnswer, str | None, int | None]]


async def _answers(sessions, kw: KetuaWorld) -> Answers:
    """Each RSVP of the meeting by name: (answer, reason, the ketua who gave it)."""
    names = {kpm_id: name for name, kpm_id in kw.world.kpm.items()}
    async with sessions() as session:
        rows = await session.execute(
            select(Rsvp.kpm_id, Rsvp.answer, Rsvp.reason, Rsvp.answered_by_kpm_id)
            .where(Rsvp.meeting_id == kw.meeting)
        )
        return {names[kpm_id]: (answer, reason, by) for kpm_id, answer, reason, by in rows}


async def _ketua_chat(sessions, kw: KetuaWorld) -> tuple[Chat, FixedClock]:
    clock = FixedClock(LATER)
    return Chat(make_engine(sessions, clock), clock, kw.ketua_address), clock


async def test_the_pendamping_sets_the_ketua_in_chat_by_name_or_number_audited(sessions) -> None:
    kw = await build_ketua_world(sessions, ketua=False)
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/ketua Melati")
    members = sorted(MELATI, key=str.lower)
    assert ani.text == t(
        "ketua.ask_member", kelompok="Kelompok Melati", current=t("ketua.nobody"),
        example=members[0].split()[0],
    )
    assert [option.label for option in ani.last[-1].options] == members
    await ani.send("Dewi")  # a part of a name only she has
    assert ani.text == t("ketua.set", **DEWI, kelompok="Kelompok Melati")

    await ani.send("ketua")  # typed without the slash, as on WhatsApp: which kelompok?
    assert ani.text == t("ketua.pick_group")
    await ani.send("Melati")
    assert f": {DEWI['name']}." in ani.text  # the ketua now is named
    await ani.send("Siti Amina")  # misspelt: still one member
    siti_set = t("ketua.set", sapaan="Ibu", name="Siti Aminah", kelompok="Kelompok Melati")
    no_contact = t("ketua.set_no_contact", sapaan="Ibu", name="Siti Aminah")
    assert ani.text == f"{siti_set}\n\n{no_contact}"  # she has no phone: said at once

    await ani.send("/ketua Melati")
    await ani.send(str(members.index("Lestari Handayani") + 1))  # by number
    assert ani.text == t(
        "ketua.set", sapaan="Ibu", name="Lestari Handayani", kelompok="Kelompok Melati"
    )
    await ani.send("/ketua Melati")
    await ani.send("Zaenab")
    assert ani.text.startswith(t("ketua.member_invalid", example=members[0].split()[0]))
    await ani.send(choice=ani.option(t("ketua.option_nobody")))
    assert ani.text == t("ketua.cleared", kelompok="Kelompok Melati")

    async with sessions() as session:
        kelompok = await session.get(Kelompok, kw.world.melati)
        audits = [
            (row.actor_staff_id, row.entity_id, row.detail)
            for row in await session.scalars(
                select(AuditLog).where(AuditLog.action == "kelompok.ketua").order_by(AuditLog.id)
            )
        ]
    assert kelompok.ketua_kpm_id is None
    dewi, siti, lestari = (kw.kpm(n) for n in ("Dewi Lestari", "Siti Aminah", "Lestari Handayani"))
    assert audits == [
        (kw.world.ani, kw.world.melati, {"before": None, "after": dewi}),
        (kw.world.ani, kw.world.melati, {"before": dewi, "after": siti}),
        (kw.world.ani, kw.world.melati, {"before": siti, "after": lestari}),
        (kw.world.ani, kw.world.melati, {"before": lestari, "after": None}),
    ]


async def test_the_ketua_answers_hadir_semua_for_the_members_on_the_list(sessions) -> None:
    kw = await build_ketua_world(sessions)
    await sweep_ketua(sessions, FIRST_REMINDER)
    dewi, _ = await _ketua_chat(sessions, kw)
    await dewi.send("hadir semua")
    lines = "\n".join(
        t("ketua.line_hadir", name=name) for name in ("Nur Hasanah", "Siti Aminah", "Siti Rahayu")
    )
    assert dewi.text == t(
        "ketua.recorded", **DEWI, kelompok="Kelompok Melati", date=THURSDAY, lines=lines
    )
    ketua = kw.ketua
    assert await _answers(sessions, kw) == {
        "Nur Hasanah": (RsvpAnswer.HADIR, None, ketua),
        "Siti Aminah": (RsvpAnswer.HADIR, None, ketua),
        "Siti Rahayu": (RsvpAnswer.HADIR, None, ketua),
    }
    await dewi.send("Semua hadir")  # again: nothing new to record
    assert dewi.text == t("ketua.all_answered", **DEWI, kelompok="Kelompok Melati",
                          example="Kurniasih")


async def test_the_ketua_answers_by_name_and_konfirmasi_shows_who_answered_for_whom(
    sessions,
) -> None:
    kw = await build_ketua_world(sessions)
    dewi, clock = await _ketua_chat(sessions, kw)
    await dewi.send("Siti tidak bisa, sakit")  # two Siti on the list: which one?
    assert dewi.text == t(
        "ketua.ambiguous", query="Siti", candidates="1. Siti Aminah, 2. Siti Rahayu",
        example="Siti Aminah",
    )
    assert await _answers(sessions, kw) == {}
    await dewi.send("Siti Aminah tidak bisa, sakit\nNur hadir")
    lines = "\n".join((  # by name, as the member lists are
        t("ketua.line_hadir", name="Nur Hasanah"),
        t("ketua.line_tidak_reason", name="Siti Aminah", reason="sakit"),
    ))
    assert dewi.text == t(
        "ketua.recorded", **DEWI, kelompok="Kelompok Melati", date=THURSDAY, lines=lines
    )
    await dewi.send("hadir semua kecuali Siti Rahayu")  # the rest of the list
    assert t("ketua.line_tidak", name="Siti Rahayu") in dewi.text
    await dewi.send("1")  # her own answer, as every KPM gives it
    assert dewi.text == t("rsvp.coming", **DEWI)
    ketua = kw.ketua
    assert await _answers(sessions, kw) == {
        "Siti Aminah": (RsvpAnswer.TIDAK, "sakit", ketua),
        "Nur Hasanah": (RsvpAnswer.HADIR, None, ketua),
        "Siti Rahayu": (RsvpAnswer.TIDAK, None, ketua),
        "Dewi Lestari": (RsvpAnswer.HADIR, None, None),
    }

    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/konfirmasi Melati")
    by = t("rsvp.answered_by", ketua="Ibu Dewi Lestari")
    assert f"Nur Hasanah ({by})" in ani.text
    assert f"• Siti Aminah (sakit; {by})" in ani.text
    assert f"• Siti Rahayu ({by})" in ani.text
    assert f"Dewi Lestari ({by})" not in ani.text and "Dewi Lestari" in ani.text

    nur = Chat(dewi.engine, clock, "whatsapp:" + await _phone(sessions, kw, "Nur Hasanah"))
    await nur.send("2")  # she answers herself after all: her own answer replaces the ketua's
    assert (await _answers(sessions, kw))["Nur Hasanah"] == (RsvpAnswer.TIDAK, None, None)


async def test_a_name_nobody_has_is_said_so_and_what_is_not_an_answer_stays_a_pesan(
    sessions,
) -> None:
    kw = await build_ketua_world(sessions)
    dewi, clock = await _ketua_chat(sessions, kw)
    await dewi.send("Zaenab hadir")
    assert dewi.text == t("ketua.not_found", query="Zaenab", kelompok="Kelompok Melati",
                          example="Kurniasih")
    await dewi.send("Bu, saya tidak bisa datang karena anak sakit")  # her own message
    assert dewi.text.startswith(t("pesan.ack_forwarded", **DEWI))
    async with sessions() as session:
        kept = list(await session.scalars(select(KpmMessage.kpm_id)))
    assert kept == [kw.ketua]
    assert await _answers(sessions, kw) == {}

    nur = Chat(dewi.engine, clock, "whatsapp:" + (await _phone(sessions, kw, "Yuli Astuti")))
    await nur.send("Siti hadir")  # not a ketua: a pesan KPM, as before
    assert nur.text.startswith(t("pesan.ack_forwarded", sapaan="Ibu", name="Yuli Astuti"))
    assert await _answers(sessions, kw) == {}


async def _phone(sessions, kw: KetuaWorld, name: str) -> str:
    async with sessions() as session:
        return (await session.get(Kpm, kw.kpm(name))).phone
