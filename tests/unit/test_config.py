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
        tmp_path,
        "[reporting]\ngraduation_gates = ['mau']\n"
        "[reporting.indicators.punya_tabungan]\nlabel = 'Tabungan'\nweight = 2\n"
        "[reporting.indicators.mau]\nlabel = 'Bersedia'\nweight = 0\n",
    )
    reporting = load_settings(path, environ={}).settings.reporting
    assert set(reporting.indicators) == {"punya_tabungan", "mau"}
    assert reporting.graduation_gates == ["mau"]
    assert (
        tomllib.loads(path.read_text())["reporting"]["indicators"]["punya_tabungan"]["weight"] == 2
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "[reporting.indicators.bansos_komplementer]\nlabel = 'Menerima bansos'\nweight = 1\n",
            "reporting.indicators in {file}: expected no 'bansos_komplementer' indicator: "
            "complementary programmes are recorded per family now "
            "([reporting.complementary_programmes]); remove "
            "[reporting.indicators.bansos_komplementer]",
        ),
        (
            "[reporting.indicators.punya_tabungan]\nlabel = 'Tabungan'\nweight = 2\n",
            "reporting.graduation_gates in {file}: expected keys of [reporting.indicators]; "
            "['bersedia'] are not (known: ['punya_tabungan']); graduation_gates = [] for none",
        ),
        (
            "[reporting]\ngraduation_gates = ['mampu']\n",
            "reporting.graduation_gates in {file}: expected keys of [reporting.indicators]; "
            "['mampu'] are not",
        ),
        (
            "[reporting.graduation_stages.siap]\nlabel = 'Siap'\nwhen = 'ready'\n",
            "reporting.graduation_stages in {file}: expected the first stage, and only it, "
            "with when = 'always'",
        ),
        (
            "[reporting.graduation_stages.awal]\nlabel = 'Awal'\nwhen = 'always'\n",
            "reporting.graduation_stages in {file}: expected exactly one stage with "
            "when = 'ready' (siap)",
        ),
        (
            "[reporting.graduation_stages.awal]\nlabel = 'Awal'\nwhen = 'always'\n"
            "[reporting.graduation_stages.lulus]\nlabel = 'Lulus'\nwhen = 'graduated'\n"
            "[reporting.graduation_stages.siap]\nlabel = 'Siap'\nwhen = 'ready'\n",
            "reporting.graduation_stages in {file}: expected at most one stage with "
            "when = 'graduated', the last",
        ),
        (
            "[reporting.graduation_stages.awal]\nlabel = 'Awal'\nwhen = 'always'\n"
            "[reporting.graduation_stages.siap]\nlabel = 'Siap'\nwhen = 'ready'\n"
            "min_score = 5\n",
            "reporting.graduation_stages in {file}: expected min_score only on a stage with "
            "when = 'score', not on 'siap'",
        ),
        (
            "[reporting.graduation_stages.awal]\nlabel = 'Awal'\nwhen = 'sometimes'\n",
            "reporting.graduation_stages.awal.when in {file}: expected 'always', 'score', "
            "'ready' or 'graduated'",
        ),
        (
            "[reporting.complementary_programmes.KIS]\nlabel = 'KIS'\n",
            "reporting.complementary_programmes in {file}: expected keys are lower-case words",
        ),
        (
            "[reporting.complementary_programmes.kis]\nlabel = 'KIS'\naliases = ['kartu']\n"
            "[reporting.complementary_programmes.kks]\nlabel = 'KKS'\naliases = ['kartu']\n",
            "reporting.complementary_programmes in {file}: expected alias 'kartu' given to "
            "both 'kis' and 'kks'",
        ),
        (
            "[reporting.complementary_programmes.kis]\nlabel = 'KIS'\naliases = ['K I S!']\n",
            "reporting.complementary_programmes.kis.aliases in {file}: expected lower-case words",
        ),
        (
            "[reporting]\nadvocacy_weekday = 'monday'\n",
            "reporting.advocacy_weekday in {file}: expected 'mon', 'tue'",
        ),
    ],
)
def test_a_bad_graduation_setting_names_the_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert expected.format(file=path) in message


def test_stages_gates_and_programmes_can_be_configured(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[reporting]\ngraduation_gates = []\nadvocacy_weekday = 'off'\n"
        "[reporting.graduation_stages.awal]\nlabel = 'Awal'\nwhen = 'always'\n"
        "[reporting.graduation_stages.tumbuh]\nlabel = 'Tumbuh'\nwhen = 'score'\n"
        "min_score = 4\n"
        "[reporting.graduation_stages.siap]\nlabel = 'Siap'\nwhen = 'ready'\n"
        "[reporting.complementary_programmes.pkh_plus]\nlabel = 'PKH Plus'\n",
    )
    reporting = load_settings(path, environ={}).settings.reporting
    assert reporting.graduation_gates == []
    assert list(reporting.graduation_stages) == ["awal", "tumbuh", "siap"]
    assert reporting.graduation_stages["tumbuh"].min_score == 4
    assert list(reporting.complementary_programmes) == ["pkh_plus"]
    gates = load_settings(
        environ={"PENDAMPING_REPORTING_GRADUATION_GATES": '["anak_sekolah", "bersedia"]'}
    )
    assert gates.settings.reporting.graduation_gates == ["anak_sekolah", "bersedia"]


def test_anak_sma_is_covered_up_to_the_21st_birthday_by_default() -> None:
    from datetime import date

    from models.rules.komponen import KomponenCatalog

    komponen = Settings().programme.komponen
    assert komponen["anak_sma"].ends_at_age == 21
    catalog = KomponenCatalog.from_mapping({k: v.model_dump() for k, v in komponen.items()})
    assert catalog["anak_sma"].end_date(date(2008, 5, 20)) == date(2029, 5, 20)


def test_the_p2k2_curriculum_defaults_to_today_s_modules_and_titles() -> None:
    modules = Settings().programme.p2k2.modules
    assert [m.number for m in modules] == [1, 2, 3, 4, 5]
    gizi = modules[2]
    assert gizi.title == "Kesehatan dan Gizi"
    assert [(s.number, s.title) for s in gizi.sessions] == [
        (8, "Pentingnya Gizi dan Layanan Kesehatan Ibu Hamil"),
        (9, "Pentingnya Gizi Ibu Menyusui dan Balita"),
        (10, "Kesakitan pada Anak dan Kesehatan Lingkungan"),
    ]
    numbers = [s.number for m in modules for s in m.sessions]
    assert numbers == list(range(1, 15))
    assert not any("lanjutan" in s.title for m in modules for s in m.sessions)


def test_p2k2_modules_can_be_replaced_in_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[[programme.p2k2.modules]]\nnumber = 1\ntitle = 'Pengasuhan'\n"
        "sessions = [{number = 1, title = 'Menjadi Orangtua'}, {number = 2, title = 'Anak'}]\n"
        "[[programme.p2k2.modules]]\nnumber = 2\ntitle = 'Keuangan'\n"
        "sessions = [{number = 3, title = 'Mengelola Keuangan Keluarga'}]\n",
    )
    modules = load_settings(path, environ={}).settings.programme.p2k2.modules
    assert [(m.number, [s.number for s in m.sessions]) for m in modules] == [(1, [1, 2]), (2, [3])]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "[[programme.p2k2.modules]]\nnumber = 1\ntitle = 'A'\n"
            "sessions = [{number = 1, title = 'Satu'}, {number = 3, title = 'Tiga'}]\n",
            "programme.p2k2.modules in {file}: expected sessions numbered 1, 2, 3... across "
            "the modules in order; module 1 has session 3 where 2 comes next",
        ),
        (
            "[[programme.p2k2.modules]]\nnumber = 1\ntitle = 'A'\n"
            "sessions = [{number = 1, title = 'Satu'}]\n"
            "[[programme.p2k2.modules]]\nnumber = 1\ntitle = 'B'\n"
            "sessions = [{number = 2, title = 'Dua'}]\n",
            "programme.p2k2.modules in {file}: expected module numbers used once each",
        ),
        (
            "[[programme.p2k2.modules]]\nnumber = 1\ntitle = 'A'\nsessions = []\n",
            "programme.p2k2.modules.0.sessions in {file}",
        ),
        (
            "[[programme.p2k2.modules]]\nnumber = 1\ntitle = 'A'\n"
            "sessions = [{number = 1}]\n",
            "programme.p2k2.modules.0.sessions.0.title in {file}: required key is missing",
        ),
        ("[programme.p2k2]\nmodules = []\n", "programme.p2k2.modules in {file}"),
        (
            "[[programme.holidays.regional]]\nregion = 'Banyumas'\nname = 'Hari Jadi'\n"
            "month_day = '04-06'\n",
            "programme.holidays.regional.0.region in {file}: expected a Kemendagri region code",
        ),
        (
            "[[programme.holidays.regional]]\nregion = '33.02'\nname = 'Hari Jadi'\n"
            "month_day = '02-30'\n",
            "programme.holidays.regional.0.month_day in {file}: expected a day of the year "
            "as MM-DD",
        ),
        (
            "[[programme.holidays.regional]]\nregion = '33.02'\nname = 'Hari Jadi'\n",
            "programme.holidays.regional.0 in {file}: expected either date (one day) or "
            "month_day (every year)",
        ),
        (
            "[[programme.holidays.regional]]\nregion = '33.02'\nname = 'Hari Jadi'\n"
            "date = 2026-04-06\nmonth_day = '04-06'\n",
            "programme.holidays.regional.0 in {file}: expected either date",
        ),
        (
            "[[programme.holidays.regional]]\nregion = '33.02'\nmonth_day = '04-06'\n",
            "programme.holidays.regional.0.name in {file}: required key is missing",
        ),
        ("[programme.holidays]\ncuti_bersama = 'kadang'\n", "programme.holidays.cuti_bersama"),
    ],
)
def test_a_bad_p2k2_or_holiday_setting_names_the_key(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert expected.format(file=path) in message


def test_regional_holidays_are_read_with_a_date_or_a_day_of_every_year(tmp_path: Path) -> None:
    from datetime import date

    path = write(
        tmp_path,
        "[programme.holidays]\ncuti_bersama = false\n"
        "[[programme.holidays.regional]]\nregion = '33.02'\n"
        "name = 'Hari Jadi Kabupaten Banyumas'\nmonth_day = '02-22'\n"
        "[[programme.holidays.regional]]\nregion = '51'\nname = 'Hari Raya Galungan'\n"
        "date = 2026-06-17\n",
    )
    holidays = load_settings(path, environ={}).settings.programme.holidays
    assert holidays.cuti_bersama is False
    assert [(h.region, h.date, h.month_day) for h in holidays.regional] == [
        ("33.02", None, "02-22"),
        ("51", date(2026, 6, 17), None),
    ]


MG = "MG" + "b" * 32


def _senders(*tables: str) -> str:
    return "[twilio]\nwhatsapp_sender = \"+6281100000000\"\n" + "".join(
        f"[[twilio.senders]]\n{table}\n" for table in tables
    )


def test_regional_senders_load_in_order(tmp_path: Path) -> None:
    text = _senders(
        'name = "jateng"\nregions = ["33"]\nwhatsapp_sender = "+6281100000033"\n'
        'sms_sender = "+6281100000034"\nmessages_per_second = 40',
        f'name = "semarang"\nregions = ["33.74", "33.75"]\nmessaging_service_sid = "{MG}"',
    )
    twilio = load_settings(write(tmp_path, text), environ={}).settings.twilio
    assert [s.name for s in twilio.senders] == ["jateng", "semarang"]
    assert twilio.senders[0].messages_per_second == 40
    assert twilio.senders[1].regions == ["33.74", "33.75"]
    assert twilio.senders[1].messages_per_second == 80  # Twilio's default per sender


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        (
            ('name = "a"\nregions = ["33"]\nwhatsapp_sender = "+6281100000033"',
             'name = "a"\nregions = ["35"]\nwhatsapp_sender = "+6281100000035"'),
            "twilio.senders in {file}: expected a unique name for each sender "
            "('default' is the top-level one), not 'a' again",
        ),
        (
            ('name = "a"\nregions = ["33"]\nwhatsapp_sender = "+6281100000033"',
             'name = "b"\nregions = ["35", "33"]\nwhatsapp_sender = "+6281100000035"'),
            "twilio.senders in {file}: expected each region code under one sender; '33' is "
            "listed by 'a' and 'b'",
        ),
        (
            ('name = "a"\nregions = ["33"]\nsms_sender = "+6281100000033"',),
            "twilio.senders.0 in {file}: expected a whatsapp_sender or a "
            "messaging_service_sid for sender 'a'",
        ),
        (
            ('name = "a"\nregions = ["33"]\nwhatsapp_sender = "081100000033"',),
            "twilio.senders.0.whatsapp_sender in {file}: expected string should match pattern",
        ),
        (
            ('name = "a"\nregions = ["33"]\nwhatsapp_sender = "+6281100000033"\n'
             'sms_sender = "6281"',),
            "twilio.senders.0.sms_sender in {file}",
        ),
        (
            ('name = "a"\nregions = ["Jawa Tengah"]\nwhatsapp_sender = "+6281100000033"',),
            "twilio.senders.0.regions in {file}: expected a Kemendagri region code",
        ),
        (
            ('name = "a"\nregions = []\nwhatsapp_sender = "+6281100000033"',),
            "twilio.senders.0.regions in {file}",
        ),
        (
            ('name = "Jawa Tengah"\nregions = ["33"]\nwhatsapp_sender = "+6281100000033"',),
            "twilio.senders.0.name in {file}",
        ),
        (
            ('name = "a"\nregions = ["33"]\nwhatsapp_sender = "+6281100000033"',
             'name = "b"\nregions = ["35"]\nwhatsapp_sender = "+6281100000033"'),
            "twilio.senders in {file}: expected each number under one sender; "
            "+6281100000033 is used by 'a' and 'b'",
        ),
        (
            ('name = "a"\nregions = ["33"]\nwhatsapp_sender = "+6281100000033"\nrate = 5',),
            "twilio.senders.0.rate in {file}: unknown key",
        ),
    ],
)
def test_a_bad_regional_sender_is_named(
    tmp_path: Path, tables: tuple[str, ...], expected: str
) -> None:
    path = write(tmp_path, _senders(*tables))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert expected.format(file=path) in message
