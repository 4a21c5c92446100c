"""/kasus with a note written in the pendamping's own words: the kind of case it suggests
is offered first (one number confirms it), signs of violence propose mendesak, always-urgent
kinds are saved as mendesak, pungli reaches the coordinator even as biasa, and an "usulan
keluar" case leads into recording the family's exit."""

from __future__ import annotations

from sqlalchemy import select

from handlers.i18n import Translator
from models.enums import CaseSeverity
from models.messaging.tables import Conversation, Outbox
from models.rules.clock import FixedClock
from models.tables import CaseNote
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()


async def only_case(sessions) -> CaseNote:
    async with sessions() as session:
        (case,) = (await session.scalars(select(CaseNote))).all()
    return case


async def start(sessions, name: str = "Sumarni") -> Chat:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send(f"/kasus {name}")
    assert chat.text == t("case.ask_category", name=name)
    return chat


def saved(key: str, case: CaseNote, category: str, name: str = "Sumarni") -> str:
    return t(
        key,
        id=case.id,
        name=name,
        category=t(f"case.category.{category}"),
        follow_up=t("case.no_follow_up"),
    )


async def test_a_note_typed_for_the_kind_suggests_it_and_becomes_the_description(
    sessions,
) -> None:
    chat = await start(sessions)
    note = "anaknya tidak sekolah sudah 2 bulan"
    await chat.send(note)
    assert chat.text == t("case.note_kept") + "\n" + t(
        "case.ask_category_suggested", category=t("case.category.pendidikan")
    )
    first = chat.last[-1].options[0]
    assert (first.value, first.label) == (
        "pendidikan",
        t("case.category_suggested", category=t("case.category.pendidikan")),
    )
    await chat.send("1")  # confirmed with one number; the description is not asked again
    assert chat.text == t("case.ask_follow_up")
    await chat.send(t("case.option_no_follow_up"))
    assert chat.text == t("case.ask_severity")  # nothing urgent in it: asked as before
    await chat.send("biasa")
    case = await only_case(sessions)
    assert chat.text == saved("case.saved", case, "pendidikan")
    assert (case.category, case.description, case.severity) == (
        "pendidikan", note, CaseSeverity.BIASA
    )


async def test_another_kind_can_be_picked_than_the_one_suggested(sessions) -> None:
    chat = await start(sessions)
    await chat.send("ktp ibu hilang waktu pindahan")
    await chat.send(t("case.category.pemutakhiran_data"))
    assert chat.text == t("case.ask_follow_up")
    await chat.send(t("case.option_no_follow_up"))
    await chat.send("biasa")
    case = await only_case(sessions)
    assert (case.category, case.description) == (
        "pemutakhiran_data", "ktp ibu hilang waktu pindahan"
    )


async def test_a_single_word_only_looks_for_the_kind_and_nonsense_is_refused(sessions) -> None:
    chat = await start(sessions)
    await chat.send("zzz qqq")
    assert chat.text.startswith(t("case.category_invalid"))
    await chat.send("ktp")  # a part of the label "Adminduk (KTP, KK, akta)": chosen
    assert chat.text == t("case.ask_description")
    await chat.send("/kasus Sumarni")
    await chat.send("dukcapil")  # a word, not a note: the kind suggested, no description kept
    assert chat.text == t("case.ask_category_suggested", category=t("case.category.adminduk"))
    await chat.send("1")
    assert chat.text == t("case.ask_description")


async def test_signs_of_violence_in_the_description_propose_mendesak(sessions) -> None:
    chat = await start(sessions)
    await chat.send(t("case.category.pendidikan"))
    await chat.send("Anak sering dipukul ayahnya, jadi takut berangkat ke sekolah")
    await chat.send(t("case.option_no_follow_up"))
    assert chat.text == t("case.severity_risk") + "\n" + t("case.ask_severity")
    first = chat.last[-1].options[0]
    assert (first.value, first.label) == (
        "mendesak",
        t("case.severity_suggested", severity=t("case.severity.mendesak")),
    )
    await chat.send("1")
    case = await only_case(sessions)
    assert case.severity is CaseSeverity.MENDESAK
    assert chat.text == saved("case.saved_urgent", case, "pendidikan")


async def test_a_domestic_violence_note_is_always_saved_as_mendesak(sessions) -> None:
    chat = await start(sessions)
    await chat.send("ibu dipukul suami semalam, ada lebam di wajah")
    assert chat.last[-1].options[0].value == "kdrt"
    await chat.send("1")
    await chat.send(t("case.option_no_follow_up"))  # no severity question
    case = await only_case(sessions)
    assert (case.category, case.severity) == ("kdrt", CaseSeverity.MENDESAK)
    assert chat.text == t("case.always_urgent_note") + "\n" + saved(
        "case.saved_urgent", case, "kdrt"
    )


async def test_a_pungli_case_saved_as_biasa_still_reaches_the_coordinator(sessions) -> None:
    chat = await start(sessions)
    await chat.send("bantuan dipotong ketua kelompok Rp50 ribu")
    assert chat.last[-1].options[0].value == "pungli"
    await chat.send("1")
    await chat.send(t("case.option_no_follow_up"))
    assert chat.text == t("case.ask_severity")
    await chat.send("biasa")
    case = await only_case(sessions)
    assert case.severity is CaseSeverity.BIASA and case.escalated_to_id is not None
    assert chat.text == saved("case.saved_escalated", case, "pungli")
    async with sessions() as session:
        alert = await session.scalar(
            select(Outbox).where(Outbox.kind == "alert", Outbox.address == "console:dewi")
        )
    assert alert is not None and alert.payload["key"] == "alert.escalated_case"
    assert alert.payload["values"]["category"] == t("case.category.pungli")
    assert alert.payload["values"]["kpm"] == "Sumarni"


async def test_an_usulan_keluar_case_leads_into_recording_the_exit(sessions) -> None:
    chat = await start(sessions)
    await chat.send("usulan keluar")  # a part of the kind's label that only it has
    await chat.send("Ibu Sumarni meninggal dunia minggu lalu, tidak ada anggota lain")
    await chat.send(t("case.option_no_follow_up"))
    await chat.send("biasa")
    case = await only_case(sessions)
    assert case.category == "usulan_keluar"
    assert chat.text == saved("case.saved", case, "usulan_keluar") + "\n\n" + t(
        "case.ask_record_exit", name="Sumarni"
    )
    await chat.send(t("case.option_record_exit"))
    assert chat.text == t("kpm_change.ask_reason", name="Sumarni")
    async with sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert (conversation.flow, conversation.step) == ("kpm_leave", "reason")


async def test_the_exit_can_be_recorded_later(sessions) -> None:
    chat = await start(sessions)
    await chat.send("KPM pindah ke luar provinsi ikut suami, mohon diusulkan keluar")
    assert chat.last[-1].options[0].value == "usulan_keluar"
    await chat.send("1")
    await chat.send(t("case.option_no_follow_up"))
    await chat.send("biasa")
    await chat.send("apa?")
    assert chat.text.startswith(t("case.record_exit_invalid"))
    await chat.send(t("case.option_exit_later"))
    assert chat.text == t("case.exit_later", name="Sumarni")
