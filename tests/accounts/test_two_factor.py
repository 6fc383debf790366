"""Two-step sign-in for staff: required for administrators and superusers, open to everyone else on staff."""

from __future__ import annotations

from base64 import b32decode, b32encode
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from navbat.accounts.access import Role
from navbat.accounts.services import assign_role, ensure_demo_second_factor, new_recovery_codes
from navbat.clinic.models import StaffMember, StaffRole
from tests import factories
from tests.accounts.helpers import authenticator, current_code, sign_in_verified

pytestmark = pytest.mark.django_db

PASSWORD = "test-pass-123"  # what factories.UserFactory sets
SETUP = reverse("accounts:two_factor_setup")
VERIFY = reverse("accounts:two_factor_verify")


def staff(role: StaffRole) -> StaffMember:
    member = factories.StaffFactory(role=role)
    assign_role(user=member.user, role=role)
    return member


def sign_in(client: Client, user: User) -> None:
    """Through the sign-in page, as a person does (and as django-axes watches)."""
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the password was not accepted"


def path_of(response: object) -> str:
    return urlsplit(response["Location"]).path  # type: ignore[index]


def not_now(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_an_administrator_is_sent_to_set_up_a_second_factor_before_any_page_the_admin_too(
    client: Client,
) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    sign_in(client, administrator)

    for page in ("/", reverse("patients:search"), reverse("admin:index"), reverse("me:home")):
        response = client.get(page)
        assert response.status_code == 302 and path_of(response) == SETUP, page
    assert client.get("/patients/")["Location"] == f"{SETUP}?next=%2Fpatients%2F"


def test_setting_up_shows_the_qr_code_and_a_correct_code_lets_him_in(client: Client) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    sign_in(client, administrator)

    setup = client.get(SETUP, HTTP_ACCEPT_LANGUAGE="en")
    device = TOTPDevice.objects.get(user=administrator)
    confirmed = client.post(
        SETUP, {"token": current_code(device), "next": "/patients/"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    html = setup.content.decode()
    assert setup.status_code == 200
    assert "otpauth://totp/navbat%3A" in html and "secret=" in html
    assert "<svg" in html and "<path" in html  # the QR code, inline
    assert setup["Cache-Control"].startswith("max-age=0") and "no-store" in setup["Cache-Control"]
    assert confirmed.status_code == 200
    codes = confirmed.context["codes"]
    assert len(codes) == 10 and all(code in confirmed.content.decode() for code in codes)
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/patients/").status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_wrong_code_at_set_up_is_a_clear_400_and_changes_nothing(client: Client) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    sign_in(client, administrator)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=administrator)

    refused = client.post(SETUP, {"token": not_now(current_code(device))}, HTTP_ACCEPT_LANGUAGE="en")

    assert refused.status_code == 400
    assert "This code is not right" in refused.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert path_of(client.get("/")) == SETUP


def test_an_administrator_with_an_authenticator_enters_his_code_after_the_password(client: Client) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    device = authenticator(administrator)
    sign_in(client, administrator)

    asked = client.get("/patients/")
    page = client.get(asked["Location"])
    entered = client.post(VERIFY, {"token": current_code(device), "next": "/patients/"})

    assert asked.status_code == 302 and path_of(asked) == VERIFY
    assert page.status_code == 200
    assert entered.status_code == 302 and entered["Location"] == "/patients/"
    assert client.get("/patients/").status_code == 200


def test_the_code_may_be_typed_with_a_space_and_a_foreign_next_address_is_ignored(client: Client) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    device = authenticator(administrator)
    sign_in(client, administrator)
    code = current_code(device)

    entered = client.post(VERIFY, {"token": f"{code[:3]} {code[3:]}", "next": "https://evil.example/"})

    assert entered.status_code == 302 and entered["Location"] == reverse("home")


def test_repeated_wrong_codes_are_slowed_down(client: Client) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    device = authenticator(administrator)
    sign_in(client, administrator)
    wrong = not_now(current_code(device))

    first = client.post(VERIFY, {"token": wrong}, HTTP_ACCEPT_LANGUAGE="en")
    right_too_soon = client.post(VERIFY, {"token": current_code(device)}, HTTP_ACCEPT_LANGUAGE="en")

    assert first.status_code == 400 and "This code is not right" in first.content.decode()
    assert right_too_soon.status_code == 400
    assert "Too many wrong codes" in right_too_soon.content.decode()
    assert path_of(client.get("/")) == VERIFY


def test_a_recovery_code_lets_him_in_once(client: Client) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    authenticator(administrator)
    code = new_recovery_codes(user=administrator)[0]

    sign_in(client, administrator)
    first = client.post(VERIFY, {"token": code.upper()})
    client.post(reverse("logout"))
    sign_in(client, administrator)
    again = client.post(VERIFY, {"token": code})

    assert first.status_code == 302
    assert again.status_code == 400


def test_without_his_code_he_cannot_replace_his_authenticator(client: Client) -> None:
    """Else a stolen password would be enough to enrol the thief's phone."""
    administrator = staff(StaffRole.ADMINISTRATOR).user
    authenticator(administrator)
    sign_in(client, administrator)

    response = client.get(SETUP)

    assert response.status_code == 302 and path_of(response) == VERIFY
    assert TOTPDevice.objects.filter(user=administrator).count() == 1


def test_a_superuser_must_pass_the_second_factor_for_the_admin_site(client: Client) -> None:
    root = factories.UserFactory(is_superuser=True, is_staff=True)
    sign_in(client, root)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302 and path_of(response) == SETUP


def test_an_operator_without_two_factor_signs_in_with_his_password_alone(client: Client) -> None:
    operator = staff(StaffRole.OPERATOR).user
    sign_in(client, operator)

    assert client.get("/").status_code == 200
    assert client.get("/patients/").status_code == 200
    assert client.get(SETUP).status_code == 200  # he may set one up if he wants


def test_staff_who_set_up_a_second_factor_must_then_use_it(client: Client) -> None:
    dentist = staff(StaffRole.DENTIST).user
    authenticator(dentist)
    sign_in(client, dentist)

    response = client.get("/")

    assert response.status_code == 302 and path_of(response) == VERIFY


def test_an_htmx_request_is_told_to_load_the_code_page_as_a_whole(client: Client) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    authenticator(administrator)
    sign_in(client, administrator)

    response = client.get("/patients/", {"q": "a"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 204
    assert urlsplit(response["HX-Redirect"]).path == VERIFY


def test_signing_out_needs_no_code(client: Client) -> None:
    administrator = staff(StaffRole.ADMINISTRATOR).user
    sign_in(client, administrator)

    response = client.post(reverse("logout"))

    assert response.status_code == 302 and path_of(response) == reverse("home")
    assert client.get("/").status_code == 200


def test_the_demo_administrator_signs_in_with_the_printed_secret_or_a_printed_code(client: Client) -> None:
    administrator = factories.UserFactory(username="admin", is_superuser=True, is_staff=True)
    printed = ensure_demo_second_factor(user=administrator)
    again = ensure_demo_second_factor(user=administrator)

    assert printed.secret == again.secret and printed.recovery_codes == again.recovery_codes
    assert len(printed.recovery_codes) == 5 and printed.uri.startswith("otpauth://totp/")
    code = f"{totp(b32decode(printed.secret)):06d}"  # what an app (or `oathtool --totp -b`) shows
    sign_in(client, administrator)
    assert client.post(VERIFY, {"token": code}).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200

    used = printed.recovery_codes[0]
    client.post(reverse("logout"))
    sign_in(client, administrator)
    assert client.post(VERIFY, {"token": used}).status_code == 302
    topped_up = ensure_demo_second_factor(user=administrator)
    assert used not in topped_up.recovery_codes and len(topped_up.recovery_codes) == 5


def test_a_patient_has_no_staff_two_factor(client: Client) -> None:
    me = factories.PatientFactory(user=factories.UserFactory(password="!"))
    assert me.user is not None
    assign_role(user=me.user, role=Role.PATIENT)
    client.force_login(me.user)

    assert client.get(SETUP).status_code == 403
    assert client.get(VERIFY).status_code == 403


def test_the_admin_shows_nobody_another_staff_members_secret_or_recovery_codes(client: Client) -> None:
    root = factories.UserFactory(is_superuser=True, is_staff=True)
    dentist = staff(StaffRole.DENTIST).user
    device = authenticator(dentist)
    codes = new_recovery_codes(user=dentist)
    static = StaticDevice.objects.get(user=dentist)
    sign_in_verified(client, root)

    pages = [
        client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])),
        client.get(reverse("admin:otp_static_staticdevice_change", args=[static.pk])),
    ]

    assert all(page.status_code == 200 for page in pages)
    html = "".join(page.content.decode() for page in pages)
    assert device.key not in html and b32encode(device.bin_key).decode() not in html
    assert not any(code in html for code in codes)
