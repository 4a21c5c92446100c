"""Query-string helpers for the console's lists: whole numbers from the address, the page
asked for, and the links to the pages before and after that keep the filters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request

from bot.bootstrap import App
from models.tables import Staff
from reporting.digest import staff_timezone

PAGE_SIZE = 50
PAGE = "hal"


def whole(request: Request, name: str) -> int | None:
    """A positive whole number from the query string; None when absent or not one."""
    value = request.query_params.get(name, "").strip()
    return int(value) if value.isascii() and value.isdecimal() and int(value) > 0 else None


def text(request: Request, name: str, limit: int = 100) -> str:
    return request.query_params.get(name, "").strip()[:limit]


@dataclass(frozen=True)
class Pager:
    """Where a list is: its page (from 1), how many pages, and links to the neighbours."""

    path: str
    params: tuple[tuple[str, str], ...]  # the filters, kept in the links
    page: int
    total: int
    size: int = PAGE_SIZE
    key: str = PAGE

    def of(self, total: int) -> Pager:
        return Pager(self.path, self.params, self.page, total, self.size, self.key)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def _link(self, page: int) -> str:
        query = [(k, v) for k, v in self.params if k != self.key and v]
        if page > 1:
            query.append((self.key, str(page)))
        return self.path + ("?" + urlencode(query) if query else "")

    @property
    def previous(self) -> str | None:
        return self._link(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        return self._link(self.page + 1) if self.page < self.pages else None


def asked_page(request: Request, key: str = PAGE) -> Pager:
    """The page asked for in ``request``; :meth:`Pager.of` fills in the total once counted."""
    return Pager(
        request.url.path, tuple(request.query_params.multi_items()), whole(request, key) or 1,
        0, key=key,
    )


async def viewer_zone(app: App, staff: Staff) -> ZoneInfo:
    """The staff member's time zone (their region's), as the digest takes it."""
    async with app.read_sessions() as session:
        return await staff_timezone(session, staff, app.settings.general.timezone)


async def local_today(app: App, staff: Staff) -> date:
    """The staff member's date today (the digest's reference day)."""
    return app.clock.now().astimezone(await viewer_zone(app, staff)).date()


def local_time(zone: ZoneInfo) -> Callable[[datetime | None], str]:
    """A stored time as the chat shows it, in ``zone``: 06/12/2026 09:30."""
    return lambda at: "–" if at is None else at.astimezone(zone).strftime("%d/%m/%Y %H:%M")
