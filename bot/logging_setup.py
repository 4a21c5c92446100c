"""Logging: one format for the whole process, text for people or JSON for collectors.

Log lines carry ids and counts, never NIK, phone numbers, names or message bodies.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from bot.config import LoggingSettings


class JsonFormatter(logging.Formatter):
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
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
