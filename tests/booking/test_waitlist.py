"""The waitlist (booking.waitlist): who gets a freed time, how it is kept for him, what his answer does."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django_tasks_db.models import DBTaskResult

from navbat.booking import waitlist
from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import (
    Appointment,
    FreedTime,
    OfferStatus,
    SlotHold,
    Urgency,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from navbat.booking.services import book_appointment, cancel_appointment
from navbat.booking.statuses import Channel, Status
from navbat.booking.tasks import expire_offer
from navbat.clinic.models import CapacityPolicy, ScheduleException, ScheduleExceptionKind
from navbat.errors import DomainError
from navbat.notify.models import Kind, Notification, NotificationStatus
from navbat.patients.models import AlertKind, MedicalAlert, Patient
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

WEDNESDAY = MONDAY + timedelta(days=2)


def waiting(c: SmallClinic, patient: Patient, *, days_ago: float = 1, **wishes: Any) -> WaitlistEntry:
    wishes.setdefault("date_from", MONDAY)
    wishes.setdefault("date_to", MONDAY + timedelta(days=13))
    return waitlist.join_waitlist(
        patient=patient, service=c.therapy, now=NOW - timedelta(days=days_ago), **wishes
    )


def free_monday_ten(c: SmallClinic, *, now: datetime = NOW) -> WaitlistOffer | None:
    return waitlist.offer_freed_time(
        clinic=c.clinic,
        dentist=c.first,
        chair=c.chair_plain,
        start=at(MONDAY, 10),
        end=at(MONDAY, 10, 30),
        now=now,
    )


def patient(c: SmallClinic, born: date = date(1990, 5, 17)) -> Patient:
    return factories.PatientFactory(clinic=c.clinic, birth_date=born)


def test_a_freed_time_is_offered_to_the_waiting_patient_and_kept_for_him(small_clinic: SmallClinic) -> None:
    c = small_clinic
    entry = waiting(c, c.patient)

    offer = free_monday_ten(c)

    assert offer is not None and offer.entry == entry
    assert (offer.starts_at, offer.dentist) == (at(MONDAY, 10), c.first)
    assert offer.expires_at == NOW + timedelta(minutes=15)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    message = Notification.objects.get(kind=Kind.WAITLIST_OFFER)
    assert message.patient == c.patient
    assert message.context["offer_url"] == f"/waitlist/o/{offer.token}/"
    # Nobody else can book the time while it is kept for him.
    with pytest.raises(DomainError) as refused:
        book_appointment(
            patient=c.other_patient,
            service=c.therapy,
            starts_at=at(MONDAY, 10),
            dentist=c.first,
            channel=Channel.PHONE,
            now=NOW,
        )
    assert refused.value.code == BookingErrorCode.SLOT_TAKEN


def test_order_is_urgency_then_days_waited_then_children_and_elderly(small_clinic: SmallClinic) -> None:
    c = small_clinic
    adult_long = waiting(c, patient(c), days_ago=10.2)
    child_long = waiting(c, patient(c, date(2018, 1, 1)), days_ago=10.1)  # same whole days, a child
    adult_short = waiting(c, patient(c), days_ago=1)
    urgent_new = waiting(c, patient(c), days_ago=0.01, urgency=Urgency.URGENT)
    elderly_short = waiting(c, patient(c, date(1950, 1, 1)), days_ago=1.5)  # one whole day, like adult_short

    offered = []
    offer = free_monday_ten(c)
    while offer is not None:
        offered.append(offer.entry)
        offer = waitlist.decline_offer(offer=offer, now=NOW)

    assert offered == [urgent_new, child_long, adult_long, elderly_short, adult_short]


def offer_order(c: SmallClinic) -> list[WaitlistEntry]:
    offered = []
    offer = free_monday_ten(c)
    while offer is not None:
        offered.append(offer.entry)
        offer = waitlist.decline_offer(offer=offer, now=NOW)
    return offered


def test_a_patient_with_a_disability_goes_first_among_equals_where_the_clinic_has_the_group(
    small_clinic: SmallClinic,
) -> None:
    # Given two adults who have waited the same whole days, the later one with a disability in the registry
    c = small_clinic
    first_come = waiting(c, patient(c), days_ago=3.2)
    with_disability = waiting(c, patient(c), days_ago=3.1)
    MedicalAlert.objects.create(patient=with_disability.patient, kind=AlertKind.DISABILITY)
    # Then, by default, he is offered the time first
    assert offer_order(c) == [with_disability, first_come]


def test_a_clinic_without_priority_groups_offers_in_order_of_waiting(small_clinic: SmallClinic) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic, waitlist_priority_groups="")
    adult = waiting(c, patient(c), days_ago=3.3)
    child = waiting(c, patient(c, date(2018, 1, 1)), days_ago=3.2)
    with_disability = waiting(c, patient(c), days_ago=3.1)
    MedicalAlert.objects.create(patient=with_disability.patient, kind=AlertKind.DISABILITY)

    assert offer_order(c) == [adult, child, with_disability]


def test_a_clinic_can_keep_some_priority_groups_and_refuses_unknown_ones(small_clinic: SmallClinic) -> None:
    c = small_clinic
    policy = CapacityPolicy(clinic=c.clinic, waitlist_priority_groups="elderly, disabled")
    policy.full_clean()
    policy.save()
    child = waiting(c, patient(c, date(2018, 1, 1)), days_ago=3.3)
    elderly = waiting(c, patient(c, date(1950, 1, 1)), days_ago=3.2)

    assert offer_order(c) == [elderly, child]
    policy.waitlist_priority_groups = "children,veterans"
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert "veterans" in str(refused.value)


def test_extra_hours_saved_for_a_dentist_are_offered_to_the_waitlist(small_clinic: SmallClinic) -> None:
    # Given a patient waiting for any day of the next two weeks, and a Saturday the therapist never works
    c = small_clinic
    entry = waiting(c, c.patient)
    saturday = MONDAY + timedelta(days=5)
    extra = ScheduleException.objects.create(
        staff=c.first, date=saturday, kind=ScheduleExceptionKind.EXTRA, start=time(9), end=time(11)
    )
    # When the new hours are offered on
    offer = waitlist.offer_extra_hours(exception=extra, now=NOW)
    # Then Saturday 09:00 is offered to him, in the chair of the therapist's plan
    assert offer is not None and offer.entry == entry
    assert (offer.starts_at, offer.dentist) == (at(saturday, 9), c.first)
    assert FreedTime.objects.get().chair == c.chair_plain


def test_saving_extra_hours_offers_them_once_committed(
    small_clinic: SmallClinic, django_capture_on_commit_callbacks: Any
) -> None:
    c = small_clinic
    with mock.patch("navbat.booking.waitlist.offer_extra_hours") as offer:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            extra = ScheduleException.objects.create(
                staff=c.first, date=MONDAY, kind=ScheduleExceptionKind.EXTRA, start=time(18), end=time(20)
            )
        offer.assert_not_called()  # not before the commit
        for callback in callbacks:
            callback()
    offer.assert_called_once_with(exception=extra)


def test_leave_saved_for_a_dentist_offers_nothing(
    small_clinic: SmallClinic, django_capture_on_commit_callbacks: Any
) -> None:
    c = small_clinic
    waiting(c, c.patient)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        leave = ScheduleException.objects.create(staff=c.first, date=MONDAY, kind=ScheduleExceptionKind.LEAVE)
    assert callbacks == []
    assert waitlist.offer_extra_hours(exception=leave, now=NOW) is None
    assert not WaitlistOffer.objects.exists()


def test_only_wishes_that_the_time_meets_are_offered_it(small_clinic: SmallClinic) -> None:
    c = small_clinic
    waiting(c, patient(c), dentists=[c.second])  # another dentist
    waiting(c, patient(c), weekdays=[2, 3])  # not on Mondays
    waiting(c, patient(c), time_from=time(14))  # afternoons only
    waiting(c, patient(c), date_from=MONDAY + timedelta(days=1))  # from Tuesday
    suits = waiting(c, patient(c), days_ago=0.5, dentists=[c.first], weekdays=[1], time_to=time(11))

    offer = free_monday_ten(c)

    assert offer is not None and offer.entry == suits
    assert waitlist.decline_offer(offer=offer, now=NOW) is None


def test_accepting_books_the_time(small_clinic: SmallClinic) -> None:
    c = small_clinic
    entry = waiting(c, c.patient)
    offer = free_monday_ten(c)
    assert offer is not None

    booked = waitlist.accept_offer(offer=offer, now=NOW + timedelta(minutes=10))

    assert (booked.patient, booked.starts_at, booked.status) == (c.patient, at(MONDAY, 10), Status.BOOKED)
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, offer.booked, entry.status) == (OfferStatus.ACCEPTED, booked, WaitlistStatus.BOOKED)
    assert not SlotHold.objects.exists()
    assert Appointment.objects.get(pk=offer.appointment_id).status == Status.CANCELLED
    stats = waitlist.refill_stats(
        clinic=c.clinic, since=NOW - timedelta(hours=1), until=NOW + timedelta(hours=1)
    )
    assert (stats.freed, stats.offered, stats.refilled, stats.share) == (1, 1, 1, 1.0)
    # The same link a second time: answered already.
    with pytest.raises(DomainError) as again:
        waitlist.accept_offer(offer=offer, now=NOW + timedelta(minutes=11))
    assert again.value.code == waitlist.WaitlistErrorCode.OFFER_CLOSED


def test_accepting_after_the_offer_ended_is_refused_and_the_time_goes_on(small_clinic: SmallClinic) -> None:
    c = small_clinic
    late = waiting(c, c.patient, days_ago=2)
    next_one = waiting(c, c.other_patient, days_ago=1)
    offer = free_monday_ten(c)
    assert offer is not None and offer.entry == late

    with pytest.raises(DomainError) as refused:
        waitlist.accept_offer(offer=offer, now=NOW + timedelta(minutes=16))

    assert refused.value.code == waitlist.WaitlistErrorCode.OFFER_EXPIRED
    assert not Appointment.objects.filter(status=Status.BOOKED).exists()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED
    live = WaitlistOffer.objects.get(status=OfferStatus.OFFERED)
    assert live.entry == next_one and live.starts_at == at(MONDAY, 10)
    late.refresh_from_db()
    assert late.status == WaitlistStatus.WAITING  # still waits, for another time


def test_the_worker_expires_an_unanswered_offer_when_it_ends(
    small_clinic: SmallClinic, django_capture_on_commit_callbacks: Any
) -> None:
    c = small_clinic
    waiting(c, c.patient)
    with django_capture_on_commit_callbacks(execute=True):
        offer = free_monday_ten(c)
    assert offer is not None

    run = DBTaskResult.objects.get(task_path=expire_offer.module_path)
    assert run.run_after == offer.expires_at
    assert run.args_kwargs["args"] == [offer.pk]
    # What the task does when it runs then:
    waitlist.expire_offer_now(offer=offer, now=offer.expires_at)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED
    assert not SlotHold.objects.exists()


def test_an_offer_for_a_close_time_is_kept_shorter(small_clinic: SmallClinic) -> None:
    c = small_clinic
    waiting(c, c.patient, date_from=NOW.date())
    friday = NOW.date()

    offer = waitlist.offer_freed_time(
        clinic=c.clinic,
        dentist=c.first,
        chair=c.chair_plain,
        start=at(friday, 11),
        end=at(friday, 11, 30),
        now=NOW,
    )

    assert offer is not None and offer.expires_at == NOW + timedelta(minutes=5)


def test_a_time_too_close_to_book_online_is_recorded_but_not_offered(small_clinic: SmallClinic) -> None:
    c = small_clinic
    waiting(c, c.patient, date_from=NOW.date())
    friday = NOW.date()

    offer = waitlist.offer_freed_time(
        clinic=c.clinic,
        dentist=c.first,
        chair=c.chair_plain,
        start=at(friday, 9, 30),
        end=at(friday, 10),
        now=NOW,
    )

    assert offer is None
    stats = waitlist.refill_stats(clinic=c.clinic, since=NOW, until=NOW + timedelta(seconds=1))
    assert (stats.freed, stats.refilled) == (1, 0)


def test_earlier_if_possible_moves_the_visit_and_frees_the_later_time(
    small_clinic: SmallClinic, django_capture_on_commit_callbacks: Any
) -> None:
    c = small_clinic
    later = book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(WEDNESDAY, 15),
        dentist=c.second,
        channel=Channel.WEB,
        now=NOW,
    )
    entry = waiting(c, c.patient, earlier_than=later)
    offer = free_monday_ten(c)
    assert offer is not None and offer.entry == entry

    moved = waitlist.accept_offer(offer=offer, now=NOW + timedelta(minutes=3))

    assert (moved.starts_at, moved.status) == (at(MONDAY, 10), Status.BOOKED)
    later.refresh_from_db()
    assert later.status == Status.CANCELLED
    assert list(Appointment.objects.filter(patient=c.patient, status=Status.BOOKED)) == [moved]


def test_the_time_released_by_moving_earlier_is_offered_on(
    small_clinic: SmallClinic, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = small_clinic
    later = book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(WEDNESDAY, 15),
        dentist=c.second,
        channel=Channel.WEB,
        now=NOW,
    )
    waiting(c, c.patient, days_ago=3, earlier_than=later)
    next_in_line = waiting(c, c.other_patient, days_ago=1, date_from=WEDNESDAY)
    offer = free_monday_ten(c)
    assert offer is not None
    # The hook reads the clock when the move has committed: the clock of this test's week.
    monkeypatch.setattr("navbat.booking.services.timezone.now", lambda: NOW + timedelta(minutes=3))

    with django_capture_on_commit_callbacks(execute=True):
        waitlist.accept_offer(offer=offer, now=NOW + timedelta(minutes=3))

    passed_on = WaitlistOffer.objects.get(status=OfferStatus.OFFERED)
    assert (passed_on.entry, passed_on.starts_at, passed_on.dentist) == (
        next_in_line,
        at(WEDNESDAY, 15),
        c.second,
    )


def test_a_later_time_is_not_offered_to_who_wants_his_visit_earlier(small_clinic: SmallClinic) -> None:
    c = small_clinic
    sooner = book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 9),
        dentist=c.second,
        channel=Channel.WEB,
        now=NOW,
    )
    waiting(c, c.patient, earlier_than=sooner)

    assert free_monday_ten(c) is None


def test_a_patient_cannot_join_twice_for_one_service_or_with_dates_out_of_order(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    waiting(c, c.patient)

    with pytest.raises(DomainError) as twice:
        waiting(c, c.patient)
    with pytest.raises(DomainError) as backwards:
        waiting(c, c.other_patient, date_from=WEDNESDAY, date_to=MONDAY)

    assert twice.value.code == waitlist.WaitlistErrorCode.ALREADY_WAITING
    assert backwards.value.code == waitlist.WaitlistErrorCode.BAD_DATES


def test_withdrawing_passes_a_live_offer_on(small_clinic: SmallClinic) -> None:
    c = small_clinic
    first = waiting(c, c.patient, days_ago=2)
    second = waiting(c, c.other_patient, days_ago=1)
    assert free_monday_ten(c) is not None

    waitlist.withdraw_from_waitlist(entry=first, now=NOW)

    assert first.status == WaitlistStatus.WITHDRAWN
    assert WaitlistOffer.objects.get(status=OfferStatus.OFFERED).entry == second


def test_the_operators_list_shows_offers_in_flight_soonest_ending_first(small_clinic: SmallClinic) -> None:
    c = small_clinic
    waiting(c, c.patient, date_from=NOW.date())
    waiting(c, c.other_patient, date_from=NOW.date())
    friday = NOW.date()
    far = free_monday_ten(c)
    close = waitlist.offer_freed_time(
        clinic=c.clinic,
        dentist=c.second,
        chair=c.chair_xray,
        start=at(friday, 11),
        end=at(friday, 11, 30),
        now=NOW,
    )

    assert list(waitlist.offers_in_flight(clinic=c.clinic)) == [close, far]


def test_cancelling_a_visit_offers_its_time_once_the_cancellation_is_committed(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    clinic = factories.ClinicFactory(observes_national_holidays=False)
    department = factories.DepartmentFactory(clinic=clinic)
    chair = factories.ChairFactory(department=department)
    therapist = factories.SpecialtyFactory()
    dentist = factories.StaffFactory(clinic=clinic, specialties=[therapist])
    from django.utils import timezone

    today = timezone.now().astimezone(clinic.tz).date()
    factories.weekly_plan(dentist, valid_from=today, chair=chair)
    service = factories.ServiceFactory(clinic=clinic, specialty=therapist, duration_minutes=30)
    monday = today + timedelta(days=7 - today.weekday())
    starts_at = datetime.combine(monday, time(10), tzinfo=clinic.tz)
    visit = book_appointment(
        patient=factories.PatientFactory(clinic=clinic),
        service=service,
        starts_at=starts_at,
        channel=Channel.PHONE,
    )
    hopeful = factories.PatientFactory(clinic=clinic)
    waitlist.join_waitlist(
        patient=hopeful, service=service, date_from=today, date_to=monday + timedelta(days=7)
    )

    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(appointment=visit, reason="ill")

    offer = WaitlistOffer.objects.get()
    assert (offer.entry.patient, offer.starts_at, offer.status) == (hopeful, starts_at, OfferStatus.OFFERED)


def test_declining_withdraws_an_unsent_offer_message_and_tells_the_next_patient(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    waiting(c, c.patient, days_ago=2)
    waiting(c, c.other_patient, days_ago=1)
    first = free_monday_ten(c)
    assert first is not None

    second = waitlist.decline_offer(offer=first, now=NOW + timedelta(minutes=1))

    assert second is not None and second.entry.patient == c.other_patient
    messages = {n.patient: n.status for n in Notification.objects.filter(kind=Kind.WAITLIST_OFFER)}
    assert messages == {c.patient: NotificationStatus.CANCELLED, c.other_patient: NotificationStatus.PENDING}


def test_refill_stats_count_only_times_freed_far_enough_ahead(small_clinic: SmallClinic) -> None:
    c = small_clinic
    waiting(c, c.patient, date_from=NOW.date())
    friday = NOW.date()
    close = waitlist.offer_freed_time(
        clinic=c.clinic,
        dentist=c.first,
        chair=c.chair_plain,
        start=at(friday, 10, 30),
        end=at(friday, 11),
        now=NOW,
    )
    assert close is not None
    waitlist.accept_offer(offer=close, now=NOW)
    assert free_monday_ten(c) is None  # nobody else waits

    until = NOW + timedelta(minutes=1)
    everything = waitlist.refill_stats(clinic=c.clinic, since=NOW, until=until)
    ahead = waitlist.refill_stats(clinic=c.clinic, since=NOW, until=until, min_lead=timedelta(hours=2))

    assert (everything.freed, everything.refilled) == (2, 1)
    assert (ahead.freed, ahead.refilled, ahead.share) == (1, 0, 0.0)
