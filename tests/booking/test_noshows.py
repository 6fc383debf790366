"""No-shows and confirmations (booking.noshows): the automatic no-show, the K-in-M policy, the follow-ups."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult

from navbat.booking import noshows
from navbat.booking.models import Appointment, WaitlistOffer
from navbat.booking.services import book_appointment, change_status, confirm_appointment
from navbat.booking.statuses import Channel, Status
from navbat.booking.waitlist import join_waitlist
from navbat.clinic.models import CapacityPolicy, NoShowMode
from navbat.errors import DomainError
from navbat.notify.models import CallTask, Kind, Notification
from navbat.patients.models import Patient
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db


def booked(c: SmallClinic, start: datetime, *, patient: Patient | None = None) -> Appointment:
    return book_appointment(
        patient=patient or c.patient,
        service=c.therapy,
        starts_at=start,
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW,
    )


def missed_before(c: SmallClinic, *, days_ago: int) -> Appointment:
    """A visit of c.patient `days_ago` days before NOW that he did not come to."""
    start = NOW - timedelta(days=days_ago)
    return Appointment.objects.create(
        clinic=c.clinic,
        patient=c.patient,
        service=c.therapy,
        dentist=c.first,
        chair=c.chair_plain,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Status.NOSHOW,
        channel=Channel.PHONE,
    )


MONDAY_TEN = at(MONDAY, 10)


def book_online(c: SmallClinic, start: datetime = MONDAY_TEN) -> Appointment:
    return book_appointment(
        patient=c.patient, service=c.therapy, starts_at=start, dentist=c.first, channel=Channel.WEB, now=NOW
    )


# The automatic no-show ------------------------------------------------------------------------------------


def test_a_visit_becomes_a_no_show_at_its_end_plus_grace_and_not_before(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = booked(c, at(MONDAY, 10))  # 10:00–10:30, default grace 15 minutes

    assert noshows.mark_due_no_shows(now=at(MONDAY, 10, 44)) == []
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED

    marked = noshows.mark_due_no_shows(now=at(MONDAY, 10, 45))

    assert [a.pk for a in marked] == [visit.pk]
    visit.refresh_from_db()
    assert visit.status == Status.NOSHOW
    event = visit.events.latest("pk")
    assert (event.actor, event.reason, event.to_status) == (None, "automatic", Status.NOSHOW)
    follow_up = Notification.objects.get(kind=Kind.NO_SHOW_FOLLOW_UP)
    assert follow_up.appointment == visit and follow_up.context["book_url"] == "/book/"


def test_the_clinic_grace_decides_and_a_patient_who_came_is_never_a_no_show(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic, no_show_grace_minutes=60)
    late = booked(c, at(MONDAY, 10))
    came = booked(c, at(MONDAY, 11), patient=c.other_patient)
    change_status(appointment=came, to=Status.ARRIVED)

    assert noshows.mark_due_no_shows(now=at(MONDAY, 11, 29)) == []
    assert [a.pk for a in noshows.mark_due_no_shows(now=at(MONDAY, 13))] == [late.pk]
    came.refresh_from_db()
    assert came.status == Status.ARRIVED


def test_a_no_show_marked_while_its_time_lasts_offers_the_rest_to_the_waitlist(
    small_clinic: SmallClinic, django_capture_on_commit_callbacks: Any
) -> None:
    c = small_clinic
    long_visit = factories.ServiceFactory(clinic=c.clinic, specialty=c.therapy.specialty, duration_minutes=90)
    visit = book_appointment(
        patient=c.patient,
        service=long_visit,
        starts_at=at(MONDAY, 10),
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW,
    )
    join_waitlist(patient=c.other_patient, service=c.therapy, date_from=MONDAY, date_to=MONDAY, now=NOW)
    c.clinic.min_notice_minutes = 0
    c.clinic.save()

    with pytest.MonkeyPatch.context() as patch:
        heard: list[dict[str, object]] = []
        patch.setattr(noshows, "freed_time_listeners", [lambda **freed: heard.append(freed)])
        with django_capture_on_commit_callbacks(execute=True):
            noshows.mark_no_show(appointment=visit, reason="not here", now=at(MONDAY, 10, 20))

    offer = WaitlistOffer.objects.get()
    assert offer.entry.patient == c.other_patient
    assert offer.starts_at == at(MONDAY, 10, 30)  # the next slot step: the rest of the visit's time
    assert heard and heard[0]["start"] == at(MONDAY, 10, 30) and heard[0]["end"] == at(MONDAY, 11, 30)


# History and the K-in-M policy ----------------------------------------------------------------------------


def test_only_no_shows_of_the_last_m_months_count(small_clinic: SmallClinic) -> None:
    c = small_clinic
    missed_before(c, days_ago=10)
    missed_before(c, days_ago=200)

    assert noshows.recent_no_shows(patient=c.patient, months=6, now=NOW) == 1
    assert noshows.recent_no_shows(patient=c.patient, months=7, now=NOW) == 2


def test_over_the_limit_an_online_booking_needs_confirmation(small_clinic: SmallClinic) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic)  # 2 in 6 months, confirm
    missed_before(c, days_ago=10)
    first = book_online(c, at(MONDAY, 10))
    assert first.status == Status.BOOKED  # one no-show: below the limit

    missed_before(c, days_ago=20)
    second = book_online(c, at(MONDAY, 11))

    assert second.status == Status.PENDING
    assert second.events.get().to_status == Status.PENDING
    # The call centre books him as anyone else.
    by_phone = booked(c, at(MONDAY, 12))
    assert by_phone.status == Status.BOOKED


def test_a_patient_whose_booking_needs_confirmation_is_told_why_on_its_page(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic)
    missed_before(c, days_ago=10)
    missed_before(c, days_ago=20)
    user = factories.UserFactory(username="karimov", password=None)
    Patient.objects.filter(pk=c.patient.pk).update(user=user)
    pending = book_online(c, at(MONDAY, 11))
    client = Client(headers={"Accept-Language": "ru"})
    client.force_login(user)
    url = reverse("book:appointment", kwargs={"pk": pending.pk})
    with translation.override("ru"):
        why = gettext(
            "Because of visits missed without cancelling, this clinic asks you to confirm your bookings. "
            "We will send you a confirmation request the day before: answer it, or the time goes to a "
            "patient on the waiting list."
        )
    assert why.startswith("Из-за")

    assert why in client.get(url).content.decode()
    confirm_appointment(appointment=pending, via="sms", now=NOW)
    assert why not in client.get(url).content.decode()


@pytest.mark.parametrize("language", ["uz", "ru"])
def test_over_the_limit_call_centre_only_refuses_online_and_says_why(
    small_clinic: SmallClinic, language: str
) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic, no_show_mode=NoShowMode.CALL_CENTRE)
    missed_before(c, days_ago=10)
    missed_before(c, days_ago=40)

    with translation.override(language), pytest.raises(DomainError) as refused:
        book_online(c)

    with translation.override(language):
        expected = gettext(
            "You missed %(count)s booked visits in the last %(months)s months without cancelling, so "
            "this clinic books your visits only by phone. Please call the clinic's call centre."
        ) % {"count": 2, "months": 6}
    assert refused.value.code == "call_centre_only"
    assert str(refused.value.message) == expected
    assert not Appointment.objects.filter(status__in=[Status.BOOKED, Status.PENDING]).exists()


# Confirmation of a booking under the policy ---------------------------------------------------------------


def pending_booking(c: SmallClinic) -> Appointment:
    CapacityPolicy.objects.create(clinic=c.clinic)
    missed_before(c, days_ago=10)
    missed_before(c, days_ago=20)
    visit = book_online(c, at(MONDAY, 10))
    assert visit.status == Status.PENDING
    return visit


def test_unconfirmed_at_t_minus_24h_is_asked_again_with_a_call_task(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = pending_booking(c)

    assert noshows.remind_unconfirmed(now=at(MONDAY, 10) - timedelta(hours=25)) == 0
    assert noshows.remind_unconfirmed(now=at(MONDAY, 10) - timedelta(hours=24)) == 1
    assert noshows.remind_unconfirmed(now=at(MONDAY, 10) - timedelta(hours=20)) == 0  # once

    asked = Notification.objects.get(key=f"confirmation_again:{visit.pk}")
    assert asked.kind == Kind.CONFIRMATION
    call = CallTask.objects.get()
    assert call.delivery.notification == asked


def test_unconfirmed_at_t_minus_2h_is_released_and_confirmed_is_kept(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = pending_booking(c)
    kept = book_online(c, at(MONDAY, 11))
    confirm_appointment(appointment=kept, via="sms", now=NOW)
    assert noshows.book_confirmed(now=NOW) == 1

    assert noshows.release_unconfirmed(now=at(MONDAY, 7, 59)) == []
    released = noshows.release_unconfirmed(now=at(MONDAY, 8))

    assert [a.pk for a in released] == [visit.pk]
    visit.refresh_from_db()
    kept.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert visit.events.latest("pk").reason == gettext(
        "Not confirmed in time: released for other patients (automatic)"
    )
    assert kept.status == Status.BOOKED
    # The freed time is bookable again.
    again = booked(c, at(MONDAY, 10), patient=c.other_patient)
    assert again.status == Status.BOOKED


def test_the_sweep_is_queued_once_and_runs_every_rule(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = booked(c, at(MONDAY, 10))

    noshows.schedule_sweep(at=NOW)
    noshows.schedule_sweep(at=NOW + timedelta(minutes=1))  # one is waiting by then already

    assert DBTaskResult.objects.filter(task_path=noshows.sweep_capacity.module_path).count() == 1
    noshows.run_capacity_rules(now=at(MONDAY, 11))
    visit.refresh_from_db()
    assert visit.status == Status.NOSHOW


def test_a_sweep_forgets_finished_sweeps_of_more_than_a_day_ago(small_clinic: SmallClinic) -> None:
    from django_tasks.base import TaskResultStatus

    noshows.schedule_sweep(at=timezone.now() - timedelta(days=2))
    DBTaskResult.objects.update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now() - timedelta(days=2)
    )

    noshows.sweep_capacity.call()

    # The old round is gone; the one it queued waits.
    [successor] = DBTaskResult.objects.filter(task_path=noshows.sweep_capacity.module_path)
    assert successor.status == TaskResultStatus.READY
    assert successor.run_after > timezone.now()


def test_an_unconfirmed_patient_who_comes_is_checked_in_and_one_who_does_not_is_a_no_show(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    came = pending_booking(c)
    stayed_away = book_online(c, at(MONDAY, 11))
    Appointment.objects.filter(pk__in=[came.pk, stayed_away.pk]).update(
        created_at=at(MONDAY, 9)
    )  # booked late

    assert noshows.release_unconfirmed(now=at(MONDAY, 9, 30)) == []  # just chosen: not released
    change_status(appointment=came, to=Status.ARRIVED)
    noshows.mark_due_no_shows(now=at(MONDAY, 11, 45))

    came.refresh_from_db()
    stayed_away.refresh_from_db()
    assert (came.status, stayed_away.status) == (Status.ARRIVED, Status.NOSHOW)
