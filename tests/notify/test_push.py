"""Web push: the channel posts an encrypted, VAPID-signed request to a push-service stub on loopback; a gone
subscription is forgotten; the patient's subscribe endpoint checks what the browser sends."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.notify.channels.base import Outgoing, PermanentFailure, TemporaryFailure
from navbat.notify.channels.push import PushChannel
from navbat.notify.models import PushSubscription
from navbat.notify.push import b64url, b64url_decode, push_address, vapid_keys
from navbat.patients.models import Patient
from tests import factories
from tests.notify.loopback import serving
from tests.small_clinic import SmallClinic

pytestmark = pytest.mark.django_db


# --- A push service on loopback, and a browser's keys ---


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class PushServiceStub:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers for the next requests; then 201


@contextmanager
def push_service() -> Iterator[PushServiceStub]:
    stub = PushServiceStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            headers = {name.lower(): value for name, value in self.headers.items()}
            stub.received.append(Received(self.path, headers, self.rfile.read(length)))
            status = stub.statuses.pop(0) if stub.statuses else 201
            self.send_response(status)
            if status == 201:
                self.send_header("Location", f"{stub.url}/message/m{len(stub.received)}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    with serving(Handler) as url:
        stub.url = url
        yield stub


@dataclass(frozen=True)
class Browser:
    """What a browser keeps for one subscription: its ECDH key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def subscription_json(self, endpoint: str) -> dict[str, Any]:
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        decoded: dict[str, Any] = json.loads(plain)
        return decoded


def new_browser() -> Browser:
    return Browser(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))


@pytest.fixture
def service() -> Iterator[PushServiceStub]:
    with push_service() as running:
        yield running


@pytest.fixture
def browser() -> Browser:
    return new_browser()


def subscribed(patient: Patient, browser: Browser, endpoint: str) -> PushSubscription:
    keys = browser.subscription_json(endpoint)["keys"]
    return PushSubscription.objects.create(
        patient=patient, endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"]
    )


def message_to(subscription: PushSubscription, text: str = "Reminder: Monday 10:00") -> Outgoing:
    return Outgoing(
        channel="push",
        to=str(subscription.pk),
        text=text,
        idempotency_key=f"reminder:24h:1:{subscription.pk}:push",
    )


def verify_vapid(authorization: str, *, audience: str) -> dict[str, Any]:
    """Check the VAPID header as a push service does: `vapid t=<JWT>, k=<public key>`, ES256 over the JWT."""
    scheme, _space, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == vapid_keys().public_key
    header, claims, signature = fields["t"].split(".")
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(fields["k"]))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    decoded: dict[str, Any] = json.loads(b64url_decode(claims))
    assert decoded["aud"] == audience
    return decoded


# --- The channel ---


def test_the_channel_posts_an_encrypted_vapid_signed_message(
    service: PushServiceStub, browser: Browser, small_clinic: SmallClinic
) -> None:
    subscription = subscribed(small_clinic.patient, browser, f"{service.url}/push/abc")

    sent = PushChannel().send(
        message_to(subscription, "Clinic: reminder, Monday 10:00\nhttps://navbat.example/book/a/tok/")
    )

    (request,) = service.received
    assert request.path == "/push/abc"
    assert request.headers["content-encoding"] == "aes128gcm"
    assert int(request.headers["ttl"]) > 0 and request.headers["urgency"] == "high"
    assert b"Monday" not in request.body  # encrypted
    claims = verify_vapid(request.headers["authorization"], audience=service.url)
    assert claims["sub"].startswith("mailto:")
    payload = browser.decrypt(request.body)
    assert payload["body"] == "Clinic: reminder, Monday 10:00"
    assert payload["url"] == "https://navbat.example/book/a/tok/"
    assert payload["tag"] == request.headers["topic"]
    assert sent.provider_id == "m1" and not sent.delivered


def test_a_message_without_a_link_opens_my_appointments(
    service: PushServiceStub, browser: Browser, small_clinic: SmallClinic
) -> None:
    subscription = subscribed(small_clinic.patient, browser, f"{service.url}/push/abc")

    PushChannel().send(message_to(subscription, "Your visit was moved."))

    assert browser.decrypt(service.received[0].body)["url"] == reverse("book:mine")


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_deleted_and_fails_for_good(
    service: PushServiceStub, browser: Browser, small_clinic: SmallClinic, status: int
) -> None:
    subscription = subscribed(small_clinic.patient, browser, f"{service.url}/push/gone")
    service.statuses = [status]

    with pytest.raises(PermanentFailure):
        PushChannel().send(message_to(subscription))

    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_push_service_is_tried_again(
    service: PushServiceStub, browser: Browser, small_clinic: SmallClinic, status: int
) -> None:
    subscription = subscribed(small_clinic.patient, browser, f"{service.url}/push/busy")
    service.statuses = [status]

    with pytest.raises(TemporaryFailure):
        PushChannel().send(message_to(subscription))

    assert PushSubscription.objects.count() == 1


def test_an_unreachable_push_service_is_tried_again(browser: Browser, small_clinic: SmallClinic) -> None:
    with push_service() as stopped:
        endpoint = f"{stopped.url}/push/x"
    subscription = subscribed(small_clinic.patient, browser, endpoint)

    with pytest.raises(TemporaryFailure):
        PushChannel().send(message_to(subscription))


def test_a_deleted_subscription_fails_for_good(small_clinic: SmallClinic) -> None:
    with pytest.raises(PermanentFailure):
        PushChannel().send(Outgoing(channel="push", to="999999", text="x", idempotency_key="k"))


def test_the_push_address_is_the_newest_subscription(
    service: PushServiceStub, small_clinic: SmallClinic
) -> None:
    patient = small_clinic.patient
    assert push_address(patient) == ""
    subscribed(patient, new_browser(), f"{service.url}/push/old")
    newest = subscribed(patient, new_browser(), f"{service.url}/push/new")

    assert push_address(patient) == str(newest.pk)


# --- The VAPID keys ---


def test_a_key_pair_is_generated_once_into_var(settings: SettingsWrapper, tmp_path: Path) -> None:
    settings.NAVBAT_WEB_PUSH = {**settings.NAVBAT_WEB_PUSH, "PRIVATE_KEY": "", "KEY_FILE": tmp_path / "vapid"}

    first = vapid_keys()

    assert (tmp_path / "vapid").read_text().strip() == first.private_key
    assert len(b64url_decode(first.public_key)) == 65
    assert vapid_keys() == first


def test_a_configured_private_key_wins(settings: SettingsWrapper, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    settings.NAVBAT_WEB_PUSH = {
        **settings.NAVBAT_WEB_PUSH,
        "PRIVATE_KEY": b64url(raw),
        "KEY_FILE": tmp_path / "v",
    }

    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert vapid_keys().public_key == b64url(public)
    assert not (tmp_path / "v").exists()


# --- The patient's subscribe and unsubscribe ---


def patient_browser(patient: Patient, *, csrf: bool = False, language: str = "en") -> Client:
    user = factories.UserFactory()
    patient.user = user
    patient.save(update_fields=["user"])
    client = Client(enforce_csrf_checks=csrf, headers={"Accept-Language": language})
    client.force_login(user)
    return client


def post_json(client: Client, name: str, data: object, **extra: Any) -> Any:
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(reverse(name), data=body, content_type="application/json", **extra)


def test_a_patient_subscribes_this_browser(browser: Browser, small_clinic: SmallClinic) -> None:
    client = patient_browser(small_clinic.patient)
    endpoint = "https://push.example.net/send/abc"

    response = post_json(client, "push:subscribe", browser.subscription_json(endpoint))

    assert response.status_code == 201
    assert "this browser" in response.json()["message"]
    stored = PushSubscription.objects.get()
    assert (stored.patient, stored.endpoint, stored.p256dh) == (
        small_clinic.patient,
        endpoint,
        browser.p256dh,
    )


def test_subscribing_again_keeps_one_subscription(browser: Browser, small_clinic: SmallClinic) -> None:
    client = patient_browser(small_clinic.patient)
    data = browser.subscription_json("https://push.example.net/send/abc")

    post_json(client, "push:subscribe", data)
    post_json(client, "push:subscribe", data)

    assert PushSubscription.objects.count() == 1


BAD_BODIES = [
    "{not json",
    "[]",
    {"endpoint": "https://push.example.net/x"},
    {"endpoint": "https://push.example.net/x", "keys": {"p256dh": "short", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
    {"endpoint": "not a url", "keys": {}},
    {"endpoint": 5, "keys": {"p256dh": 1, "auth": 2}},
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_what_is_not_a_subscription_is_refused_with_a_message(
    small_clinic: SmallClinic, body: object
) -> None:
    client = patient_browser(small_clinic.patient)

    response = post_json(client, "push:subscribe", body)

    assert response.status_code == 400
    assert "could not be read" in response.json()["message"]
    assert not PushSubscription.objects.exists()


def test_a_push_service_without_https_is_refused(browser: Browser, small_clinic: SmallClinic) -> None:
    client = patient_browser(small_clinic.patient)

    response = post_json(client, "push:subscribe", browser.subscription_json("http://push.example.net/x"))

    assert response.status_code == 400 and "https" in response.json()["message"]


def test_only_a_signed_in_patient_may_subscribe(browser: Browser, small_clinic: SmallClinic) -> None:
    data = browser.subscription_json("https://push.example.net/send/abc")

    anonymous = post_json(Client(), "push:subscribe", data)
    staff = Client()
    staff.force_login(small_clinic.first.user)
    colleague = post_json(staff, "push:subscribe", data)

    assert anonymous.status_code == 403 and colleague.status_code == 403
    assert not PushSubscription.objects.exists()


def test_subscribing_needs_the_csrf_token(browser: Browser, small_clinic: SmallClinic) -> None:
    client = patient_browser(small_clinic.patient, csrf=True)

    response = post_json(client, "push:subscribe", browser.subscription_json("https://push.example.net/a"))

    assert response.status_code == 403
    assert not PushSubscription.objects.exists()


def test_a_patient_unsubscribes_this_browser(browser: Browser, small_clinic: SmallClinic) -> None:
    client = patient_browser(small_clinic.patient)
    mine = subscribed(small_clinic.patient, browser, "https://push.example.net/mine")
    theirs = subscribed(small_clinic.other_patient, new_browser(), "https://push.example.net/theirs")

    ok = post_json(client, "push:unsubscribe", {"endpoint": mine.endpoint})
    other = post_json(client, "push:unsubscribe", {"endpoint": theirs.endpoint})

    assert ok.status_code == 200 and other.status_code == 200
    assert list(PushSubscription.objects.all()) == [theirs]


# --- The pages ---


def test_my_appointments_offers_reminders_in_this_browser(small_clinic: SmallClinic) -> None:
    client = patient_browser(small_clinic.patient)

    page = client.get(reverse("book:mine")).content.decode()

    assert "Get reminders in this browser" in page
    assert f'data-key="{vapid_keys().public_key}"' in page
    assert 'data-worker="/sw.js"' in page and "push.js" in page


def test_the_service_worker_is_served_from_the_root(db: None) -> None:
    response = Client().get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert "showNotification" in body and "notificationclick" in body and "openWindow" in body


def test_base64url_round_trip() -> None:
    data = os.urandom(33)
    assert b64url_decode(b64url(data)) == data
    assert "=" not in b64url(data) and base64.urlsafe_b64encode(data).decode().rstrip("=") == b64url(data)
