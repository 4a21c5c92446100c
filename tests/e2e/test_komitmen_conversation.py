"""Commitment checks by chat (/komitmen), end to end through the engine and the database:
the one-line form with reasons, taps and pages, re-running to edit, one KPM by name, the
staff over a pendamping, scope, and bad input that changes nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.i18n import Translator
from handlers.messages import Media
from models.enums import CommitmentResult
from models.messaging.tables import Conversation
from models.rules.clock import FixedClock
from models.tables import AuditLog, CommitmentCheck, Komponen
from tests.world import MELATI, NOW, Chat, World, build_world, make_engine

t = Translator()
NOVEMBER = date(2026, 11, 1)
PERIOD = "November 2026"
MET, NOT_MET = CommitmentResult.MEMENUHI, CommitmentResult.TIDAK_MEMENUHI
# The world gives Siti Aminah an anak_sd; these get one member each (in name order:
# Dewi Lestari, Kurniasih, Siti Aminah, Sri Wahyuni).
EXTRA = {
    "Sri Wahyuni": ("anak_smp", date(2013, 5, 1), date(2029, 5, 1)),
    "Dewi Lestari": ("anak_usia_dini", date(2022, 2, 1), date(2029, 2, 1)),
    "Kurniasih": ("ibu_hamil", date(2027, 2, 10), date(2027, 3, 24)),
}


async def with_members(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        for name, (kind, birth, end) in EXTRA.items():
            session.add(Komponen(kpm_id=world.kpm[name], type=kind, birth_date=birth, end_date=end))
    return world


async def results(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> dict[tuple[str, str], tuple[CommitmentResult, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                CommitmentCheck.kpm_id,
                CommitmentCheck.commitment,
                CommitmentCheck.result,
                CommitmentCheck.reason,
                CommitmentCheck.period_start,
            )
        )
        names = {kpm_id: name for name, kpm_id in world.kpm.items()}
        found = {}
        for kpm_id, commitment, result, reason, period in rows:
            assert period == NOVEMBER
            found[(names[kpm_id], commitment)] = (result, reason)
        return found


def open_chat(sessions, address: str = "console:ani") -> Chat:
    clock = FixedClock(NOW)
    return Chat(make_engine(sessions, clock), clock, address)


def prompt(met: int, not_met: int, unverified: int, name: str = "Kelompok Melati") -> str:
    return t(
        "komitmen.mark_prompt",
        name=name,
        period=PERIOD,
        met=met,
        not_met=not_met,
        unverified=unverified,
        page=1,
        pages=1,
    )


async def open_melati(chat: Chat) -> None:
    await chat.send("/komitmen")
    assert t("komitmen.pick_group", period=PERIOD) in chat.text
    melati = chat.option("Kelompok Melati")
    # Four pairs due in Melati, none verified: the list says so before it is opened.
    labels = [o.label for o in chat.last[-1].options]
    assert "Kelompok Melati" + t("komitmen.group_open", count=4) in labels
    assert "Kelompok Mawar" in labels  # nothing due there: no count
    await chat.send(choice=melati)
    assert prompt(0, 0, 4) in chat.text


async def test_one_typed_line_reasons_and_save(sessions) -> None:
    world = await with_members(sessions)
    chat = open_chat(sessions)
    await open_melati(chat)
    labels = [toggle.label for toggle in chat.last[-1].toggles]
    assert labels == [
        "1. Dewi Lestari · Anak usia dini: Timbang dan imunisasi",
        "2. Kurniasih · Ibu hamil/nifas: Periksa kehamilan (min. 4 kali)",
        "3. Siti Aminah · Anak SD: Hadir di sekolah (min. 85%)",
        "4. Sri Wahyuni · Anak SMP: Hadir di sekolah (min. 85%)",
    ]
    assert [toggle.on for toggle in chat.last[-1].toggles] == [None] * 4
    await chat.send("semua memenuhi kecuali 3 (pindah sekolah), 4")
    # The reason typed with 3 is taken; 4's is asked.
    assert t("komitmen.ask_reason", item="Sri Wahyuni · Anak SMP: Hadir di sekolah (min. 85%)") in (
        chat.text
    )
    await chat.send("4")  # the fourth reason offered: Tidak ada biaya
    assert t("komitmen.ask_photo") in chat.text
    await chat.send(media=(Media(ref="wa:kia-1"), Media(ref="wa:kia-2")))
    assert t("komitmen.one_photo_kept", count=2) in chat.text
    assert "Memenuhi 2 · Tidak memenuhi 2 · Belum diverifikasi 0" in chat.text
    assert "• Siti Aminah · Anak SD: Hadir di sekolah (min. 85%) (Pindah sekolah)" in chat.text
    assert await results(sessions, world) == {}  # nothing written before the confirmation
    await chat.send("simpan")
    assert (
        t("komitmen.saved", name="Kelompok Melati", period=PERIOD, met=2, not_met=2, unverified=0)
        in chat.text
    )
    assert await results(sessions, world) == {
        ("Dewi Lestari", "timbang_imunisasi"): (MET, None),
        ("Kurniasih", "periksa_kehamilan"): (MET, None),
        ("Siti Aminah", "hadir_sekolah"): (NOT_MET, "pindah_sekolah"),
        ("Sri Wahyuni", "hadir_sekolah"): (NOT_MET, "biaya"),
    }
    async with sessions() as session:
        evidence = set(await session.scalars(select(CommitmentCheck.evidence_ref)))
        assert evidence == {"wa:kia-1"}
        actions = list(await session.scalars(select(AuditLog.action)))
        assert actions.count("commitment.record") == 4


async def test_running_again_edits_the_saved_results(sessions) -> None:
    world = await with_members(sessions)
    chat = open_chat(sessions)
    await open_melati(chat)
    await chat.send("semua memenuhi kecuali 3 (sakit)")
    await chat.send("lewati")
    await chat.send("simpan")
    await chat.send("/komitmen Melati")
    assert t("komitmen.editing_saved") in chat.text
    assert prompt(3, 1, 0) in chat.text
    assert [toggle.on for toggle in chat.last[-1].toggles] == [True, True, False, True]
    # A tap moves an item on: tidak memenuhi -> belum; a typed line sets others.
    await chat.send(choice=chat.last[-1].toggles[2].value)
    assert chat.last[-1].edit_previous and chat.last[-1].toggles[2].on is None
    await chat.send("tidak 1 (faskes)")
    assert prompt(2, 1, 1) in chat.text
    await chat.send(choice="done")
    await chat.send("lewati")
    await chat.send("simpan")
    assert (
        t("komitmen.updated", name="Kelompok Melati", period=PERIOD, met=2, not_met=1, unverified=1)
        in chat.text
    )
    assert await results(sessions, world) == {
        ("Dewi Lestari", "timbang_imunisasi"): (NOT_MET, "faskes_jauh"),
        ("Kurniasih", "periksa_kehamilan"): (MET, None),
        ("Sri Wahyuni", "hadir_sekolah"): (MET, None),
    }
    async with sessions() as session:
        actions = list(await session.scalars(select(AuditLog.action)))
    assert actions.count("commitment.withdraw") == 1
    assert actions.count("commitment.update") == 1


async def test_one_kpm_by_name_and_a_coordinator_over_the_pendamping(sessions) -> None:
    world = await with_members(sessions)
    chat = open_chat(sessions, "console:dewi")  # the coordinator of the kabupaten
    await chat.send("/komitmen Sri Wahyuni")
    assert prompt(0, 0, 1, name="Sri Wahyuni") in chat.text
    assert [toggle.label for toggle in chat.last[-1].toggles] == [
        "1. Anak SMP: Hadir di sekolah (min. 85%)"
    ]
    await chat.send(choice="all")
    await chat.send("lewati")
    await chat.send("simpan")
    assert await results(sessions, world) == {("Sri Wahyuni", "hadir_sekolah"): (MET, None)}
    async with sessions() as session:
        (recorder,) = await session.scalars(select(CommitmentCheck.recorded_by_id))
    assert recorder == world.dewi


async def test_another_pendamping_cannot_see_or_record(sessions) -> None:
    world = await with_members(sessions)
    chat = open_chat(sessions, "console:budi")
    await chat.send("/komitmen Sri Wahyuni")
    assert t("kpm.not_found", query="Sri Wahyuni") in chat.text
    await chat.send("/batal")
    await chat.send("/komitmen")  # Kenanga, Budi's only kelompok, has nothing due
    assert t("komitmen.nothing_due", name="Kelompok Kenanga", period=PERIOD) in chat.text
    # A forged button naming Melati is refused, and nothing is written.
    await chat.send("/komitmen")
    async with sessions.begin() as session:
        conversation = await session.scalar(
            select(Conversation).where(Conversation.address == "console:budi")
        )
        conversation.flow, conversation.step = "commitment", "pick_group"
        conversation.data = {
            "period": NOVEMBER.isoformat(),
            "_prompt": {"text": "", "options": [[f"k:{world.melati}", "x"]], "toggles": []},
        }
    await chat.send(choice=f"k:{world.melati}")
    assert t("access.not_yours") in chat.text
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CommitmentCheck)) == 0


async def test_bad_input_says_what_is_expected_and_changes_nothing(sessions) -> None:
    await with_members(sessions)
    chat = open_chat(sessions)
    await open_melati(chat)
    await chat.send("halo")
    assert t("komitmen.mark_invalid") in chat.text and prompt(0, 0, 4) in chat.text
    await chat.send("tidak 2 (malas), 9")
    assert t("attendance.numbers_out_of_range", numbers="9", total=4) in chat.text
    assert (
        t(
            "komitmen.reason_unknown",
            reason="malas",
            reasons=("Sakit, Pindah sekolah, Faskes/sekolah jauh, Tidak ada biaya, Lainnya"),
        )
        in chat.text
    )
    assert prompt(0, 1, 3) in chat.text  # 2 is marked; its reason is still to be asked
    await chat.send(choice="t:99")  # a toggle that is not in the list
    assert t("input.stale_button") in chat.text
    await chat.send(choice="done")
    assert (
        t(
            "komitmen.ask_reason",
            item="Kurniasih · Ibu hamil/nifas: Periksa kehamilan (min. 4 kali)",
        )
        in chat.text
    )
    await chat.send("entahlah")
    assert (
        t(
            "komitmen.reason_invalid",
            reasons="Sakit, Pindah sekolah, Faskes/sekolah jauh, Tidak ada biaya, Lainnya",
        )
        in chat.text
    )
    await chat.send("sakit")
    await chat.send("nanti")
    assert t("komitmen.photo_invalid") in chat.text
    await chat.send("lewati")
    await chat.send("mungkin")
    assert t("attendance.confirm_invalid") in chat.text
    await chat.send("/batal")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CommitmentCheck)) == 0


async def test_nothing_verified_is_not_saved_and_large_lists_are_paged(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        for name in MELATI:  # two children each, and Siti Aminah's from the world: 25 pairs
            for kind in ("anak_sd", "anak_smp"):
                session.add(
                    Komponen(
                        kpm_id=world.kpm[name],
                        type=kind,
                        birth_date=date(2014, 1, 1),
                        end_date=date(2030, 1, 1),
                    )
                )
    chat = open_chat(sessions)
    await chat.send("/komitmen Melati")
    assert "(halaman 1/3)" in chat.text and len(chat.last[-1].toggles) == 10
    await chat.send(choice="done")
    assert t("komitmen.nothing_marked") in chat.text
    await chat.send(choice="next")
    assert "(halaman 2/3)" in chat.text
    assert chat.last[-1].toggles[0].label.startswith("11. ")
    await chat.send("memenuhi 11-26")
    assert t("attendance.numbers_out_of_range", numbers="26", total=25) in chat.text
    await chat.send(choice="done")
    await chat.send("lewati")
    assert "Memenuhi 15 · Tidak memenuhi 0 · Belum diverifikasi 10" in chat.text
    await chat.send("simpan")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CommitmentCheck)) == 15
