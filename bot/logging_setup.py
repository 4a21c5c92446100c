"""Logging: one format for the whole process, text for people or JSON for collectors.

Log lines carry ids and counts, never NIK, phone numbers, names or message bodies; a
logged exception shows its traceback and type but not its message, which may quote data.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from types import TracebackType

from bot.config import LoggingSettings

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def redacted_exception(exc_info: ExcInfo) -> str:
    """A traceback without the exception's message: where it failed and what kind of
    error, but not the text, which can quote a value (a name in a workbook cell, a phone
    number in a provider error)."""
    exc_type, _, tb = exc_info
    if exc_type is None:
        return ""
    name = f"{exc_type.__module__}.{exc_type.__qualname__}".removeprefix("builtins.")
    frames = "".join(traceback.format_tb(tb))
    return f"Traceback (most recent call last):\n{frames}{name} (message not logged)"


class TextFormatter(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802 - logging's name
        return redacted_exception(ei)

    def format(self, record: logging.LogRecord) -> str:
        cached = record.exc_text  # another handler's full text must not be reused here
        record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached


class JsonFormatter(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802 - logging's name
        return redacted_exception(ei)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: LoggingSettings) -> None:
    handler = logging.StreamHandler()
    if settings.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name("pendamping")
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "pendamping"] + [handler]
    root.setLevel(settings.level)
    # These log request parameters (message bodies, phone numbers) below WARNING.
    for noisy in (
        "sqlalchemy.engine",
        "aiosqlite",
        "asyncio",
        "alembic",
        "twilio",
        "httpx",
        "httpcore",
        "telegram",
        "aiohttp",
        "apscheduler",  # one line per job run; the sweeps log their own summary
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
