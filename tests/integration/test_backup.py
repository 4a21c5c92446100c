"""`pendamping backup` and `pendamping restore`, run as an operator runs them, on SQLite and
PostgreSQL (with the machine's own pg_dump and pg_restore), while a real process writes."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bot.cli import cli
from bot.process import serving_alone
from models.db import create_engine, migrate, session_factory
from tests.cli_text import flat, said, t
from tests.conftest import create_pg_database, drop_pg_database
from tests.world import MELATI, build_world

ROOT = Path(__file__).resolve().parents[2]
PG_CLIENT_MISSING = "pg_dump or pg_restore is not on PATH: PostgreSQL backup tests skipped"
COUNTED = ("meeting", "attendance", "outbox")


def invoke(db_url: str, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(
        cli,
        list(args),
        env={"PENDAMPING_DATABASE_URL": db_url, "PENDAMPING_CONFIG": "", "COLUMNS": "200",
             **(env or {})},
    )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def needs_pg_client(url: str) -> None:
    if not is_sqlite(url) and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip(PG_CLIENT_MISSING)


def sql(url: str, *statements: str) -> list[list[tuple[object, ...]]]:
    async def run() -> list[list[tuple[object, ...]]]:
        engine = create_engine(url)
        try:
            found = []
            async with engine.begin() as connection:
                for statement in statements:
                    result = await connection.execute(text(statement))
                    found.append([tuple(row) for row in result] if result.returns_rows else [])
            return found
        finally:
            await engine.dispose()

    return asyncio.run(run())


def ids(url: str) -> dict[str, set[int]]:
    found = sql(url, *(f"SELECT id FROM {table}" for table in COUNTED))
    return {
        table: {int(row[0]) for row in rows}  # type: ignore[call-overload]
        for table, rows in zip(COUNTED, found, strict=True)
    }


def seed_world(url: str) -> tuple[int, list[int]]:
    async def run() -> tuple[int, list[int]]:
        engine = create_engine(url)
        try:
            world = await build_world(session_factory(engine))
        finally:
            await engine.dispose()
        return world.melati, [world.kpm[name] for name in MELATI]

    return asyncio.run(run())


def only_file(folder: Path) -> Path:
    files = sorted(folder.iterdir())
    assert len(files) == 1, files
    return files[0]


def assert_sound(url: str) -> None:
    """SQLite's own integrity and foreign key checks; on PostgreSQL (whose restore ran in
    one transaction with every constraint) no mark without its meeting."""
    if is_sqlite(url):
        with closing(sqlite3.connect(make_url(url).database or "")) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        return
    [orphans] = sql(url, "SELECT count(*) FROM attendance a LEFT JOIN meeting m "
                         "ON m.id = a.meeting_id WHERE m.id IS NULL")
    assert orphans == [(0,)]


@pytest.fixture
def target_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database to restore into, of the same kind as ``db_url``, with no tables yet."""
    needs_pg_client(db_url)
    if is_sqlite(db_url):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'pendamping.db'}"
        return
    server = request.getfixturevalue("pg_server_url")
    url = create_pg_database(server)
    yield url
    drop_pg_database(server, url)


class Writer:
    """`python -m tests.write_load`: a real process committing meetings, marks and outbox
    rows without pause until it is stopped."""

    def __init__(self, url: str, kelompok: int, kpm: list[int], log: Path) -> None:
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.write_load", url, str(kelompok), *map(str, kpm)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        self.committed = 0

    def wait_for(self, commits: int) -> int:
        """Read its reports until it has committed ``commits`` transactions in all."""
        assert self.process.stdout is not None
        while self.committed < commits:
            line = self.process.stdout.readline()
            if not line:
                self.log.flush()
                pytest.fail(f"the writer stopped: {self.log.name}: "
                            f"{Path(self.log.name).read_text()[-2000:]}")
            self.committed = int(line)
        return self.committed

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def test_a_backup_taken_while_a_process_writes_restores_every_row_committed_before_it(
    db_url: str, target_url: str, tmp_path: Path
) -> None:
    kelompok, kpm = seed_world(db_url)
    folder = tmp_path / "backups"
    folder.mkdir()
    writer = Writer(db_url, kelompok, kpm, tmp_path / "writer.log")
    try:
        writer.wait_for(20)
        before = ids(db_url)  # every row committed before the backup began
        backed_up = invoke(db_url, "backup", str(folder))
        at_backup = writer.committed
        writer.wait_for(at_backup + 20)  # it went on writing: nothing was locked out
    finally:
        writer.stop()
    assert backed_up.exit_code == 0, backed_up.output
    after = ids(db_url)
    assert len(after["meeting"]) > len(before["meeting"])
    backup = only_file(folder)
    assert backup.suffix == (".db" if is_sqlite(db_url) else ".dump")
    assert said("cli.backup.done", path=backup, level=t(
        "cli.backup.level_same", level=migrate.head_revision())).search(flat(backed_up.output))

    restored = invoke(target_url, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert said("cli.restore.done", path=backup, level=migrate.head_revision()).search(
        flat(restored.output)
    )
    got = ids(target_url)
    for table in COUNTED:
        assert before[table] <= got[table] <= after[table], table
    # one moment's copy: each writer transaction is in it whole or not at all
    assert len(got["outbox"]) == len(got["meeting"]) - 1  # build_world's planned meeting
    assert len(got["attendance"]) == len(kpm) * len(got["outbox"])
    assert_sound(target_url)
    counts = t("cli.backup.table.attendance") + f" {len(got['attendance'])}"
    assert counts in flat(backed_up.output) and counts in flat(restored.output)
    assert sql(target_url, "SELECT version_num FROM alembic_version") == [
        [(migrate.head_revision(),)]
    ]
    outbox = invoke(target_url, "outbox")  # the restored queue, read through the code
    assert outbox.exit_code == 0, outbox.output
    assert f"whatsapp │ pending │ {len(got['outbox'])}" in outbox.output


PREVIOUS_LEVEL_ROWS = (
    "INSERT INTO region (id, level, name, name_key) VALUES (1, 'provinsi', 'Bali', 'bali')",
    "INSERT INTO region (id, level, name, name_key, parent_id) VALUES (2, 'desa', 'D', 'd', 1)",
    "INSERT INTO kelompok (id, name, name_key, desa_id, created_at) "
    "VALUES (1, 'Melati', 'melati', 2, '2026-11-01 00:00:00')",
    *(
        "INSERT INTO kpm (id, id_pkh, nik, nama_pengurus, preferred_channel, kelompok_id, "
        f"status, created_at, updated_at) VALUES ({n}, 'P{n}', '330201550880000{n}', 'K{n}', "
        "'whatsapp', 1, 'aktif', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
        for n in (1, 2)
    ),
    "INSERT INTO meeting (id, kelompok_id, meeting_date, starts_at, status, created_at, "
    "updated_at) VALUES (1, 1, '2026-11-10', '2026-11-10 02:00:00', 'held', "
    "'2026-11-01 00:00:00', '2026-11-01 00:00:00')",
    *(
        "INSERT INTO attendance (id, meeting_id, kpm_id, mark, recorded_at) "
        f"VALUES ({n}, 1, {n}, 'hadir', '2026-11-10 03:00:00')"
        for n in (1, 2)
    ),
)


def test_a_backup_made_at_the_previous_migration_is_upgraded_when_restored(
    empty_db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    needs_pg_client(empty_db_url)
    previous = migrate.previous_revision()

    async def at_previous_level() -> None:
        engine = create_engine(empty_db_url)
        try:
            await migrate.upgrade(engine, previous)
            async with engine.begin() as connection:
                for row in PREVIOUS_LEVEL_ROWS:
                    await connection.execute(text(row))
        finally:
            await engine.dispose()

    asyncio.run(at_previous_level())
    backup = tmp_path / ("old.db" if is_sqlite(empty_db_url) else "old.dump")
    backed_up = invoke(empty_db_url, "backup", str(backup))
    assert backed_up.exit_code == 0, backed_up.output
    assert t("cli.backup.level_older", level=previous, head=migrate.head_revision()) in flat(
        backed_up.output
    )
    if is_sqlite(empty_db_url):
        target = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    else:
        server = request.getfixturevalue("pg_server_url")
        target = create_pg_database(server)
        request.addfinalizer(lambda: drop_pg_database(server, target))

    # the target was set up by `init` (at the newest level, no data): it counts as empty,
    # and what the newest migration added is replaced by the backup's older schema
    assert invoke(target, "init").exit_code == 0
    restored = invoke(target, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert t("cli.restore.upgraded", old=previous, level=migrate.head_revision()) in flat(
        restored.output
    )
    [[(level,)], marks] = sql(target, "SELECT version_num FROM alembic_version",
                              "SELECT kpm_id, mark FROM attendance ORDER BY kpm_id")
    assert level == migrate.head_revision()
    assert marks == [(1, "hadir"), (2, "hadir")]
    # the upgraded database works: the export reads the restored marks through the code
    exported = tmp_path / "hadir.csv"
    export = invoke(target, "export", "attendance", "--out", str(exported),
                    "--from", "2026-11-01", "--to", "2026-11-30")
    assert export.exit_code == 0, export.output
    assert said("cli.export.written", rows=2).search(flat(export.output))


def test_restore_refuses_a_backup_from_a_newer_migration(
    db_url: str, target_url: str, tmp_path: Path
) -> None:
    head = migrate.head_revision()
    sql(db_url, "UPDATE alembic_version SET version_num = '9999_future'")
    try:
        backup = tmp_path / ("future.db" if is_sqlite(db_url) else "future.dump")
        backed_up = invoke(db_url, "backup", str(backup))
    finally:
        sql(db_url, f"UPDATE alembic_version SET version_num = '{head}'")
    assert backed_up.exit_code == 0, backed_up.output
    assert t("cli.backup.level_newer", level="9999_future", head=head) in flat(backed_up.output)

    refused = invoke(target_url, "restore", str(backup))
    assert refused.exit_code == 1
    assert t("cli.restore.newer", level="9999_future", head=head) in flat(refused.output)
    if is_sqlite(target_url):
        assert not Path(make_url(target_url).database or "").exists()
    else:
        [tables] = sql(target_url, "SELECT count(*) FROM information_schema.tables "
                                   "WHERE table_schema = 'public'")
        assert tables == [(0,)]


def test_restore_refuses_a_database_that_holds_data_unless_forced(
    db_url: str, tmp_path: Path
) -> None:
    needs_pg_client(db_url)
    seed_world(db_url)
    backup = tmp_path / ("b.db" if is_sqlite(db_url) else "b.dump")
    assert invoke(db_url, "backup", str(backup)).exit_code == 0
    sql(db_url, "INSERT INTO staff (role, name, name_key, active, created_at) "
                "VALUES ('pendamping', 'Later Added', 'later added', true, '2026-12-01')")

    refused = invoke(db_url, "restore", str(backup))
    assert refused.exit_code == 1
    assert said("cli.restore.has_data").search(flat(refused.output))
    assert sql(db_url, "SELECT count(*) FROM staff WHERE name_key = 'later added'") == [[(1,)]]

    forced = invoke(db_url, "restore", str(backup), "--force")
    assert forced.exit_code == 0, forced.output
    assert sql(db_url, "SELECT count(*) FROM staff WHERE name_key = 'later added'") == [[(0,)]]
    assert sql(db_url, "SELECT count(*) FROM kpm") == [[(17,)]]
    assert_sound(db_url)


def test_keep_deletes_only_the_older_backups_this_command_named(
    db_url: str, tmp_path: Path
) -> None:
    needs_pg_client(db_url)
    suffix = ".db" if is_sqlite(db_url) else ".dump"
    folder = tmp_path / "nightly"
    folder.mkdir()
    foreign = [
        folder / "notes.txt",
        folder / f"pendamping-20200101T000000Z{suffix}",  # our kind of name, not our content
        folder / f"before-upgrade{suffix}",
    ]
    for path in foreign:
        path.write_text("kept by hand")
    for day in (1, 2, 3):
        with time_machine.travel(datetime(2026, 12, day, 19, 0, tzinfo=UTC), tick=True):
            result = invoke(db_url, "backup", str(folder), "--keep", "2")
        assert result.exit_code == 0, result.output
    assert said("cli.backup.pruned", count=1, keep=2).search(flat(result.output))
    made = sorted(path for path in folder.iterdir() if path not in foreign)
    assert [path.name[:len("pendamping-20261201T19")] for path in made] == [
        "pendamping-20261202T19", "pendamping-20261203T19"
    ]
    assert all(path.exists() for path in foreign)

    named = invoke(db_url, "backup", str(tmp_path / f"one{suffix}"), "--keep", "2")
    assert named.exit_code == 1
    assert t("cli.backup.keep_needs_folder") in flat(named.output)
    nowhere = invoke(db_url, "backup", f"{tmp_path / 'nowhere'}/")  # a folder not made yet
    assert nowhere.exit_code == 1
    assert said("cli.backup.no_folder", path=tmp_path / "nowhere").search(flat(nowhere.output))
    assert not (tmp_path / "nowhere").exists()
    again = invoke(db_url, "backup", str(made[1]))
    assert again.exit_code == 1
    assert said("cli.backup.exists", path=made[1]).search(flat(again.output))


@pytest.mark.postgres
def test_a_postgresql_backup_without_pg_dump_on_the_path_says_so_and_leaves_no_file(
    _pg_migrated: str, tmp_path: Path
) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    folder = tmp_path / "backups"
    folder.mkdir()
    result = invoke(_pg_migrated, "backup", str(folder), env={"PATH": str(empty_path)})
    assert result.exit_code == 1
    assert t("cli.backup.no_client", program="pg_dump") in flat(result.output)
    assert list(folder.iterdir()) == []


def test_a_sqlite_restore_is_refused_while_the_bot_serves_the_database(tmp_path: Path) -> None:
    database = tmp_path / "var" / "pendamping.db"
    url = f"sqlite+aiosqlite:///{database}"
    assert invoke(url, "init").exit_code == 0
    backup = tmp_path / "b.db"
    assert invoke(url, "backup", str(backup)).exit_code == 0
    with serving_alone(url, "run"):  # as `pendamping run` holds it
        refused = invoke(url, "restore", str(backup), "--force")
    assert refused.exit_code == 1
    assert said("cli.already_served", database=database).search(flat(refused.output))
    assert invoke(url, "restore", str(backup), "--force").exit_code == 0
