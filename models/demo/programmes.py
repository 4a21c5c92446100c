"""The demo's bansos komplementer and graduasi mandiri assessments: per pendamping a few
active families with their complementary programmes recorded (some still needing one: the
advocacy list) and three assessed, one siap, one whose score is reached but which still
needs KIS/PBI-JKN, one that has not stated its willingness (a gate); the families that
graduated mandiri have everything in place."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.bansos import KpmProgramme
from models.demo.plan import PlannedGroup
from models.enums import KpmStatus, ProgrammeStatus
from models.graduation import ATTENDANCE_KEY, NEEDED_KEY
from models.rules.graduation import DEFAULT_PROGRAMMES
from models.tables import GraduationAssessment

P, B, T = ProgrammeStatus.PUNYA, ProgrammeStatus.BUTUH, ProgrammeStatus.TIDAK_PERLU
INDICATORS = ("penghasilan_umk", "usaha_berjalan", "kube_pena", "anak_sekolah", "bersedia")
"""The default indicators (``[reporting.indicators]``)."""

FAMILIES: tuple[tuple[tuple[ProgrammeStatus | None, ...], tuple[Any, ...] | None], ...] = (
    # (KIS/PBI-JKN, KIP/PIP, Sembako/BPNT, KKS), (indicators ticked, score, gates met)
    ((P, P, P, P), (("penghasilan_umk", "usaha_berjalan", "kube_pena", "bersedia"), 7.67, True)),
    ((B, P, P, P), (("penghasilan_umk", "usaha_berjalan", "anak_sekolah", "bersedia"), 8, True)),
    ((P, T, P, B), (("penghasilan_umk", "usaha_berjalan", "kube_pena", "anak_sekolah"), 9, False)),
    ((B, B, P, P), None),
    ((P, P, T, P), None),
    ((None, None, B, None), None),
)
"""Per pendamping, one family each: its programmes and its assessment, if any."""


async def write_programmes(
    session: AsyncSession,
    groups: list[PlannedGroup],
    rng: random.Random,
    now: datetime,
) -> int:
    """The programmes recorded (rows of kpm_programme) and the assessments; returns the
    number of programme rows."""
    keys = [programme.key for programme in DEFAULT_PROGRAMMES]
    rows: list[dict[str, Any]] = []
    assessments: list[dict[str, Any]] = []
    for pendamping_id in sorted({g.pendamping_id for g in groups}):
        own = [m for g in groups if g.pendamping_id == pendamping_id for m in g.members]
        pool = [m for m in own if m.row["status"] is KpmStatus.AKTIF and not m.special]
        chosen = rng.sample(pool, len(FAMILIES))
        graduated = [m for m in own if m.row["status"] is KpmStatus.GRADUASI_MANDIRI]
        plans = [*zip(chosen, FAMILIES, strict=True)]
        plans += [(member, ((P, P, P, P), None)) for member in graduated]
        for days, (member, (statuses, assessment)) in enumerate(plans, start=1):
            at = now - timedelta(days=days)
            rows += [
                {
                    "kpm_id": member.id,
                    "programme": key,
                    "status": status,
                    "updated_at": at,
                    "updated_by_id": pendamping_id,
                }
                for key, status in zip(keys, statuses, strict=True)
                if status is not None
            ]
            if assessment is None:
                continue
            ticked, score, gates_met = assessment
            indicators: dict[str, Any] = {key: key in ticked for key in INDICATORS}
            indicators[ATTENDANCE_KEY] = {"present": 5, "recorded": 6}
            indicators[NEEDED_KEY] = [k for k, s in zip(keys, statuses, strict=True) if s is B]
            ready = score >= 7 and gates_met and not indicators[NEEDED_KEY]
            assessments.append({
                "kpm_id": member.id,
                "staff_id": pendamping_id,
                "indicators": indicators,
                "score": score,
                "threshold": 7.0,
                "gates_met": gates_met,
                "assessed_at": at,
                "alerted_at": at if ready else None,
            })
    await session.execute(insert(KpmProgramme), rows)
    await session.execute(insert(GraduationAssessment), assessments)
    return len(rows)
