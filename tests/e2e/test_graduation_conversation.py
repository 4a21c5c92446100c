"""/graduasi from start to end, typed the WhatsApp way (numbers and labels): the
indicators, the complementary programmes, the score, the save, one alert to the pendamping
and the coordinator, none for the same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bootstrap import graduation_rules
from bot.channels.text import payload_text
from bot.config import Settings
from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.registry import COMMANDS, FLOWS
from handlers.settings import EngineSettings
from models.enums import AttendanceMark, MeetingStatus, OutboxStatus
from models.messaging.enqueue import Priority
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import Attendance, GraduationAssessment, Meeting
from tests.on_whatsapp import on_whatsapp
from tests.world import NOW, TODAY, Chat, World, build_world, default_catalog

t = Translator()
FIVE_OF_SIX = t("graduation.reason_attendance", present=5, recorded=6)


def indicators_prompt(name: str, attendance: str) -> str:
    return t("graduation.indicators_prompt", name=name, page=1, pages=1, attendance=attendance)


NOT_RECORDED = "; ".join(
    f"{label} {t('graduation.programme_state.none')}"
    for label in ("KIS/PBI-JKN", "KIP/PIP", "Sembako/BPNT", "KKS berfungsi")
)
ALL_THERE = "; ".join(
    f"{label} {t('graduation.programme_state.punya')}"
    for label in ("KIS/PBI-JKN", "KIP/PIP", "Sembako/BPNT", "KKS berfungsi")
)


def summary(
    name: str,
    score: str,
    verdict: str,
    reasons: list[str],
    *,
    programmes: str = NOT_RECORDED,
    stage: str = "Siap graduasi",
    **attendance: str,
) -> str:
    return t(
        "graduation.summary",
        name=name,
        score=score,
        threshold="7",
        verdict=verdict,
        reasons="\n".join(f"• {reason}" for reason in reasons),
        programmes=programmes,
        stage=stage,
        **attendance,
    )


def programmes_prompt(name: str) -> str:
    return t("graduation.programmes_prompt", name=name)


def graduation_engine(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> Engine:
    settings = EngineSettings(catalog=default_catalog(), graduation=graduation_rules(Settings()))
    return Engine(sessions, settings, clock, FLOWS, COMMANDS)


async def five_of_six(sessions, world: World, name: str) -> None:
    """Six held Melati meetings; ``name`` attended five of them."""
    async with sessions.begin() as session:
        for n, mark in enumerate(["hadir", "alpa", "hadir", "hadir", "hadir", "hadir"]):
            day = TODAY - timedelta(days=28 * (6 - n))
            meeting = Meeting(
                kelompok_id=world.melati,
                meeting_date=day,
                starts_at=datetime.combine(day, datetime.min.time(), UTC),
                status=MeetingStatus.HELD,
            )
            session.add(meeting)
            await session.flush()
            session.add(
                Attendance(meeting_id=meeting.id, kpm_id=world.kpm[name], mark=AttendanceMark(mark))
            )


async def alerts(sessions) -> list[Outbox]:
    async with sessions() as session:
        return list(
            await session.scalars(select(Outbox).where(Outbox.kind == "alert").order_by(Outbox.id))
        )


async def test_a_whole_assessment_typed_saves_and_alerts_pendamping_and_coordinator_once(
    sessions,
) -> None:
    world = await build_world(sessions)
    await five_of_six(sessions, world, "Dewi Lestari")
    clock = FixedClock(NOW)
    ani = Chat(graduation_engine(sessions, clock), clock, "console:ani")

    await ani.send("/graduasi Dewi Lestari")
    assert ani.text == indicators_prompt("Dewi Lestari", FIVE_OF_SIX)
    toggles = ani.last[-1].toggles
    assert [toggle.label for toggle in toggles][:2] == [
        "1. Penghasilan di atas UMK",
        "2. Punya usaha yang berjalan",
    ]
    assert not any(toggle.on for toggle in toggles)

    await ani.send("banyak sekali")
    assert t("graduation.indicators_invalid") in ani.text
    await ani.send("9")
    assert t("graduation.numbers_out_of_range", numbers="9", total=5) in ani.text
    await ani.send("1 2 3")
    await ani.send("keluarga menyatakan bersedia")  # a label typed
    assert [toggle.on for toggle in ani.last[-1].toggles] == [True, True, True, False, True]
    await ani.send("selesai")
    assert ani.text == programmes_prompt("Dewi Lestari")
    assert [toggle.on for toggle in ani.last[-1].toggles] == [None] * 4
    await ani.send("semua punya")
    assert [toggle.on for toggle in ani.last[-1].toggles] == [True] * 4
    await ani.send("selesai")
    reasons = [
        "Penghasilan di atas UMK",
        "Punya usaha yang berjalan",
        "Ikut KUBE atau PENA",
        FIVE_OF_SIX,
    ]
    ready = t("graduation.verdict_ready")
    assert ani.text == summary(
        "Dewi Lestari",
        "7,7",
        ready,
        reasons,
        programmes=ALL_THERE,
        attendance=FIVE_OF_SIX,
        attendance_points="1,7",
    )

    await ani.send("3")
    assert t("graduation.confirm_invalid") in ani.text
    await ani.send("1")
    saved = t("graduation.saved_alerted", name="Dewi Lestari", score="7,7", threshold="7")
    assert ani.text == saved

    sent = await alerts(sessions)
    assert {row.address for row in sent} == {"console:ani", "console:dewi"}
    assert all(row.priority == Priority.ALERT for row in sent)
    async with sessions() as session:
        first = await session.scalar(select(GraduationAssessment))
    assert first.alerted_at == NOW and first.score == 7.67 and first.threshold == 7.0
    assert first.gates_met
    assert {row.dedupe_key for row in sent} == {
        f"grad-ready:{first.id}:console:ani",
        f"grad-ready:{first.id}:console:dewi",
    }
    text = payload_text(sent[0].payload, t)
    assert text == t(
        "alert.graduation_ready",
        kpm="Dewi Lestari",
        kelompok="Kelompok Melati",
        score="7,7",
        threshold="7",
        reasons="; ".join(reasons),  # on one line: a template variable cannot hold "\n"
        assessor="Ani Suryani",
    )
    # For a WhatsApp address enqueue makes the template variables, in the template's order.
    assert "template_variables" not in sent[0].payload
    assert await on_whatsapp(sessions, sent[0].kind, sent[0].payload) == (
        OutboxStatus.PENDING,
        None,
        {
            "1": "Dewi Lestari",
            "2": "Kelompok Melati",
            "3": "7,7",
            "4": "7",
            "5": "; ".join(reasons),
            "6": "Ani Suryani",
        },
    )

    # The same answers again, by label: saved, no second alert.
    clock.advance(timedelta(days=7))
    await ani.send("graduasi")
    await ani.send("Dewi Lestari")
    assert t("graduation.preset_from_latest") in ani.text
    assert [toggle.on for toggle in ani.last[-1].toggles] == [True, True, True, False, True]
    await ani.send("Selesai")
    assert [toggle.on for toggle in ani.last[-1].toggles] == [True] * 4  # as recorded
    await ani.send("Selesai")
    await ani.send("simpan")
    assert ani.text == t("graduation.saved_ready", name="Dewi Lestari", score="7,7", threshold="7")
    assert len(await alerts(sessions)) == 2

    # A changed answer over the threshold alerts again.
    await ani.send("/graduasi Dewi Lestari")
    await ani.send("4")
    await ani.send("selesai")
    await ani.send("selesai")
    reasons.insert(3, "Semua anak bersekolah")
    assert ani.text == summary(
        "Dewi Lestari",
        "8,7",
        ready,
        reasons,
        programmes=ALL_THERE,
        attendance=FIVE_OF_SIX,
        attendance_points="1,7",
    )
    await ani.send("simpan")
    assert len(await alerts(sessions)) == 4
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(GraduationAssessment)) == 3


async def test_an_assessment_under_the_threshold_is_saved_without_an_alert(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(graduation_engine(sessions, clock), clock, "console:ani")
    await ani.send("/graduasi")
    assert ani.text == t("kpm.ask_name")
    await ani.send("Kurniasih")
    await ani.send("Penghasilan di atas UMK")
    await ani.send("selesai")
    await ani.send("selesai")  # no programme recorded
    none = t("graduation.attendance_none")
    not_ready = (
        t("graduation.verdict_not_ready", missing="4")
        + "\n"
        + t("graduation.also_missing", missing="Keluarga menyatakan bersedia")
    )
    reasons = ["Penghasilan di atas UMK"]
    assert ani.text == summary(
        "Kurniasih",
        "3",
        not_ready,
        reasons,
        stage="Penjajakan",
        attendance=none,
        attendance_points="0",
    )
    await ani.send("ubah")
    assert ani.last[-1].toggles[0].on
    await ani.send("selesai")
    await ani.send("selesai")
    await ani.send("simpan")
    assert ani.text == t("graduation.saved", name="Kurniasih", score="3", threshold="7")
    assert await alerts(sessions) == []
    async with sessions() as session:
        saved = await session.scalar(select(GraduationAssessment))
    assert saved.kpm_id == world.kpm["Kurniasih"] and saved.alerted_at is None


async def test_another_pendamping_s_kpm_is_not_found(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    budi = Chat(graduation_engine(sessions, clock), clock, "console:budi")
    await budi.send("/graduasi Dewi Lestari")
    assert budi.text == t("kpm.not_found", query="Dewi Lestari")
    await budi.send("Rina Marlina")
    assert budi.text == indicators_prompt("Rina Marlina", t("graduation.attendance_none"))


async def test_the_coordinator_may_assess_in_their_region(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    dewi = Chat(graduation_engine(sessions, clock), clock, "console:dewi")
    await dewi.send(f"/graduasi PKH{world.kenanga:02d}0002")
    assert dewi.text == indicators_prompt("Rina Marlina", t("graduation.attendance_none"))


async def test_an_alert_from_an_evening_assessment_waits_for_the_morning(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(datetime(2026, 11, 22, 15, 0, tzinfo=UTC))  # 22.00 WIB
    ani = Chat(graduation_engine(sessions, clock), clock, "console:ani")
    for text in ("/graduasi Sumarni", "1 2 3 4 5", "selesai", "selesai", "simpan"):
        await ani.send(text)
    sent = await alerts(sessions)
    assert len(sent) == 2
    assert {row.next_attempt_at for row in sent} == {datetime(2026, 11, 22, 23, 0, tzinfo=UTC)}
