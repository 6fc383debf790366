"""Rate limits (accounts.ratelimits): fixed windows in the cache, searches for free times counted per address
and per phone for patients and per account for staff; a refusal is 429 with Retry-After, in the API's one
error shape with code "rate_limited". Small limits here (3 for patients, 5 for staff) keep the tests short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.accounts.access import Role
from navbat.accounts.ratelimits import Limit, RateLimitCode, take
from navbat.errors import DomainError
from tests.api.conftest import ApiClient, ApiWorld, assert_error, build_api_world

NINE_O_FIVE = datetime(2027, 3, 1, 9, 5, tzinfo=UTC)  # five minutes into a 15-minute window


@pytest.fixture
def small_limits(settings: SettingsWrapper) -> None:
    settings.NAVBAT_SEARCH_LIMITS = {"period_seconds": 900, "ip": 3, "phone": 3, "staff": 5}


@pytest.fixture
def world(db: None, small_limits: None) -> ApiWorld:
    return build_api_world()


def search(client: ApiClient, world: ApiWorld) -> Any:
    return client.get("/slots", {"service": "checkup", "date_from": world.at(1, 0).date(), "limit": 1})


# The counting ---------------------------------------------------------------------------------------------


def test_the_limit_allows_so_many_then_refuses_until_the_window_ends() -> None:
    limits = [Limit("ip", "203.0.113.7", 900, 3)]
    for _ in range(3):
        take(action="test", limits=limits, now=NINE_O_FIVE)
    with pytest.raises(DomainError) as refused:
        take(action="test", limits=limits, now=NINE_O_FIVE + timedelta(minutes=1))
    assert refused.value.code == RateLimitCode.RATE_LIMITED
    assert refused.value.details == {"retry_after": 540}  # 09:15 is the window's end
    # The next window starts afresh
    take(action="test", limits=limits, now=NINE_O_FIVE + timedelta(minutes=10))


def test_a_refused_request_is_not_counted_against_the_other_limits() -> None:
    address = Limit("ip", "203.0.113.7", 900, 5)
    phone = Limit("phone", "+998901234567", 900, 1)
    take(action="test", limits=[address, phone], now=NINE_O_FIVE)
    for _ in range(3):
        with pytest.raises(DomainError):
            take(action="test", limits=[address, phone], now=NINE_O_FIVE)
    # The address counted one request, not four: four more from other phones pass
    for number in range(4):
        take(
            action="test", limits=[address, Limit("phone", f"+99890000000{number}", 900, 1)], now=NINE_O_FIVE
        )


def test_the_cache_never_sees_the_phone_or_the_address() -> None:
    take(action="test", limits=[Limit("phone", "+998901234567", 900, 3), Limit("ip", "203.0.113.7", 900, 3)])
    keys = " ".join(str(key) for key in cache._cache)  # type: ignore[attr-defined]
    assert "limit:test:" in keys
    assert "998901234567" not in keys and "203.0.113.7" not in keys


def test_each_action_counts_for_itself() -> None:
    limits = [Limit("ip", "203.0.113.7", 900, 1)]
    take(action="search", limits=limits, now=NINE_O_FIVE)
    take(action="other", limits=limits, now=NINE_O_FIVE)


# The searches ---------------------------------------------------------------------------------------------


def test_a_patients_searches_through_the_api_are_limited_with_429_and_retry_after(world: ApiWorld) -> None:
    patient = ApiClient(world.token(Role.PATIENT.value))
    for _ in range(3):
        assert search(patient, world).status_code == 200
    refused = search(patient, world)
    body = assert_error(refused, 429, "rate_limited")
    assert "Too many requests" in body["message"]
    assert 0 < int(refused["Retry-After"]) <= 900
    assert body["details"]["retry_after"] == int(refused["Retry-After"])


def test_staff_are_counted_by_account_with_a_higher_limit_not_by_the_call_centres_address(
    world: ApiWorld,
) -> None:
    operator = ApiClient(world.token(Role.OPERATOR.value))
    for _ in range(5):
        assert search(operator, world).status_code == 200
    assert_error(search(operator, world), 429, "rate_limited")
    # A registrar behind the same address searches on: his own account's counter
    registrar = ApiClient(world.token(Role.REGISTRAR.value))
    assert search(registrar, world).status_code == 200
    # And a patient at that address too: staff searches did not count against it
    assert search(ApiClient(world.token(Role.PATIENT.value)), world).status_code == 200


def test_the_patient_pages_answer_429_with_retry_after_and_a_message(world: ApiWorld) -> None:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(world.users[Role.PATIENT.value])
    query = {"p": str(world.child.pk), "s": "checkup", "d": "any", "day": world.at(2, 0).date().isoformat()}
    for _ in range(3):
        assert client.get(reverse("book:when"), query).status_code == 200
    refused = client.get(reverse("book:when"), query)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many requests" in refused.content.decode()
