"""The demo kabupaten shows the ketua kelompok at work: its members without a phone are
the ones no reminder reaches, and their ketua (on WhatsApp) answered for some of them,
which /konfirmasi shows."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import aliased

from models.demo.world import seed_demo
from models.reach import NO_CONTACT, unreachable_members
from models.rsvp import rsvp_overview
from models.tables import Kelompok, Kpm, Meeting, Rsvp, Staff
from tests.integration.test_demo import JAKARTA, TODAY, Sessions, catalog  # noqa: F401


async def test_the_demo_ketua_answered_for_members_without_a_phone(
    sessions: Sessions, catalog  # noqa: F811
) -> None:
    await seed_demo(sessions, catalog=catalog, today=TODAY)
    ketua, member = aliased(Kpm), aliased(Kpm)
    async with sessions() as session:
        relayed = (await session.execute(
            select(Rsvp.meeting_id, Meeting.kelompok_id, member.phone, ketua.phone,
                   Kelompok.ketua_kpm_id == ketua.id, member.kelompok_id == Kelompok.id,
                   ketua.nama_pengurus, member.id)
            .join(Meeting, Meeting.id == Rsvp.meeting_id)
            .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
            .join(member, member.id == Rsvp.kpm_id)
            .join(ketua, ketua.id == Rsvp.answered_by_kpm_id)
        )).all()
        assert len(relayed) >= 2
        for _, _, phone, ketua_phone, is_ketua, is_member, _, _ in relayed:
            assert phone is None and ketua_phone and is_ketua and is_member
        meeting_id, kelompok_id, *_, ketua_name, member_id = relayed[0]
        unreachable = await unreachable_members(session, [meeting_id])
        assert (member_id, NO_CONTACT) in {(u.kpm_id, u.cause) for u in unreachable[meeting_id]}
        pendamping = await session.scalar(
            select(Staff).join(Kelompok, Kelompok.pendamping_id == Staff.id)
            .where(Kelompok.id == kelompok_id)
        )
        now = datetime.combine(TODAY, time(6), JAKARTA)
        overview = await rsvp_overview(session, pendamping, kelompok_id, now)
    assert overview is not None and overview.meeting_id == meeting_id
    assert f"Ibu {ketua_name}" in [*overview.coming_by, *overview.declined_by]
