"""Reminders in this browser, in a real browser: the patient's "My appointments" registers the service
worker at /sw.js, asks for permission, subscribes with the server's VAPID key and hands the subscription
to the server; "Stop" takes it back.

Chromium's own push service is out of reach here, so the page's PushManager is replaced by one that hands
out a fixed subscription (keys of a real P-256 pair); everything else — the service worker, permission,
the page's script, CSRF and the server — is the real thing."""

from __future__ import annotations

import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from navbat.notify.models import PushSubscription
from navbat.notify.push import b64url, b64url_decode, vapid_keys
from tests import factories

pytestmark = pytest.mark.browser

ENDPOINT = "https://push.example.net/send/browser-1"


def fake_push_manager(subscription: dict[str, object]) -> str:
    return f"""(() => {{
  const json = {json.dumps(subscription)};
  let current = null;
  const made = {{
    endpoint: json.endpoint,
    toJSON: () => json,
    unsubscribe: async () => {{ current = null; return true; }},
  }};
  PushManager.prototype.subscribe = async function (options) {{
    window.applicationServerKey = Array.from(new Uint8Array(options.applicationServerKey));
    current = made;
    return made;
  }};
  PushManager.prototype.getSubscription = async function () {{ return current; }};
}})();"""


@pytest.mark.parametrize("language", ["en"])
def test_a_patient_turns_reminders_in_this_browser_on_and_off(
    page: Page, live_server: LiveServer, language: str
) -> None:
    patient = factories.PatientFactory()
    user = factories.UserFactory()
    patient.user = user
    patient.save(update_fields=["user"])
    signed_in = Client()
    signed_in.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": signed_in.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    browser_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = browser_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    keys = {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}
    page.add_init_script(fake_push_manager({"endpoint": ENDPOINT, "expirationTime": None, "keys": keys}))

    page.goto("/book/mine/")
    turn_on = page.get_by_role("button", name="Get reminders in this browser")
    expect(turn_on).to_be_visible()
    scope = page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.scope)")
    assert scope == live_server.url + "/"

    turn_on.click()

    expect(page.locator("[data-push-status]")).to_have_text("Reminders will come to this browser.")
    stored = PushSubscription.objects.get()
    assert (stored.patient, stored.endpoint, stored.p256dh) == (patient, ENDPOINT, keys["p256dh"])
    assert bytes(page.evaluate("window.applicationServerKey")) == b64url_decode(vapid_keys().public_key)
    turn_off = page.get_by_role("button", name="Stop reminders in this browser")
    expect(turn_off).to_be_visible()
    expect(turn_on).to_be_hidden()

    turn_off.click()

    expect(page.locator("[data-push-status]")).to_have_text("Reminders will no longer come to this browser.")
    assert not PushSubscription.objects.exists()
    expect(turn_on).to_be_visible()
