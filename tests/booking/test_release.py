"""The fair release of a new day (booking.release): requests in the first minutes after the day opens go into
a draw; the draw's order is a uniformly random permutation from a recorded seed, so being first gains nothing.

The small clinic with a three-day online horizon: on Friday at 07:00 Monday opens; the window lasts ten
minutes."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.accounts.access import Role
from navbat.booking.models import Appointment, DrawOutcome, ReleaseDraw, ReleaseDrawEntry, SlotHold
from navbat.booking.patient_forms import strip_days
from navbat.booking.release import (
    ReleaseErrorCode,
    check_not_in_draw,
    draw_order,
    enter_draw,
    release_of,
    run_release_draw,
    run_release_draw_task,
)
from navbat.booking.selectors import find_free_slots
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.errors import DomainError
from navbat.notify.backends import MemoryBackend
from navbat.notify.models import Kind, Notification
from navbat.patients.models import ConsentKind, Patient
from navbat.scheduling import Slot
from tests import factories
from tests.api.conftest import build_api_world
from tests.notify.outbox import grant, run_worker, sent_texts
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

FRIDAY = NOW.date()
OPENING = at(FRIDAY, 7)
IN_THE_WINDOW = OPENING + timedelta(minutes=2)
CLOSED = OPENING + timedelta(minutes=10)


@pytest.fixture
def c(small_clinic: SmallClinic) -> SmallClinic:
    small_clinic.clinic.horizon_days = 3
    small_clinic.clinic.save()
    return small_clinic


def entrants(c: SmallClinic, count: int) -> list[Patient]:
    return [factories.PatientFactory(clinic=c.clinic) for _ in range(count)]


# The draw itself (pure) --------------------------------------------------------------------------------


def test_the_draw_order_is_a_uniform_permutation_not_first_come_first_served() -> None:
    # Given four entries made in the order 1, 2, 3, 4, drawn with 2,400 fixed seeds
    orders = Counter(tuple(draw_order([1, 2, 3, 4], seed)) for seed in range(2400))
    # Then every one of the 24 orders comes up, each about 100 times (chi-square, 23 degrees of freedom,
    # below the 0.1% critical value 49.7) — first come, first served would give (1, 2, 3, 4) every time
    assert set(orders) == set(itertools.permutations([1, 2, 3, 4]))
    chi_square = sum((seen - 100) ** 2 / 100 for seen in orders.values())
    assert chi_square < 49.7
    # And whoever entered first is drawn first about a quarter of the time, not always
    first_is_first = sum(seen for order, seen in orders.items() if order[0] == 1)
    assert 500 < first_is_first < 700


def test_a_recorded_seed_replays_the_draw() -> None:
    assert draw_order([5, 3, 9, 1], 2027) == draw_order([1, 3, 5, 9], 2027)
    assert {tuple(draw_order(list(range(10)), seed)) for seed in range(5)} != {tuple(range(10))}


# Around the window ------------------------------------------------------------------------------------------


def test_the_day_at_the_horizons_end_opens_at_seven_for_ten_minutes(c: SmallClinic) -> None:
    release = release_of(c.clinic, IN_THE_WINDOW)
    assert (release.day, release.opens_at, release.closes_at) == (MONDAY, OPENING, CLOSED)
    assert release.is_open(OPENING) and not release.is_open(CLOSED)


def test_the_new_day_opens_whole_at_seven_not_time_by_time(c: SmallClinic) -> None:
    def monday_online(now: datetime) -> list[Slot]:
        return find_free_slots(
            clinic=c.clinic, service=c.therapy, first_day=MONDAY, last_day=MONDAY, now=now, limit=None
        )

    # Before seven Monday is beyond the horizon, its morning included; from seven all of it is there, the
    # last hours too, so the draw covers the whole day and polling later in the day finds nothing new.
    assert monday_online(OPENING - timedelta(seconds=1)) == []
    assert strip_days(c.clinic, now=OPENING - timedelta(seconds=1))[-1] == MONDAY - timedelta(days=1)
    opened = {slot.start.astimezone(c.clinic.tz).strftime("%H:%M") for slot in monday_online(OPENING)}
    assert {"09:00", "12:30", "17:30"} <= opened
    assert strip_days(c.clinic, now=OPENING)[-1] == MONDAY
    assert {s.start for s in monday_online(at(FRIDAY, 15))} == {s.start for s in monday_online(OPENING)}
    # Tuesday opens on Saturday at seven.
    assert (
        find_free_slots(
            clinic=c.clinic,
            service=c.therapy,
            first_day=MONDAY + timedelta(days=1),
            last_day=MONDAY + timedelta(days=1),
            now=at(FRIDAY, 23, 59),
            limit=None,
        )
        == []
    )


def test_online_booking_of_the_opened_day_in_the_window_is_refused_with_the_way_to_the_draw(
    c: SmallClinic,
) -> None:
    with pytest.raises(DomainError) as refused, translation.override("en"):
        book_appointment(
            patient=c.patient,
            service=c.therapy,
            starts_at=at(MONDAY, 9),
            channel=Channel.WEB,
            now=IN_THE_WINDOW,
        )
    assert refused.value.code == ReleaseErrorCode.DRAW_OPEN
    with translation.override("en"):
        assert "draw" in str(refused.value.message)
    assert not Appointment.objects.exists()


def test_other_days_and_staff_channels_book_as_ever_in_the_window(c: SmallClinic) -> None:
    earlier_day = book_appointment(
        patient=c.patient, service=c.therapy, starts_at=at(FRIDAY, 11), channel=Channel.WEB, now=IN_THE_WINDOW
    )
    by_phone = book_appointment(
        patient=c.other_patient,
        service=c.therapy,
        starts_at=at(MONDAY, 9),
        channel=Channel.PHONE,
        now=IN_THE_WINDOW,
    )
    assert earlier_day.status == by_phone.status == Status.BOOKED


def test_one_entry_per_patient_whoever_makes_it(c: SmallClinic) -> None:
    enter_draw(patient=c.patient, service=c.therapy, now=IN_THE_WINDOW)
    with pytest.raises(DomainError) as refused:
        enter_draw(
            patient=c.patient,
            service=c.therapy,
            wishes=[time(10)],
            channel=Channel.PHONE,
            now=IN_THE_WINDOW + timedelta(minutes=1),
        )
    assert refused.value.code == ReleaseErrorCode.ALREADY_ENTERED
    assert ReleaseDrawEntry.objects.filter(patient=c.patient).count() == 1


def test_patients_new_to_the_clinic_on_one_phone_enter_the_draw_once(c: SmallClinic) -> None:
    first, second, third = (
        factories.PatientFactory(clinic=c.clinic, phone="+998901112233") for _ in range(3)
    )
    enter_draw(patient=first, service=c.therapy, now=IN_THE_WINDOW)
    with translation.override("en"):
        with pytest.raises(DomainError) as refused:
            enter_draw(patient=second, service=c.therapy, now=IN_THE_WINDOW)
        assert refused.value.code == ReleaseErrorCode.PHONE_ALREADY_ENTERED
        assert "once per phone number" in str(refused.value.message)
    # A patient the clinic has seen (a document checked at the desk) takes part on his own.
    third.is_verified = True
    third.save()
    enter_draw(patient=third, service=c.therapy, now=IN_THE_WINDOW)
    assert set(ReleaseDrawEntry.objects.values_list("patient", flat=True)) == {first.pk, third.pk}


def test_no_entry_outside_the_window(c: SmallClinic) -> None:
    for moment in (OPENING - timedelta(seconds=1), CLOSED):
        with pytest.raises(DomainError) as refused:
            enter_draw(patient=c.patient, service=c.therapy, now=moment)
        assert refused.value.code == ReleaseErrorCode.DRAW_CLOSED
    assert not ReleaseDraw.objects.exists()


def test_the_draw_is_queued_for_when_the_window_closes(
    c: SmallClinic, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        enter_draw(patient=c.patient, service=c.therapy, now=IN_THE_WINDOW)
        enter_draw(patient=c.other_patient, service=c.therapy, now=IN_THE_WINDOW)
    queued = DBTaskResult.objects.get(task_path=run_release_draw_task.module_path)
    assert queued.run_after == CLOSED


# The draw ---------------------------------------------------------------------------------------------------


def enter_all(c: SmallClinic, patients: list[Patient], *, wishes: list[time]) -> list[ReleaseDrawEntry]:
    return [
        enter_draw(
            patient=patient,
            service=c.therapy,
            dentist=c.first,
            wishes=wishes,
            now=IN_THE_WINDOW + timedelta(seconds=index),
        )
        for index, patient in enumerate(patients)
    ]


def test_the_first_to_ask_gains_nothing_the_drawn_order_books(c: SmallClinic) -> None:
    # Given five patients who all want 09:00 or 09:30 with the first therapist, the first asking at 07:02:00
    entries = enter_all(c, entrants(c, 5), wishes=[time(9), time(9, 30)])
    ids = [entry.pk for entry in entries]
    seed = next(seed for seed in range(100) if ids[0] not in draw_order(ids, seed)[:2])
    # When the draw runs after the window with a seed that does not draw the first to ask among the first two
    draw = run_release_draw(draw=entries[0].draw, now=CLOSED, seed=seed)
    # Then the two drawn first have 09:00 and 09:30 in that order, the others nothing; the seed is recorded
    order = draw_order(ids, seed)
    by_id = {entry.pk: entry for entry in ReleaseDrawEntry.objects.select_related("appointment")}
    assert [by_id[pk].outcome for pk in order] == [DrawOutcome.WON] * 2 + [DrawOutcome.NOT_WON] * 3
    first, second = (by_id[pk].appointment for pk in order[:2])
    assert first is not None and second is not None
    assert (first.starts_at, second.starts_at) == (at(MONDAY, 9), at(MONDAY, 9, 30))
    assert [by_id[pk].position for pk in order] == [1, 2, 3, 4, 5]
    assert by_id[ids[0]].outcome == DrawOutcome.NOT_WON  # asking first gained him nothing
    assert draw.seed == seed and draw.ran_at == CLOSED
    # And each winner is told by the ordinary "booked" message of his appointment
    for appointment in (first, second):
        assert Notification.objects.filter(appointment=appointment, kind=Kind.BOOKED).exists()


def test_an_entrant_without_wishes_gets_the_first_free_time_of_the_day(c: SmallClinic) -> None:
    (entry,) = enter_all(c, entrants(c, 1), wishes=[])
    run_release_draw(draw=entry.draw, now=CLOSED)
    entry.refresh_from_db()
    assert entry.outcome == DrawOutcome.WON
    assert entry.appointment is not None
    assert entry.appointment.starts_at == at(MONDAY, 9)
    assert entry.appointment.channel == Channel.WEB


def test_the_day_stays_closed_online_until_the_draw_has_run_and_the_draw_runs_once(c: SmallClinic) -> None:
    (entry,) = enter_all(c, entrants(c, 1), wishes=[time(9)])
    later = CLOSED + timedelta(minutes=1)
    with pytest.raises(DomainError) as refused:
        check_not_in_draw(service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.WEB, now=later)
    assert refused.value.code == ReleaseErrorCode.DRAW_OPEN
    draw = run_release_draw(draw=entry.draw, now=later, seed=1)
    check_not_in_draw(service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.WEB, now=later)
    again = run_release_draw(draw=draw, now=later + timedelta(minutes=5), seed=2)
    assert again.seed == 1
    assert Appointment.objects.count() == 1


def test_a_draw_the_worker_missed_is_run_by_the_next_online_request_for_that_day(c: SmallClinic) -> None:
    (entry,) = enter_all(c, entrants(c, 1), wishes=[time(9)])
    overdue = CLOSED + timedelta(minutes=3)
    check_not_in_draw(service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.WEB, now=overdue)
    entry.refresh_from_db()
    assert entry.outcome == DrawOutcome.WON
    assert ReleaseDraw.objects.get().ran_at == overdue


def test_the_task_runs_a_due_draw(c: SmallClinic) -> None:
    (entry,) = enter_all(c, entrants(c, 1), wishes=[time(9)])
    # The worker runs it with the real clock, which is before the Monday of 2027
    assert run_release_draw_task.call(entry.draw.pk) == 1


# The patient pages ------------------------------------------------------------------------------------------


def test_a_patient_choosing_a_time_of_the_day_being_released_enters_the_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the API tests' clinic (open every day) two minutes after today's release, a parent signed in
    world = build_api_world()
    moment = datetime.combine(date.today() + timedelta(days=1), time(7, 2), tzinfo=world.clinic.tz)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    day = release_of(world.clinic, moment).day
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(world.users[Role.PATIENT.value])
    # When he chooses 10:00 on the day just opened for his child
    start = datetime.combine(day, time(10), tzinfo=world.clinic.tz)
    answer = client.post(
        reverse("book:hold"), {"p": world.child.pk, "s": "checkup", "d": "any", "start": start.isoformat()}
    )
    # Then he is in the draw with 10:00 as his wish, holds nothing, and is told when the outcome comes
    assert answer.status_code == 302
    assert answer["Location"] == reverse("book:mine")
    entry = ReleaseDrawEntry.objects.get()
    assert (entry.patient, entry.wishes, entry.channel) == (world.child, ["10:00"], Channel.WEB)
    assert not SlotHold.objects.exists()
    page = client.get(answer["Location"]).content.decode()
    assert "Your request is in the draw" in page
    assert 'data-outcome="waiting"' in page and "Waiting for the draw" in page
    # And after the draw, "My appointments" tells him the outcome even when no time was left for him
    ReleaseDrawEntry.objects.update(outcome=DrawOutcome.NOT_WON)
    page = client.get(reverse("book:mine")).content.decode()
    assert 'data-outcome="not_won"' in page and "No time left" in page


def test_each_entrant_left_without_a_time_is_told_once_in_his_language_with_the_way_to_the_waitlist(
    c: SmallClinic, settings: SettingsWrapper
) -> None:
    # Given three adults who want 09:00 only, one of them Russian-speaking, all agreeing to SMS
    settings.NAVBAT_NOTIFY_BACKEND = "memory"
    MemoryBackend.clear()
    patients = entrants(c, 3)
    patients[1].preferred_language = "ru"
    patients[1].save(update_fields=["preferred_language"])
    for patient in patients:
        grant(patient, ConsentKind.SMS)
    entries = enter_all(c, patients, wishes=[time(9)])
    # When the draw runs at 07:10 and the worker sends what is due: SMS wait for the end of quiet hours, 08:00
    run_release_draw(draw=entries[0].draw, now=CLOSED)
    run_release_draw(draw=entries[0].draw, now=CLOSED + timedelta(minutes=1))  # a retried task: no change
    run_worker(CLOSED + timedelta(minutes=1))
    assert sent_texts() == []
    run_worker(at(FRIDAY, 8, 1))
    # Then the two left without a time have one "draw_not_won" message each, naming Monday's date and the
    # waitlist page; the winner has none of them
    losers = {e.patient_id for e in ReleaseDrawEntry.objects.filter(outcome=DrawOutcome.NOT_WON)}
    assert len(losers) == 2
    told = Notification.objects.filter(kind=Kind.DRAW_NOT_WON)
    assert sorted(n.patient_id or 0 for n in told) == sorted(losers)
    texts = {to: text for _channel, to, text in sent_texts() if "/waitlist/join/" in text}
    phones = {str(p.phone): p for p in patients if p.pk in losers}
    assert sorted(texts) == sorted(phones)
    for phone, text in texts.items():
        if phones[phone].preferred_language == "ru":
            assert "1 марта" in text and "розыгрыше" in text
        else:
            assert "mart" in text and "qur'ada" in text
