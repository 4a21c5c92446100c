"""The operator pages' small rules: addresses masked as the chat masks phones, an upload's
name kept harmless, and the invite links each configured channel gives."""

from __future__ import annotations

from urllib.parse import unquote

from bot.config import Settings
from bot.dashboard.operator import masked_address
from bot.dashboard.operator_roster import safe_name
from bot.dashboard.operator_staff import invite_links, qr_data_uri


def test_an_address_shows_its_channel_and_the_last_digits_only() -> None:
    assert masked_address("whatsapp:+6281234567890") == "whatsapp:+62********890"
    assert masked_address("telegram:123456789") == "telegram:123***789"
    assert masked_address("console:ani-suryani") == "console:ani*****ani"


def test_an_uploaded_name_keeps_its_suffix_and_loses_its_path() -> None:
    assert safe_name("C:\\Users\\op\\Roster Des.xlsx") == "Roster Des.xlsx"
    assert safe_name("../../etc/passwd.csv") == "passwd.csv"
    assert safe_name("data;rm -rf.csv") == "data_rm -rf.csv"
    assert safe_name("roster.xls") is None
    assert safe_name("roster") is None
    assert safe_name(None) is None


def test_invite_links_follow_the_configured_channels() -> None:
    assert invite_links(Settings(), "ABCD-EFGH") == []
    settings = Settings.model_validate({
        "telegram": {"token": "123:abc", "bot_username": "pkh_bot", "mode": "polling"},
        "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": "x",
                   "whatsapp_sender": "+6281100000000"},
    })
    telegram, whatsapp = invite_links(settings, "ABCD-EFGH")
    assert telegram.url == "https://t.me/pkh_bot?start=ABCDEFGH"
    assert whatsapp.url.startswith("https://wa.me/6281100000000?text=")
    assert unquote(whatsapp.url.split("text=")[1]) == "daftar ABCD-EFGH"


def test_a_qr_code_is_an_inline_svg_image() -> None:
    assert qr_data_uri("daftar ABCD-EFGH").startswith("data:image/svg+xml;base64,PHN2Zy")
