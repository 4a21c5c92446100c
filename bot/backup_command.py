"""`pendamping backup` and `pendamping restore`: a consistent copy while the bot runs, checked
before it is kept, and put back into an empty (or, with ``--force``, any) database.

SQLite goes through the ``sqlite3`` module's online backup API (models.db.sqlite_backup),
PostgreSQL through the operator's own ``pg_dump``/``pg_restore`` (models.db.pg_backup).
A backup is written to a hidden ``0600`` file beside its name and moved there only once
its checks pass. What the commands say is in the configured locale (``cli.backup.*``,
``cli.restore.*``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import URL, make_url

from bot.bootstrap import App
from bot.commands import CommandError, safe_url, translator
from bot.process import serving_alone
from handlers.i18n import Translator
from models.db import migrate, pg_backup, sqlite_backup
from models.private_files import private_temp

log = logging.getLogger(__name__)

MAIN_TABLES = (
    "kpm", "kelompok", "staff", "meeting", "attendance", "case_note", "outbox", "inbox",
    "audit_log",
)
"""The tables whose rows a backup and a restore count, in this order."""
OWN_NAME = re.compile(r"^pendamping-\d{8}T\d{6}Z\.(db|dump)$")
"""The names this command gives backups in a folder: the only files ``--keep`` deletes."""


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_path(url: URL, t: Translator) -> Path:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise CommandError(t("cli.backup.not_a_file_database"))
    return Path(database)


def _counts(t: Translator, counts: Mapping[str, int]) -> str:
    return ", ".join(f"{t(f'cli.backup.table.{table}')} {counts[table]}"
                     for table in MAIN_TABLES if table in counts)


def _level(t: Translator, level: str | None) -> str:
    compared = migrate.compare(level)
    head = migrate.head_revision()
    return t(f"cli.backup.level_{compared.value}", level=level or "-", head=head)


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1_000_000:.1f} MB"


def backup_path(written: str, sqlite: bool, now_utc: str, t: Translator) -> Path:
    """The file named, or in a folder (one that exists, or any name ending in ``/``) the
    name this command gives its backups."""
    file = Path(written)
    if file.is_dir():
        return file / f"pendamping-{now_utc}{'.db' if sqlite else '.dump'}"
    if written.endswith(("/", os.sep)):
        raise CommandError(t("cli.backup.no_folder", path=file))
    return file


async def backup(
    app: App, out: Console, file: str, *, keep: int | None, media: bool = True
) -> None:
    t = translator(app)
    url = make_url(app.settings.database.url)
    sqlite = _is_sqlite(url)
    now = app.clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = backup_path(file, sqlite, now, t)
    if keep is not None and not OWN_NAME.match(path.name):
        raise CommandError(t("cli.backup.keep_needs_folder"))
    if not path.parent.is_dir():
        raise CommandError(t("cli.backup.no_folder", path=path.parent))
    if path.exists():
        raise CommandError(t("cli.backup.exists", path=path))
    started = time.perf_counter()
    temp = private_temp(path.parent, path.name)
    try:
        if sqlite:
            source = _sqlite_path(url, t)
            if not source.is_file():
                raise CommandError(t("cli.backup.no_database", path=source))
            check, level, counts = await asyncio.to_thread(_sqlite_copy, t, source, temp)
        else:
            check, level, counts = await _pg_dump(app, t, url, temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    log.info("backup written: %s (%s, level %s, %.1f s)", path, url.get_backend_name(), level,
             seconds)
    out.print(
        t("cli.backup.done", path=path, size=_size(path), seconds=f"{seconds:.1f}", check=check,
          level=_level(t, level), counts=_counts(t, counts)),
        markup=False,
        soft_wrap=True,
    )
    if media:  # the files people sent, beside the database (a folder shared by backups)
        from bot.media_command import back_up_media

        copied = await back_up_media(app, path)
        if copied is not None:
            out.print(t("cli.backup.media", count=copied.count, added=copied.added,
                        folder=copied.folder, manifest=copied.manifest),
                      markup=False, soft_wrap=True)
    if keep is not None:
        ours = sqlite_backup.is_sqlite_file if sqlite else pg_backup.is_dump_file
        pruned = prune(path, keep, ours)
        if pruned:
            out.print(t("cli.backup.pruned", count=len(pruned), keep=keep, folder=path.parent),
                      markup=False, soft_wrap=True)
        from bot.media_command import prune_backup_media

        await prune_backup_media(path.parent)


def _sqlite_copy(t: Translator, source: Path, temp: Path) -> tuple[str, str | None, dict[str, int]]:
    sqlite_backup.copy_database(source, temp)
    checked = sqlite_backup.check(temp, MAIN_TABLES)
    if not checked.sound:
        raise CommandError(t("cli.backup.unsound", problems="; ".join(checked.integrity[:3])))
    return t("cli.backup.checked_sqlite"), checked.level, checked.counts


async def _pg_dump(
    app: App, t: Translator, url: URL, temp: Path
) -> tuple[str, str | None, dict[str, int]]:
    try:
        dumped = await pg_backup.dump(app.engine, url, temp, MAIN_TABLES)
        listed = await pg_backup.read_dump(temp, url)
    except pg_backup.ClientMissing as exc:
        raise CommandError(t("cli.backup.no_client", program=exc.program)) from None
    except pg_backup.ClientFailed as exc:
        raise CommandError(
            t("cli.backup.client_failed", program=exc.program, reason=exc.reason)
        ) from None
    problems = []
    if temp.stat().st_size == 0 or not pg_backup.is_dump_file(temp):  # noqa: ASYNC240 (once)
        problems.append("pg_dump --format=custom")
    missing = sorted(dumped.tables - listed.data)
    if missing:
        problems.append(", ".join(missing[:5]))
    if listed.level != dumped.level:
        problems.append(f"alembic_version {listed.level}")
    if problems:
        raise CommandError(t("cli.backup.unsound", problems="; ".join(problems)))
    return t("cli.backup.checked_pg", tables=len(listed.data)), dumped.level, dumped.counts


MEDIA_MANIFEST_SUFFIX = ".media.csv"  # a backup's list of the files people sent


def prune(written: Path, keep: int, ours: Callable[[Path], bool]) -> list[Path]:
    """Delete the older backups this command named in ``written``'s folder, of the same
    kind, beyond the ``keep`` newest (by the time in their names); never ``written``."""
    own = sorted(
        (
            path for path in written.parent.iterdir()
            if OWN_NAME.match(path.name) and path.suffix == written.suffix
            and path.is_file() and ours(path)
        ),
        key=lambda path: path.name,
        reverse=True,
    )
    removed = [path for path in own[keep:] if path != written]
    for path in removed:
        path.unlink(missing_ok=True)
        path.with_name(path.name + MEDIA_MANIFEST_SUFFIX).unlink(missing_ok=True)
        log.info("old backup removed: %s", path)
    return removed


def _refuse_level(t: Translator, level: str | None) -> None:
    compared = migrate.compare(level)
    if compared is migrate.Compared.NEWER:
        raise CommandError(t("cli.restore.newer", level=level, head=migrate.head_revision()))
    if compared is migrate.Compared.NONE:
        raise CommandError(t("cli.restore.no_level"))


async def restore(app: App, out: Console, file: Path, *, force: bool) -> None:
    t = translator(app)
    url = make_url(app.settings.database.url)
    if not file.is_file():  # noqa: ASYNC240 (a stat, once)
        raise CommandError(t("cli.restore.no_file", path=file))
    started = time.perf_counter()
    if _is_sqlite(url):
        old, check, counts = await _restore_sqlite(app, t, url, file, force=force)
    else:
        old, check, counts = await _restore_pg(app, t, url, file, force=force)
    level = await migrate.current_level(app.engine)
    target = safe_url(app.settings.database.url)
    log.info("backup %s restored into %s (level %s, now %s)", file, target, old, level.current)
    if old != level.current:
        out.print(t("cli.restore.upgraded", old=old, level=level.current), markup=False)
    out.print(
        t("cli.restore.done", path=file, target=target, level=level.current, check=check,
          counts=_counts(t, counts), seconds=f"{time.perf_counter() - started:.1f}"),
        markup=False,
        soft_wrap=True,
    )


async def _restore_sqlite(
    app: App, t: Translator, url: URL, file: Path, *, force: bool
) -> tuple[str | None, str, dict[str, int]]:
    target = _sqlite_path(url, t)
    if not sqlite_backup.is_sqlite_file(file):
        raise CommandError(t("cli.restore.wrong_kind", path=file, kind="SQLite"))
    if target.exists() and target.resolve() == file.resolve():  # noqa: ASYNC240 (once)
        raise CommandError(t("cli.restore.same_file"))
    checked = await asyncio.to_thread(sqlite_backup.check, file, MAIN_TABLES)
    if not checked.sound:
        raise CommandError(
            t("cli.restore.unsound", path=file, problems="; ".join(checked.integrity[:3]))
        )
    _refuse_level(t, checked.level)
    with serving_alone(app.settings.database.url, "restore"):  # refused while the bot runs
        if not force and await asyncio.to_thread(sqlite_backup.has_data, target):
            raise CommandError(t("cli.restore.has_data", target=target))
        await asyncio.to_thread(sqlite_backup.restore_database, file, target)
        await migrate.upgrade(app.engine)
        await app.engine.dispose()  # the file is read below by a connection of its own
        restored = await asyncio.to_thread(sqlite_backup.check, target, MAIN_TABLES, live=True)
    if not restored.sound:
        raise CommandError(
            t("cli.restore.unsound", path=target, problems="; ".join(restored.integrity[:3]))
        )
    return checked.level, t("cli.backup.checked_sqlite"), restored.counts


async def _restore_pg(
    app: App, t: Translator, url: URL, file: Path, *, force: bool
) -> tuple[str | None, str, dict[str, int]]:
    if not pg_backup.is_dump_file(file):
        raise CommandError(
            t("cli.restore.wrong_kind", path=file, kind="PostgreSQL (pg_dump --format=custom)")
        )
    try:
        dumped = await pg_backup.read_dump(file, url)
        _refuse_level(t, dumped.level)
        if not force and await pg_backup.has_data(app.engine):
            raise CommandError(
                t("cli.restore.has_data", target=safe_url(app.settings.database.url))
            )
        dropped = await pg_backup.drop_tables_not_in(app.engine, dumped.tables)
        if dropped:
            log.info("tables the backup does not have dropped before restoring: %s", dropped)
        await app.engine.dispose()
        await pg_backup.restore(file, url)
    except pg_backup.ClientMissing as exc:
        raise CommandError(t("cli.backup.no_client", program=exc.program)) from None
    except pg_backup.ClientFailed as exc:
        raise CommandError(
            t("cli.backup.client_failed", program=exc.program, reason=exc.reason)
        ) from None
    await migrate.upgrade(app.engine)
    counts = await pg_backup.count(app.engine, MAIN_TABLES)
    return dumped.level, t("cli.restore.checked_pg"), counts
