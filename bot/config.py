"""Settings: the shape of `config.example.toml`, loaded once into one frozen, typed object.

Sources, later wins: built-in defaults, the TOML file named by ``--config`` or
``PENDAMPING_CONFIG``, then environment variables ``PENDAMPING_<SECTION>_<KEY>``
(for example ``PENDAMPING_DATABASE_URL`` or ``PENDAMPING_TELEGRAM_TOKEN``).
A bad value or an unknown key raises :class:`ConfigError` with one line naming the key,
where it came from and what was expected.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.graduation_settings import (
    ComplementaryProgramme,
    GraduationIndicator,
    GraduationStage,
    default_indicators,
    default_programmes,
    default_stages,
    gates_are_indicators,
    no_retired_indicator,
    programme_keys,
    stage_order,
)
from models.messaging.templates import TEMPLATES
from models.rules.case_categories import (
    DEFAULT_CASE_CATEGORIES,
    DEFAULT_RISK_KEYWORDS,
    CaseCategory,
    CaseRules,
)
from models.rules.case_suggest import keyword
from models.rules.commitments import DueWhen, default_commitments, default_reasons
from models.rules.graduation import DEFAULT_GATES
from models.rules.p2k2 import DEFAULT_CURRICULUM

ENV_PREFIX = "PENDAMPING_"
CONFIG_ENV = "PENDAMPING_CONFIG"


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the operator."""


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("an IANA time zone such as 'Asia/Jakarta'") from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///./var/pendamping.db"
    echo: bool = False
    pool_size: int = Field(default=5, ge=1, le=200)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    read_url: str | None = None

    @field_validator("url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("a URL starting with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://'")
        return url

    @field_validator("read_url")
    @classmethod
    def _replica(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith("postgresql+asyncpg://"):
            raise ValueError("a PostgreSQL replica's URL starting with 'postgresql+asyncpg://'")
        return url or None


class GeneralSettings(_Section):
    timezone: TimeZoneName = "Asia/Jakarta"
    locale: str = Field(default="id", pattern=r"^[a-z]{2}(_[A-Z]{2})?$")
    conversation_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    invite_valid_days: int = Field(default=14, ge=1, le=365)

    @field_validator("locale")
    @classmethod
    def _has_catalog(cls, locale: str) -> str:
        """The chat and the command line speak from the catalog: a locale needs one."""
        from handlers.i18n import Translator

        try:
            Translator(locale)
        except FileNotFoundError:
            raise ValueError("a locale with a message catalog ('id' or 'en')") from None
        return locale


class TelegramSettings(_Section):
    token: SecretStr | None = None
    bot_username: str | None = None
    mode: Literal["polling", "webhook"] = "polling"
    api_base_url: str = "https://api.telegram.org/bot"
    api_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, min_length=1, max_length=256)
    messages_per_second: float = Field(default=30, gt=0)
    messages_per_second_per_chat: float = Field(default=1, gt=0)
    messages_per_minute_per_group: float = Field(default=20, gt=0)
    timeout_seconds: float = Field(default=15, gt=0, le=120)
    poll_takeover_seconds: float = Field(default=30, gt=0, le=3600)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", secret.get_secret_value()):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return secret

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramSettings:
        if self.mode == "webhook" and self.token is not None and self.webhook_secret is None:
            raise ValueError("a webhook_secret when mode is 'webhook' (requests are checked)")
        return self

    @property
    def configured(self) -> bool:
        return self.token is not None and bool(self.token.get_secret_value())


E164 = r"^\+[1-9]\d{6,14}$"


class TwilioSenderSettings(_Section):
    """A regional sender: its own WhatsApp number (or Messaging Service), SMS number and
    rate, for the KPM and staff of ``regions`` (Kemendagri codes; the longest matching
    code of a recipient's region wins)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    regions: list[str] = Field(min_length=1)
    whatsapp_sender: str | None = Field(default=None, pattern=E164)
    sms_sender: str | None = Field(default=None, pattern=E164)
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    messages_per_second: int = Field(default=80, ge=1, le=1000)

    @field_validator("regions")
    @classmethod
    def _codes(cls, regions: list[str]) -> list[str]:
        for code in regions:
            _region_code(code)
        if len(set(regions)) < len(regions):
            raise ValueError("each region code once")
        return regions

    @model_validator(mode="after")
    def _sends(self) -> TwilioSenderSettings:
        if not self.whatsapp_sender and not self.messaging_service_sid:
            raise ValueError(
                f"a whatsapp_sender or a messaging_service_sid for sender {self.name!r}"
            )
        return self


class TwilioSettings(_Section):
    account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr | None = None
    whatsapp_sender: str | None = Field(default=None, pattern=E164)
    sms_sender: str | None = Field(default=None, pattern=E164)
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    api_base_url: str | None = None
    public_base_url: str | None = None
    messages_per_second: int = Field(default=80, ge=1, le=1000)
    templates: dict[str, str] = Field(default_factory=dict)
    senders: list[TwilioSenderSettings] = Field(default_factory=list)

    @field_validator("senders")
    @classmethod
    def _distinct_senders(cls, senders: list[TwilioSenderSettings]) -> list[TwilioSenderSettings]:
        names: set[str] = set()
        regions: dict[str, str] = {}
        numbers: dict[str, str] = {}
        for sender in senders:
            if sender.name in names or sender.name == "default":
                raise ValueError(
                    f"a unique name for each sender ('default' is the top-level one), "
                    f"not {sender.name!r} again"
                )
            names.add(sender.name)
            for code in sender.regions:
                if code in regions:
                    raise ValueError(
                        f"each region code under one sender; {code!r} is listed by "
                        f"{regions[code]!r} and {sender.name!r}"
                    )
                regions[code] = sender.name
            for number in (sender.whatsapp_sender, sender.sms_sender):
                # SMS and WhatsApp may share a number within one sender, not across two
                if number and numbers.setdefault(number, sender.name) != sender.name:
                    raise ValueError(
                        f"each number under one sender; {number} is used by "
                        f"{numbers[number]!r} and {sender.name!r}"
                    )
        return senders

    @field_validator("templates")
    @classmethod
    def _content_sids(cls, templates: dict[str, str]) -> dict[str, str]:
        known = {template.name for template in TEMPLATES.values()}
        for name, sid in templates.items():
            if name not in known:
                raise ValueError(
                    f"one of the template names, not {name!r}: "
                    f"{', '.join(sorted(known))} (see `pendamping whatsapp templates`)"
                )
            if not re.fullmatch(r"HX[0-9a-fA-F]{32}", sid):
                raise ValueError(f"a Content SID like 'HX' + 32 hex digits for {name!r}")
        return templates

    @property
    def configured(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.auth_token.get_secret_value())


class SmsSettings(_Section):
    max_segments: int = Field(default=2, ge=1, le=10)
    monthly_budget_segments: int = Field(default=0, ge=0)
    not_on_whatsapp_codes: list[int] = Field(default_factory=lambda: [63003, 63024])

    @field_validator("not_on_whatsapp_codes")
    @classmethod
    def _codes(cls, codes: list[int]) -> list[int]:
        if any(code < 1 or code > 99999 for code in codes):
            raise ValueError("Twilio error codes (whole numbers such as 63003)")
        return sorted(set(codes))


class SchedulerSettings(_Section):
    reminder_offsets_days: list[int] = Field(default_factory=lambda: [3, 1])
    reminder_time: time = time(16, 0)
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(6, 0)
    morning_nudge_time: time = time(6, 30)
    max_attempts: int = Field(default=6, ge=1, le=50)
    inbound_id_retention_days: int = Field(default=7, ge=2, le=365)
    sending_window_start: time | None = None
    sending_window_end: time | None = None

    @model_validator(mode="after")
    def _window(self) -> SchedulerSettings:
        start, end = self.sending_window_start, self.sending_window_end
        if (start is None) != (end is None):
            raise ValueError("sending_window_start and sending_window_end go together")
        if start is not None and end is not None and not start < end:
            raise ValueError("the sending window must start before it ends, e.g. 09:00-20:00")
        return self

    @property
    def sending_window(self) -> tuple[time, time] | None:
        if self.sending_window_start is None or self.sending_window_end is None:
            return None
        return self.sending_window_start, self.sending_window_end

    @property
    def reminder_timing(self) -> dict[str, Any]:
        """When reminders go, as the reminder sweep, the ketua's relays (with the first
        reminder) and `pendamping capacity` all take it: with a sending window, a day's
        reminders begin at its start."""
        window = self.sending_window
        return {
            "offsets_days": self.reminder_offsets_days,
            "reminder_time": window[0] if window else self.reminder_time,
            "quiet_start": self.quiet_hours_start,
            "quiet_end": self.quiet_hours_end,
        }

    @field_validator("reminder_offsets_days")
    @classmethod
    def _offsets(cls, offsets: list[int]) -> list[int]:
        if any(day < 0 or day > 30 for day in offsets):
            raise ValueError("whole days between 0 and 30, for example [3, 1]")
        return sorted(set(offsets), reverse=True)


class InboxSettings(_Section):
    workers: int = Field(default=16, ge=1, le=512)
    lease_seconds: int = Field(default=60, ge=1, le=3600)
    max_attempts: int = Field(default=3, ge=1, le=20)


class PesanSettings(_Section):
    reason_window_minutes: int = Field(default=30, ge=1, le=24 * 60)
    nudge_after_hours: int = Field(default=24, ge=1, le=24 * 14)


class ReportingSettings(_Section):
    digest_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    digest_time: time = time(7, 0)
    graduation_horizon_days: int = Field(default=90, ge=1, le=730)
    graduation_threshold: float = Field(default=7.0, ge=0)
    graduation_attendance_weight: float = Field(default=2.0, ge=0)
    graduation_target_per_year: int = Field(default=10, ge=0)
    absence_streak_alert: int = Field(default=2, ge=1, le=12)
    indicators: dict[str, GraduationIndicator] = Field(default_factory=default_indicators)
    graduation_gates: list[str] = Field(
        default_factory=lambda: list(DEFAULT_GATES), validate_default=True
    )
    graduation_stages: Annotated[dict[str, GraduationStage], AfterValidator(stage_order)] = (
        Field(default_factory=default_stages)
    )
    complementary_programmes: Annotated[
        dict[str, ComplementaryProgramme], AfterValidator(programme_keys)
    ] = Field(default_factory=default_programmes)
    advocacy_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "off"] = "mon"

    @field_validator("indicators")
    @classmethod
    def _indicators(
        cls, indicators: dict[str, GraduationIndicator]
    ) -> dict[str, GraduationIndicator]:
        return no_retired_indicator(indicators)

    @field_validator("graduation_gates")
    @classmethod
    def _gates(cls, gates: list[str], info: ValidationInfo) -> list[str]:
        return gates_are_indicators(gates, info.data.get("indicators"))


class KomponenType(_Section):
    label: str
    ends_at_age: int | None = Field(default=None, ge=0, le=120)
    ends_after_days: int | None = Field(default=None, ge=0)
    max_per_family: int | None = Field(default=None, ge=1)
    aliases: list[str] = Field(default_factory=list)


def _default_komponen() -> dict[str, KomponenType]:
    return {
        "ibu_hamil": KomponenType(
            label="Ibu hamil/nifas", ends_after_days=42, aliases=["bumil", "hamil", "nifas"]
        ),
        "anak_usia_dini": KomponenType(
            label="Anak usia dini", ends_at_age=7, aliases=["aud", "balita", "apras", "usia dini"]
        ),
        "anak_sd": KomponenType(label="Anak SD", ends_at_age=13, aliases=["sd", "mi"]),
        "anak_smp": KomponenType(label="Anak SMP", ends_at_age=16, aliases=["smp", "mts"]),
        # Schoolchildren are covered up to 21 while they have not finished 12 years of school.
        "anak_sma": KomponenType(label="Anak SMA", ends_at_age=21, aliases=["sma", "smk", "ma"]),
        "disabilitas_berat": KomponenType(
            label="Disabilitas berat", max_per_family=1, aliases=["disabilitas", "difabel"]
        ),
        "lansia": KomponenType(
            label="Lanjut usia", max_per_family=1, aliases=["lansia 70", "lanjut usia"]
        ),
    }


class CommitmentType(_Section):
    label: str = Field(min_length=1, max_length=80)
    komponen: list[str] = Field(min_length=1)
    due: DueWhen = DueWhen.ACTIVE
    every_months: int = Field(default=1, ge=1, le=24)
    min_percent: int | None = Field(default=None, ge=1, le=100)
    min_checks: int | None = Field(default=None, ge=1, le=20)


def _default_commitment_types() -> dict[str, CommitmentType]:
    return {
        c.key: CommitmentType(
            label=c.label,
            komponen=list(c.komponen),
            due=c.due,
            every_months=c.every_months,
            min_percent=c.min_percent,
            min_checks=c.min_checks,
        )
        for c in default_commitments()
    }


class CommitmentSettings(_Section):
    period_months: Literal[1, 2, 3, 4, 6, 12] = 1
    warning_levels: int = Field(default=3, ge=1, le=12)
    remind_days_before_end: int = Field(default=5, ge=0, le=28)
    reasons: dict[str, str] = Field(default_factory=lambda: dict(default_reasons()))
    types: dict[str, CommitmentType] = Field(default_factory=_default_commitment_types)

    @field_validator("reasons", "types")
    @classmethod
    def _keys(cls, values: dict[str, Any]) -> dict[str, Any]:
        bad = [key for key in values if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key)]
        if bad:
            raise ValueError(f"keys are lower-case words joined by _ (like hadir_sekolah): {bad}")
        if not values:
            raise ValueError("at least one is needed")
        return values


def _one_line(text: str) -> str:
    if "\n" in text or text != text.strip():
        raise ValueError("one line of text, without leading or trailing spaces")
    return text


OneLine = Annotated[str, AfterValidator(_one_line)]


class P2k2SessionSettings(_Section):
    number: int = Field(ge=1, le=99)
    title: OneLine = Field(min_length=1, max_length=100)


class P2k2ModuleSettings(_Section):
    number: int = Field(ge=1, le=99)
    title: OneLine = Field(min_length=1, max_length=100)
    sessions: list[P2k2SessionSettings] = Field(min_length=1)


def _default_p2k2_modules() -> list[P2k2ModuleSettings]:
    return [
        P2k2ModuleSettings(
            number=number,
            title=title,
            sessions=[P2k2SessionSettings(number=n, title=t) for n, t in sessions],
        )
        for number, title, sessions in DEFAULT_CURRICULUM
    ]


class P2k2Settings(_Section):
    modules: list[P2k2ModuleSettings] = Field(default_factory=_default_p2k2_modules, min_length=1)

    @field_validator("modules")
    @classmethod
    def _numbering(cls, modules: list[P2k2ModuleSettings]) -> list[P2k2ModuleSettings]:
        seen: set[int] = set()
        expected = 1
        for module in modules:
            if module.number in seen:
                raise ValueError(f"module numbers used once each; {module.number} is repeated")
            seen.add(module.number)
            for session in module.sessions:
                if session.number != expected:
                    raise ValueError(
                        "sessions numbered 1, 2, 3... across the modules in order; module "
                        f"{module.number} has session {session.number} where {expected} "
                        "comes next"
                    )
                expected += 1
        return modules


def _region_code(code: str) -> str:
    if not re.fullmatch(r"\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?", code):
        raise ValueError(
            "a Kemendagri region code such as '33' (a province) or '33.02' (a kabupaten)"
        )
    return code


def _month_day(text: str) -> str:
    try:
        if not re.fullmatch(r"\d{2}-\d{2}", text):
            raise ValueError(text)
        dt.date(2000, int(text[:2]), int(text[3:]))  # a leap year: 02-29 is a day of the year
    except ValueError:
        raise ValueError("a day of the year as MM-DD, such as '04-06'") from None
    return text


class RegionalHolidaySettings(_Section):
    region: Annotated[str, AfterValidator(_region_code)]
    name: OneLine = Field(min_length=1, max_length=80)
    date: dt.date | None = None
    month_day: Annotated[str, AfterValidator(_month_day)] | None = None

    @model_validator(mode="after")
    def _one_day(self) -> RegionalHolidaySettings:
        if (self.date is None) == (self.month_day is None):
            raise ValueError("either date (one day) or month_day (every year), not both")
        return self


class HolidaySettings(_Section):
    cuti_bersama: bool = True
    regional: list[RegionalHolidaySettings] = Field(default_factory=list)


def _keywords(words: list[str]) -> list[str]:
    empty = [word for word in words if keyword(word) is None]
    if empty:
        raise ValueError(f"words or phrases with at least one letter or digit, not {empty}")
    return words


Keywords = Annotated[list[str], AfterValidator(_keywords)]


class CaseCategorySettings(_Section):
    label: OneLine | None = Field(default=None, min_length=1, max_length=60)
    keywords: Keywords = Field(default_factory=list)
    always_urgent: bool = False
    escalate: bool = False
    severity: Literal["biasa", "mendesak"] = Field(default="biasa", validate_default=True)

    @field_validator("severity")
    @classmethod
    def _urgent(cls, severity: str, info: ValidationInfo) -> str:
        if info.data.get("always_urgent") and severity != "mendesak":
            raise ValueError("'mendesak' for a category with always_urgent = true")
        return severity


def _default_case_categories() -> dict[str, CaseCategorySettings]:
    return {
        c.key: CaseCategorySettings(
            keywords=list(c.keywords),
            always_urgent=c.always_urgent,
            escalate=c.escalate,
            severity=c.severity,
        )
        for c in DEFAULT_CASE_CATEGORIES
    }


class ProgrammeSettings(_Section):
    komponen: dict[str, KomponenType] = Field(default_factory=_default_komponen)
    max_komponen_per_family: int | None = Field(default=4, ge=1)
    commitments: CommitmentSettings = Field(default_factory=CommitmentSettings)
    p2k2: P2k2Settings = Field(default_factory=P2k2Settings)
    holidays: HolidaySettings = Field(default_factory=HolidaySettings)
    case_risk_keywords: Keywords = Field(default_factory=lambda: list(DEFAULT_RISK_KEYWORDS))
    case_categories: dict[str, CaseCategorySettings] = Field(
        default_factory=_default_case_categories
    )

    @field_validator("case_categories")
    @classmethod
    def _case_keys(
        cls, categories: dict[str, CaseCategorySettings]
    ) -> dict[str, CaseCategorySettings]:
        from handlers.i18n import Translator  # the catalog names the built-in categories

        if not categories:
            raise ValueError("at least one case category")
        bad = [key for key in categories if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key)]
        if bad:
            raise ValueError(f"keys are lower-case words joined by _ (like kdrt), {bad} are not")
        known = Translator().known_keys()
        for key, category in categories.items():
            if category.label is None and f"case.category.{key}" not in known:
                raise ValueError(
                    f"a label for {key!r} (programme.case_categories.{key}.label): the "
                    "message catalog has no name for it"
                )
        return categories

    def case_rules(self) -> CaseRules:
        """The case categories and risk keywords, as /kasus and `case suggest` use them."""
        return CaseRules.of(
            (
                CaseCategory(
                    key,
                    tuple(c.keywords),
                    c.severity,
                    c.always_urgent,
                    c.escalate,
                    c.label,
                )
                for key, c in self.case_categories.items()
            ),
            self.case_risk_keywords,
        )

    @model_validator(mode="after")
    def _commitment_komponen(self) -> ProgrammeSettings:
        for key, commitment in self.commitments.types.items():
            unknown = sorted(set(commitment.komponen) - set(self.komponen))
            if unknown:
                raise ValueError(
                    f"commitments.types.{key}.komponen names unknown komponen {unknown}; "
                    f"known: {sorted(self.komponen)}"
                )
        return self


class RetentionSettings(_Section):
    """Months each kind of personal data is kept (0: for ever); the housekeeping sweep
    deletes what is older, ``batch_rows`` rows per transaction."""

    inbound_text_months: int = Field(default=12, ge=0, le=240)
    media_months: int = Field(default=24, ge=0, le=240)
    conversation_months: int = Field(default=3, ge=0, le=240)
    outbox_payload_months: int = Field(default=6, ge=0, le=240)
    outbox_row_months: int = Field(default=13, ge=0, le=240)
    audit_months: int = Field(default=60, ge=0, le=240)
    batch_rows: int = Field(default=2000, ge=100, le=50000)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    media_url_secret: SecretStr | None = None
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    """The address people open (login links, invites); default http://host:port."""
    console: bool = True
    """The web console (dasbor) for staff, behind one-time login links."""
    simulator: bool = False
    """The web simulator (/simulator): three phones driving the engine. Demo only."""
    session_secret: SecretStr | None = None
    """Signs the console's cookies; unset: a random key kept in ``session_secret_file``."""
    session_secret_file: str = "var/web_secret"
    session_idle_minutes: int = Field(default=30, ge=5, le=7 * 24 * 60)
    login_link_minutes: int = Field(default=10, ge=1, le=60)
    login_links_per_hour: int = Field(default=5, ge=1, le=100)

    @property
    def base_url(self) -> str:
        """Where the console is reached from a browser, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::"} else self.host
        return f"http://{host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


DEFAULT_MEDIA_TYPES = (
    "application/pdf",
    "audio/amr",
    "audio/mp4",
    "audio/mpeg",
    "audio/ogg",
    "image/heic",
    "image/jpeg",
    "image/png",
    "image/webp",
)
"""What a photo, a voice note or a document is, found from the content (WhatsApp and
Telegram voice notes are Ogg Opus; some phones send AMR or M4A)."""


class MediaSettings(_Section):
    """Files people send: fetched from the provider, checked and kept by us."""

    store: Literal["local", "s3"] = "local"
    folder: str = "var/media"
    max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=2**31 - 1)
    allowed_types: list[str] = Field(default_factory=lambda: list(DEFAULT_MEDIA_TYPES))
    delete_at_twilio: bool = True
    workers: int = Field(default=4, ge=1, le=64)
    timeout_seconds: float = Field(default=60, gt=0, le=600)
    quick_attempts: int = Field(default=3, ge=1, le=10)
    retry_later_minutes: int = Field(default=30, ge=1, le=24 * 60)
    give_up_after_hours: int = Field(default=72, ge=1, le=24 * 60)
    s3_bucket: str | None = None
    s3_prefix: str = "media/"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    @field_validator("allowed_types")
    @classmethod
    def _types(cls, types: list[str]) -> list[str]:
        if not types or any(not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", kind) for kind in types):
            raise ValueError("MIME types such as 'image/jpeg' or 'audio/ogg'")
        return sorted(set(types))

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> MediaSettings:
        if self.store == "s3" and not self.s3_bucket:
            raise ValueError("an s3_bucket when store is 's3'")
        return self


class Settings(_Section):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    general: GeneralSettings = Field(default_factory=GeneralSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    pesan: PesanSettings = Field(default_factory=PesanSettings)
    reporting: ReportingSettings = Field(default_factory=ReportingSettings)
    programme: ProgrammeSettings = Field(default_factory=ProgrammeSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)


@dataclass(frozen=True)
class LoadedSettings:
    """The settings and where they came from (for `doctor`)."""

    settings: Settings
    source: Path | None


def _env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, dict[str, str]], set[str]]:
    """Map ``PENDAMPING_SECTION_KEY`` variables onto the known sections and keys."""
    known: dict[str, tuple[str, str]] = {}
    for section_name, section_field in Settings.model_fields.items():
        section_type = section_field.annotation
        assert isinstance(section_type, type) and issubclass(section_type, BaseModel)
        for key in section_type.model_fields:
            known[f"{ENV_PREFIX}{section_name}_{key}".upper()] = (section_name, key)
    overrides: dict[str, dict[str, str]] = {}
    dotted: set[str] = set()
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        if name not in known:
            raise ConfigError(
                f"config error: environment variable {name} is not a known setting "
                f"(expected {ENV_PREFIX}<SECTION>_<KEY>, for example {ENV_PREFIX}DATABASE_URL)"
            )
        section, key = known[name]
        overrides.setdefault(section, {})[key] = value
        dotted.add(f"{section}.{key}")
    return overrides, dotted


def _parse_env_value(section: str, key: str, raw: str) -> Any:
    """Environment values are strings; lists and tables are written as TOML values."""
    section_type = Settings.model_fields[section].annotation
    assert isinstance(section_type, type) and issubclass(section_type, BaseModel)
    annotation = str(section_type.model_fields[key].annotation)
    if annotation.startswith(("list", "dict")):
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            return raw
    return raw


def _merge(base: dict[str, Any], overrides: dict[str, dict[str, str]]) -> dict[str, Any]:
    merged = {
        name: dict(value) if isinstance(value, dict) else value for name, value in base.items()
    }
    for section, values in overrides.items():
        target = merged.setdefault(section, {})
        if not isinstance(target, dict):
            target = merged[section] = {}
        for key, raw in values.items():
            target[key] = _parse_env_value(section, key, raw)
    return merged


def _describe(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error["type"] == "extra_forbidden":
        return "unknown key (config.example.toml lists every key)"
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] != "value_error":
        message = message[:1].lower() + message[1:]
        message = message.removeprefix("input should be ").removeprefix("input should ")
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f", got {got!r}"
    return f"expected {message}{shown}"


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Load settings from defaults, an optional TOML file and the environment."""
    environ = os.environ if environ is None else environ
    file_path = Path(path) if path else None
    if file_path is None and environ.get(CONFIG_ENV):
        file_path = Path(environ[CONFIG_ENV])
    data: dict[str, Any] = {}
    if file_path is not None:
        try:
            data = tomllib.loads(file_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config error: file {file_path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config error: {file_path} is not valid TOML: {exc}") from None
    overrides, from_env = _env_overrides(environ)
    try:
        settings = Settings.model_validate(_merge(data, overrides))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        section_key = ".".join(str(part) for part in first["loc"][:2])
        if section_key in from_env:
            where = f"environment variable {ENV_PREFIX}{section_key.replace('.', '_').upper()}"
        elif file_path is not None:
            where = str(file_path)
        else:
            where = "built-in defaults"
        raise ConfigError(f"config error: {key} in {where}: {_describe(first)}") from None
    return LoadedSettings(settings=settings, source=file_path)
