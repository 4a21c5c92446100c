"""The web console's list queries against hand-built data with known answers: the KPM
search and filters, the case filters (open and overdue as the digest counts them), the
graduation pipeline against the digest's candidate counts; each within the viewer's scope."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import CaseSeverity, CaseStatus, KpmStatus
from models.scope import kelompok_scope
from models.tables import CaseNote, Kpm, Staff
from reporting.console_cases import CaseFilter, StatusFilter, case_page
from reporting.console_kpm import KpmFilter, kpm_activity, kpm_page, pendamping_options
from reporting.graduation import candidate_counts, graduation_pipeline
from tests.integration.test_graduation_queries import HORIZON, graduation_world
from tests.world import NOW, TODAY, World, build_world


async def _staff(session: AsyncSession, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    assert staff is not None
    return staff


async def test_the_kpm_list_searches_names_and_ids_within_the_scope(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        leaving = await session.get(Kpm, world.kpm["Sri Wahyuni"])
        assert leaving is not None
        leaving.status = KpmStatus.KELUAR
    async with sessions() as session:
        dewi, budi = await _staff(session, world.dewi), await _staff(session, world.budi)

        async def names(staff: Staff, **wanted: object) -> list[str]:
            found = await kpm_page(session, staff, KpmFilter(**wanted), limit=50, offset=0)  # type: ignore[arg-type]
            assert found.total == len(found.rows)
            return [row.name for row in found.rows]

        assert await names(dewi, query="siti") == ["Siti Aminah", "Siti Budiarti", "Siti Rahayu"]
        assert await names(budi, query="SITI") == ["Siti Budiarti"]  # Budi's own only
        kenanga_second = f"PKH{world.kenanga:02d}0002"
        assert await names(dewi, query=kenanga_second) == ["Rina Marlina"]
        assert await names(dewi, query="%") == []  # a wildcard is a character
        assert await names(dewi, query="wahyuni") == []  # keluar: not among the aktif
        assert await names(dewi, query="wahyuni", status=None) == ["Sri Wahyuni"]
        assert await names(dewi, pendamping_id=world.budi) == ["Rina Marlina", "Siti Budiarti"]
        assert await names(dewi, kelompok_id=world.mawar) == [
            "Ani Marlina", "Iis Dahlia", "Tuti Alawiyah",
        ]
        assert await names(budi, kelompok_id=world.mawar) == []  # Ani's kelompok

        page_two = await kpm_page(session, dewi, KpmFilter(status=None), limit=3, offset=3)
        every = await kpm_page(session, dewi, KpmFilter(status=None), limit=100, offset=0)
        assert [r.id for r in page_two.rows] == [r.id for r in every.rows][3:6]
        assert page_two.total == every.total == len(world.kpm)
        assert [p.name for p in await pendamping_options(session, dewi)] == [
            "Ani Suryani", "Budi Santoso",
        ]
        assert [p.id for p in await pendamping_options(session, budi)] == [world.budi]
        activity = await kpm_activity(session, world.kpm["Siti Aminah"])
    assert activity.attendance == activity.rsvps == activity.cases == activity.pesan == []


async def _cases(sessions: async_sessionmaker[AsyncSession], world: World) -> dict[str, int]:
    k = world.kpm
    made = {
        "urgent_late": (k["Siti Aminah"], CaseSeverity.MENDESAK, CaseStatus.BARU, -3, "kdrt"),
        "urgent_later": (
            k["Rina Marlina"], CaseSeverity.MENDESAK, CaseStatus.TINDAK_LANJUT, 5, "kdrt",
        ),
        "plain_late": (k["Ani Marlina"], CaseSeverity.BIASA, CaseStatus.TINDAK_LANJUT, -1, "kks"),
        "plain_none": (k["Siti Rahayu"], CaseSeverity.BIASA, CaseStatus.BARU, None, "kks"),
        "closed_late": (k["Sri Wahyuni"], CaseSeverity.MENDESAK, CaseStatus.SELESAI, -9, "kks"),
        "due_today": (k["Yuli Astuti"], CaseSeverity.BIASA, CaseStatus.BARU, 0, "kks"),
    }
    ids = {}
    async with sessions.begin() as session:
        for label, (kpm_id, severity, status, days, category) in made.items():
            case = CaseNote(
                kpm_id=kpm_id, category=category, description=label, severity=severity,
                status=status,
                follow_up_date=TODAY + timedelta(days=days) if days is not None else None,
                created_at=NOW, updated_at=NOW,
            )
            session.add(case)
            await session.flush()
            ids[label] = case.id
    return ids


async def test_the_case_filters_count_open_and_overdue_as_the_digest(sessions) -> None:
    world = await build_world(sessions)
    ids = await _cases(sessions, world)
    by_id = {case_id: label for label, case_id in ids.items()}
    async with sessions() as session:
        dewi, ani = await _staff(session, world.dewi), await _staff(session, world.ani)

        async def found(staff: Staff, **wanted: object) -> list[str]:
            page = await case_page(
                session, staff, CaseFilter(**wanted), today=TODAY, limit=50, offset=0,  # type: ignore[arg-type]
            )
            assert page.total == len(page.rows)
            return [by_id[row.id] for row in page.rows]

        # open: urgent first, then by follow-up date, those without one last
        assert await found(dewi) == [
            "urgent_late", "urgent_later", "plain_late", "due_today", "plain_none",
        ]
        assert await found(dewi, overdue=True) == ["urgent_late", "plain_late"]
        assert await found(dewi, overdue=True, status=StatusFilter.ALL) == [
            "urgent_late", "plain_late",  # a closed case is never overdue
        ]
        assert await found(dewi, severity=CaseSeverity.MENDESAK) == [
            "urgent_late", "urgent_later",
        ]
        assert await found(dewi, status=StatusFilter.SELESAI) == ["closed_late"]
        assert await found(dewi, status=StatusFilter.TINDAK_LANJUT) == [
            "urgent_later", "plain_late",
        ]
        assert len(await found(dewi, status=StatusFilter.ALL)) == len(ids)
        assert await found(dewi, category="kdrt") == ["urgent_late", "urgent_later"]
        assert await found(dewi, pendamping_id=world.budi) == ["urgent_later"]
        assert await found(dewi, kelompok_id=world.mawar) == ["plain_late"]
        assert await found(ani, severity=CaseSeverity.MENDESAK) == ["urgent_late"]  # her own
        first = await case_page(session, dewi, CaseFilter(), today=TODAY, limit=2, offset=2)
        flags = await case_page(
            session, dewi, CaseFilter(status=StatusFilter.ALL), today=TODAY, limit=50, offset=0
        )
    assert [by_id[row.id] for row in first.rows] == ["plain_late", "due_today"]
    assert first.total == 5
    assert {by_id[r.id] for r in flags.rows if r.overdue} == {"urgent_late", "plain_late"}


async def test_the_graduation_pipeline_lists_what_the_digest_counts(sessions) -> None:
    world = await graduation_world(sessions)
    k = world.kpm
    async with sessions() as session:
        dewi = await _staff(session, world.dewi)
        scope = kelompok_scope(dewi)
        counts = await candidate_counts(
            session, scope, today=TODAY, horizon_days=HORIZON, threshold=7.0
        )

        async def pipeline(
            alamiah: bool, pendamping_id: int | None = None, limit: int = 50, offset: int = 0
        ) -> tuple[list[str], int, list[bool]]:
            rows, total = await graduation_pipeline(
                session, scope, alamiah=alamiah, today=TODAY, horizon_days=HORIZON,
                pendamping_id=pendamping_id, limit=limit, offset=offset,
            )
            names = {kpm_id: name for name, kpm_id in k.items()}
            return [names[r.kpm_id] for r in rows], total, [r.siap for r in rows]

        alamiah, alamiah_total, _ = await pipeline(True)
        mandiri, mandiri_total, siap = await pipeline(False)
        budis, budi_total, _ = await pipeline(True, pendamping_id=world.budi)
        second, _, _ = await pipeline(True, limit=2, offset=2)
    assert alamiah_total == sum(a for a, _ in counts.values()) == 5
    assert alamiah[0] == "Sri Wahyuni"  # ended: first, by date
    assert alamiah[-1] == "Lestari Handayani"  # at the horizon's edge
    assert sum(siap) == sum(m for _, m in counts.values()) == 2
    assert mandiri_total == len(mandiri) == 4  # assessed, not alamiah
    assert siap == [True, True, False, False]  # the siap first
    assert mandiri[2:] == ["Tuti Alawiyah", "Yuli Astuti"]  # then the nearest score
    assert (budis, budi_total) == (["Rina Marlina"], counts[world.budi][0])
    assert second == alamiah[2:4]
