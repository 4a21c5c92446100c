"""KPM: the families in scope, searched by name or ID PKH and filtered by pendamping,
kelompok and status; and one family's page: the chat's KPM card (komponen and their end
dates, commitments, open cases, graduation) with its attendance, RSVPs, every case and
pesan KPM. The NIK is masked; the phone is shown in full to the family's own pendamping
only, as in chat; a KPM outside the viewer's scope is a 404."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.console import Console, Viewer
from bot.dashboard.paging import asked_page, local_time, text, viewer_zone, whole
from handlers.i18n import Translator
from handlers.kpm_card import graduation_stage
from handlers.settings import EngineSettings
from models.enums import KpmStatus
from models.kpm import KpmCard, kpm_card, search_kpm
from models.rules.text import mask_nik, mask_phone
from reporting.console_kpm import (
    KpmFilter,
    kelompok_option,
    kpm_activity,
    kpm_page,
    pendamping_options,
)

ALL = "semua"


@dataclass(frozen=True)
class GraduationView:
    stage: str | None
    score: float | None
    threshold: float | None
    missing: list[str]  # what keeps an active family from siap
    programmes: list[tuple[str, str]]  # (label, catalog key of its state)


def graduation_view(settings: EngineSettings, card: KpmCard, t: Translator) -> GraduationView:
    """The stage of graduasi mandiri and what is missing, as the chat's card says it."""
    rules = settings.graduation
    latest = card.assessment
    stage, needed = graduation_stage(rules, card)
    active = card.status == KpmStatus.AKTIF
    graduated = card.status == KpmStatus.GRADUASI_MANDIRI
    missing: list[str] = []
    if active and latest is not None:
        if latest.score < latest.threshold:
            missing.append(t("kpm.card_missing_score"))
        if not latest.gates_met:
            missing += [rules.label(gate) for gate in rules.missing_gates(latest.checked)]
    if active:
        missing += [
            t("graduation.missing_programme", programme=rules.label(key)) for key in needed
        ]
    return GraduationView(
        stage=stage.label if stage is not None and (active or graduated) else None,
        score=latest.score if latest else None,
        threshold=latest.threshold if latest else None,
        missing=missing,
        programmes=[
            (
                p.label,
                f"graduation.programme_state.{card.programmes.get(p.key) or 'none'}",
            )
            for p in rules.programmes
        ],
    )


def kpm_routes(console: Console) -> list[BaseRoute]:
    settings = console.engine_settings

    async def kpm_list(request: Request, viewer: Viewer) -> Response:
        status_text = text(request, "status") or KpmStatus.AKTIF.value
        status = None if status_text == ALL else _status(status_text)
        status_text = status.value if status is not None else ALL
        wanted = KpmFilter(
            query=text(request, "q"),
            pendamping_id=whole(request, "pendamping"),
            kelompok_id=whole(request, "kelompok"),
            status=status,
        )
        asked = asked_page(request)
        async with console.app.read_sessions() as session:
            found = await kpm_page(
                session, viewer.staff, wanted, limit=asked.size, offset=asked.offset
            )
            suggestions = (
                await search_kpm(session, viewer.staff, wanted.query, limit=10)
                if wanted.query and not found.total
                else []
            )
            people = await pendamping_options(session, viewer.staff)
            kelompok = (
                await kelompok_option(session, viewer.staff, wanted.kelompok_id)
                if wanted.kelompok_id
                else None
            )
        return console.render(
            request, "kpm_list.html", viewer,
            wanted=wanted, status=status_text,
            statuses=[s.value for s in KpmStatus], rows=found.rows,
            pager=asked.of(found.total), suggestions=suggestions, people=people,
            kelompok=kelompok, mask_nik=mask_nik,
        )

    async def kpm_detail(request: Request, viewer: Viewer) -> Response:
        kpm_id = int(request.path_params["kpm_id"])
        zone = await viewer_zone(console.app, viewer.staff)
        period = settings.commitments.period_of(console.app.clock.now().astimezone(zone).date())
        async with console.app.read_sessions() as session:
            card = await kpm_card(  # OutOfScope: 404
                session, viewer.staff, kpm_id, rules=settings.commitments, period=period
            )
            activity = await kpm_activity(session, kpm_id)
        own = card.pendamping_id == viewer.staff.id
        return console.render(
            request, "kpm_card.html", viewer,
            card=card, activity=activity, own=own, when=local_time(zone),
            nik=mask_nik(card.nik),
            phone=(card.phone or "-") if own else mask_phone(card.phone),
            period=period.label(settings.locale),
            graduation=graduation_view(settings, card, console.t),
            komponen_label=settings.catalog.label,
            category_label=lambda key: settings.case_rules.label(console.t, key),
            commitment_label=lambda key: settings.commitments.label(key, title=True),
            reason_label=lambda key: (
                (settings.commitments.reason_label(key) if key else None)
                or console.t("komitmen.no_reason")
            ),
        )

    return [
        Route("/kpm", console.staff_page(kpm_list), methods=["GET"]),
        Route("/kpm/{kpm_id:int}", console.staff_page(kpm_detail), methods=["GET"]),
    ]


def _status(value: str) -> KpmStatus | None:
    try:
        return KpmStatus(value)
    except ValueError:
        return KpmStatus.AKTIF
