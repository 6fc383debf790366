"""SMS through real HTTP on loopback: the generic JSON gateway, Eskiz.uz and SMS.ru, against the stub gateway
(tests/notify/gateway_stub.py). What is checked is what a patient and the dispatcher notice: the message
arrives once, with its text; a failure is classified so that the dispatcher retries or falls back."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.notify.channels.base import Outgoing, PermanentFailure, Sent, TemporaryFailure
from navbat.notify.channels.registry import channel_for
from navbat.notify.channels.sms import (
    EskizGateway,
    GenericJsonGateway,
    SmsChannel,
    SmsRuGateway,
    forget_eskiz_tokens,
    gateway_from_settings,
)
from tests.notify.conftest import WEBHOOK_TOKEN
from tests.notify.gateway_stub import StubGateway

PHONE = "+998901234567"
TEXT = "Ertaga 10:30 da stomatolog qabuli. Tasdiqlash: 1, bekor qilish: 2."
RUSSIAN = "Напоминаем: завтра в 10:30 приём у стоматолога. Ответьте 1 — приду, 2 — отменить."


def outgoing(
    key: str = "reminder:24h:1:sms", *, to: str = PHONE, text: str = TEXT, report_url: str = ""
) -> Outgoing:
    return Outgoing(channel="sms", to=to, text=text, idempotency_key=key, report_url=report_url)


@pytest.fixture(autouse=True)
def _fresh_eskiz_tokens() -> Iterator[None]:
    forget_eskiz_tokens()
    yield
    forget_eskiz_tokens()


def generic(gateway: StubGateway, *, token: str | None = None) -> GenericJsonGateway:
    return GenericJsonGateway(url=gateway.url, token=token or gateway.token, timeout=0.3)


def eskiz(gateway: StubGateway, *, password: str | None = None) -> EskizGateway:
    return EskizGateway(
        url=gateway.base_url,
        email=gateway.eskiz_email,
        password=password or gateway.eskiz_password,
        sender="NAVBAT",
        timeout=0.3,
    )


def smsru(gateway: StubGateway, *, api_id: str | None = None) -> SmsRuGateway:
    return SmsRuGateway(
        url=gateway.base_url, api_id=api_id or gateway.smsru_api_id, sender="Navbat", test=True, timeout=0.3
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- the generic JSON protocol ----------------------------------------------------------------------------


def test_a_message_reaches_the_gateway_with_its_text_key_and_report_address(sms_gateway: StubGateway) -> None:
    sent = generic(sms_gateway).send(outgoing(report_url="https://navbat.example.uz/hook"))

    [received] = sms_gateway.received
    assert (received.to, received.text, received.idempotency_key) == (PHONE, TEXT, "reminder:24h:1:sms")
    assert received.report_url == "https://navbat.example.uz/hook"
    assert sent == Sent(provider_id=received.id, delivered=False)


def test_cyrillic_text_arrives_unchanged(sms_gateway: StubGateway) -> None:
    generic(sms_gateway).send(outgoing(text=RUSSIAN))

    assert [message.text for message in sms_gateway.received] == [RUSSIAN]


def test_the_channel_from_settings_asks_for_reports_at_our_webhook_with_the_secret(
    sms_gateway: StubGateway,
) -> None:
    SmsChannel().send(outgoing())

    [received] = sms_gateway.received
    address = urlsplit(received.report_url)
    assert (address.scheme, address.netloc, address.path) == (
        "https",
        "navbat.example.uz",
        "/notify/hooks/sms/generic/report/",
    )
    assert parse_qs(address.query) == {"token": [WEBHOOK_TOKEN]}


def test_the_same_key_sent_twice_reaches_the_patient_once(sms_gateway: StubGateway) -> None:
    gateway = generic(sms_gateway)

    first = gateway.send(outgoing("booked:7:sms"))
    again = gateway.send(outgoing("booked:7:sms"))
    other = gateway.send(outgoing("booked:8:sms"))

    assert sms_gateway.keys() == ["booked:7:sms", "booked:8:sms"]
    assert again.provider_id == first.provider_id != other.provider_id


def test_a_lost_answer_is_a_temporary_failure_and_the_retry_does_not_send_twice(
    sms_gateway: StubGateway,
) -> None:
    sms_gateway.fail_next("slow")  # the gateway takes the message, but its answer comes after our timeout
    gateway = generic(sms_gateway)

    with pytest.raises(TemporaryFailure, match="timeout"):
        gateway.send(outgoing("reminder:2h:9:sms"))
    retried = gateway.send(outgoing("reminder:2h:9:sms"))

    assert sms_gateway.keys() == ["reminder:2h:9:sms"]
    assert retried.provider_id == sms_gateway.received[0].id


@pytest.mark.parametrize("mode", ["error", "unavailable"])
def test_a_server_error_is_temporary_and_sends_nothing(sms_gateway: StubGateway, mode: str) -> None:
    sms_gateway.fail_next(mode)

    with pytest.raises(TemporaryFailure, match="HTTP 50"):
        generic(sms_gateway).send(outgoing())

    assert sms_gateway.received == []


def test_a_gateway_that_does_not_answer_the_door_is_a_temporary_failure() -> None:
    gateway = GenericJsonGateway(url=f"http://127.0.0.1:{free_port()}/send", token="t", timeout=0.3)

    with pytest.raises(TemporaryFailure, match="unreachable"):
        gateway.send(outgoing())


def test_a_number_the_gateway_refuses_is_a_permanent_failure_without_the_number_in_the_reason(
    sms_gateway: StubGateway,
) -> None:
    sms_gateway.fail_next("invalid")

    with pytest.raises(PermanentFailure) as failure:
        generic(sms_gateway).send(outgoing())

    assert failure.value.reason == "invalid number"
    assert PHONE.removeprefix("+") not in str(failure.value)


@pytest.mark.parametrize("address", ["", "998901234567", "+99890", "+998 90 123 45 67", "patient@example.uz"])
def test_an_address_that_is_not_an_e164_number_is_refused_before_calling_the_gateway(
    sms_gateway: StubGateway, address: str
) -> None:
    with pytest.raises(PermanentFailure, match="invalid number"):
        generic(sms_gateway).send(outgoing(to=address))

    assert sms_gateway.attempts == 0


def test_wrong_credentials_are_retried_rather_than_blamed_on_the_patient(sms_gateway: StubGateway) -> None:
    with pytest.raises(TemporaryFailure, match="credentials"):
        generic(sms_gateway, token="not-the-token").send(outgoing())

    assert sms_gateway.received == []


def test_with_a_flaky_gateway_every_message_arrives_exactly_once(sms_gateway: StubGateway) -> None:
    """The dispatcher's loop in miniature: retry each message until the gateway takes it."""
    sms_gateway.configure(fail_rate=0.3, seed=11)
    gateway = generic(sms_gateway)
    keys = [f"reminder:24h:{n}:sms" for n in range(20)]

    for key in keys:
        for _attempt in range(10):
            try:
                gateway.send(outgoing(key))
                break
            except TemporaryFailure:
                continue

    assert sorted(sms_gateway.keys()) == sorted(keys)
    assert {"error", "slow"} <= set(sms_gateway.failures)  # both kinds of trouble happened
    assert sms_gateway.attempts == len(keys) + len(sms_gateway.failures)


# ---- Eskiz.uz ---------------------------------------------------------------------------------------------


def test_eskiz_gets_the_number_without_plus_our_sender_and_the_key_as_its_user_sms_id(
    sms_gateway: StubGateway,
) -> None:
    sent = eskiz(sms_gateway).send(outgoing("booked:3:sms", report_url="https://navbat.example.uz/h"))

    [received] = sms_gateway.received
    assert received.raw["mobile_phone"] == "998901234567"
    assert (received.text, received.sender, received.idempotency_key) == (TEXT, "NAVBAT", "booked:3:sms")
    assert received.report_url == "https://navbat.example.uz/h"
    assert sent.provider_id == received.id


def test_eskiz_signs_in_once_and_again_only_when_its_token_expires(sms_gateway: StubGateway) -> None:
    gateway = eskiz(sms_gateway)
    gateway.send(outgoing("a"))
    gateway.send(outgoing("b"))
    assert sms_gateway.logins == 1

    sms_gateway.expire_tokens()
    gateway.send(outgoing("c"))

    assert sms_gateway.logins == 2
    assert sms_gateway.keys() == ["a", "b", "c"]


def test_eskiz_with_a_wrong_password_is_a_temporary_failure(sms_gateway: StubGateway) -> None:
    with pytest.raises(TemporaryFailure, match="credentials"):
        eskiz(sms_gateway, password="wrong").send(outgoing())

    assert sms_gateway.received == []


def test_eskiz_refusing_the_number_is_permanent(sms_gateway: StubGateway) -> None:
    sms_gateway.fail_next("invalid")

    with pytest.raises(PermanentFailure, match="invalid number"):
        eskiz(sms_gateway).send(outgoing())


@pytest.mark.parametrize(("mode", "reason"), [("error", "HTTP 500"), ("slow", "timeout")])
def test_eskiz_trouble_is_temporary(sms_gateway: StubGateway, mode: str, reason: str) -> None:
    sms_gateway.fail_next(mode)

    with pytest.raises(TemporaryFailure, match=reason):
        eskiz(sms_gateway).send(outgoing())


# ---- SMS.ru -----------------------------------------------------------------------------------------------


def test_smsru_gets_the_api_id_the_number_without_plus_and_the_text(sms_gateway: StubGateway) -> None:
    russian_phone = "+79251234567"

    sent = smsru(sms_gateway).send(outgoing(to=russian_phone, text=RUSSIAN))

    [received] = sms_gateway.received
    assert received.raw["api_id"] == sms_gateway.smsru_api_id
    assert (received.raw["to"], received.text, received.sender) == ("79251234567", RUSSIAN, "Navbat")
    assert (received.raw["json"], received.raw["test"]) == ("1", "1")
    assert sent.provider_id == received.id


def test_smsru_refusing_the_number_is_permanent(sms_gateway: StubGateway) -> None:
    sms_gateway.fail_next("invalid")

    with pytest.raises(PermanentFailure, match="invalid number"):
        smsru(sms_gateway).send(outgoing())

    assert sms_gateway.received == []


def test_smsru_with_a_wrong_api_id_is_temporary(sms_gateway: StubGateway) -> None:
    with pytest.raises(TemporaryFailure, match="code 200"):
        smsru(sms_gateway, api_id="wrong").send(outgoing())


@pytest.mark.parametrize(("mode", "reason"), [("error", "HTTP 500"), ("slow", "timeout")])
def test_smsru_trouble_is_temporary(sms_gateway: StubGateway, mode: str, reason: str) -> None:
    sms_gateway.fail_next(mode)

    with pytest.raises(TemporaryFailure, match=reason):
        smsru(sms_gateway).send(outgoing())


# ---- configuration ----------------------------------------------------------------------------------------


def test_settings_choose_the_gateway(settings: SettingsWrapper, sms_gateway: StubGateway) -> None:
    settings.NAVBAT_SMS = {
        "BACKEND": "eskiz",
        "URL": sms_gateway.base_url,
        "EMAIL": sms_gateway.eskiz_email,
        "PASSWORD": sms_gateway.eskiz_password,
        "FROM": "4546",
        "TIMEOUT": 0.3,
        "WEBHOOK_TOKEN": "s3cret",
        "PUBLIC_URL": "https://navbat.example.uz/",
    }

    SmsChannel().send(outgoing())

    [received] = sms_gateway.received
    assert received.provider == "eskiz"
    assert received.report_url == "https://navbat.example.uz/notify/hooks/sms/eskiz/report/?token=s3cret"


def test_without_a_public_address_no_report_address_is_sent(
    settings: SettingsWrapper, sms_gateway: StubGateway
) -> None:
    settings.NAVBAT_SMS = {**settings.NAVBAT_SMS, "PUBLIC_URL": ""}

    SmsChannel().send(outgoing())

    assert sms_gateway.received[0].report_url == ""


@pytest.mark.parametrize(
    "config",
    [
        {"BACKEND": ""},
        {"BACKEND": "carrier-pigeon"},
        {"BACKEND": "generic", "URL": ""},
        {"BACKEND": "eskiz", "EMAIL": "clinic@example.uz"},
        {"BACKEND": "smsru"},
    ],
)
def test_an_incomplete_configuration_is_named_at_start(config: dict[str, str]) -> None:
    with pytest.raises(ImproperlyConfigured):
        gateway_from_settings(config)


def test_sending_logs_neither_the_number_nor_the_text_nor_the_secret(
    sms_gateway: StubGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        gateway = eskiz(sms_gateway)
        gateway.send(outgoing("a"))
        sms_gateway.fail_next("invalid")
        with pytest.raises(PermanentFailure):
            gateway.send(outgoing("b"))
        generic(sms_gateway).send(outgoing("c"))

    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    for secret in ("901234567", "Ertaga", sms_gateway.token, sms_gateway.eskiz_password):
        assert secret not in logged


def test_without_a_configured_gateway_sms_fails_for_good_so_the_next_channel_is_tried(
    settings: SettingsWrapper,
) -> None:
    settings.NAVBAT_SMS = {"BACKEND": ""}

    with pytest.raises(PermanentFailure, match="not configured"):
        SmsChannel().send(outgoing())


def test_the_registry_sends_sms_through_the_configured_gateway(
    settings: SettingsWrapper, sms_gateway: StubGateway
) -> None:
    settings.NAVBAT_NOTIFY_BACKEND = ""

    channel_for("sms").send(outgoing("booked:11:sms"))

    assert sms_gateway.keys() == ["booked:11:sms"]


def test_a_text_longer_than_six_sms_parts_is_left_to_the_next_channel(sms_gateway: StubGateway) -> None:
    six_parts = "я" * 67 * 6
    SmsChannel().send(outgoing("six", text=six_parts))

    with pytest.raises(PermanentFailure, match="7 parts"):
        SmsChannel().send(outgoing("seven", text=six_parts + "я"))

    assert sms_gateway.keys() == ["six"]
