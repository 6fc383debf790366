"""Fixtures for the notification tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.notify.gateway_stub import StubGateway
from tests.notify.gateway_stub import sms_gateway as running_sms_gateway

WEBHOOK_TOKEN = "test-webhook-secret"


@pytest.fixture
def sms_gateway(settings: SettingsWrapper) -> Iterator[StubGateway]:
    """A real HTTP SMS gateway on 127.0.0.1 (tests/notify/gateway_stub.py), and NAVBAT_SMS pointing at it
    through the generic JSON protocol. Make it fail with `sms_gateway.configure(fail_rate=0.3, seed=7)` or
    `sms_gateway.fail_next("error", "slow")`; the client gives up on a "slow" answer after 0.3 s."""
    with running_sms_gateway(slow_seconds=1.0) as gateway:
        settings.NAVBAT_SMS = {
            "BACKEND": "generic",
            "URL": gateway.url,
            "TOKEN": gateway.token,
            "TIMEOUT": 0.3,
            "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
            "PUBLIC_URL": "https://navbat.example.uz",
        }
        yield gateway
