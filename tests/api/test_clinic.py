"""Clinics, dentists and services: what a booking client shows before it books."""

from __future__ import annotations

from tests import factories
from tests.api.conftest import assert_error


def test_clinics(world, as_user):
    response = as_user("patient").get("/clinics")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": world.clinic.pk,
            "name": "API clinic",
            "address": "",
            "country": "UZ",
            "time_zone": "Asia/Tashkent",
            "currency": "UZS",
        }
    ]


def test_dentists_of_the_callers_clinic_with_specialties_in_his_language(world, as_user):
    response = as_user("operator", "ru").get("/dentists")

    dentists = response.json()
    assert [d["id"] for d in dentists] == [d.pk for d in world.dentists]
    assert dentists[0]["specialties"] == [{"code": "therapist", "name": "Терапевт"}]
    assert dentists[0]["name"] == "Dilnoza Doc0"


def test_dentists_who_can_do_a_service(world, as_user):
    surgeon = factories.SpecialtyFactory(
        code="surgeon", name_uz="Jarroh", name_ru="Хирург", name_en="Surgeon"
    )
    factories.ServiceFactory(clinic=world.clinic, code="extraction", specialty=surgeon)
    client = as_user("operator")

    assert client.get("/dentists", {"service": "extraction"}).json() == []
    assert len(client.get("/dentists", {"service": "checkup"}).json()) == 2
    assert_error(client.get("/dentists", {"service": "nope"}), 404, "not_found")


def test_services_of_a_clinic(world, as_user):
    world.service.price = 150000
    world.service.save()

    services = as_user("patient", "uz").get("/services", {"clinic": world.clinic.pk}).json()

    assert services == [
        {
            "id": world.service.pk,
            "code": "checkup",
            "name": "Karies davolash",
            "clinic_id": world.clinic.pk,
            "duration_minutes": 30,
            "specialty": "therapist",
            "price": "150000.00",
            "currency": "UZS",
            "funding": "paid",
            "min_age": None,
            "max_age": None,
        }
    ]


def test_an_unknown_clinic(world, as_user):
    assert_error(as_user("operator").get("/services", {"clinic": 999999}), 404, "not_found")
