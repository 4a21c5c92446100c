"""Upgrade the database to the newest migration, and read its current level."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicError
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True)
class MigrationLevel:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


class Compared(StrEnum):
    """A migration level found in a backup, against this code's newest."""

    SAME = "same"
    OLDER = "older"  # restored, then upgraded
    NEWER = "newer"  # unknown to this code: made by a newer release
    NONE = "none"  # no level at all: not a database of ours


def compare(revision: str | None) -> Compared:
    """Where ``revision`` stands against this code's migrations."""
    if revision is None:
        return Compared.NONE
    if revision == head_revision():
        return Compared.SAME
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except AlembicError:
        return Compared.NEWER
    return Compared.OLDER if known is not None else Compared.NEWER


def previous_revision(revision: str | None = None) -> str:
    """The level just before ``revision`` (default: the newest)."""
    script = ScriptDirectory.from_config(alembic_config()).get_revision(
        revision or head_revision()
    )
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_level(engine: AsyncEngine) -> MigrationLevel:
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    return MigrationLevel(current=current, head=head_revision())


async def _run(engine: AsyncEngine, action: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> MigrationLevel:
    """Create or upgrade the schema; a database already at ``revision`` is left as it is."""
    await _run(engine, "upgrade", revision)
    return await current_level(engine)


async def downgrade(engine: AsyncEngine, revision: str) -> MigrationLevel:
    await _run(engine, "downgrade", revision)
    return await current_level(engine)
