"""Kasus: the cases in scope filtered by category, severity, status, overdue follow-up,
pendamping and kelompok; one case with its updates, where a coordinator or supervisor adds
a note or closes it through :func:`models.cases.update_case`, as /kasus_saya does in chat
(audited there). A case outside the viewer's scope is a 404."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.console import Console, Viewer
from bot.dashboard.paging import asked_page, local_time, text, viewer_zone, whole
from models.cases import case_detail, update_case
from models.enums import CaseSeverity, CaseStatus, StaffRole
from reporting.console_cases import CaseFilter, StatusFilter, case_page
from reporting.console_kpm import kelompok_option, pendamping_options

MAX_NOTE = 1000  # as a note in chat
ACTING = frozenset({StaffRole.KOORDINATOR, StaffRole.SUPERVISOR})
SEVERITY = {"urgent": CaseSeverity.MENDESAK, **{s.value: s for s in CaseSeverity}}
DONE = {"catatan": "web.kasus_note_saved", "tutup": "web.kasus_closed"}


def case_filter(request: Request, categories: tuple[str, ...]) -> CaseFilter:
    """The filters of the address (what is not understood is left out)."""
    status = text(request, "status")
    category = text(request, "kategori")
    return CaseFilter(
        status=StatusFilter(status) if status in set(StatusFilter) else StatusFilter.OPEN,
        category=category if category in categories else None,
        severity=SEVERITY.get(text(request, "severity")),
        overdue=text(request, "overdue") == "1",
        pendamping_id=whole(request, "pendamping"),
        kelompok_id=whole(request, "kelompok"),
    )


def kasus_routes(console: Console) -> list[BaseRoute]:
    settings = console.engine_settings
    categories = settings.case_categories

    def category_label(key: str) -> str:
        return settings.case_rules.label(console.t, key)

    async def kasus_list(request: Request, viewer: Viewer) -> Response:
        wanted = case_filter(request, categories)
        asked = asked_page(request)
        zone = await viewer_zone(console.app, viewer.staff)
        today = console.app.clock.now().astimezone(zone).date()
        async with console.app.read_sessions() as session:
            found = await case_page(
                session, viewer.staff, wanted, today=today, limit=asked.size, offset=asked.offset
            )
            people = await pendamping_options(session, viewer.staff)
            kelompok = (
                await kelompok_option(session, viewer.staff, wanted.kelompok_id)
                if wanted.kelompok_id
                else None
            )
        return console.render(
            request, "kasus_list.html", viewer,
            wanted=wanted, rows=found.rows, pager=asked.of(found.total), people=people,
            kelompok=kelompok, categories=categories, category_label=category_label,
            statuses=[s.value for s in StatusFilter], when=local_time(zone),
        )

    async def show(
        request: Request, viewer: Viewer, *, error: str | None = None, typed: str = "",
        status_code: int = 200,
    ) -> Response:
        case_id = int(request.path_params["case_id"])
        zone = await viewer_zone(console.app, viewer.staff)
        async with console.app.read_sessions() as session:
            case = await case_detail(session, viewer.staff, case_id)  # OutOfScope: 404
        done = DONE.get(request.query_params.get("ok", ""))
        return console.render(
            request, "kasus_detail.html", viewer, status_code=status_code,
            case=case, when=local_time(zone), category_label=category_label,
            can_act=viewer.role in ACTING and case.status != CaseStatus.SELESAI.value,
            done=console.t(done) if done and error is None else None,
            error=error, typed=typed, max_note=MAX_NOTE,
        )

    async def kasus_detail(request: Request, viewer: Viewer) -> Response:
        return await show(request, viewer)

    async def act(request: Request, viewer: Viewer, *, close: bool) -> Response:
        """A note, or the close (with a note or none): one transaction, audited."""
        case_id = int(request.path_params["case_id"])
        form: FormData = await request.form()
        note = str(form.get("catatan") or "").strip()
        if viewer.role not in ACTING:
            async with console.app.read_sessions() as session:
                await case_detail(session, viewer.staff, case_id)  # OutOfScope: 404
            raise HTTPException(403)
        problem = None
        if not close and not note:
            problem = "web.kasus_note_missing"
        elif len(note) > MAX_NOTE:
            problem = "web.kasus_note_too_long"
        if problem is None:
            async with console.app.sessions() as session:
                case = await case_detail(session, viewer.staff, case_id)  # OutOfScope: 404
                if case.status == CaseStatus.SELESAI.value:
                    problem = "web.kasus_already_closed"
                else:
                    status = CaseStatus.SELESAI if close else CaseStatus(case.status)
                    await update_case(
                        session, viewer.staff, case_id, status, note or None,
                        now=console.app.clock.now(),
                    )
                    await session.commit()
        if problem is not None:
            message = console.t(problem, limit=MAX_NOTE)
            return await show(request, viewer, error=message, typed=note, status_code=400)
        done = "tutup" if close else "catatan"
        return RedirectResponse(f"/kasus/{case_id}?ok={done}", status_code=303)

    async def add_note(request: Request, viewer: Viewer) -> Response:
        return await act(request, viewer, close=False)

    async def close_case(request: Request, viewer: Viewer) -> Response:
        return await act(request, viewer, close=True)

    return [
        Route("/kasus", console.staff_page(kasus_list), methods=["GET"]),
        Route("/kasus/{case_id:int}", console.staff_page(kasus_detail), methods=["GET"]),
        Route("/kasus/{case_id:int}/catatan", console.staff_page(add_note), methods=["POST"]),
        Route("/kasus/{case_id:int}/tutup", console.staff_page(close_case), methods=["POST"]),
    ]
