"""Updates become the engine's messages: Bot API JSON (the webhook's path, and the inbox's)
read with python-telegram-bot's ``Update.de_json``; a polled update, already parsed by PTB,
translates to the very same message."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Bot, Update

from bot.channels.telegram import incoming_of, to_incoming
from handlers.messages import Media
from tests.fakes.telegram_api import (
    BOT_USERNAME,
    callback_update,
    contact_update,
    document_update,
    group_added_update,
    photo_update,
    text_update,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BOT = Bot("123456:TEST-TOKEN")

SAMPLES = {
    "text": text_update(1, 1001, "/hadir"),
    "command with args": text_update(2, 1001, "/start KODE123"),
    "group command to us": text_update(
        3, -500, f"/hubungkan@{BOT_USERNAME} ABC", user_id=1001, chat_type="group"
    ),
    "group chatter": text_update(4, -500, "selamat pagi", user_id=1001, chat_type="group"),
    "other bot's command": text_update(
        5, -500, "/start@OtherBot", user_id=1001, chat_type="supergroup"
    ),
    "tap": callback_update(6, 1001, "t:55", message_id=77, message_text="Tandai yang absen"),
    "photo": photo_update(7, 1001, caption="bukti"),
    "document": document_update(8, 1001),
    "own contact": contact_update(9, 2002, "6281234567890", contact_user_id=2002),
    "someone else's contact": contact_update(10, 2002, "6281234567890", contact_user_id=3003),
    "added to group": group_added_update(11, -600, by_user_id=1001),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_a_polled_update_translates_like_the_webhook_json(name: str) -> None:
    data = SAMPLES[name]
    polled = Update.de_json(data, BOT)
    expected = to_incoming(data, BOT_USERNAME, NOW)
    assert to_incoming(polled.to_dict(), BOT_USERNAME, NOW) == expected
    assert incoming_of(polled, BOT_USERNAME, NOW) == expected


@pytest.mark.parametrize("name", SAMPLES)
def test_the_json_is_left_as_it_was(name: str) -> None:
    data = copy.deepcopy(SAMPLES[name])
    to_incoming(data, BOT_USERNAME, NOW)
    assert data == SAMPLES[name]


def test_what_each_update_becomes() -> None:
    def translate(name: str) -> Any:
        return to_incoming(SAMPLES[name], BOT_USERNAME, NOW)

    tap = translate("tap")
    assert (tap.address, tap.choice, tap.origin_ref, tap.origin_text) == (
        "telegram:1001",
        "t:55",
        "77",
        "Tandai yang absen",
    )
    assert tap.external_id == "update:6" and tap.sender_address == "telegram:1001"
    assert translate("command with args").text == "/start KODE123"
    assert translate("group command to us").group is True
    assert translate("group chatter") is None and translate("other bot's command") is None
    photo = translate("photo")
    assert photo.text == "bukti"
    assert photo.media == (Media(ref="telegram-file:photo-abc", content_type="image/jpeg"),)
    assert translate("document").media == (
        Media(
            ref="telegram-file:doc-abc",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    )
    assert translate("own contact").contact_phone == "6281234567890"
    assert translate("someone else's contact").contact_phone is None
    added = translate("added to group")
    assert (added.address, added.text, added.group) == ("telegram:-600", "/bantuan", True)


def test_a_tap_on_a_message_too_old_to_see_has_no_message_to_edit() -> None:
    data = callback_update(12, 1001, "done", message_id=5)
    data["callback_query"]["message"] = {
        "chat": data["callback_query"]["message"]["chat"],
        "message_id": 5,
        "date": 0,  # Telegram's "inaccessible message"
    }
    message = to_incoming(data, BOT_USERNAME, NOW)
    assert message is not None and message.choice == "done"
    assert message.origin_ref is None and message.origin_text is None


@pytest.mark.parametrize(
    "data",
    [
        {"update_id": 1},
        {"update_id": 1, "message": "text"},
        {"update_id": 1, "message": {"text": "hi"}},
        {"update_id": 1, "message": {"from": {"id": "1"}, "chat": {"id": 1}, "text": "hi"}},
        {  # read by PTB, which keeps values as sent: an id that is not a number
            "update_id": 1,
            "message": {
                **text_update(1, 1001, "hi")["message"],
                "from": {"id": "1001", "is_bot": False, "first_name": "Ani"},
            },
        },
        {"update_id": 1, "callback_query": {"id": "x", "data": "m:1"}},
        {"update_id": 1, "my_chat_member": {"chat": [], "new_chat_member": None}},
        {"update_id": 1, "edited_message": {"from": {"id": 1}, "chat": {"id": 1}}},
    ],
)
def test_updates_of_unknown_shape_are_ignored(data: dict[str, Any]) -> None:
    assert to_incoming(data, BOT_USERNAME, NOW) is None


@pytest.mark.parametrize(
    "data",
    [
        # fields the Bot API always sends, missing: PTB cannot read the update
        {"update_id": 1, "message": {"from": {"id": 1}, "chat": {"id": 1}, "text": "hi"}},
        {"message": text_update(1, 1001, "hi")["message"]},
        {"update_id": 1, "message": {**text_update(1, 1001, "hi")["message"], "chat": {"id": 1}}},
        {"update_id": 1, "callback_query": {**SAMPLES["tap"]["callback_query"], "message": {}}},
    ],
)
def test_updates_without_the_fields_telegram_always_sends_are_ignored(
    data: dict[str, Any],
) -> None:
    assert to_incoming(data, BOT_USERNAME, NOW) is None


@pytest.mark.parametrize("photo", ["x", 5, [1, {"width": 2}], {"file_id": "a"}])
def test_a_message_with_a_broken_photo_is_ignored(photo: Any) -> None:
    data = text_update(1, 1001, "bukti")
    data["message"]["photo"] = photo
    assert to_incoming(data, BOT_USERNAME, NOW) is None


def test_a_message_with_no_photo_sizes_is_a_message_without_media() -> None:
    data = text_update(1, 1001, "bukti")
    data["message"]["photo"] = []
    message = to_incoming(data, BOT_USERNAME, NOW)
    assert message is not None and message.media == () and message.text == "bukti"


def test_photo_sizes_of_the_wrong_type_do_not_break_the_translation() -> None:
    data = photo_update(1, 1001)
    small, _, big = data["message"]["photo"]
    data["message"]["photo"] = [{**small, "width": "9", "height": None}, big]
    message = to_incoming(data, BOT_USERNAME, NOW)
    assert message is not None
    assert message.media == (Media(ref="telegram-file:photo-abc", content_type="image/jpeg"),)


def test_the_largest_photo_is_the_one_of_most_pixels_wherever_it_comes() -> None:
    data = photo_update(1, 1001)
    small, medium, big = data["message"]["photo"]
    data["message"]["photo"] = [{**big, "width": 10, "height": 10}, small, medium]
    message = to_incoming(data, BOT_USERNAME, NOW)
    assert message is not None and message.media[0].ref == "telegram-file:photo-abc-m"


def test_a_document_without_a_mime_type_is_octet_stream() -> None:
    data = document_update(1, 1001, caption="  daftar baru \n")
    del data["message"]["document"]["mime_type"]
    message = to_incoming(data, BOT_USERNAME, NOW)
    assert message is not None and message.text == "daftar baru"
    assert message.media == (
        Media(ref="telegram-file:doc-abc", content_type="application/octet-stream"),
    )


def test_a_group_caption_addressed_to_the_bot_counts() -> None:
    data = photo_update(1, -500, caption=f" /hadir@{BOT_USERNAME.lower()} ", user_id=1001)
    message = to_incoming(data, BOT_USERNAME, NOW)
    assert message is not None and message.group is True
    assert (message.address, message.text) == ("telegram:-500", f"/hadir@{BOT_USERNAME.lower()}")
    assert to_incoming(data, None, NOW) is None  # another bot's, as far as we know


def test_an_edited_message_is_ignored() -> None:
    data = text_update(1, 1001, "/hadir")
    data["edited_message"] = {**data.pop("message"), "edit_date": 1_767_225_700}
    assert to_incoming(data, BOT_USERNAME, NOW) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "from",
                    "chat",
                    "text",
                    "type",
                    "date",
                    "message",
                    "data",
                    "photo",
                    "document",
                    "contact",
                    "user_id",
                    "file_id",
                    "width",
                    "caption",
                    "status",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["message", "callback_query", "my_chat_member"]),
    body=json_values,
)
def test_no_update_shape_makes_the_translation_raise(kind: str, body: Any) -> None:
    message = to_incoming({"update_id": 1, kind: body}, BOT_USERNAME, NOW)
    assert message is None or message.address.startswith("telegram:")
