"""Every error in one shape — {"code", "message", "details"} — with its status, in the caller's language."""

from __future__ import annotations

import pytest
from django.utils import translation

from navbat.api import MESSAGES, ApiErrorCode, domain_error_answer
from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import Appointment
from navbat.errors import DomainError
from navbat.patients.errors import PatientErrorCode
from tests.api.conftest import ApiClient, assert_error


def booking(world, patient=None, **changes):
    body = {
        "patient": (patient or world.patient).pk,
        "service": "checkup",
        "start": world.at(1, 10).isoformat(),
    }
    return {**body, **changes}


def test_400_a_body_that_is_not_json(as_user):
    response = as_user("operator").client.post(
        "/api/v1/appointments", data=b"{not json", content_type="application/json", headers={}
    )

    assert_error(response, 401, "unauthorized")  # no token: authentication comes first
    client = as_user("operator")
    response = client.client.post(
        "/api/v1/appointments", data=b"{not json", content_type="application/json", headers=client.headers
    )
    assert_error(response, 400, "bad_request")


def test_400_a_rule_of_the_booking_service(world, as_user):
    response = as_user("operator").post("/appointments", booking(world, start=world.at(-1, 10).isoformat()))

    body = assert_error(response, 400, "in_the_past")
    assert body["message"] == "This time has already passed."
    assert not Appointment.objects.exists()


def test_401_without_a_token_or_a_session_and_with_a_wrong_token(world):
    for client in (ApiClient(), ApiClient(token="nbt_not-a-real-token")):
        response = client.get("/clinics")
        assert_error(response, 401, "unauthorized")
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_403_a_step_the_role_may_not_take(world, as_user):
    appointment = world.book(world.patient, world.at(1, 9))

    response = as_user("operator").post(f"/appointments/{appointment.pk}/arrive")

    assert_error(response, 403, "forbidden")
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_404_an_unknown_object_and_an_unknown_address(as_user):
    client = as_user("registrar")

    assert_error(client.get("/appointments/999999"), 404, "not_found")
    assert_error(client.get("/patients/999999"), 404, "not_found")
    assert_error(client.get("/no/such/thing"), 404, "not_found")


def test_405_a_method_the_address_does_not_take(as_user):
    response = as_user("registrar").request("delete", "/clinics")

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_409_the_time_is_taken(world, as_user):
    world.book(world.stranger, world.at(1, 10), dentist=0)

    response = as_user("operator").post("/appointments", booking(world, dentist=world.dentists[0].pk))

    assert_error(response, 409, "slot_taken")


def test_422_missing_and_malformed_fields_name_where(world, as_user):
    response = as_user("operator").post("/appointments", {"patient": "someone", "service": "checkup"})

    body = assert_error(response, 422, "invalid")
    where = {tuple(error["loc"]) for error in body["details"]["errors"]}
    assert where == {("body", "patient"), ("body", "start")}


def test_422_a_field_the_body_does_not_have(world, as_user):
    response = as_user("operator").post("/appointments", booking(world, dentist_id=1))

    body = assert_error(response, 422, "invalid")
    assert body["details"]["errors"][0]["loc"] == ["body", "dentist_id"]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("language", ["uz", "ru"])
def test_messages_are_in_the_callers_language(world, as_user, language):
    client = as_user("operator", language)

    invalid = assert_error(client.post("/appointments", {}), 422, "invalid")
    past = assert_error(
        client.post("/appointments", booking(world, start=world.at(-1, 9).isoformat())), 400, "in_the_past"
    )
    unknown = assert_error(client.get("/appointments/999999"), 404, "not_found")

    with translation.override(language):
        assert invalid["message"] == str(MESSAGES[ApiErrorCode.INVALID])
        assert past["message"] == translation.gettext("This time has already passed.")
        assert unknown["message"] == translation.gettext("No such appointment.")
    assert invalid["message"] != "Some fields are not filled in correctly."
    assert unknown["message"] != "No such appointment."


@pytest.mark.parametrize("code", [*BookingErrorCode, *PatientErrorCode])
def test_every_service_refusal_is_a_400_or_a_409(code):
    status, body = domain_error_answer(DomainError(code, "refused", limit=3))

    assert status in (400, 409)
    assert body == {"code": code.value, "message": "refused", "details": {"limit": 3}}


def test_conflicts_with_what_is_there_are_409():
    assert domain_error_answer(DomainError(BookingErrorCode.SLOT_TAKEN, "x"))[0] == 409
    assert domain_error_answer(DomainError(BookingErrorCode.INVALID_TRANSITION, "x"))[0] == 409
    assert domain_error_answer(DomainError(BookingErrorCode.IN_THE_PAST, "x"))[0] == 400
    assert domain_error_answer(DomainError(ApiErrorCode.IDEMPOTENCY_KEY_REUSED, "x"))[0] == 422
