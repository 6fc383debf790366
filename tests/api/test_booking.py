"""Slots, booking, idempotent retries, and every step of an appointment, through the HTTP API."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from navbat.accounts.idempotency import forget_old_answers
from navbat.accounts.models import IdempotencyRecord
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.statuses import Status
from navbat.clinic.models import CapacityPolicy
from tests.api.conftest import assert_error


def booking(world, patient=None, **changes):
    body = {
        "patient": (patient or world.patient).pk,
        "service": "checkup",
        "start": world.at(1, 10).isoformat(),
    }
    return {**body, **changes}


# --- Free slots ---------------------------------------------------------------------------------------------


def test_slots_for_staff_earliest_first_with_dentist_and_chair(world, as_user):
    tomorrow = world.at(1, 0).date()

    response = as_user("operator").get("/slots", {"service": "checkup", "date_from": tomorrow, "limit": 4})

    assert response.status_code == 200
    slots = response.json()
    assert len(slots) == 4
    first = slots[0]
    assert datetime.fromisoformat(first["start"]) == world.at(1, 8)
    assert datetime.fromisoformat(first["end"]) == world.at(1, 8, 30)
    assert first["start"].endswith("+05:00")  # the clinic's time
    assert {first["dentist"]["name"], first["chair"]["name"]} <= {
        "Dilnoza Doc0",
        "Dilnoza Doc1",
        "Chair 1",
        "Chair 2",
    }
    assert [s["start"] for s in slots] == sorted(s["start"] for s in slots)


def test_slots_of_one_dentist_and_leaving_out_the_patients_own_bookings(world, as_user):
    dentist = world.dentists[1]
    world.book(world.patient, world.at(1, 8), dentist=0)
    client = as_user("registrar")
    query = {"service": "checkup", "date_from": world.at(1, 0).date(), "limit": 2}

    mine = client.get("/slots", {**query, "dentist": dentist.pk}).json()
    for_patient = client.get("/slots", {**query, "dentist": dentist.pk, "patient": world.patient.pk}).json()

    assert {s["dentist"]["id"] for s in mine} == {dentist.pk}
    assert datetime.fromisoformat(mine[0]["start"]) == world.at(1, 8)
    # The patient is busy 08:00–08:30 with the other dentist: his first time with this one is 08:30.
    assert datetime.fromisoformat(for_patient[0]["start"]) == world.at(1, 8, 30)


def test_patients_get_online_slots_after_the_clinics_notice(world, as_user):
    slots = as_user("patient").get("/slots", {"service": "checkup", "limit": 1}).json()

    notice = timedelta(minutes=world.clinic.min_notice_minutes)
    assert datetime.fromisoformat(slots[0]["start"]) >= timezone.now() + notice


def test_the_call_centre_does_not_get_the_emergency_reserve_the_desk_does(world, as_user):
    # The working day 08:00–20:00: a 10% reserve is its last 72 minutes, 75 in quarter hours, from 18:45.
    CapacityPolicy.objects.create(clinic=world.clinic)
    day = world.at(2, 0).date()
    query = {
        "service": "checkup",
        "date_from": day,
        "date_to": day,
        "dentist": world.dentists[0].pk,
        "limit": 50,
    }

    def starts(role):
        return {datetime.fromisoformat(s["start"]) for s in as_user(role).get("/slots", query).json()}

    by_phone, at_the_desk = starts("operator"), starts("registrar")

    assert world.at(2, 18, 15) in by_phone and not {world.at(2, 18, 30), world.at(2, 18, 45)} & by_phone
    assert {world.at(2, 18, 30), world.at(2, 18, 45), world.at(2, 19, 30)} <= at_the_desk
    refused = as_user("operator").post("/appointments", booking(world, start=world.at(2, 19).isoformat()))
    assert_error(refused, 409, "slot_taken")


def test_slots_refuse_an_unknown_service_or_dentist_and_dates_out_of_order(world, as_user):
    client = as_user("operator")
    tomorrow = world.at(1, 0).date()

    assert_error(client.get("/slots", {"service": "nope"}), 404, "not_found")
    assert_error(client.get("/slots", {"service": "checkup", "dentist": 999999}), 404, "not_found")
    backwards = {"service": "checkup", "date_from": tomorrow, "date_to": tomorrow - timedelta(days=2)}
    assert_error(client.get("/slots", backwards), 422, "invalid")
    assert_error(client.get("/slots", {"service": "checkup", "date_from": "1900-01-01"}), 422, "invalid")


# --- Booking ------------------------------------------------------------------------------------------------


def test_an_operator_books_by_phone(world, as_user):
    response = as_user("operator").post("/appointments", booking(world, notes="Toothache, left"))

    assert response.status_code == 201, response.content
    body = response.json()
    appointment = Appointment.objects.get()
    assert body["id"] == appointment.pk
    assert body["status"] == "booked" and body["channel"] == "phone"
    assert body["patient_id"] == world.patient.pk
    assert body["service"] == {"code": "checkup", "name": "Caries treatment"}
    assert datetime.fromisoformat(body["start"]) == world.at(1, 10)
    assert body["notes"] == "Toothache, left"
    assert appointment.created_by == world.users["operator"]


def test_a_parent_books_for_his_child_online(world, as_user):
    response = as_user("patient").post("/appointments", booking(world, patient=world.child))

    assert response.status_code == 201, response.content
    assert response.json()["channel"] == "web"
    assert Appointment.objects.get().patient == world.child


def test_a_patient_cannot_book_for_a_stranger(world, as_user):
    response = as_user("patient").post("/appointments", booking(world, patient=world.stranger))

    assert_error(response, 404, "not_found")
    assert not Appointment.objects.exists()


def test_booking_with_a_chosen_dentist_and_chair(world, as_user):
    dentist, chair = world.dentists[1], world.chairs[0]

    response = as_user("registrar").post("/appointments", booking(world, dentist=dentist.pk, chair=chair.pk))

    assert response.status_code == 201, response.content
    assert response.json()["dentist"]["id"] == dentist.pk
    assert response.json()["chair"] == {"id": chair.pk, "name": "Chair 1"}


# --- Idempotency-Key ----------------------------------------------------------------------------------------


def test_a_retried_post_gets_the_first_answer_and_books_once(world, as_user):
    client = as_user("operator")

    first = client.post("/appointments", booking(world), **{"Idempotency-Key": "f3b2c1"})
    retry = client.post("/appointments", booking(world), **{"Idempotency-Key": "f3b2c1"})

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    assert Appointment.objects.count() == 1
    assert IdempotencyRecord.objects.get().response_status == 201


def test_a_refusal_is_replayed_too(world, as_user):
    world.book(world.stranger, world.at(1, 10), dentist=0)
    client = as_user("operator")
    body = booking(world, dentist=world.dentists[0].pk)

    first = client.post("/appointments", body, **{"Idempotency-Key": "k-409"})
    Appointment.objects.all().delete()  # the time is free now, but a retry is still the same request
    retry = client.post("/appointments", body, **{"Idempotency-Key": "k-409"})

    assert_error(first, 409, "slot_taken")
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert not Appointment.objects.exists()


def test_the_same_key_with_a_different_body_is_refused(world, as_user):
    client = as_user("operator")
    client.post("/appointments", booking(world), **{"Idempotency-Key": "k-1"})

    response = client.post("/appointments", booking(world, notes="other"), **{"Idempotency-Key": "k-1"})

    assert_error(response, 422, "idempotency_key_reused")
    assert Appointment.objects.count() == 1


def test_keys_are_per_user(world, as_user):
    as_user("operator").post("/appointments", booking(world), **{"Idempotency-Key": "shared"})

    response = as_user("registrar").post(
        "/appointments",
        booking(world, patient=world.stranger, start=world.at(1, 11).isoformat()),
        **{"Idempotency-Key": "shared"},
    )

    assert response.status_code == 201
    assert Appointment.objects.count() == 2


def test_kept_answers_are_forgotten_after_a_day_then_the_key_is_a_new_request(world, as_user):
    client = as_user("operator")
    first = client.post("/appointments", booking(world), **{"Idempotency-Key": "day-old"})
    client.post(
        "/appointments", booking(world, start=world.at(1, 12).isoformat()), **{"Idempotency-Key": "new"}
    )
    IdempotencyRecord.objects.filter(key="day-old").update(created_at=timezone.now() - timedelta(hours=25))

    assert forget_old_answers() == 1

    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"new"}
    again = client.post("/appointments", booking(world), **{"Idempotency-Key": "day-old"})
    assert first.status_code == 201
    assert_error(again, 409, "slot_taken")  # done again, not replayed: the time is his already
    assert "Idempotent-Replayed" not in again


# --- One appointment ----------------------------------------------------------------------------------------


def test_a_patient_sees_his_childs_appointment_and_not_a_strangers(world, as_user):
    childs = world.book(world.child, world.at(1, 9))
    strangers = world.book(world.stranger, world.at(1, 9), dentist=1)
    client = as_user("patient")

    assert client.get(f"/appointments/{childs.pk}").json()["patient_id"] == world.child.pk
    assert_error(client.get(f"/appointments/{strangers.pk}"), 404, "not_found")


def test_patch_changes_the_notes_and_nothing_else(world, as_user):
    appointment = world.book(world.patient, world.at(1, 9))
    client = as_user("registrar")

    changed = client.patch(f"/appointments/{appointment.pk}", {"notes": "  Bring the X-ray  "})
    refused = client.patch(f"/appointments/{appointment.pk}", {"start": world.at(2, 9).isoformat()})

    assert changed.status_code == 200
    assert changed.json()["notes"] == "Bring the X-ray"
    assert_error(refused, 422, "invalid")
    appointment.refresh_from_db()
    assert appointment.notes == "Bring the X-ray"
    assert appointment.starts_at == world.at(1, 9)


def test_cancel_frees_the_time_and_records_who_and_why(world, as_user):
    appointment = world.book(world.patient, world.at(1, 10), dentist=0)
    client = as_user("operator")

    response = client.post(f"/appointments/{appointment.pk}/cancel", {"reason": "Feels better"})

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    event = AppointmentEvent.objects.get(appointment=appointment)
    assert (event.from_status, event.to_status, event.reason) == ("booked", "cancelled", "Feels better")
    assert event.actor == world.users["operator"]
    again = client.post("/appointments", booking(world, patient=world.stranger, dentist=world.dentists[0].pk))
    assert again.status_code == 201


def test_a_parent_cancels_his_childs_appointment(world, as_user):
    appointment = world.book(world.child, world.at(1, 9))

    response = as_user("patient").post(f"/appointments/{appointment.pk}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_reschedule_books_the_new_time_and_cancels_the_old_one(world, as_user):
    old = world.book(world.patient, world.at(1, 9), dentist=1)

    response = as_user("operator").post(
        f"/appointments/{old.pk}/reschedule", {"start": world.at(1, 9, 15).isoformat(), "reason": "Late"}
    )

    assert response.status_code == 201, response.content
    new = Appointment.objects.get(pk=response.json()["id"])
    old.refresh_from_db()
    assert old.status == Status.CANCELLED
    assert (new.status, new.starts_at, new.dentist) == (Status.BOOKED, world.at(1, 9, 15), old.dentist)
    assert old.events.get().reason == f"Moved to appointment #{new.pk}: Late"
    assert new.events.get().reason == f"Moved from appointment #{old.pk}: Late"


def test_reschedule_to_a_taken_time_changes_nothing(world, as_user):
    old = world.book(world.patient, world.at(1, 9), dentist=0)
    world.book(world.stranger, world.at(1, 11), dentist=0)

    response = as_user("operator").post(
        f"/appointments/{old.pk}/reschedule", {"start": world.at(1, 11).isoformat()}
    )

    assert_error(response, 409, "slot_taken")
    old.refresh_from_db()
    assert old.status == Status.BOOKED
    assert Appointment.objects.count() == 2


def test_an_arrived_patient_is_not_rescheduled(world, as_user):
    arrived = world.book(world.patient, world.at(0, 23), status=Status.ARRIVED)

    response = as_user("registrar").post(
        f"/appointments/{arrived.pk}/reschedule", {"start": world.at(2, 9).isoformat()}
    )

    assert_error(response, 409, "invalid_transition")


def test_arrive_then_fulfil_by_the_treating_dentist(world, as_user):
    appointment = world.book(world.patient, world.at(1, 9), dentist=0)

    arrived = as_user("registrar").post(f"/appointments/{appointment.pk}/arrive")
    fulfilled = as_user("dentist").post(f"/appointments/{appointment.pk}/fulfil")

    assert arrived.json()["status"] == "arrived"
    assert fulfilled.json()["status"] == "fulfilled"
    steps = list(appointment.events.values_list("to_status", "actor__username"))
    assert steps == [("arrived", "api-registrar"), ("fulfilled", "api-dentist-0")]


def test_noshow_and_a_transition_the_table_refuses(world, as_user):
    appointment = world.book(world.patient, world.at(1, 9))
    client = as_user("registrar")

    assert client.post(f"/appointments/{appointment.pk}/noshow").json()["status"] == "noshow"
    assert_error(client.post(f"/appointments/{appointment.pk}/arrive"), 409, "invalid_transition")


def test_who_may_take_which_step(world, as_user):
    appointment = world.book(world.patient, world.at(1, 9), dentist=1)

    assert_error(as_user("dentist").post(f"/appointments/{appointment.pk}/cancel"), 403, "forbidden")
    assert_error(as_user("operator").post(f"/appointments/{appointment.pk}/noshow"), 403, "forbidden")
    # Dentist 0 does not treat this patient (his appointment is with dentist 1).
    assert_error(as_user("dentist").post(f"/appointments/{appointment.pk}/fulfil"), 403, "forbidden")
    assert_error(as_user("patient").post(f"/appointments/{appointment.pk}/cancel"), 404, "not_found")
