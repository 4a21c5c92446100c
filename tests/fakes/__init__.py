"""Local fakes of outside services, for tests that must not reach the internet."""

from tests.fakes.telegram_api import (
    BOT_FIRST_NAME,
    BOT_ID,
    BOT_USERNAME,
    DEFAULT_TOKEN,
    Call,
    FakeTelegramApi,
    callback_update,
    contact_update,
    document_update,
    group_added_update,
    photo_update,
    text_update,
)

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USERNAME",
    "DEFAULT_TOKEN",
    "Call",
    "FakeTelegramApi",
    "callback_update",
    "contact_update",
    "document_update",
    "group_added_update",
    "photo_update",
    "text_update",
]
