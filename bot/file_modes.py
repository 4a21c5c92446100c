"""`doctor`'s look at file permissions: the SQLite database (with its ``-wal``/``-shm``)
holds NIK, names and phone numbers, and a settings file may hold tokens or a database
password; either readable by the group or other local users is a warning."""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from rich.table import Table
from sqlalchemy.engine import make_url

from bot.config import Settings
from handlers.i18n import Translator
from models.private_files import SQLITE_SIDECARS, open_to_others


def secret_keys() -> dict[str, set[str]]:
    """The secret settings (``SecretStr`` fields), by section."""
    found: dict[str, set[str]] = {}
    for section, section_field in Settings.model_fields.items():
        model = section_field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for key, key_field in model.model_fields.items():
            kinds = typing.get_args(key_field.annotation) or (key_field.annotation,)
            if SecretStr in kinds:
                found.setdefault(section, set()).add(key)
    return found


def holds_secret(config: Path) -> bool:
    """True when the settings file sets a secret: a token, a key, a database password."""
    try:
        data: dict[str, Any] = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    for section, keys in secret_keys().items():
        values = data.get(section)
        if isinstance(values, dict) and any(values.get(key) for key in keys):
            return True
    database = data.get("database")
    url = database.get("url") if isinstance(database, dict) else None
    try:
        return bool(isinstance(url, str) and make_url(url).password)
    except Exception:  # a malformed URL is the settings check's business, not this one's
        return False


def sqlite_files(database_url: str) -> list[Path]:
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return []
    main = Path(database)
    return [main, *(main.with_name(main.name + suffix) for suffix in SQLITE_SIDECARS)]


def doctor_file_modes(
    database_url: str, config: Path | None, table: Table, t: Translator, marks: Any
) -> None:
    """One row: the private files checked, or those open to others (a warning)."""
    checked = [path for path in sqlite_files(database_url) if path.exists()]
    if config is not None and config.is_file() and holds_secret(config):
        checked.append(config)
    if not checked:
        table.add_row(t("cli.doctor.file_modes"), marks.ok, t("cli.doctor.file_modes_none"))
        return
    opened = [(path, mode) for path in checked if (mode := open_to_others(path)) is not None]
    if opened:
        files = ", ".join(f"{path} ({mode:04o})" for path, mode in opened)
        table.add_row(
            t("cli.doctor.file_modes"), marks.warn, t("cli.doctor.file_modes_open", files=files)
        )
    else:
        files = ", ".join(str(path) for path in checked)
        table.add_row(
            t("cli.doctor.file_modes"), marks.ok, t("cli.doctor.file_modes_ok", files=files)
        )
