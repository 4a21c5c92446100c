"""The Twilio Messages API fake, driven through the real ``twilio`` SDK (sync and async)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    OUTSIDE_WINDOW,
    FakeTwilioApi,
    inbound_sms_params,
    inbound_whatsapp_params,
    status_callback_params,
    twilio_signature,
)

USER = "whatsapp:+6281234567890"
SANDBOX = "whatsapp:+14155238886"
SMS_USER = "+6281234567890"
SMS_NUMBER = "+6281100000001"
CONTENT_SID = "HX" + "b" * 32
WEBHOOK_URL = "https://pendamping.example.id/twilio/whatsapp"

# twilio's AsyncTwilioHttpClient passes aiohttp.BasicAuth as `auth` (deprecated in aiohttp 3.14)
pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilioApi]:
    async with FakeTwilioApi() as api:
        yield api


async def create(client: Client, **kwargs: Any) -> Any:
    """The sync SDK blocks: run it in a thread while the fake serves in this loop."""
    return await asyncio.to_thread(client.messages.create, **kwargs)


async def rest_error(client: Client, **kwargs: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        await create(client, **kwargs)
    return info.value


# --------------------------------------------------------------------- creating messages


async def test_whatsapp_message_is_created_like_twilio(fake: FakeTwilioApi) -> None:
    client = fake.client()

    message = await create(client, to=USER, from_=SANDBOX, body="Halo Ani")

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (USER, SANDBOX, "Halo Ani")
    assert message.direction == "outbound-api"
    assert message.account_sid == fake.account_sid
    assert message.date_created is not None and message.date_sent is None
    assert message.error_code is None and message.price is None

    raw = fake.messages[message.sid]
    assert email.utils.parsedate_to_datetime(raw["date_created"]) == message.date_created
    assert raw["uri"] == f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{message.sid}.json"
    assert raw["subresource_uris"]["media"].endswith(f"/Messages/{message.sid}/Media.json")
    assert (raw["num_segments"], raw["num_media"], raw["api_version"]) == ("1", "0", "2010-04-01")

    [call] = fake.calls
    assert (call.method, call.status, call.auth_ok) == ("POST", 201, True)
    assert call.path == f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    assert call.params == {"To": USER, "From": SANDBOX, "Body": "Halo Ani"}
    assert await fake.wait_for_messages(1) == [raw]


async def test_template_with_content_variables_and_media(fake: FakeTwilioApi) -> None:
    fake.templates[CONTENT_SID] = "Halo {{1}}, pertemuan P2K2 {{2}}."
    variables = json.dumps({"1": "Ani", "2": "Senin 10.00"})

    message = await create(
        fake.client(),
        to=USER,
        from_=SANDBOX,
        content_sid=CONTENT_SID,
        content_variables=variables,
        status_callback="https://pendamping.example.id/twilio/status",
    )

    assert message.body == "Halo Ani, pertemuan P2K2 Senin 10.00."
    assert fake.calls[0].params == {
        "To": USER,
        "From": SANDBOX,
        "ContentSid": CONTENT_SID,
        "ContentVariables": variables,
        "StatusCallback": "https://pendamping.example.id/twilio/status",
    }

    media = await create(
        fake.client(), to=USER, from_=SANDBOX, media_url=["https://x.example/a.jpg"] * 2
    )
    assert media.sid.startswith("MM") and media.num_media == "2"
    assert fake.calls[1].params["MediaUrl"] == ["https://x.example/a.jpg"] * 2


async def test_messaging_service_without_from_is_accepted(fake: FakeTwilioApi) -> None:
    service = "MG" + "c" * 32
    message = await create(fake.client(), to=SMS_USER, messaging_service_sid=service, body="x")
    assert (message.status, message.from_, message.messaging_service_sid) == (
        "accepted",
        None,
        service,
    )


@pytest.mark.parametrize(
    ("kwargs", "code", "text"),
    [
        ({"from_": SANDBOX, "body": "x", "to": ""}, 21604, "A 'To' phone number is required."),
        ({"to": USER, "body": "x"}, 21603, "A 'From' phone number is required."),
        (
            {"to": USER, "from_": SANDBOX},
            21619,
            "A text message body or media urls must be specified.",
        ),
        (
            {"to": USER, "from_": SANDBOX, "content_sid": CONTENT_SID, "content_variables": "{1"},
            21656,
            "The ContentVariables Parameter is invalid.",
        ),
        (
            {"to": USER, "from_": SANDBOX, "content_sid": CONTENT_SID, "content_variables": "[]"},
            21656,
            "The ContentVariables Parameter is invalid.",
        ),
        (
            {"to": SMS_USER, "from_": SANDBOX, "body": "x"},
            21910,
            "Invalid From and To pair. From and To should be of the same channel",
        ),
        (
            {"to": "whatsapp:0812", "from_": SANDBOX, "body": "x"},
            21211,
            "The 'To' number whatsapp:0812 is not a valid phone number.",
        ),
        (
            {"to": USER, "from_": SANDBOX, "body": "x" * 1601},
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        ),
    ],
)
async def test_invalid_requests_answer_twilio_errors(
    fake: FakeTwilioApi, kwargs: dict[str, Any], code: int, text: str
) -> None:
    error = await rest_error(fake.client(), **kwargs)

    assert (error.status, error.code) == (400, code)
    assert error.msg == f"Unable to create record: {text}"
    assert fake.calls[0].status == 400
    assert fake.messages == {}


async def test_wrong_auth_token_is_401_20003(fake: FakeTwilioApi) -> None:
    error = await rest_error(fake.client(auth_token="wrong"), to=USER, from_=SANDBOX, body="Halo")

    assert (error.status, error.code) == (401, 20003)
    assert error.msg == "Unable to create record: Authenticate"
    assert fake.calls[0].auth_ok is False
    assert fake.messages == {}


# --------------------------------------------------------------------- injected failures


async def test_fail_next_outside_window_63016(fake: FakeTwilioApi) -> None:
    client = fake.client()
    fake.fail_next(code=63016)

    error = await rest_error(client, to=USER, from_=SANDBOX, body="Halo")
    assert (error.status, error.code) == (400, 63016)
    assert error.msg == f"Unable to create record: {OUTSIDE_WINDOW}"

    message = await create(client, to=USER, from_=SANDBOX, body="Halo")  # only once
    assert message.status == "queued"
    assert [call.status for call in fake.calls] == [400, 201]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"status": 400}, 400, 21211),
        ({"status": 400, "code": 21610}, 400, 21610),
        ({"status": 400, "code": 21408}, 400, 21408),
        ({"status": 500}, 500, 20500),
        ({"status": 503}, 503, 20503),
    ],
)
async def test_fail_next_statuses(
    fake: FakeTwilioApi, fault: dict[str, int], status: int, code: int
) -> None:
    fake.fail_next(**fault)
    error = await rest_error(fake.client(), to=SMS_USER, from_=SMS_NUMBER, body="x")
    assert (error.status, error.code) == (status, code)


async def test_fail_next_429_with_retry_after(fake: FakeTwilioApi) -> None:
    client = fake.client()
    fake.fail_next(status=429, retry_after=7, times=2)

    for _ in range(2):
        error = await rest_error(client, to=USER, from_=SANDBOX, body="Halo")
        assert (error.status, error.code) == (429, 20429)
        assert error.msg == "Unable to create record: Too Many Requests"
    # The exception has no headers; the SDK keeps the raw last response on its http client.
    assert client.http_client._test_only_last_response.headers["Retry-After"] == "7"
    assert (await create(client, to=USER, from_=SANDBOX, body="Halo")).status == "queued"


async def test_drop_next_raises_requests_connection_error(fake: FakeTwilioApi) -> None:
    client = fake.client()
    fake.drop_next()

    with pytest.raises(requests.exceptions.ConnectionError, match="Connection aborted"):
        await create(client, to=USER, from_=SANDBOX, body="Halo")
    assert fake.calls[0].status == 0
    assert fake.messages == {}
    assert (await create(client, to=USER, from_=SANDBOX, body="Halo")).status == "queued"


async def test_delay_next_past_the_timeout_raises_read_timeout(fake: FakeTwilioApi) -> None:
    fake.delay_next(2.0)

    with pytest.raises(requests.exceptions.ReadTimeout):
        await create(fake.client(timeout=0.2), to=USER, from_=SANDBOX, body="Halo")
    # Twilio had queued it all the same: the outcome is ambiguous for the sender.
    [message] = await fake.wait_for_messages(1)
    assert message["body"] == "Halo"
    for _ in range(100):
        if fake.calls[0].disconnected:
            break
        await asyncio.sleep(0.01)
    assert fake.calls[0].disconnected


async def test_delay_within_the_timeout_answers(fake: FakeTwilioApi) -> None:
    fake.delay_next(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    message = await create(fake.client(timeout=2), to=USER, from_=SANDBOX, body="Halo")
    assert message.status == "queued"
    assert loop.time() - started >= 0.2


# --------------------------------------------------------------------- async SDK path


async def test_async_client_creates_and_maps_errors(fake: FakeTwilioApi) -> None:
    client = fake.async_client(timeout=0.3)

    message = await client.messages.create_async(to=USER, from_=SANDBOX, body="Halo")
    assert message.status == "queued" and message.sid in fake.messages

    fake.fail_next(status=429)
    with pytest.raises(TwilioRestException) as info:
        await client.messages.create_async(to=USER, from_=SANDBOX, body="Halo")
    assert (info.value.status, info.value.code) == (429, 20429)

    fake.drop_next()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.messages.create_async(to=USER, from_=SANDBOX, body="Halo")

    fake.delay_next(2.0)
    with pytest.raises(TimeoutError):
        await client.messages.create_async(to=USER, from_=SANDBOX, body="Halo")

    account = await client.api.account.fetch_async()
    assert account.status == "active"


# --------------------------------------------------------------------- reading back


async def test_account_fetch_for_a_credentials_check(fake: FakeTwilioApi) -> None:
    account = await asyncio.to_thread(fake.client().api.account.fetch)

    assert (account.sid, account.status, account.type) == (DEFAULT_ACCOUNT_SID, "active", "Full")
    assert account.friendly_name
    assert fake.calls[0].method == "GET"
    assert fake.calls[0].path == f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}.json"

    bad = fake.client(auth_token="wrong").api.account.fetch
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(bad)
    assert (info.value.status, info.value.code) == (401, 20003)

    fake.drop_next(endpoint="account")
    with pytest.raises(requests.exceptions.ConnectionError):
        await asyncio.to_thread(fake.client().api.account.fetch)


async def test_message_fetch_and_status_update(fake: FakeTwilioApi) -> None:
    client = fake.client()
    sent = await create(client, to=USER, from_=SANDBOX, body="Halo")
    fake.set_status(sent.sid, "undelivered", error_code=63016)

    fetched = await asyncio.to_thread(client.messages(sent.sid).fetch)
    assert (fetched.status, fetched.error_code) == ("undelivered", 63016)
    assert fetched.error_message == OUTSIDE_WINDOW

    listed = await asyncio.to_thread(client.messages.list, to=USER)
    assert [message.sid for message in listed] == [sent.sid]

    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(client.messages("SM" + "0" * 32).fetch)
    assert (info.value.status, info.value.code) == (404, 20404)


# --------------------------------------------------------------------- rate limit


async def test_rate_limit_answers_429_beyond_the_window(fake: FakeTwilioApi) -> None:
    fake.limit(3)
    client = fake.async_client()

    results = await asyncio.gather(
        *(client.messages.create_async(to=USER, from_=SANDBOX, body=str(i)) for i in range(5)),
        return_exceptions=True,
    )

    errors = [result for result in results if isinstance(result, TwilioRestException)]
    assert len(fake.messages) == 3
    assert [(error.status, error.code) for error in errors] == [(429, 20429)] * 2
    assert sum(fake.sends_per_second().values()) == 3
    assert max(fake.sends_per_second().values()) <= 3
    assert fake.max_sends_in_window() == 3

    fake.limit(None)
    await client.messages.create_async(to=USER, from_=SANDBOX, body="free")
    assert len(fake.messages) == 4


# --------------------------------------------------------------------- webhook builders


def test_inbound_whatsapp_text_params() -> None:
    params = inbound_whatsapp_params(body="hadir")

    assert re.fullmatch(r"SM[0-9a-f]{32}", params["MessageSid"])
    assert params["SmsSid"] == params["SmsMessageSid"] == params["MessageSid"]
    assert params | {"MessageSid": "", "SmsSid": "", "SmsMessageSid": ""} == {
        "SmsMessageSid": "",
        "NumMedia": "0",
        "ProfileName": "Ani",
        "MessageType": "text",
        "SmsSid": "",
        "WaId": "6281234567890",
        "SmsStatus": "received",
        "Body": "hadir",
        "To": SANDBOX,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": "",
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": USER,
        "ApiVersion": "2010-04-01",
    }


def test_inbound_whatsapp_media_and_button_params() -> None:
    photo = inbound_whatsapp_params(num_media=2, media_types=["image/jpeg", "application/pdf"])
    assert photo["MessageSid"].startswith("MM")
    assert (photo["NumMedia"], photo["MessageType"], photo["Body"]) == ("2", "image", "")
    assert photo["MediaUrl1"].startswith(
        f"https://api.twilio.com/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages/"
        f"{photo['MessageSid']}/Media/ME"
    )
    assert photo["MediaContentType1"] == "application/pdf"

    tap = inbound_whatsapp_params(button_payload="att:7:hadir", button_text="Hadir")
    assert (tap["MessageType"], tap["Body"]) == ("button", "Hadir")
    assert (tap["ButtonPayload"], tap["ButtonText"]) == ("att:7:hadir", "Hadir")


def test_inbound_sms_and_status_callback_params() -> None:
    sms = inbound_sms_params(body="halo")
    assert (sms["From"], sms["To"], sms["FromCountry"], sms["SmsStatus"]) == (
        SMS_USER,
        SMS_NUMBER,
        "ID",
        "received",
    )

    sid = "SM" + "d" * 32
    delivered = status_callback_params(message_sid=sid, status="delivered")
    assert delivered["MessageStatus"] == delivered["SmsStatus"] == "delivered"
    assert delivered["MessageSid"] == delivered["SmsSid"] == sid
    assert (delivered["ChannelPrefix"], delivered["ChannelToAddress"]) == (
        "whatsapp",
        "+6281234567890",
    )
    assert "ErrorCode" not in delivered

    failed = status_callback_params(message_sid=sid, status="failed", error_code="63016")
    assert failed["ErrorCode"] == "63016"
    sms_failed = status_callback_params(
        message_sid=sid, status="undelivered", to=SMS_USER, channel="sms"
    )
    assert (sms_failed["From"], sms_failed["ErrorCode"]) == (SMS_NUMBER, "30008")
    assert "ChannelPrefix" not in sms_failed


@pytest.mark.parametrize(
    "params",
    [
        inbound_whatsapp_params(),
        inbound_whatsapp_params(num_media=1, button_text="Hadir"),
        inbound_sms_params(),
        status_callback_params(message_sid="SM" + "e" * 32, status="read"),
    ],
)
def test_signatures_validate_and_detect_tampering(params: dict[str, str]) -> None:
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    signature = twilio_signature(DEFAULT_AUTH_TOKEN, WEBHOOK_URL, params)

    assert validator.validate(WEBHOOK_URL, params, signature)
    assert not validator.validate(WEBHOOK_URL, params | {"Body": "tampered"}, signature)
    assert not validator.validate(WEBHOOK_URL + "?x=1", params, signature)
    assert not validator.validate(WEBHOOK_URL.replace("whatsapp", "sms"), params, signature)
    assert not RequestValidator("other-token").validate(WEBHOOK_URL, params, signature)
