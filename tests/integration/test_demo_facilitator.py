"""The demo has a few meetings held by the ketua without the pendamping, so that the demo
digest shows its warning."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.config import Settings
from handlers.i18n import Translator
from models.demo.world import seed_demo
from models.enums import Facilitator, MeetingStatus, StaffRole
from models.rules.komponen import KomponenCatalog
from models.tables import Meeting, Staff
from reporting.digest import DigestOptions, build_digest
from tests.integration.test_demo import TODAY

t = Translator("id")


async def test_a_few_demo_meetings_were_held_by_the_ketua_and_the_digest_warns(sessions) -> None:
    rules = Settings().programme.komponen
    catalog = KomponenCatalog.from_mapping({k: rule.model_dump() for k, rule in rules.items()})
    await seed_demo(sessions, catalog=catalog, today=TODAY)
    async with sessions() as session:
        by_ketua = await session.execute(
            select(Meeting.status, func.count())
            .where(Meeting.facilitator == Facilitator.KETUA)
            .group_by(Meeting.status)
        )
        assert dict(by_ketua.all()) == {MeetingStatus.HELD: 3}
        coordinator = await session.scalar(select(Staff).where(Staff.role == StaffRole.KOORDINATOR))
        assert coordinator is not None
        digest = await build_digest(
            session,
            coordinator,
            as_of=datetime(TODAY.year, TODAY.month, TODAY.day, 5, tzinfo=UTC),
            options=DigestOptions(),
            translate=t,
        )
    assert digest.figures.total("held_by_ketua") == 2
    assert t("digest.without_pendamping", count=2) in digest.text
    assert "1 pertemuan tanpa pendamping" in digest.text
