"""Files kept by us beyond the meeting photo: a KPM's voice note is a pesan KPM with its
audio, a pendamping's voice note in a case is a case update with it; an erased family's
files leave the store; an export copies the files without their GPS position; the
housekeeping sweep deletes stored files nothing names. The provider here is an in-memory
source (the providers' own paths are in tests/e2e/test_media_*.py)."""

from __future__ import annotations

import asyncio
import csv
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bootstrap import build_app
from bot.config import DEFAULT_MEDIA_TYPES, MediaSettings, Settings
from bot.media_command import export_media
from bot.media_fetch import Download, FetchFailed, FetchPolicy, MediaFetcher
from bot.media_store import LocalMediaStore, media_housekeeping, media_reader
from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.messages import Media
from handlers.registry import COMMANDS, FLOWS
from handlers.settings import EngineSettings
from models.cases import NewCase, open_case
from models.enums import CaseSeverity, Channel, MediaStatus
from models.media import delete_media_of_kpm, media_eraser
from models.media_content import photo_facts
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import CaseUpdate, Kpm, KpmMessage, MediaAttachment, MediaFile, Staff
from tests.media_files import LATITUDE, jpeg, voice_note
from tests.world import NOW, Chat, World, build_world, default_catalog, make_engine

t = Translator()


class MemorySource:
    """Files by reference, as a provider would serve them (in parts)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    @asynccontextmanager
    async def open(self, ref: str, max_bytes: int) -> AsyncIterator[Download]:
        if ref not in self.files:
            raise FetchFailed("HTTP 404")
        content = self.files[ref]

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(content), 4096):
                yield content[start : start + 4096]

        yield Download(chunks(), None, len(content))

    async def delete_at_provider(self, ref: str) -> None:
        return None


class Kept:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], world: World, folder: Path
    ) -> None:
        self.sessions, self.world = sessions, world
        self.clock = FixedClock(NOW)
        self.engine = make_engine(sessions, self.clock)
        self.source = MemorySource()
        self.store = LocalMediaStore(folder).prepare()
        policy = FetchPolicy(max_bytes=1_000_000, allowed_types=frozenset(DEFAULT_MEDIA_TYPES))
        self.fetcher = MediaFetcher(
            sessions, self.store, {Channel.WHATSAPP: self.source, Channel.CONSOLE: self.source},
            self.clock, t, policy,
        )

    async def kpm(self, name: str) -> Chat:
        async with self.sessions() as session:
            phone = (await session.get(Kpm, self.world.kpm[name])).phone
        return Chat(self.engine, self.clock, f"whatsapp:{phone}")

    def media(self, ref: str, content: bytes, kind: str) -> tuple[Media, ...]:
        self.source.files[ref] = content
        return (Media(ref, kind),)

    async def rows(self) -> list[MediaFile]:
        async with self.sessions() as session:
            return list(await session.scalars(select(MediaFile).order_by(MediaFile.id)))

    def kept_files(self) -> set[str]:
        return {path.name for path in self.store.folder.glob("??/*")}


@pytest.fixture
async def kept(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> Kept:
    return Kept(sessions, await build_world(sessions), tmp_path / "media")


async def test_a_kpm_voice_note_is_a_pesan_kpm_for_the_pendamping_with_the_audio_kept(
    kept: Kept,
) -> None:
    siti = await kept.kpm("Siti Aminah")
    await siti.send(media=kept.media("https://twilio.test/ME1", voice_note(), "audio/ogg"))
    assert siti.text == t("pesan.ack_forwarded", sapaan="Ibu", name="Siti Aminah")
    async with kept.sessions() as session:
        message = await session.scalar(select(KpmMessage))
        notice = await session.scalar(select(Outbox).where(Outbox.kind == "pesan_kpm"))
    assert message is not None and notice is not None
    assert notice.payload["values"]["text"] == t("pesan.with_voice", text="-", count=1)
    await kept.fetcher.drain()
    [audio] = await kept.rows()
    assert (audio.kpm_message_id, audio.kpm_id) == (message.id, kept.world.kpm["Siti Aminah"])
    assert (audio.status, audio.content_type) == (MediaStatus.STORED, "audio/ogg")
    assert audio.storage_key in kept.kept_files()

    # Ani opens it in /pesan and hears it: our copy is sent to her chat.
    settings = EngineSettings(
        catalog=default_catalog(),
        read_media=media_reader(MediaSettings(folder=str(kept.store.folder))),
    )
    engine = Engine(kept.sessions, settings, kept.clock, FLOWS, COMMANDS)
    ani = Chat(engine, kept.clock, "console:ani")
    await ani.send(f"/pesan {message.id}")
    voice, shown = ani.last
    assert voice.text == t("pesan.voice_note") and voice.document is not None
    assert voice.document.content == voice_note()
    assert voice.document.filename == f"pesan-{message.id}.ogg"
    assert shown.options  # the pesan itself, to answer or close


async def open_case_for(kept: Kept, name: str, photos: tuple[tuple[str, str], ...] = ()) -> int:
    async with kept.sessions.begin() as session:
        ani = await session.get(Staff, kept.world.ani)
        assert ani is not None
        return await open_case(
            session, ani,
            NewCase(kept.world.kpm[name], "kks_bermasalah", "KKS terblokir",
                    CaseSeverity.BIASA, date(2026, 12, 1), photos),
            now=NOW,
        )


async def test_a_pendamping_voice_note_in_a_case_is_a_case_update_with_the_audio(
    kept: Kept,
) -> None:
    case_id = await open_case_for(kept, "Siti Aminah")
    ani = Chat(kept.engine, kept.clock, "console:ani")
    await ani.send("/kasus_saya")
    await ani.send("1")
    await ani.send(choice="tindak_lanjut")
    await ani.send(media=kept.media("file:/voice/1.ogg", voice_note(), "audio/ogg"))
    assert ani.text == t("case.updated", id=case_id, status=t("case.status.tindak_lanjut"))
    async with kept.sessions() as session:
        update = await session.scalar(select(CaseUpdate))
        attached = await session.scalar(select(MediaAttachment))
    assert update is not None and update.note == t("case.voice_note", text="-")
    assert attached is not None and (attached.case_id, attached.media_ref) == (
        case_id, "file:/voice/1.ogg"
    )
    await kept.fetcher.drain()
    [audio] = await kept.rows()
    assert audio.status is MediaStatus.STORED and audio.kpm_id == kept.world.kpm["Siti Aminah"]


async def test_an_erased_family_s_files_are_gone_from_the_store(kept: Kept) -> None:
    siti = await kept.kpm("Siti Aminah")
    sri = await kept.kpm("Sri Wahyuni")
    shared_photo = jpeg(seed=21)
    await siti.send(media=kept.media("https://twilio.test/ME2", voice_note(6000), "audio/ogg"))
    await siti.send("foto KKS", media=kept.media("https://twilio.test/ME3", shared_photo,
                                                 "image/jpeg"))
    await sri.send(media=kept.media("https://twilio.test/ME4", shared_photo, "image/jpeg"))
    ani = Chat(kept.engine, kept.clock, "console:ani")
    await ani.send(media=kept.media("file:/kasus.jpg", jpeg(seed=22), "image/jpeg"))
    await open_case_for(kept, "Siti Aminah", (("file:/kasus.jpg", "image/jpeg"),))
    await kept.fetcher.drain()
    before = await kept.rows()
    assert [r.status for r in before] == [MediaStatus.STORED] * 4
    siti_keys = {r.storage_key for r in before if r.provider_ref != "https://twilio.test/ME4"}

    async with kept.sessions.begin() as session:
        deleted = await delete_media_of_kpm(session, kept.store, kept.world.kpm["Siti Aminah"])
    assert deleted == 3
    [left] = await kept.rows()
    assert left.provider_ref == "https://twilio.test/ME4"  # Sri's, the same photo: still kept
    assert kept.kept_files() == {left.storage_key}
    assert not (siti_keys - {left.storage_key}) & kept.kept_files()
    async with kept.sessions() as session:
        assert await session.scalar(select(MediaAttachment)) is None
    async with kept.sessions.begin() as session:  # asked again: nothing more
        assert await delete_media_of_kpm(session, kept.store, kept.world.kpm["Siti Aminah"]) == 0


class Leaving:
    """What ``models.media_erasure`` hands its hooks."""

    def __init__(self, kpm_id: int | None, refs: tuple[str, ...]) -> None:
        self.kpm_id, self.refs = kpm_id, refs


async def test_the_erasure_and_retention_hook_removes_our_copies(kept: Kept) -> None:
    siti = await kept.kpm("Siti Aminah")
    await siti.send(media=kept.media("https://twilio.test/ME5", voice_note(), "audio/ogg"))
    ani = Chat(kept.engine, kept.clock, "console:ani")
    await ani.send(media=kept.media("file:/rapat.jpg", jpeg(seed=23), "image/jpeg"))
    await kept.fetcher.drain()
    hook = media_eraser(kept.store)
    async with kept.sessions.begin() as session:  # retention: the references leaving
        await hook(session, Leaving(None, ("file:/rapat.jpg",)))
    assert [r.provider_ref for r in await kept.rows()] == ["https://twilio.test/ME5"]
    async with kept.sessions.begin() as session:  # erasure of the family
        await hook(session, Leaving(kept.world.kpm["Siti Aminah"], ()))
    assert await kept.rows() == [] and kept.kept_files() == set()


async def test_an_export_copies_the_files_without_their_gps_and_lists_them(
    kept: Kept, db_url: str, tmp_path: Path
) -> None:
    ani = Chat(kept.engine, kept.clock, "console:ani")
    await ani.send(media=kept.media("file:/rapat.jpg", jpeg(seed=24), "image/jpeg"))
    await kept.fetcher.drain()
    [row] = await kept.rows()
    settings = Settings.model_validate(
        {"database": {"url": db_url}, "media": {"folder": str(kept.store.folder)}}
    )
    app = build_app(settings)
    try:
        done = await export_media(app, tmp_path / "ekspor")
    finally:
        await app.close()
    assert done.count == 1
    copy = tmp_path / "ekspor" / f"{row.storage_key}.jpg"
    assert photo_facts(copy).latitude is None  # shared onward: no location
    assert photo_facts(copy).taken_at == row.taken_at  # the time stays
    assert photo_facts(kept.store.path_of(row.storage_key or "")).latitude == pytest.approx(
        LATITUDE
    )  # the stored copy keeps the original
    with done.manifest.open(encoding="utf-8") as handle:
        [listed] = list(csv.DictReader(handle))
    assert listed["file"] == copy.name and float(listed["latitude"]) == pytest.approx(LATITUDE)
    assert oct(copy.stat().st_mode & 0o777) == oct(0o600)


async def test_housekeeping_deletes_stored_files_nothing_names(kept: Kept) -> None:
    ani = Chat(kept.engine, kept.clock, "console:ani")
    await ani.send(media=kept.media("file:/rapat.jpg", jpeg(seed=25), "image/jpeg"))
    await kept.fetcher.drain()
    [row] = await kept.rows()
    orphan = kept.store.path_of("ab" * 32)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"left by a fetch that died")
    old = time.time() - 3 * 86400
    for path in (orphan, kept.store.path_of(row.storage_key or "")):
        os.utime(path, (old, old))
    settings = Settings.model_validate({"media": {"folder": str(kept.store.folder)}}).media
    report = await media_housekeeping(kept.sessions, settings, datetime.now(UTC))
    assert report["media_orphans"] == 1
    assert kept.kept_files() == {row.storage_key}


async def test_doctor_warns_about_downloads_that_keep_failing(kept: Kept, db_url: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from bot.media_command import doctor_media

    siti = await kept.kpm("Siti Aminah")
    await siti.send(media=(Media("https://twilio.test/ME404", "image/jpeg"),))  # never served
    for _ in range(3):
        await kept.fetcher.drain()
        kept.clock.advance(timedelta(minutes=5))
    [row] = await kept.rows()
    assert (row.status, row.attempts, row.error) == (MediaStatus.PENDING, 3, "HTTP 404")
    app = build_app(Settings.model_validate({"database": {"url": db_url}}))
    table = Table("check", "status", "detail")
    try:
        await doctor_media(app, table, t, "OK", "PERINGATAN")
    finally:
        await app.close()
    console = Console(width=300, record=True)
    console.print(table)
    shown = console.export_text()
    assert "PERINGATAN" in shown and f"#{row.id} (whatsapp, 3x): HTTP 404" in shown


async def test_a_backup_keeps_the_files_people_sent_until_no_backup_names_them(
    kept: Kept, db_url: str, tmp_path: Path
) -> None:
    from models.erasure import erase
    from tests.integration.test_cli import invoke

    siti = await kept.kpm("Siti Aminah")
    await siti.send(media=kept.media("https://twilio.test/ME9", voice_note(), "audio/ogg"))
    await kept.fetcher.drain()
    [audio] = await kept.rows()
    env = {"PENDAMPING_MEDIA_FOLDER": str(kept.store.folder)}
    backups = tmp_path / "backups"
    backups.mkdir()
    first = backups / "pendamping-20261201T000000Z.db"
    done = await asyncio.to_thread(invoke, db_url, "backup", str(first), extra_env=env)
    assert done.exit_code == 0, done.output
    copy = backups / "media" / audio.storage_key[:2] / audio.storage_key
    assert copy.read_bytes() == voice_note()  # the original, as kept
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    with (backups / f"{first.name}.media.csv").open(encoding="utf-8") as handle:
        assert f"{audio.storage_key[:2]}/{audio.storage_key}" in handle.read()

    async with kept.sessions.begin() as session:  # the family asks to be forgotten
        family = await session.get(Kpm, kept.world.kpm["Siti Aminah"])
        await erase(session, family, "permintaan KPM", by=None, now=NOW,
                    erasers=[media_eraser(kept.store)])
    second = backups / "pendamping-20261202T000000Z.db"
    done = await asyncio.to_thread(
        invoke, db_url, "backup", str(second), "--keep", "1", extra_env=env
    )
    assert done.exit_code == 0, done.output
    assert not first.exists() and not (backups / f"{first.name}.media.csv").exists()
    assert not copy.exists()  # no backup left holds her voice note
