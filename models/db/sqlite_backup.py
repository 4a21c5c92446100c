"""SQLite backups while the bot runs, their checks, and restoring one into place.

The copy is made through the standard ``sqlite3`` module's online backup API on a plain
connection of its own (not the application's engine), in one step: the whole copy is read
in one read transaction, so it is the database as it was at one moment, with whatever the
``-wal`` file held then. In WAL mode readers do not block writers, so the bot keeps
writing meanwhile; what it commits after the copy began is not in it. The copy is then
switched out of WAL mode so that it is one self-contained file.

These functions block: the command line runs them in a thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from models.private_files import create_private_file, private_folder, tighten_sqlite_sidecars

MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30.0
"""How long the copy waits for a lock (a checkpoint, a restore's write lock)."""


@dataclass(frozen=True)
class Checked:
    """What a SQLite file holds, as read from the file itself."""

    integrity: list[str]
    """``PRAGMA integrity_check``'s findings: ``["ok"]`` when sound."""
    level: str | None
    """The Alembic revision in ``alembic_version``; None without one."""
    counts: dict[str, int] = field(default_factory=dict)
    """Rows per table, for the tables asked for that the file has."""

    @property
    def sound(self) -> bool:
        return self.integrity == ["ok"]


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _open(path: Path, *, live: bool, writes: bool = False) -> sqlite3.Connection:
    """A plain connection to an existing file (never creates one by mistake). A ``live``
    database (WAL mode, perhaps in use) is opened read-write, as WAL readers must be able
    to set up the ``-shm`` file, and made read-only by pragma unless it ``writes``; a
    backup file (one file, no WAL) is opened read-only."""
    connection = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode={'rw' if live else 'ro'}",
        uri=True,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,
    )
    if not writes:
        connection.execute("PRAGMA query_only=ON")
    return connection


def copy_database(source: Path, target: Path) -> None:
    """Copy the live database ``source`` into the new file ``target`` (made ``0600``)."""
    create_private_file(target)
    with closing(_open(source, live=True)) as live, closing(
        sqlite3.connect(target, isolation_level=None)
    ) as copy:
        live.backup(copy)  # pages=-1: one step, one read transaction, a consistent copy
        copy.execute("PRAGMA journal_mode=DELETE").close()


def check(path: Path, tables: Iterable[str], *, live: bool = False) -> Checked:
    """Integrity, migration level and row counts of the SQLite file ``path`` (a backup,
    or with ``live`` a database in WAL mode)."""
    with closing(_open(path, live=live)) as connection:
        integrity = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        present = _tables(connection)
        level = None
        if "alembic_version" in present:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            level = row[0] if row else None
        counts = {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in tables
            if table in present
        }
    return Checked(integrity=integrity, level=level, counts=counts)


def _tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return {row[0] for row in rows}


def has_data(path: Path) -> bool:
    """True when the database at ``path`` holds any row besides its migration level (a
    database that `pendamping init` only created counts as empty)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with closing(_open(path, live=True)) as connection:
        for table in sorted(_tables(connection) - {"alembic_version"}):
            if connection.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
                return True
    return False


def restore_database(backup: Path, target: Path) -> None:
    """Replace the whole content of ``target`` (made ``0600`` if new) by the backup's.

    The copy goes through the backup API into the target, as one write transaction of
    the target's own: a target in WAL mode stays so, its old ``-wal`` is not replayed
    over the new content, and a crash half-way leaves the target as it was. Nothing else
    may write to the target meanwhile (the command holds the serving lock)."""
    private_folder(target.parent)
    create_private_file(target)
    with closing(_open(backup, live=False)) as source, closing(
        _open(target, live=True, writes=True)
    ) as destination:
        source.backup(destination)
    tighten_sqlite_sidecars(target)
