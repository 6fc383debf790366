"""Gateways calling us: delivery reports turn a sent SMS into delivered or failed; an incoming SMS is a reply.

Through HTTP: Django's test client, and one test with real HTTP both ways (our live server, the stub
gateway)."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.notify.channels.base import Outgoing
from navbat.notify.channels.sms import SmsChannel
from navbat.notify.models import Delivery, DeliveryStatus, InboundMessage, ReplyAction
from tests.notify.conftest import WEBHOOK_TOKEN
from tests.notify.gateway_stub import StubGateway
from tests.notify.sent import sent_message
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_secret(settings: SettingsWrapper) -> None:
    settings.NAVBAT_SMS = {
        "BACKEND": "generic",
        "URL": "http://127.0.0.1:9/send",
        "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
    }


def visit(c: SmallClinic, hour: int = 10) -> Appointment:
    return book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, hour),
        channel=Channel.PHONE,
        dentist=c.first,
        now=NOW,
    )


@pytest.fixture
def sms(small_clinic: SmallClinic) -> Delivery:
    """A reminder the gateway took as "gw-000042"."""
    delivery = sent_message(visit(small_clinic), channel="sms")
    delivery.provider_id = "gw-000042"
    delivery.save()
    return delivery


def report_path(provider: str = "generic", token: str | None = WEBHOOK_TOKEN, kind: str = "report") -> str:
    path = f"/notify/hooks/sms/{provider}/{kind}/"
    return f"{path}?{urlencode({'token': token})}" if token is not None else path


def post_json(client: Client, path: str, body: object) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


# ---- delivery reports -------------------------------------------------------------------------------------


def test_a_delivered_report_marks_the_sms_delivered(client: Client, sms: Delivery) -> None:
    response = post_json(client, report_path(), {"id": "gw-000042", "status": "delivered"})

    assert response.status_code == 200
    sms.refresh_from_db()
    assert sms.status == DeliveryStatus.DELIVERED
    assert sms.delivered_at is not None


def test_the_same_report_twice_changes_nothing_the_second_time(client: Client, sms: Delivery) -> None:
    post_json(client, report_path(), {"id": "gw-000042", "status": "delivered"})
    sms.refresh_from_db()
    first_delivered_at = sms.delivered_at

    response = post_json(client, report_path(), {"id": "gw-000042", "status": "delivered"})

    assert response.status_code == 200
    sms.refresh_from_db()
    assert (sms.status, sms.delivered_at) == (DeliveryStatus.DELIVERED, first_delivered_at)


def test_a_failed_report_keeps_a_short_reason_without_the_gateways_own_words(
    client: Client, sms: Delivery
) -> None:
    post_json(client, report_path(), {"id": "gw-000042", "status": "failed", "reason": "absent_subscriber"})
    sms.refresh_from_db()
    assert (sms.status, sms.reason) == (DeliveryStatus.FAILED, "gateway reported failed: absent_subscriber")

    sms.status = DeliveryStatus.SENT
    sms.save()
    post_json(
        client, report_path(), {"id": "gw-000042", "status": "failed", "reason": "+998901234567 is off"}
    )
    sms.refresh_from_db()
    assert sms.reason == "gateway reported failed"


def test_a_failed_report_hands_the_message_to_the_next_channel_once(client: Client, sms: Delivery) -> None:
    post_json(client, report_path(), {"id": "gw-000042", "status": "failed"})
    post_json(client, report_path(), {"id": "gw-000042", "status": "failed"})

    taking_over = Delivery.objects.filter(fallback_of=sms).exclude(status=DeliveryStatus.SKIPPED)
    assert [(d.channel, d.status) for d in taking_over] == [("call", DeliveryStatus.QUEUED)]


def test_delivered_is_final_and_corrects_an_earlier_failure(client: Client, sms: Delivery) -> None:
    post_json(client, report_path(), {"id": "gw-000042", "status": "failed"})
    post_json(client, report_path(), {"id": "gw-000042", "status": "delivered"})
    post_json(client, report_path(), {"id": "gw-000042", "status": "failed"})

    sms.refresh_from_db()
    assert (sms.status, sms.reason) == (DeliveryStatus.DELIVERED, "")


def test_an_interim_state_is_accepted_and_changes_nothing(client: Client, sms: Delivery) -> None:
    response = post_json(client, report_path(), {"id": "gw-000042", "status": "sent_to_operator"})

    assert response.status_code == 200
    sms.refresh_from_db()
    assert sms.status == DeliveryStatus.SENT


def test_a_report_that_overtakes_the_worker_is_matched_by_our_key(client: Client, sms: Delivery) -> None:
    Delivery.objects.filter(pk=sms.pk).update(provider_id="", status=DeliveryStatus.SENDING)

    post_json(
        client,
        report_path(),
        {"id": "gw-000777", "status": "delivered", "idempotency_key": sms.idempotency_key},
    )

    sms.refresh_from_db()
    assert (sms.status, sms.provider_id) == (DeliveryStatus.DELIVERED, "gw-000777")


def test_a_report_for_a_message_we_never_sent_is_404(client: Client, sms: Delivery) -> None:
    response = post_json(client, report_path(), {"id": "gw-999999", "status": "delivered"})

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_message"


@pytest.mark.parametrize(
    "token", [None, "", "wrong-secret", WEBHOOK_TOKEN.upper()], ids=["none", "empty", "wrong", "case"]
)
def test_a_report_without_the_right_secret_is_refused_and_changes_nothing(
    client: Client, sms: Delivery, token: str | None
) -> None:
    response = post_json(client, report_path(token=token), {"id": "gw-000042", "status": "delivered"})

    assert response.status_code == 403
    assert response.json()["code"] == "wrong_token"
    sms.refresh_from_db()
    assert sms.status == DeliveryStatus.SENT


def test_the_secret_may_come_as_a_header(client: Client, sms: Delivery) -> None:
    response = client.post(
        report_path(token=None),
        data=json.dumps({"id": "gw-000042", "status": "delivered"}),
        content_type="application/json",
        headers={"X-Navbat-Token": WEBHOOK_TOKEN},
    )

    assert response.status_code == 200
    sms.refresh_from_db()
    assert sms.status == DeliveryStatus.DELIVERED


def test_without_a_configured_secret_every_report_is_refused(
    client: Client, sms: Delivery, settings: SettingsWrapper
) -> None:
    settings.NAVBAT_SMS = {"BACKEND": "generic", "WEBHOOK_TOKEN": ""}

    response = post_json(client, report_path(token=""), {"id": "gw-000042", "status": "delivered"})

    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"id": "gw-000042"}', b'{"status": "delivered"}', b"\xff\xfe"],
    ids=["text", "list", "no-status", "no-id", "binary"],
)
def test_a_body_that_is_not_a_report_is_400_and_changes_nothing(
    client: Client, sms: Delivery, body: bytes
) -> None:
    response = client.post(report_path(), data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_report"
    sms.refresh_from_db()
    assert sms.status == DeliveryStatus.SENT


def test_an_unknown_gateway_is_404_and_get_is_405(client: Client, sms: Delivery) -> None:
    assert post_json(client, report_path("pigeon"), {}).status_code == 404
    assert client.get(report_path()).status_code == 405


def test_gateways_need_no_csrf_token(sms: Delivery) -> None:
    strict = Client(enforce_csrf_checks=True)

    response = post_json(strict, report_path(), {"id": "gw-000042", "status": "delivered"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("status", "expected"), [("DELIVRD", DeliveryStatus.DELIVERED), ("UNDELIV", DeliveryStatus.FAILED)]
)
def test_eskiz_reports_in_json_or_as_a_form(
    client: Client, sms: Delivery, status: str, expected: DeliveryStatus
) -> None:
    body = {"request_id": "gw-000042", "status": status, "user_sms_id": sms.idempotency_key}
    post_json(client, report_path("eskiz"), body)
    sms.refresh_from_db()
    assert sms.status == expected

    Delivery.objects.filter(pk=sms.pk).update(status=DeliveryStatus.SENT)
    client.post(report_path("eskiz"), data=urlencode(body), content_type="application/x-www-form-urlencoded")
    sms.refresh_from_db()
    assert sms.status == expected


def test_smsru_reports_several_messages_at_once_and_gets_the_100_it_waits_for(
    client: Client, sms: Delivery, small_clinic: SmallClinic
) -> None:
    other = sent_message(visit(small_clinic, hour=11), channel="sms")
    Delivery.objects.filter(pk=other.pk).update(provider_id="000123-400")
    form = {
        "data[0]": "sms_status\ngw-000042\n103\n1700000000",
        "data[1]": "sms_status\n000123-400\n104\n1700000000",
        "data[2]": "callcheck_status\n123\n401\n1700000000",
        "data[3]": "sms_status\nunknown-1\n103\n1700000000",
    }

    response = client.post(
        report_path("smsru"), data=urlencode(form), content_type="application/x-www-form-urlencoded"
    )

    assert (response.status_code, response.content) == (200, b"100")
    sms.refresh_from_db()
    other.refresh_from_db()
    assert sms.status == DeliveryStatus.DELIVERED
    assert (other.status, other.reason) == (DeliveryStatus.FAILED, "gateway reported expired")


def test_smsru_garbage_is_400(client: Client, sms: Delivery) -> None:
    response = client.post(
        report_path("smsru"),
        data=urlencode({"data[0]": "sms_status\ngw-000042\nsoon"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_a_real_gateway_reports_delivery_to_our_live_server(
    live_server: LiveServer, sms_gateway: StubGateway, settings: SettingsWrapper, small_clinic: SmallClinic
) -> None:
    """Real HTTP both ways: we send through the stub gateway, it posts the report to our server."""
    settings.NAVBAT_SMS = {**settings.NAVBAT_SMS, "PUBLIC_URL": live_server.url}
    delivery = sent_message(visit(small_clinic), channel="sms")
    sent = SmsChannel().send(
        Outgoing(channel="sms", to=delivery.address, text="Eslatma", idempotency_key=delivery.idempotency_key)
    )
    Delivery.objects.filter(pk=delivery.pk).update(provider_id=sent.provider_id)

    status = sms_gateway.report(sent.provider_id, "delivered")

    assert status == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


# ---- incoming SMS -----------------------------------------------------------------------------------------


def test_a_patient_texting_2_cancels_his_visit(client: Client, small_clinic: SmallClinic) -> None:
    appointment = visit(small_clinic)
    sent_message(appointment, channel="sms")
    number = str(small_clinic.patient.phone)

    response = post_json(
        client, report_path(kind="inbound"), {"from": number.removeprefix("+"), "text": "2", "id": "in-1"}
    )

    assert response.status_code == 200
    assert response.json() == {"code": "ok", "handled": True}
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    [message] = InboundMessage.objects.all()
    assert (message.channel, message.sender, message.action) == ("sms", number, ReplyAction.CANCEL)


def test_the_same_incoming_sms_posted_twice_is_recorded_once(
    client: Client, small_clinic: SmallClinic
) -> None:
    sent_message(visit(small_clinic), channel="sms")
    body = {"from": str(small_clinic.patient.phone), "text": "Can I come at 11?", "id": "in-7"}

    post_json(client, report_path(kind="inbound"), body)
    response = post_json(client, report_path(kind="inbound"), body)

    assert response.status_code == 200
    assert response.json() == {"code": "ok", "handled": False}
    assert InboundMessage.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [{"text": "1"}, {"from": "not a number", "text": "1"}, {"from": "+998901234567"}, ["+998901234567", "1"]],
    ids=["no-sender", "bad-sender", "no-text", "list"],
)
def test_an_incoming_sms_without_sender_or_text_is_400(client: Client, db: None, body: object) -> None:
    response = post_json(client, report_path(kind="inbound"), body)

    assert response.status_code == 400
    assert response.json()["code"] == "bad_message"
    assert not InboundMessage.objects.exists()


def test_incoming_sms_need_the_secret_and_a_gateway_that_sends_them(client: Client, db: None) -> None:
    body = {"from": "+998901234567", "text": "1", "id": "in-9"}

    assert post_json(client, report_path(kind="inbound", token="x"), body).status_code == 403
    assert post_json(client, report_path("eskiz", kind="inbound"), body).status_code == 404
    assert not InboundMessage.objects.exists()


def test_gateways_calls_log_no_number_and_no_text(
    client: Client, small_clinic: SmallClinic, caplog: pytest.LogCaptureFixture
) -> None:
    sent_message(visit(small_clinic), channel="sms")
    number = str(small_clinic.patient.phone)
    with caplog.at_level(logging.DEBUG):
        post_json(client, report_path(kind="inbound"), {"from": number, "text": "Kechikaman", "id": "in-3"})
        post_json(client, report_path(kind="inbound"), {"from": number})
        post_json(client, report_path(), {"id": number, "status": "delivered"})

    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    assert number.removeprefix("+")[3:] not in logged
    assert "Kechikaman" not in logged
