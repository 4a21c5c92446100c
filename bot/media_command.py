"""`pendamping media`: the files people sent, as the operator sees them: counts and the
downloads that keep failing (also a `doctor` row), and an export of the files kept
(copies without their GPS position, and a manifest listing each file with what it is
attached to, when and where it was taken) for a backup or a hand-over."""

from __future__ import annotations

import asyncio
import csv
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.bootstrap import App
from bot.media_store import build_media_store, fetch_temp
from handlers.i18n import Translator
from models.media_content import copy_without_location
from models.media_views import MediaCounts, StoredFile, media_counts, stored_files
from models.private_files import PRIVATE_FILE, private_folder

EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/amr": ".amr",
    "application/pdf": ".pdf",
}
MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = (
    "file", "id", "sha256", "content_type", "size_bytes", "received_at", "taken_at",
    "latitude", "longitude", "meeting_id", "case_id", "kpm_message_id",
)


def _store_name(app: App) -> str:
    media = app.settings.media
    return f"s3://{media.s3_bucket}/{media.s3_prefix}" if media.store == "s3" else media.folder


def _latest(counts: MediaCounts) -> str:
    return "; ".join(f"#{i} ({channel}, {tries}x): {error or '-'}"
                     for i, channel, tries, error, _ in counts.failing)


async def doctor_media(app: App, table: Table, t: Translator, ok: str, warn: str) -> None:
    """A warning when downloads keep failing (the messages themselves were handled)."""
    async with app.read_sessions() as session:
        counts = await media_counts(session, failing_after=app.settings.media.quick_attempts)
    by_status = dict(counts.by_status)
    if counts.failing or counts.given_up:
        detail = t(
            "cli.doctor.media_failing",
            count=len(counts.failing),
            latest=_latest(counts),
            given_up=counts.given_up,
        )
        table.add_row(t("cli.doctor.media"), warn, detail)
        return
    table.add_row(
        t("cli.doctor.media"),
        ok,
        t(
            "cli.doctor.media_ok",
            stored=by_status.get("stored", 0),
            store=_store_name(app),
            pending=by_status.get("pending", 0),
        ),
    )


async def media_status(app: App, out: Console, t: Translator) -> None:
    async with app.read_sessions() as session:
        counts = await media_counts(
            session, failing_after=app.settings.media.quick_attempts, shown=20
        )
    if not counts.by_status:
        out.print(t("cli.media.empty"))
        return
    table = Table(t("cli.col.status"), t("cli.col.files"), title=t("cli.media.title"))
    for status, count in counts.by_status:
        table.add_row(status, str(count))
    out.print(table)
    if counts.failing:
        failing = Table(
            *(t(f"cli.col.{name}") for name in ("id", "channel", "reason", "at")),
            title=t("cli.media.failing"),
        )
        for row_id, channel, _tries, error, at in counts.failing:
            failing.add_row(str(row_id), channel, error or "-", at.strftime("%Y-%m-%d %H:%M"))
        out.print(failing)


@dataclass(frozen=True)
class Exported:
    count: int
    size_bytes: int
    manifest: Path


async def export_media(
    app: App, folder: Path, *, since: datetime | None = None, until: datetime | None = None
) -> Exported:
    """Copy every stored file received in ``[since, until)`` into ``folder`` (``0700``,
    files ``0600``) with a ``manifest.csv``; photos lose their GPS position on the way
    (the manifest keeps it, for the coordinator)."""
    store = build_media_store(app.settings.media)
    private_folder(folder)
    async with app.read_sessions() as session:
        files = await stored_files(session, since=since, until=until)
    rows: list[list[object]] = []
    total = 0
    for item in files:
        name = item.storage_key + EXTENSIONS.get(item.content_type, "")
        temp = fetch_temp(store.temp_folder)
        try:
            if not await store.fetch(item.storage_key, temp):
                continue
            await asyncio.to_thread(_write_copy, temp, item, folder / name)
        finally:
            temp.unlink(missing_ok=True)
        total += item.size_bytes
        rows.append(_manifest_row(name, item))
    manifest = folder / MANIFEST
    await asyncio.to_thread(_write_manifest, manifest, rows)
    return Exported(len(rows), total, manifest)


def _write_copy(source: Path, item: StoredFile, target: Path) -> None:
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as handle:
        copy_without_location(source, item.content_type, handle)


def _manifest_row(name: str, item: StoredFile) -> list[object]:
    return [
        name, item.id, item.sha256, item.content_type, item.size_bytes,
        item.received_at.isoformat(),
        item.taken_at.isoformat() if item.taken_at else "",
        "" if item.latitude is None else item.latitude,
        "" if item.longitude is None else item.longitude,
        item.meeting_id or "", item.case_id or "", item.kpm_message_id or "",
    ]


def _write_manifest(path: Path, rows: list[list[object]]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)


async def media_export(app: App, out: Console, t: Translator, folder: Path) -> None:
    done = await export_media(app, folder)
    out.print(
        t(
            "cli.media.exported",
            count=done.count,
            size=f"{done.size_bytes / 1_000_000:.1f} MB",
            path=folder,
            manifest=done.manifest,
        ),
        markup=False,
        soft_wrap=True,
    )


@dataclass(frozen=True)
class MediaBackup:
    count: int  # files the database names, all now in the backup's media folder
    added: int  # of them, copied by this backup (the others were there from before)
    folder: Path
    manifest: Path


async def back_up_media(app: App, backup: Path) -> MediaBackup | None:
    """With a database backup: every stored file the database names, as kept (originals:
    a backup is not shared onward), copied into ``media/`` beside the backup — named by
    content hash, so a file already there from an earlier night is not copied again —
    and a manifest for this backup (``<backup>.media.csv``) listing them. To restore,
    copy that folder back into ``[media] folder``. None when no file is stored."""
    async with app.read_sessions() as session:
        files = await stored_files(session)
    if not files:
        return None
    store = build_media_store(app.settings.media)
    folder = backup.parent / BACKUP_MEDIA
    private_folder(folder)
    rows: list[list[object]] = []
    added = 0
    for item in files:
        target = folder / item.storage_key[:2] / item.storage_key
        if not await asyncio.to_thread(target.exists):
            private_folder(target.parent)
            temp = fetch_temp(store.temp_folder)
            try:
                if not await store.fetch(item.storage_key, temp):
                    continue
                await asyncio.to_thread(os.replace, temp, target)
            finally:
                temp.unlink(missing_ok=True)
            added += 1
        rows.append(_manifest_row(str(target.relative_to(folder)), item))
    manifest = backup.with_name(backup.name + ".media.csv")
    await asyncio.to_thread(_write_manifest, manifest, rows)
    return MediaBackup(len(rows), added, folder, manifest)


BACKUP_MEDIA = "media"  # the folder of files beside the backups, shared by them


async def prune_backup_media(folder: Path) -> int:
    """After older backups were pruned: delete the files of ``media/`` that no remaining
    backup's manifest names (an erased family's photos leave the backups with the last
    backup that held them). Returns how many were deleted."""
    return await asyncio.to_thread(_prune_backup_media, folder)


def _prune_backup_media(folder: Path) -> int:
    media = folder / BACKUP_MEDIA
    if not media.is_dir():
        return 0
    named: set[str] = set()
    for manifest in folder.glob("*.media.csv"):
        with manifest.open(newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            next(rows, None)
            named.update(row[0] for row in rows if row)
    removed = 0
    for path in media.glob("??/*"):
        if str(path.relative_to(media)) not in named:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
