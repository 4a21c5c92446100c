"""The settings loader: defaults, file, environment, and every way it refuses."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, Settings, load_settings
from models.messaging.templates import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_no_file_and_no_environment_gives_the_demo_defaults() -> None:
    loaded = load_settings(environ={})
    assert loaded.source is None
    assert loaded.settings.database.url == "sqlite+aiosqlite:///./var/pendamping.db"
    assert loaded.settings.scheduler.reminder_offsets_days == [3, 1]
    assert loaded.settings.telegram.configured is False


def test_the_example_file_loads_and_equals_the_defaults() -> None:
    loaded = load_settings(ROOT / "config.example.toml", environ={})
    assert loaded.settings == Settings()


def test_the_example_file_documents_every_key() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    for section_name, section_field in Settings.model_fields.items():
        assert f"[{section_name}]" in text, section_name
        section = section_field.annotation
        assert isinstance(section, type) and issubclass(section, BaseModel)
        for key in section.model_fields:
            documented = re.search(rf"^#? ?{key} = |^\[{section_name}\.{key}[\].]", text, re.M)
            assert documented, f"{section_name}.{key} is not in config.example.toml"


def test_the_file_named_by_pendamping_config_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, '[general]\ntimezone = "Asia/Makassar"\n')
    loaded = load_settings(environ={"PENDAMPING_CONFIG": str(path)})
    assert loaded.source == path
    assert loaded.settings.general.timezone == "Asia/Makassar"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite+aiosqlite:///a.db"\n')
    loaded = load_settings(
        path,
        environ={
            "PENDAMPING_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "PENDAMPING_SCHEDULER_REMINDER_OFFSETS_DAYS": "[7, 1]",
            "PENDAMPING_TELEGRAM_TOKEN": "123:secret-token",
        },
    )
    settings = loaded.settings
    assert settings.database.url == "postgresql+asyncpg://u@h/db"
    assert settings.scheduler.reminder_offsets_days == [7, 1]
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123:secret-token"


def test_secrets_are_masked_in_repr_and_str() -> None:
    settings = load_settings(
        environ={
            "PENDAMPING_TELEGRAM_TOKEN": "123:secret-token",
            "PENDAMPING_TWILIO_AUTH_TOKEN": "twilio-secret",
        }
    ).settings
    for shown in (repr(settings), str(settings), repr(settings.twilio), str(settings.telegram)):
        assert "secret-token" not in shown
        assert "twilio-secret" not in shown


def test_settings_are_frozen() -> None:
    settings = load_settings(environ={}).settings
    with pytest.raises(Exception, match="frozen"):
        settings.general.locale = "en"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[telegram]\nmode = "hook"\n',
            "telegram.mode in {file}: expected 'polling' or 'webhook', got 'hook'",
        ),
        (
            '[database]\npool_size = "many"\n',
            "database.pool_size in {file}: expected a valid integer",
        ),
        ('[database]\nurl = "mysql://x"\n', "database.url in {file}: expected a URL starting with"),
        ("[unknown]\na = 1\n", "unknown in {file}: unknown key"),
        ('[general]\ncolour = "blue"\n', "general.colour in {file}: unknown key"),
        ('[general]\ntimezone = "Mars/Base"\n', "general.timezone in {file}: expected an IANA"),
        (
            "[scheduler]\nreminder_offsets_days = [3, -1]\n",
            "scheduler.reminder_offsets_days in {file}: expected whole days",
        ),
        ('[scheduler]\nreminder_time = "25:00"\n', "scheduler.reminder_time in {file}"),
        ('[twilio]\naccount_sid = "XX1"\n', "twilio.account_sid in {file}"),
        (
            '[twilio.templates]\nreminder_kpm = "abc"\n',
            "twilio.templates in {file}: expected a Content SID like 'HX' + 32 hex digits "
            "for 'reminder_kpm'",
        ),
        (
            "[reporting.indicators.x]\nweight = 1\n",
            "reporting.indicators.x.label in {file}: required key is missing",
        ),
        (
            "[programme.komponen.x]\nlabel = 'X'\nends_at_age = -3\n",
            "programme.komponen.x.ends_at_age in {file}",
        ),
    ],
)
def test_a_bad_value_names_the_key_the_file_and_what_was_expected(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("config error: ")
    assert expected.format(file=path) in message


@pytest.mark.parametrize("name", ["meeting_reminder", "weekly_digest"])
def test_a_template_keyed_by_an_outbox_kind_is_refused_naming_it(
    tmp_path: Path, name: str
) -> None:
    """[twilio.templates] is keyed by template name (reminder_kpm), no longer by the kind
    of outbox message (meeting_reminder): an old key is an error, not a template ignored."""
    path = write(tmp_path, f'[twilio.templates]\n{name} = "HX{"a" * 32}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"config error: twilio.templates in {path}: ")
    assert f"expected one of the template names, not {name!r}: " in message
    assert TEMPLATES["reminder.kpm"].name in message  # the names it could have been
    good = write(tmp_path, f'[twilio.templates]\nreminder_kpm = "HX{"a" * 32}"\n')
    loaded = load_settings(good, environ={}).settings
    assert loaded.twilio.templates == {"reminder_kpm": "HX" + "a" * 32}


def test_a_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="environment variable PENDAMPING_TELEGRAM_MODE"):
        load_settings(environ={"PENDAMPING_TELEGRAM_MODE": "carrier-pigeon"})


def test_an_unknown_environment_variable_is_refused() -> None:
    with pytest.raises(ConfigError, match="PENDAMPING_TELEGRAM_TOKN is not a known setting"):
        load_settings(environ={"PENDAMPING_TELEGRAM_TOKN": "x"})


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"file .*nope\.toml does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "this is = = not toml")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(path, environ={})


def test_reminder_offsets_are_deduplicated_and_sorted_latest_first(tmp_path: Path) -> None:
    path = write(tmp_path, "[scheduler]\nreminder_offsets_days = [1, 3, 1, 7]\n")
    assert load_settings(path, environ={}).settings.scheduler.reminder_offsets_days == [7, 3, 1]


def test_graduation_indicators_can_be_replaced_in_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "[reporting.indicators.punya_tabungan]\nlabel = 'Tabungan'\nweight = 2\n"
    )
    indicators = load_settings(path, environ={}).settings.reporting.indicators
    assert set(indicators) == {"punya_tabungan"}
    assert (
        tomllib.loads(path.read_text())["reporting"]["indicators"]["punya_tabungan"]["weight"] == 2
    )
