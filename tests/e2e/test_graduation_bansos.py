"""/graduasi with the family's complementary programmes (bansos komplementer) and the
willingness gate, typed the WhatsApp way: a family needing a programme or without its
stated willingness is never siap and raises no alert; the programmes are saved with the
assessment after the one confirmation, edited by running /graduasi again, listed for
advocacy in /graduasi, and shown on the card with the stage and what is missing."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.flow import Pick, option_value
from handlers.i18n import Translator
from models.bansos import KpmProgramme
from models.enums import ProgrammeStatus
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import GraduationAssessment
from tests.e2e.test_graduation_conversation import graduation_engine
from tests.world import NOW, Chat, build_world

t = Translator()
LABELS = ("KIS/PBI-JKN", "KIP/PIP", "Sembako/BPNT", "KKS berfungsi")


def state(status: str) -> str:
    return t(f"graduation.programme_state.{status}")


def listed(*statuses: str) -> str:
    return "; ".join(f"{label} {state(s)}" for label, s in zip(LABELS, statuses, strict=True))


async def alert_count(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.kind == "alert")
        )


async def recorded(sessions) -> dict[tuple[int, str], ProgrammeStatus]:
    async with sessions() as session:
        rows = await session.scalars(select(KpmProgramme))
        return {(row.kpm_id, row.programme): row.status for row in rows}


async def test_a_family_needing_a_programme_is_not_siap_until_it_has_it(sessions) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Rahayu"]
    clock = FixedClock(NOW)
    ani = Chat(graduation_engine(sessions, clock), clock, "console:ani")

    await ani.send("/graduasi Siti Rahayu")
    await ani.send("1 2 3 4 5")  # 7 points and willing
    await ani.send("selesai")
    toggles = ani.last[-1].toggles
    assert [toggle.label for toggle in toggles] == [
        f"{n}. {label}: {state('none')}" for n, label in enumerate(LABELS, start=1)
    ]
    assert toggles[0].value == option_value(Pick.PROGRAMME, "kis_pbi_jkn")

    await ani.send("halo kis")
    assert t("graduation.programmes_unknown", words="halo") in ani.text
    await ani.send("punya 7")
    assert t("graduation.programme_numbers_out_of_range", numbers="7", total=4) in ani.text
    assert [toggle.on for toggle in ani.last[-1].toggles] == [None] * 4  # nothing changed
    await ani.send("punya 2 3, kis butuh, kks tidak perlu")
    assert [toggle.on for toggle in ani.last[-1].toggles] == [False, True, True, None]
    await ani.send(choice=option_value(Pick.PROGRAMME, "kks_aktif"))  # a tap moves it on
    assert ani.last[-1].toggles[3].label == f"4. KKS berfungsi: {state('punya')}"
    await ani.send("4")  # a number alone: one status on, as a tap
    assert ani.last[-1].toggles[3].label == f"4. KKS berfungsi: {state('butuh')}"
    await ani.send("4")
    assert ani.last[-1].toggles[3].label == f"4. KKS berfungsi: {state('tidak_perlu')}"
    await ani.send("selesai")
    blocked = t(
        "graduation.verdict_blocked",
        missing=t("graduation.missing_programme", programme="KIS/PBI-JKN"),
    )
    assert blocked in ani.text
    assert f"Bansos komplementer: {listed('butuh', 'punya', 'punya', 'tidak_perlu')}" in ani.text
    assert "Tahap: Pendampingan menuju mandiri" in ani.text  # the score reached, not siap

    # Cancelled at the summary: nothing is saved, the programmes neither.
    await ani.send("/batal")
    assert await recorded(sessions) == {}

    await ani.send("/graduasi Siti Rahayu")
    for text in ("1 2 3 4 5", "selesai", "punya 2 3 4, butuh 1", "selesai", "simpan"):
        await ani.send(text)
    assert ani.text == t("graduation.saved", name="Siti Rahayu", score="7", threshold="7")
    assert await alert_count(sessions) == 0
    assert await recorded(sessions) == {
        (siti, "kis_pbi_jkn"): ProgrammeStatus.BUTUH,
        (siti, "kip_pip"): ProgrammeStatus.PUNYA,
        (siti, "sembako_bpnt"): ProgrammeStatus.PUNYA,
        (siti, "kks_aktif"): ProgrammeStatus.PUNYA,
    }

    # The advocacy list: /graduasi without a name.
    await ani.send("/graduasi")
    line = t(
        "graduation.advocacy_line", name="Siti Rahayu", kelompok="Kelompok Melati",
        programmes="KIS/PBI-JKN",
    )
    assert ani.text == (
        t("graduation.advocacy", count=1, lines=line) + "\n" + t("kpm.ask_name")
    )

    # KIS obtained: running /graduasi again starts from what was recorded and edits it.
    await ani.send("Siti Rahayu")
    await ani.send("selesai")
    assert [toggle.on for toggle in ani.last[-1].toggles] == [False, True, True, True]
    await ani.send("kis sudah punya")
    await ani.send("selesai")
    assert t("graduation.verdict_ready") in ani.text
    await ani.send("simpan")
    assert ani.text == t("graduation.saved_alerted", name="Siti Rahayu", score="7", threshold="7")
    assert await alert_count(sessions) == 2  # the pendamping and the coordinator
    assert (await recorded(sessions))[(siti, "kis_pbi_jkn")] is ProgrammeStatus.PUNYA
    await ani.send("/graduasi")
    assert ani.text == t("kpm.ask_name")  # nobody needs a programme any more


async def test_a_family_without_its_stated_willingness_is_never_siap(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(graduation_engine(sessions, clock), clock, "console:ani")
    await ani.send("/graduasi Nur Hasanah")
    await ani.send("1 2 3 4")  # 7 points, not willing
    await ani.send("selesai")
    await ani.send("semua punya")
    await ani.send("selesai")
    assert t(
        "graduation.verdict_blocked", missing="Keluarga menyatakan bersedia"
    ) in ani.text
    await ani.send("simpan")
    assert ani.text == t("graduation.saved", name="Nur Hasanah", score="7", threshold="7")
    assert await alert_count(sessions) == 0
    async with sessions() as session:
        saved = await session.scalar(select(GraduationAssessment))
    assert saved.kpm_id == world.kpm["Nur Hasanah"] and saved.score == 7.0
    assert not saved.gates_met and saved.alerted_at is None


async def test_the_card_shows_the_stage_what_is_missing_and_the_programmes(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(graduation_engine(sessions, clock), clock, "console:ani")

    await ani.send("/kpm Yuli Astuti")
    assert ani.text.endswith(
        t("kpm.card_graduation", stage="Penjajakan", assessed=t("kpm.card_graduation_unassessed"))
        + "\n"
        + t("kpm.card_programmes", programmes=listed("none", "none", "none", "none"))
    )

    for text in ("/graduasi Yuli Astuti", "1 2 3 4", "selesai", "butuh kip", "selesai",
                 "simpan"):
        await ani.send(text)
    await ani.send("/kpm Yuli Astuti")
    missing = "; ".join(
        ["Keluarga menyatakan bersedia",
         t("graduation.missing_programme", programme="KIP/PIP")]
    )
    assert ani.text.endswith(
        t(
            "kpm.card_graduation",
            stage="Pendampingan menuju mandiri",
            assessed=t("kpm.card_graduation_score", score="7", threshold="7"),
        )
        + "\n"
        + t("kpm.card_programmes", programmes=listed("none", "butuh", "none", "none"))
        + "\n"
        + t("kpm.card_graduation_missing", missing=missing)
    )

    for text in ("/graduasi Yuli Astuti", "5", "selesai", "kip punya", "selesai", "simpan"):
        await ani.send(text)
    await ani.send("/kpm Yuli Astuti")
    assert ani.text.endswith(
        t(
            "kpm.card_graduation",
            stage="Siap graduasi",
            assessed=t("kpm.card_graduation_score", score="7", threshold="7"),
        )
        + "\n"
        + t("kpm.card_programmes", programmes=listed("none", "punya", "none", "none"))
    )
