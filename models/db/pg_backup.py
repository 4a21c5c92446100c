"""PostgreSQL backups with the operator's own ``pg_dump`` and ``pg_restore`` (found on
PATH), their checks, and what a restore needs to know about its target.

The connection goes to the client programs through libpq's environment variables
(``PGHOST``, ``PGUSER``, ``PGPASSWORD``...), never on their command line, where every
local user could read it in the process list. ``pg_dump`` runs inside a snapshot that this
module exports from a REPEATABLE READ transaction, and counts the main tables in that same
snapshot: the counts are those of the dump, whatever the bot writes meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MAGIC = b"PGDMP"
SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ")
TABLE_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")
COPY_LEVEL = re.compile(r"^COPY \S*alembic_version \(version_num\) FROM stdin;$")


class ClientMissing(Exception):
    """``pg_dump`` or ``pg_restore`` is not on PATH."""

    def __init__(self, program: str) -> None:
        super().__init__(program)
        self.program = program


class ClientFailed(Exception):
    """A client program ended with an error; ``reason`` is the last line it wrote."""

    def __init__(self, program: str, reason: str) -> None:
        super().__init__(f"{program}: {reason}")
        self.program = program
        self.reason = reason


@dataclass(frozen=True)
class Dumped:
    """What a dump holds: its migration level, the tables it has data for, and (for a
    dump just made) the rows of the main tables in its snapshot."""

    level: str | None
    tables: frozenset[str]
    """The tables it creates."""
    data: frozenset[str] = frozenset()
    """The tables it has rows for (every table of a dump made with data, even empty)."""
    counts: dict[str, int] = field(default_factory=dict)


def libpq_environment(url: URL) -> dict[str, str]:
    """The libpq variables that name the database of a ``postgresql+asyncpg`` URL."""
    query = {key: value if isinstance(value, str) else value[0] for key, value in
             url.query.items()}
    found = {
        "PGHOST": url.host or query.get("host"),
        "PGPORT": str(url.port) if url.port else query.get("port"),
        "PGUSER": url.username or query.get("user"),
        "PGPASSWORD": url.password or query.get("password"),
        "PGDATABASE": url.database or query.get("database"),
    }
    ssl = query.get("sslmode") or query.get("ssl")
    if ssl in SSL_MODES:
        found["PGSSLMODE"] = ssl
    return {name: str(value) for name, value in found.items() if value}


def client(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise ClientMissing(program)
    return found


async def run_client(program: str, arguments: Sequence[str], url: URL) -> str:
    """Run ``program`` with the connection in its environment; its standard output."""
    process = await asyncio.create_subprocess_exec(
        client(program),
        "--no-password",  # never wait for a prompt (a cron job has no one to answer)
        *arguments,
        env={**os.environ, **libpq_environment(url)},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate()
    if process.returncode != 0:
        lines = [line for line in errors.decode(errors="replace").splitlines() if line.strip()]
        raise ClientFailed(program, lines[-1] if lines else f"exit code {process.returncode}")
    return output.decode(errors="replace")


async def dump(engine: AsyncEngine, url: URL, target: Path, tables: Iterable[str]) -> Dumped:
    """``pg_dump --format=custom`` of the database into ``target`` (an existing ``0600``
    file, which keeps its mode), in a snapshot whose main tables are counted here."""
    client("pg_dump")  # before any work: say at once that it is missing
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        snapshot = await connection.scalar(text("SELECT pg_export_snapshot()"))
        present = await _tables(connection)
        counts = {
            table: int(await connection.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)
            for table in tables
            if table in present
        }
        level = None
        if "alembic_version" in present:
            level = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        await run_client(
            "pg_dump", ["--format=custom", f"--snapshot={snapshot}", f"--file={target}"], url
        )
        await connection.rollback()
    return Dumped(level=level, tables=frozenset(present), counts=counts)


async def read_dump(path: Path, url: URL) -> Dumped:
    """The tables with data (``pg_restore --list``) and the migration level of a dump."""
    listing = (await run_client("pg_restore", ["--list", str(path)], url)).splitlines()
    tables = frozenset(match.group(2) for line in listing if (match := TABLE.match(line)))
    data = frozenset(match.group(2) for line in listing if (match := TABLE_DATA.match(line)))
    level = None
    if "alembic_version" in data:
        script = await run_client(
            "pg_restore", ["--data-only", "--table=alembic_version", "--file=-", str(path)], url
        )
        level = _copied_level(script.splitlines())
    return Dumped(level=level, tables=tables, data=data)


def _copied_level(lines: list[str]) -> str | None:
    for number, line in enumerate(lines):
        if COPY_LEVEL.match(line) and number + 1 < len(lines) and lines[number + 1] != "\\.":
            return lines[number + 1].strip()
    return None


def is_dump_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


async def _tables(connection: AsyncConnection) -> set[str]:
    rows = await connection.execute(
        text(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    )
    return {row[0] for row in rows}


async def has_data(engine: AsyncEngine) -> bool:
    """True when any table besides the migration level holds a row."""
    async with engine.connect() as connection:
        for table in sorted(await _tables(connection) - {"alembic_version"}):
            if await connection.scalar(text(f'SELECT 1 FROM "{table}" LIMIT 1')):
                return True
    return False


async def drop_tables_not_in(engine: AsyncEngine, kept: frozenset[str]) -> list[str]:
    """Drop the tables of the target that the dump does not have (a later migration's),
    which ``pg_restore --clean`` would leave behind for the upgrade to trip over."""
    async with engine.begin() as connection:
        extra = sorted(await _tables(connection) - kept)
        for table in extra:
            await connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    return extra


async def count(engine: AsyncEngine, tables: Iterable[str]) -> dict[str, int]:
    async with engine.connect() as connection:
        present = await _tables(connection)
        return {
            table: int(await connection.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)
            for table in tables
            if table in present
        }


async def restore(path: Path, url: URL) -> None:
    """``pg_restore --clean --if-exists --no-owner`` into the database, as one transaction:
    a failure leaves the target as it was."""
    await run_client(
        "pg_restore",
        ["--clean", "--if-exists", "--no-owner", "--single-transaction",
         f"--dbname={url.database}", str(path)],
        url,
    )
