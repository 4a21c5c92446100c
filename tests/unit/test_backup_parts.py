"""The parts of backup and restore that need no database: how the PostgreSQL clients are
told where to connect, which settings files hold a secret, which names --keep may delete."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from bot.backup_command import OWN_NAME
from bot.file_modes import holds_secret, secret_keys
from models.db.pg_backup import _copied_level, libpq_environment


def test_the_connection_goes_to_pg_dump_in_libpq_variables_with_the_password() -> None:
    url = make_url("postgresql+asyncpg://pkh:s3cret@db.local:6543/pendamping?ssl=require")
    assert libpq_environment(url) == {
        "PGHOST": "db.local",
        "PGPORT": "6543",
        "PGUSER": "pkh",
        "PGPASSWORD": "s3cret",
        "PGDATABASE": "pendamping",
        "PGSSLMODE": "require",
    }


def test_a_unix_socket_url_names_its_folder_as_the_host() -> None:
    url = make_url("postgresql+asyncpg://pkh@/pendamping?host=/var/run/postgresql")
    assert libpq_environment(url) == {
        "PGHOST": "/var/run/postgresql",
        "PGUSER": "pkh",
        "PGDATABASE": "pendamping",
    }


def test_the_migration_level_is_read_from_the_dumps_copy_of_alembic_version() -> None:
    script = ["SET x = 0;", "COPY public.alembic_version (version_num) FROM stdin;", "0016",
              "\\.", ""]
    assert _copied_level(script) == "0016"
    assert _copied_level(["COPY public.alembic_version (version_num) FROM stdin;", "\\."]) is None


def test_tokens_keys_and_a_database_password_are_secrets_of_a_settings_file(
    tmp_path: Path,
) -> None:
    assert {"token", "webhook_secret"} <= secret_keys()["telegram"]
    assert "auth_token" in secret_keys()["twilio"]
    config = tmp_path / "c.toml"
    for body, secret in (
        ('[telegram]\ntoken = "123:abc"\n', True),
        ('[twilio]\nauth_token = ""\n', False),
        ('[database]\nurl = "postgresql+asyncpg://pkh:pw@localhost/pkh"\n', True),
        ('[database]\nurl = "postgresql+asyncpg://pkh@localhost/pkh"\n', False),
        ('[general]\nlocale = "en"\n', False),
        ("not toml [", False),
    ):
        config.write_text(body)
        assert holds_secret(config) is secret, body


def test_keep_deletes_only_names_this_command_gives() -> None:
    assert OWN_NAME.match("pendamping-20261130T190000Z.db")
    assert OWN_NAME.match("pendamping-20261130T190000Z.dump")
    for name in ("pendamping.db", "pendamping-20261130.db", "x-pendamping-20261130T190000Z.db",
                 "pendamping-20261130T190000Z.db.part", ".pendamping-20261130T190000Z.db.x"):
        assert not OWN_NAME.match(name), name
