"""Pages from Jinja2 templates, in the catalog's language, with numbers as people read them."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import parse_pattern
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from handlers.i18n import Translator


def templates(translator: Translator) -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("bot", "dashboard/templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    locale = translator.locale
    env.globals["t"] = translator
    env.globals["lang"] = locale
    decimal, percent = parse_pattern("#,##0.###"), parse_pattern("#,##0%")
    babel_locale = Locale.parse(locale)
    # the patterns parsed once: formatting a page's hundreds of figures stays cheap
    group = babel_locale.number_symbols["latn"]["group"]

    def number(value: float | None) -> str:
        if value is None:
            return "–"
        if isinstance(value, int):  # most figures: grouped as the locale groups
            return f"{value:,}".replace(",", group)
        return decimal.apply(value, babel_locale)

    env.filters["num"] = number
    env.filters["pct"] = lambda value: (
        "–" if value is None else percent.apply(value, babel_locale)
    )
    env.filters["day"] = lambda value, style="medium": (
        "–" if value is None else format_date(value, style, locale=locale)
    )
    env.filters["iso"] = lambda value: value.isoformat() if isinstance(value, date) else ""
    return Jinja2Templates(env=env)


def page(
    views: Jinja2Templates,
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    return views.TemplateResponse(request, name, context, status_code=status_code)
