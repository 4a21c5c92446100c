"""Where the files people send are kept: a local folder (the default) or an S3-compatible
bucket (for several processes on several machines), addressed by the content's SHA-256, so
a file sent twice is kept once.

A download is written to a private temporary file under ``[media] folder`` (``0600``, in
``0700`` folders whatever the umask) while it is hashed; :meth:`MediaStore.put` then moves
it into place (local) or uploads it (S3, through ``boto3``'s managed transfer, which
streams from the file in parts). Nothing here holds a whole file in memory.

The local layout is ``<folder>/<first two hex digits>/<sha256>``; the bucket's is
``<s3_prefix><sha256>``. ``boto3`` is an optional dependency (``pip install
'pendamping[s3]'``), imported only when the S3 store is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import MediaSettings
from models.media import forget_media_before, media_eraser, referenced_keys
from models.media_erasure import MEDIA_ERASERS
from models.private_files import PRIVATE_FILE, private_folder, private_temp
from models.retention import months_before

INCOMING = ".incoming"
_KEY = re.compile(r"[0-9a-f]{64}")


class MediaStore(Protocol):
    """A content-addressed store of files (the key is the file's SHA-256 in hex)."""

    temp_folder: Path

    async def put(self, temp: Path, key: str, content_type: str) -> None:
        """Keep the file at ``temp`` under ``key``; ``temp`` is gone afterwards."""

    async def fetch(self, key: str, target: Path) -> bool:
        """Copy the file kept under ``key`` to ``target``; False when there is none."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Forget ``key`` (nothing happens when it is not there)."""

    def stored_keys(self) -> AsyncIterator[tuple[str, datetime]]:
        """Every key kept, with when it was stored (for the orphan sweep)."""


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("a media key is a SHA-256 in lower-case hex")
    return key


def fetch_temp(folder: Path) -> Path:
    """An empty ``0600`` file in ``folder`` to download into (``.fetch.*.part``)."""
    return private_temp(folder, "fetch")


class LocalMediaStore:
    """Files under one folder, ``0600`` in ``0700`` folders."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.temp_folder = self.folder / INCOMING

    def prepare(self) -> LocalMediaStore:
        private_folder(self.temp_folder)
        return self

    def path_of(self, key: str) -> Path:
        check_key(key)
        return self.folder / key[:2] / key

    async def put(self, temp: Path, key: str, content_type: str) -> None:
        target = self.path_of(key)
        if target.exists():  # sent before: kept once
            os.unlink(temp)
            return
        private_folder(target.parent)
        os.chmod(temp, PRIVATE_FILE)
        os.replace(temp, target)  # same file system: atomic, a reader sees all or nothing

    async def fetch(self, key: str, target: Path) -> bool:
        source = self.path_of(key)
        if not source.exists():
            return False
        await asyncio.to_thread(_copy, source, target)
        return True

    async def exists(self, key: str) -> bool:
        return self.path_of(key).exists()

    async def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    async def stored_keys(self) -> AsyncIterator[tuple[str, datetime]]:
        for path in await asyncio.to_thread(lambda: list(self._files())):
            with contextlib.suppress(FileNotFoundError):
                stored = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                yield path.name, stored

    def _files(self) -> Iterator[Path]:
        if not self.folder.exists():
            return
        for sub in self.folder.iterdir():
            if sub.is_dir() and len(sub.name) == 2 and sub.name != INCOMING:
                yield from (p for p in sub.iterdir() if _KEY.fullmatch(p.name))


def _copy(source: Path, target: Path) -> None:
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(1 << 20):
            writer.write(chunk)


class S3MediaStore:
    """Files in an S3-compatible bucket (AWS S3, MinIO, Ceph, a cloud's object store)
    through ``boto3``; its blocking calls run in threads. Downloads land in the local
    temporary folder first."""

    def __init__(self, settings: MediaSettings, client: Any | None = None) -> None:
        assert settings.s3_bucket
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self.temp_folder = Path(settings.folder).resolve() / INCOMING
        self._client = client if client is not None else _s3_client(settings)

    def prepare(self) -> S3MediaStore:
        private_folder(self.temp_folder)
        return self

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, temp: Path, key: str, content_type: str) -> None:
        try:
            if not await self.exists(key):
                await asyncio.to_thread(
                    self._client.upload_file,
                    str(temp),
                    self.bucket,
                    self._name(key),
                    ExtraArgs={"ContentType": content_type},
                )
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    async def fetch(self, key: str, target: Path) -> bool:
        if not await self.exists(key):
            return False
        name = self._name(key)
        await asyncio.to_thread(self._client.download_file, self.bucket, name, str(target))
        return True

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            name = self._name(key)
            await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        name = self._name(key)
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=name)

    async def stored_keys(self) -> AsyncIterator[tuple[str, datetime]]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = await asyncio.to_thread(
            lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=self.prefix))
        )
        for page in pages:
            for item in page.get("Contents", ()):
                key = str(item["Key"])[len(self.prefix) :]
                if _KEY.fullmatch(key):
                    yield key, item["LastModified"]


def _s3_client(settings: MediaSettings) -> Any:
    try:
        import boto3
    except ImportError:  # pragma: no cover - the extra is not installed
        raise RuntimeError(
            "media.store = 's3' needs boto3: pip install 'pendamping[s3]'"
        ) from None
    secret = settings.s3_secret_access_key
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
    )


def build_media_store(settings: MediaSettings) -> LocalMediaStore | S3MediaStore:
    """The configured store, its temporary folder made (``0700``)."""
    if settings.store == "s3":
        return S3MediaStore(settings).prepare()
    return LocalMediaStore(Path(settings.folder)).prepare()


class _StoreWhenNeeded:
    """The configured store, built on first use (most commands never delete a file)."""

    def __init__(self, settings: MediaSettings) -> None:
        self._settings = settings
        self._store: LocalMediaStore | S3MediaStore | None = None

    def get(self) -> LocalMediaStore | S3MediaStore:
        if self._store is None:
            self._store = build_media_store(self._settings)
        return self._store

    async def delete(self, key: str) -> None:
        await self.get().delete(key)


def install_media_eraser(settings: MediaSettings) -> None:
    """Make erasure and retention (``models.media_erasure.MEDIA_ERASERS``) remove our
    copies of the files they remove: once per process, the last settings winning."""
    hook = media_eraser(_StoreWhenNeeded(settings))
    hook.__dict__["media_store_hook"] = True
    kept = [h for h in MEDIA_ERASERS if not getattr(h, "media_store_hook", False)]
    MEDIA_ERASERS[:] = [*kept, hook]


ORPHAN_GRACE = timedelta(days=1)
"""A stored file no row names is deleted only once this old: a fetch stores the file a
moment before it records it."""


async def media_housekeeping(
    sessions: async_sessionmaker[AsyncSession],
    settings: MediaSettings,
    now: datetime,
    *,
    keep_months: int = 0,
) -> dict[str, int]:
    """For the housekeeping sweep: files received more than ``keep_months`` ago
    (``[retention] media_months``; 0 keeps them), stored files no row names any more (a
    fetch that died between storing and recording, a family whose rows were deleted), and
    downloads a killed process left half-written."""
    store = build_media_store(settings)
    expired = 0
    if keep_months:
        cutoff = months_before(now, keep_months)
        while True:
            async with sessions.begin() as session:
                done = await forget_media_before(session, store, cutoff)
            expired += done
            if done < 500:
                break
    orphans = 0
    batch: list[str] = []
    async for key, stored_at in store.stored_keys():
        if stored_at < now - ORPHAN_GRACE:
            batch.append(key)
        if len(batch) >= 500:
            orphans += await _drop_orphans(sessions, store, batch)
            batch = []
    orphans += await _drop_orphans(sessions, store, batch)
    stale = 0
    for temp in await asyncio.to_thread(lambda: list(store.temp_folder.glob(".fetch.*.part"))):
        with contextlib.suppress(FileNotFoundError):
            if datetime.fromtimestamp(temp.stat().st_mtime, UTC) < now - ORPHAN_GRACE:
                temp.unlink()
                stale += 1
    return {"media_expired": expired, "media_orphans": orphans, "media_partial": stale}


async def _drop_orphans(
    sessions: async_sessionmaker[AsyncSession], store: MediaStore, keys: list[str]
) -> int:
    if not keys:
        return 0
    async with sessions() as session:
        named = await referenced_keys(session, keys)
    orphans = [key for key in keys if key not in named]
    for key in orphans:
        await store.delete(key)
    return len(orphans)


def media_reader(settings: MediaSettings) -> Callable[[str], Awaitable[bytes | None]]:
    """Reads a stored file whole, by its key, for sending it on (a voice note to the
    pendamping): copied to a private temporary file first (the S3 store downloads), then
    read; None when it is not stored or is larger than ``max_bytes``."""
    store = _StoreWhenNeeded(settings)

    async def read(key: str) -> bytes | None:
        kept = store.get()
        temp = fetch_temp(kept.temp_folder)
        try:
            if not await kept.fetch(key, temp):
                return None
            return await asyncio.to_thread(_read_at_most, temp, settings.max_bytes)
        finally:
            os.unlink(temp)

    return read


def _read_at_most(path: Path, limit: int) -> bytes | None:
    with path.open("rb") as handle:
        content = handle.read(limit + 1)
    return content if len(content) <= limit else None
