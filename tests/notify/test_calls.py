"""Call tasks: the call channel opens one per delivery, an operator records what came of each call, and the
console's list of calls to make shows only the calls whose time has come, to operators and registrars."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from navbat.accounts.audit import Actor
from navbat.accounts.models import AuditEntry
from navbat.booking.models import AppointmentEvent
from navbat.booking.statuses import Status
from navbat.clinic.models import StaffRole
from navbat.errors import DomainError
from navbat.notify.calls import CallErrorCode, outside_quiet_hours, record_call_outcome
from navbat.notify.channels.base import Outgoing, PermanentFailure
from navbat.notify.channels.call import CallChannel
from navbat.notify.dispatch import send_delivery_now
from navbat.notify.models import CallOutcome, CallTask, DeliveryStatus, Kind, NotifyPolicy
from tests import factories
from tests.notify.staff_world import Staffed, build_staffed, call_task, delivery

pytestmark = pytest.mark.django_db

ENGLISH = {"Accept-Language": "en"}
HTMX = {**ENGLISH, "HX-Request": "true"}


@pytest.fixture
def staffed() -> Staffed:
    return build_staffed()


def local(staffed: Staffed, hour: int, minute: int = 0, days: int = 0) -> datetime:
    day = timezone.now().astimezone(staffed.clinic.tz).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=staffed.clinic.tz)


def operator_actor(staffed: Staffed) -> Actor:
    return Actor(user=staffed.users[StaffRole.OPERATOR])


# The channel ------------------------------------------------------------------------------------------------


def test_sending_a_call_opens_one_task_to_call_now_and_is_not_yet_delivered(staffed: Staffed) -> None:
    made = delivery(clinic=staffed.clinic, appointment=staffed.appointment())
    message = Outgoing(
        channel="call",
        to=made.address,
        text=made.text,
        idempotency_key=made.idempotency_key,
        delivery_id=made.pk,
    )
    before = timezone.now()

    sent = CallChannel().send(message)
    again = CallChannel().send(message)  # the worker handed it over twice (killed before recording)

    task = CallTask.objects.get(delivery=made)
    assert sent.delivered is False and sent.provider_id == again.provider_id == f"call-{task.pk}"
    assert CallTask.objects.count() == 1
    assert task.clinic == staffed.clinic and task.outcome == CallOutcome.OPEN and task.attempts == 0
    quiet = outside_quiet_hours(before, clinic=staffed.clinic)
    assert task.call_after >= quiet - timedelta(seconds=1)


def test_a_call_without_its_delivery_or_a_number_fails_for_good(staffed: Staffed) -> None:
    made = delivery(clinic=staffed.clinic, appointment=staffed.appointment())
    no_delivery = Outgoing(channel="call", to="+998901112233", text="…", idempotency_key="k1")
    no_number = Outgoing(channel="call", to="", text="…", idempotency_key="k2", delivery_id=made.pk)

    for message in (no_delivery, no_number):
        with pytest.raises(PermanentFailure):
            CallChannel().send(message)
    assert not CallTask.objects.exists()


def test_the_worker_hands_a_call_delivery_to_the_console(staffed: Staffed) -> None:
    made = delivery(clinic=staffed.clinic, appointment=staffed.appointment(), status=DeliveryStatus.QUEUED)

    assert send_delivery_now(made.pk)

    made.refresh_from_db()
    task = CallTask.objects.get(delivery=made)
    assert made.status == DeliveryStatus.SENT and made.provider_id == f"call-{task.pk}"
    assert task.outcome == CallOutcome.OPEN


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (12, 0, (0, 12, 0)),  # a working hour: at once
        (20, 59, (0, 20, 59)),
        (21, 0, (1, 8, 0)),  # quiet from 21:00: the next morning at 8
        (23, 30, (1, 8, 0)),
        (3, 0, (0, 8, 0)),  # after midnight: this morning at 8
        (8, 0, (0, 8, 0)),
    ],
)
def test_no_calls_in_the_quiet_hours_of_the_clinic(
    staffed: Staffed, hour: int, minute: int, expected: tuple[int, int, int]
) -> None:
    moment = local(staffed, hour, minute)

    shifted = outside_quiet_hours(moment, clinic=staffed.clinic).astimezone(staffed.clinic.tz)

    days, h, m = expected
    assert (shifted.date(), shifted.hour, shifted.minute) == (moment.date() + timedelta(days=days), h, m)


def test_quiet_hours_within_a_day_follow_the_clinics_rules(staffed: Staffed) -> None:
    NotifyPolicy.objects.create(clinic=staffed.clinic, quiet_from=time(13), quiet_until=time(14))

    assert outside_quiet_hours(local(staffed, 13, 30), clinic=staffed.clinic) == local(staffed, 14)
    assert outside_quiet_hours(local(staffed, 22), clinic=staffed.clinic) == local(staffed, 22)


# Outcomes ---------------------------------------------------------------------------------------------------


def test_confirmed_on_the_phone_confirms_the_visit_and_the_message_is_delivered(staffed: Staffed) -> None:
    visit = staffed.appointment()
    task = call_task(clinic=staffed.clinic, appointment=visit)
    now = timezone.now()

    record_call_outcome(
        task=task, outcome="confirmed", actor=operator_actor(staffed), note="will come", now=now
    )

    task.refresh_from_db()
    visit.refresh_from_db()
    assert task.outcome == CallOutcome.CONFIRMED and task.attempts == 1 and task.note == "will come"
    assert task.done_by == staffed.users[StaffRole.OPERATOR]
    assert visit.confirmed_at == now and visit.status == Status.BOOKED
    assert task.delivery.status == DeliveryStatus.DELIVERED and task.delivery.delivered_at == now
    entry = AuditEntry.objects.get(object_type="call_task")
    assert entry.patient_id == staffed.patient.pk and entry.actor == staffed.users[StaffRole.OPERATOR]
    assert "will come" not in entry.note  # the note may hold personal data: only field names are logged


def test_cancelled_on_the_phone_frees_the_time_at_once(staffed: Staffed) -> None:
    visit = staffed.appointment()
    task = call_task(clinic=staffed.clinic, appointment=visit)

    record_call_outcome(task=task, outcome="cancelled", actor=operator_actor(staffed))

    visit.refresh_from_db()
    task.refresh_from_db()
    assert visit.status == Status.CANCELLED
    event = AppointmentEvent.objects.get(appointment=visit, to_status=Status.CANCELLED)
    assert event.reason == "cancelled on the phone" and event.actor == staffed.users[StaffRole.OPERATOR]
    assert task.outcome == CallOutcome.CANCELLED and task.delivery.status == DeliveryStatus.DELIVERED


def test_no_answer_comes_back_an_hour_later_and_is_given_up_after_the_clinics_attempts(
    staffed: Staffed,
) -> None:
    NotifyPolicy.objects.create(clinic=staffed.clinic, max_attempts=3)
    task = call_task(clinic=staffed.clinic, appointment=staffed.appointment(days=3))
    actor = operator_actor(staffed)

    record_call_outcome(task=task, outcome="no_answer", actor=actor, now=local(staffed, 10))
    task.refresh_from_db()
    assert (task.outcome, task.attempts, task.call_after) == (CallOutcome.OPEN, 1, local(staffed, 11))
    assert task.delivery.status == DeliveryStatus.SENT

    # At 20:30 the next try would fall in the quiet hours: the next morning at 8.
    record_call_outcome(task=task, outcome="no_answer", actor=actor, now=local(staffed, 20, 30))
    task.refresh_from_db()
    assert (task.outcome, task.attempts, task.call_after) == (CallOutcome.OPEN, 2, local(staffed, 8, days=1))

    record_call_outcome(task=task, outcome="no_answer", actor=actor, now=local(staffed, 9, days=1))
    task.refresh_from_db()
    assert (task.outcome, task.attempts) == (CallOutcome.GAVE_UP, 3)
    assert task.delivery.status == DeliveryStatus.FAILED
    assert task.delivery.reason == "no answer after 3 calls"


def test_no_answer_shortly_before_the_visit_is_given_up(staffed: Staffed) -> None:
    soon = staffed.appointment(days=0, hour=12)
    task = call_task(clinic=staffed.clinic, appointment=soon)

    record_call_outcome(
        task=task, outcome="no_answer", actor=operator_actor(staffed), now=local(staffed, 11, 15)
    )

    task.refresh_from_db()
    assert task.outcome == CallOutcome.GAVE_UP
    assert task.delivery.status == DeliveryStatus.FAILED
    assert task.delivery.reason == "no answer after 1 call before the visit"


def test_a_message_without_a_question_is_told(staffed: Staffed) -> None:
    visit = staffed.appointment()
    task = call_task(clinic=staffed.clinic, appointment=visit, kind=Kind.BOOKED)

    record_call_outcome(task=task, outcome="done", actor=operator_actor(staffed))

    task.refresh_from_db()
    visit.refresh_from_db()
    assert task.outcome == CallOutcome.DONE and task.delivery.status == DeliveryStatus.DELIVERED
    assert visit.confirmed_at is None and visit.status == Status.BOOKED


def test_a_call_recorded_once_cannot_be_recorded_again(staffed: Staffed) -> None:
    visit = staffed.appointment()
    task = call_task(clinic=staffed.clinic, appointment=visit)
    record_call_outcome(task=task, outcome="confirmed", actor=operator_actor(staffed))

    with pytest.raises(DomainError) as refused:
        record_call_outcome(task=task, outcome="cancelled", actor=operator_actor(staffed))

    assert refused.value.code == CallErrorCode.NOT_OPEN
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED


def test_an_outcome_that_does_not_exist_is_refused(staffed: Staffed) -> None:
    task = call_task(clinic=staffed.clinic, appointment=staffed.appointment())

    with pytest.raises(DomainError) as refused:
        record_call_outcome(task=task, outcome="gave_up", actor=operator_actor(staffed))

    assert refused.value.code == CallErrorCode.UNKNOWN_OUTCOME
    task.refresh_from_db()
    assert task.outcome == CallOutcome.OPEN and task.attempts == 0


# The console's list -----------------------------------------------------------------------------------------


def test_the_list_shows_the_calls_whose_time_has_come_with_what_to_say(
    staffed: Staffed, client: Client
) -> None:
    child = factories.PatientFactory(clinic=staffed.clinic, surname="Yuldashev", name="Timur", phone="")
    due = call_task(clinic=staffed.clinic, appointment=staffed.appointment(child), recipient=staffed.patient)
    later = call_task(clinic=staffed.clinic, appointment=staffed.appointment(days=4))
    CallTask.objects.filter(pk=later.pk).update(call_after=timezone.now() + timedelta(hours=1))
    done = call_task(clinic=staffed.clinic, appointment=staffed.appointment(days=5))
    record_call_outcome(task=done, outcome="done", actor=operator_actor(staffed))
    call_task(clinic=staffed.clinic, appointment=staffed.appointment(days=-1))  # the visit was yesterday
    other_clinic = build_staffed()
    call_task(clinic=other_clinic.clinic, appointment=other_clinic.appointment())
    staffed.client(client, StaffRole.OPERATOR)

    response = client.get(reverse("console:calls"), headers=ENGLISH)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("data-call=") == 1 and f'data-call="{due.pk}"' in html
    assert "Yuldasheva Dilnoza" in html and "for Yuldashev Timur" in html  # the guardian, for her child
    assert reverse("console:card", kwargs={"pk": staffed.patient.pk}) in html
    assert "+998 90 111 22 33" in html and "Kelasizmi?" in html and "Reminder" in html
    assert "1 more call comes back later" in html
    viewed = AuditEntry.objects.filter(action="view", note="call list")
    assert set(viewed.values_list("patient_id", flat=True)) == {staffed.patient.pk, child.pk}


def test_recording_an_answer_from_the_list_takes_the_call_off_it(staffed: Staffed, client: Client) -> None:
    visit = staffed.appointment()
    task = call_task(clinic=staffed.clinic, appointment=visit)
    staffed.client(client, StaffRole.REGISTRAR)
    url = reverse("console:call_outcome", kwargs={"pk": task.pk})

    response = client.post(url, {"outcome": "confirmed"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Recorded: Confirmed." in html and f'data-call="{task.pk}"' not in html
    assert "Nobody to call now." in html
    visit.refresh_from_db()
    assert visit.confirmed_at is not None

    plain = client.post(url, {"outcome": "cancelled"}, headers=ENGLISH)  # somebody recorded it meanwhile
    assert plain.status_code == 409
    assert "This call has already been recorded" in plain.content.decode()
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED


def test_a_plain_form_post_goes_back_to_the_list(staffed: Staffed, client: Client) -> None:
    task = call_task(clinic=staffed.clinic, appointment=staffed.appointment())
    staffed.client(client, StaffRole.OPERATOR)

    response = client.post(reverse("console:call_outcome", kwargs={"pk": task.pk}), {"outcome": "no_answer"})

    assert response.status_code == 302 and response["Location"] == reverse("console:calls")
    task.refresh_from_db()
    assert task.outcome == CallOutcome.OPEN and task.attempts == 1


def test_no_outcome_is_bad_input_and_changes_nothing(staffed: Staffed, client: Client) -> None:
    task = call_task(clinic=staffed.clinic, appointment=staffed.appointment())
    staffed.client(client, StaffRole.OPERATOR)

    response = client.post(
        reverse("console:call_outcome", kwargs={"pk": task.pk}), {"outcome": "maybe"}, headers=HTMX
    )

    assert response.status_code == 400
    assert "Choose what came of the call." in response.content.decode()
    task.refresh_from_db()
    assert task.outcome == CallOutcome.OPEN and task.attempts == 0


def test_another_clinics_call_is_not_found(staffed: Staffed, client: Client) -> None:
    other = build_staffed()
    task = call_task(clinic=other.clinic, appointment=other.appointment())
    staffed.client(client, StaffRole.OPERATOR)

    response = client.post(reverse("console:call_outcome", kwargs={"pk": task.pk}), {"outcome": "confirmed"})

    assert response.status_code == 404
    task.refresh_from_db()
    assert task.outcome == CallOutcome.OPEN


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (StaffRole.OPERATOR, 200),
        (StaffRole.REGISTRAR, 200),
        (StaffRole.ADMINISTRATOR, 403),  # administrators and managers see no patient's messages
        (StaffRole.MANAGER, 403),
        (StaffRole.DENTIST, 403),
    ],
)
def test_operators_and_registrars_make_the_calls(
    staffed: Staffed, client: Client, role: StaffRole, status: int
) -> None:
    task = call_task(clinic=staffed.clinic, appointment=staffed.appointment())
    staffed.client(client, role)

    listed = client.get(reverse("console:calls"))
    recorded = client.post(reverse("console:call_outcome", kwargs={"pk": task.pk}), {"outcome": "done"})

    assert listed.status_code == status
    assert recorded.status_code == (302 if status == 200 else 403)
