"""Password sign-in: argon2 hashes, the lock-out after failed attempts, idle sessions ending."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from navbat.clinic.models import StaffRole
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "test-pass-123"
LOGIN = reverse("login")


def attempt(client: Client, username: str, password: str, language: str = "en") -> HttpResponseBase:
    return client.post(LOGIN, {"username": username, "password": password}, HTTP_ACCEPT_LANGUAGE=language)


def text_of(response: HttpResponseBase) -> str:
    assert isinstance(response, HttpResponse)
    return response.content.decode()


# Passwords ------------------------------------------------------------------------------------------------


def test_new_passwords_are_hashed_with_argon2id() -> None:
    user = factories.UserFactory()

    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert identify_hasher(make_password("another one")).algorithm == "argon2"


def test_an_old_pbkdf2_hash_still_signs_in_and_is_rehashed_with_argon2(client: Client) -> None:
    user = factories.UserFactory()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")  # set before argon2 came in
    user.save(update_fields=["password"])

    signed_in = attempt(client, user.username, PASSWORD)

    user.refresh_from_db()
    assert signed_in.status_code == 302
    assert user.password.startswith("argon2$argon2id$")
    assert check_password(PASSWORD, user.password)


# The lock-out -----------------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_from_that_address_for_thirty_minutes(client: Client) -> None:
    user = factories.StaffFactory(role=StaffRole.REGISTRAR).user

    tries = [attempt(client, user.username, "wrong") for _ in range(5)]
    right_but_locked = attempt(client, user.username, PASSWORD)

    assert [t.status_code for t in tries[:4]] == [200] * 4
    assert "incorrect" in text_of(tries[3])
    assert tries[4].status_code == 429
    assert right_but_locked.status_code == 429
    html = text_of(right_but_locked)
    latest = AccessAttempt.objects.get(username=user.username).attempt_time
    until = timezone.localtime(latest + timedelta(minutes=30))
    assert "Too many failed sign-in attempts" in html
    assert f"Try again after {until:%H:%M}" in html
    assert "in about 30 minutes" in html
    assert client.get("/").wsgi_request.user.is_anonymous


def test_the_lock_is_for_that_username_from_that_address_only(client: Client) -> None:
    locked = factories.StaffFactory(role=StaffRole.OPERATOR).user
    colleague = factories.StaffFactory(role=StaffRole.OPERATOR).user
    for _ in range(5):
        attempt(client, locked.username, "wrong")

    from_elsewhere = attempt(Client(REMOTE_ADDR="10.1.2.3"), locked.username, PASSWORD)
    colleague_here = attempt(Client(), colleague.username, PASSWORD)

    assert from_elsewhere.status_code == 302
    assert colleague_here.status_code == 302


def test_the_lock_ends_thirty_minutes_after_the_last_failure(client: Client) -> None:
    user = factories.StaffFactory(role=StaffRole.OPERATOR).user
    for _ in range(5):
        attempt(client, user.username, "wrong")
    assert attempt(client, user.username, PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))

    assert attempt(client, user.username, PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_count(client: Client) -> None:
    user = factories.StaffFactory(role=StaffRole.OPERATOR).user
    for _ in range(4):
        attempt(client, user.username, "wrong")
    assert attempt(client, user.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))

    after = [attempt(client, user.username, "wrong").status_code for _ in range(4)]

    assert after == [200] * 4


def test_the_lock_out_page_speaks_the_visitors_language(client: Client) -> None:
    user = factories.StaffFactory(role=StaffRole.REGISTRAR).user
    for _ in range(5):
        attempt(client, user.username, "wrong")

    russian = attempt(client, user.username, PASSWORD, language="ru")

    html = text_of(russian)
    assert russian.status_code == 429
    assert '<html lang="ru">' in html
    assert "Too many failed sign-in attempts" not in html


def test_the_proxy_setting_reads_the_client_address_from_x_forwarded_for(settings: object) -> None:
    from django.test import RequestFactory

    from navbat.accounts.middleware import client_ip

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.NAVBAT_TRUSTED_PROXIES = 0  # type: ignore[attr-defined]
    direct = client_ip(request)
    settings.NAVBAT_TRUSTED_PROXIES = 1  # type: ignore[attr-defined]
    behind_one = client_ip(request)

    assert direct == "10.0.0.1"
    assert behind_one == "203.0.113.7"  # not the forged left-most entry


# Idle sessions ----------------------------------------------------------------------------------------------


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def test_sessions_last_thirty_idle_minutes_and_end_with_the_browser() -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_an_idle_session_ends_after_thirty_minutes_and_activity_keeps_it_alive(client: Client) -> None:
    operator = factories.StaffFactory(role=StaffRole.OPERATOR).user
    signed_in = attempt(client, operator.username, PASSWORD)
    start = timezone.now()
    page = reverse("accounts:two_factor_setup")  # any page that needs a signed-in user

    assert signed_in.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == ""  # gone when the browser closes
    with clock(start + timedelta(minutes=29)):
        assert client.get(page).status_code == 200
    with clock(start + timedelta(minutes=58)):  # 29 minutes after the last request
        assert client.get(page).status_code == 200
    with clock(start + timedelta(minutes=89)):  # 31 idle minutes
        expired = client.get(page)

    assert expired.status_code == 302 and expired["Location"].startswith(reverse("login"))
