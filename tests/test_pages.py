"""Pages a person opens: the home page, sign-in, the day board, and the admin."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from navbat.booking.models import Appointment
from navbat.clinic.models import StaffRole
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db


def test_a_visitor_sees_the_clinic_and_a_sign_in_link(client: Client) -> None:
    clinic = factories.ClinicFactory(name="Yunusobod tish poliklinikasi")

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert page.status_code == 200
    assert clinic.name in html
    assert reverse("login") in html
    assert "Staff sign in" in html


def test_the_interface_speaks_the_visitors_language(client: Client) -> None:
    factories.ClinicFactory()

    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    russian = client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert '<html lang="en">' in english
    assert '<html lang="ru">' in russian
    assert "Staff sign in" not in russian


def test_a_registrar_signs_in_and_sees_the_days_appointments(
    client: Client, small_clinic: SmallClinic
) -> None:
    from navbat.booking.services import book_appointment
    from navbat.booking.statuses import Channel

    c = small_clinic
    registrar = factories.StaffFactory(clinic=c.clinic, role=StaffRole.REGISTRAR)
    book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 10),
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW,
    )

    signed_in = client.post(
        reverse("login"), {"username": registrar.user.username, "password": "test-pass-123"}
    )
    page = client.get("/", {"date": MONDAY.isoformat()}, HTTP_ACCEPT_LANGUAGE="en")

    assert signed_in.status_code == 302
    html = page.content.decode()
    assert c.first.display_name in html
    assert c.second.display_name in html  # working, no appointments yet
    assert c.patient.short_name in html
    assert "10:00–10:30" in html
    assert c.patient.phone.as_e164 not in html  # the board shows no more than it needs


def test_a_bad_date_is_a_clear_400_not_a_crash(client: Client, small_clinic: SmallClinic) -> None:
    registrar = factories.StaffFactory(clinic=small_clinic.clinic, role=StaffRole.REGISTRAR)
    client.force_login(registrar.user)

    page = client.get("/", {"date": "31.02.2027"}, HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 400
    assert "is not a date" in page.content.decode()


def test_a_user_without_a_clinic_sees_no_schedule(client: Client, small_clinic: SmallClinic) -> None:
    outsider = factories.UserFactory()
    client.force_login(outsider)

    page = client.get("/", {"date": MONDAY.isoformat()}, HTTP_ACCEPT_LANGUAGE="en")

    assert small_clinic.patient.short_name not in page.content.decode()
    assert "no access" in page.content.decode()


def test_a_wrong_password_is_told_plainly(client: Client) -> None:
    factories.UserFactory(username="operator1")

    page = client.post(
        reverse("login"), {"username": "operator1", "password": "nope"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert page.status_code == 200
    assert "incorrect" in page.content.decode()


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_admin_list_opens_with_search_and_filters(
    admin_client: Client, model: type[Model], small_clinic: SmallClinic
) -> None:
    model_admin = admin.site._registry[model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    plain = admin_client.get(url)
    searched = admin_client.get(url, {"q": "a"}) if model_admin.search_fields else plain

    assert plain.status_code == 200
    assert searched.status_code == 200


def test_the_admin_speaks_uzbek_and_russian(admin_client: Client) -> None:
    for language in ("uz", "ru"):
        with translation.override(language):
            label = str(Appointment._meta.verbose_name_plural)
        with translation.override("en"):
            english = str(Appointment._meta.verbose_name_plural)

        page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language)

        assert label != english, f"no {language} translation of the model names"
        assert label.capitalize() in page.content.decode()
