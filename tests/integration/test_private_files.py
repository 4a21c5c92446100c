"""Files only the service can read: under a permissive umask (0, so that nothing is taken
away by it) the SQLite database, its -wal and -shm, the data folder, backups, exports, a
digest saved with --out and a roster's rejected rows are created 0600 (folders 0700);
`doctor` warns when the database or a settings file holding a secret is open to others."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli import cli
from models.db import create_engine
from tests.cli_text import flat, t

ROSTER = Path(__file__).resolve().parents[1] / "fixtures" / "roster" / "roster_semicolon_bom.csv"


def invoke(db_url: str, *args: str):
    env = {"PENDAMPING_DATABASE_URL": db_url, "PENDAMPING_CONFIG": "", "COLUMNS": "250"}
    return CliRunner().invoke(cli, list(args), env=env)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    before = os.umask(0)
    yield
    os.umask(before)


def test_the_database_its_wal_and_the_data_folder_are_private_whatever_the_umask(
    tmp_path: Path, permissive_umask: None
) -> None:
    database = tmp_path / "srv" / "var" / "pendamping.db"
    url = f"sqlite+aiosqlite:///{database}"
    result = invoke(url, "init")
    assert result.exit_code == 0, result.output
    assert mode(database) == 0o600
    assert mode(database.parent) == 0o700 and mode(database.parent.parent) == 0o700

    async def while_open() -> dict[str, int]:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DELETE FROM invite"))
                return {
                    suffix: mode(database.with_name(database.name + suffix))
                    for suffix in ("-wal", "-shm")
                }
        finally:
            await engine.dispose()

    assert asyncio.run(while_open()) == {"-wal": 0o600, "-shm": 0o600}


def test_backups_exports_digests_and_rejected_rows_are_written_0600(
    tmp_path: Path, permissive_umask: None
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'pendamping.db'}"
    assert invoke(url, "init", "--demo").exit_code == 0
    backups = tmp_path / "backups"
    backups.mkdir()
    assert invoke(url, "backup", str(backups)).exit_code == 0
    [backup] = backups.iterdir()
    assert mode(backup) == 0o600
    for name in ("hadir.xlsx", "kasus.csv"):
        kind = "attendance" if name.endswith("xlsx") else "cases"
        exported = invoke(url, "export", kind, "--out", str(tmp_path / name))
        assert exported.exit_code == 0, exported.output
        assert mode(tmp_path / name) == 0o600
    digest_folder = tmp_path / "digest"
    digest_folder.mkdir()
    digest = invoke(url, "digest", "--dry-run", "--out", str(digest_folder))
    assert digest.exit_code == 0, digest.output
    saved = list(digest_folder.iterdir())
    assert saved and {mode(path) for path in saved} == {0o600}
    header, first = ROSTER.read_text(encoding="utf-8-sig").splitlines()[:2]
    roster = tmp_path / "roster.csv"
    roster.write_text(f"{header}\n{first.replace('3302011501800001', '123')}\n")
    rejects = tmp_path / "ditolak.csv"
    imported = invoke(url, "import-roster", str(roster), "--rejects", str(rejects))
    assert imported.exit_code == 0, imported.output
    assert mode(rejects) == 0o600


def doctor_line(result_output: str) -> str:
    lines = [line for line in result_output.splitlines() if t("cli.doctor.file_modes") in line]
    assert len(lines) == 1, result_output
    return flat(lines[0])


def test_doctor_warns_when_the_database_or_a_settings_file_with_a_secret_is_open_to_others(
    tmp_path: Path,
) -> None:
    database = tmp_path / "pendamping.db"
    url = f"sqlite+aiosqlite:///{database}"
    assert invoke(url, "init").exit_code == 0
    os.chmod(database, 0o644)
    warned = invoke(url, "doctor")
    line = doctor_line(warned.output)
    assert t("cli.doctor.warn") in line and f"{database} (0644)" in line
    assert warned.exit_code == 0  # a warning, as the other findings that need a person

    os.chmod(database, 0o600)
    assert t("cli.doctor.ok") in doctor_line(invoke(url, "doctor").output)

    config = tmp_path / "pendamping.toml"
    config.write_text('[web]\nmedia_url_secret = "a-long-secret-for-signed-urls"\n')
    os.chmod(config, 0o640)
    env = {"PENDAMPING_DATABASE_URL": url, "COLUMNS": "250"}
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"], env=env)
    line = doctor_line(result.output)
    assert t("cli.doctor.warn") in line and f"{config} (0640)" in line
    assert "a-long-secret" not in result.output

    config.write_text('[general]\nlocale = "id"\n')  # no secret in it: its mode is its own
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"], env=env)
    assert t("cli.doctor.ok") in doctor_line(result.output)
