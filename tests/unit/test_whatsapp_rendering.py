"""WhatsApp/SMS without the network: Twilio parameters in, text out, template rules."""

from __future__ import annotations

from datetime import UTC, datetime

from twilio.request_validator import RequestValidator

from bot.channels.whatsapp import (
    BODY_LIMIT,
    address_of,
    render,
    split_body,
    to_incoming,
)
from handlers.i18n import Translator
from handlers.messages import Option, Reply, Toggle

NOW = datetime(2026, 11, 22, 3, tzinfo=UTC)
t = Translator()


def test_whatsapp_and_sms_senders_become_addresses_that_name_their_channel() -> None:
    assert address_of("whatsapp:+6281234567890") == ("whatsapp", "whatsapp:+6281234567890")
    assert address_of("+6281234567890") == ("sms", "sms:+6281234567890")


def test_inbound_text_button_and_media_parameters_become_one_message() -> None:
    params = {
        "From": "whatsapp:+6281234567890",
        "To": "whatsapp:+14155238886",
        "Body": "",
        "MessageSid": "SM" + "a" * 32,
        "NumMedia": "2",
        "ButtonPayload": "save",
        "MediaUrl0": "https://api.twilio.com/media/ME1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://api.twilio.com/media/ME2",
        "MediaContentType1": "application/pdf",
    }
    message = to_incoming(params, NOW)
    assert message.channel == "whatsapp" and message.address == "whatsapp:+6281234567890"
    assert message.choice == "save" and message.external_id == "SM" + "a" * 32
    assert [m.ref for m in message.media] == [
        "https://api.twilio.com/media/ME1",
        "https://api.twilio.com/media/ME2",
    ]
    assert message.media[0].is_photo and not message.media[1].is_photo


def test_options_are_a_numbered_list_to_answer_by_typing() -> None:
    text = render(
        Reply("Pilih sesi:", options=(Option("s:1", "Sesi 1"), Option("s:2", "Sesi 2"))), t
    )
    assert text == "Pilih sesi:\n\nBalas dengan angka:\n1. Sesi 1\n2. Sesi 2"


def test_toggles_are_a_checked_list_and_word_options_are_named() -> None:
    reply = Reply(
        "Tandai yang tidak hadir:",
        toggles=(Toggle("t:1", "1. Siti", True), Toggle("t:2", "2. Sri", False)),
        options=(Option("done", "Selesai"), Option("all", "Semua hadir")),
        numbered_options=False,
    )
    assert render(reply, t) == (
        "Tandai yang tidak hadir:\n\n✅ 1. Siti\n❌ 2. Sri\n\nKetik: SELESAI · SEMUA HADIR"
    )


def test_an_undecided_toggle_has_a_mark_of_its_own() -> None:
    reply = Reply(
        "Verifikasi:",
        toggles=(
            Toggle("t:1", "1. Siti", True),
            Toggle("t:2", "2. Sri", False),
            Toggle("t:3", "3. Ani", None),
        ),
        numbered_options=False,
    )
    assert render(reply, t) == "Verifikasi:\n\n✅ 1. Siti\n❌ 2. Sri\n⬜ 3. Ani"


def test_long_texts_are_split_within_the_body_limit() -> None:
    text = "\n".join("baris " + "y" * 90 for _ in range(60))
    parts = split_body(text)
    assert len(parts) > 1 and all(len(part) <= BODY_LIMIT for part in parts)
    assert "\n".join(parts) == text


def test_the_real_request_validator_accepts_only_the_signed_url_and_body() -> None:
    validator = RequestValidator("token")
    params = {"From": "whatsapp:+6281234567890", "Body": "halo"}
    url = "https://pkh.example.org/twilio/whatsapp"
    signature = validator.compute_signature(url, params)
    assert validator.validate(url, params, signature)
    assert not validator.validate(url, {**params, "Body": "hal0"}, signature)
    assert not validator.validate("http://10.0.0.5:8080/twilio/whatsapp", params, signature)
