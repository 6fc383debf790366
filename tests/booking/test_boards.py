"""The day board's reads (booking.boards): columns per dentist and per chair, with working hours, breaks,
appointments and the free gaps a visit can be moved to; and the dentist's own day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from navbat.booking.boards import BoardBy, Column, EntryKind, day_board, dentist_day
from navbat.booking.holds import place_hold
from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment, cancel_appointment, change_status
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import StaffMember
from navbat.patients.models import Patient
from navbat.scheduling import Interval
from tests import factories
from tests.small_clinic import MONDAY, TASHKENT, SmallClinic, at

pytestmark = pytest.mark.django_db

WEEK_BEFORE = at(MONDAY, 8) - timedelta(days=7)


def visit(
    c: SmallClinic, dentist: StaffMember, hour: int, minute: int = 0, patient: Patient | None = None
) -> Appointment:
    """A 30-minute visit on Monday, booked by phone the week before."""
    return book_appointment(
        patient=patient or factories.PatientFactory(clinic=c.clinic),
        service=c.therapy,
        starts_at=at(MONDAY, hour, minute),
        dentist=dentist,
        channel=Channel.PHONE,
        now=WEEK_BEFORE,
    )


def lines(column: Column) -> list[tuple[str, str, str]]:
    """A column as the desk reads it: (kind, from, to) in local time."""
    return [
        (
            str(entry.kind),
            f"{entry.span.start.astimezone(TASHKENT):%H:%M}",
            f"{entry.span.end.astimezone(TASHKENT):%H:%M}",
        )
        for entry in column.entries
    ]


def test_a_dentists_column_shows_his_hours_break_visits_and_free_gaps_in_order(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    visit(c, c.first, 10)

    board = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.DENTIST, now=WEEK_BEFORE)

    column = board.column(f"dentist-{c.first.pk}")
    assert column is not None
    assert lines(column) == [
        ("gap", "09:00", "10:00"),
        ("appointment", "10:00", "10:30"),
        ("gap", "10:30", "13:00"),
        ("break", "13:00", "14:00"),
        ("gap", "14:00", "18:00"),
    ]
    assert column.working == (
        Interval(at(MONDAY, 9), at(MONDAY, 13)),
        Interval(at(MONDAY, 14), at(MONDAY, 18)),
    )
    assert {col.key for col in board.columns} == {f"dentist-{c.first.pk}", f"dentist-{c.second.pk}"}


def test_time_held_for_a_patient_is_not_shown_free_until_the_hold_ends(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold = place_hold(
        patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 10), dentist=c.first, now=WEEK_BEFORE
    )

    board = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.DENTIST, now=WEEK_BEFORE)

    column = board.column(f"dentist-{c.first.pk}")
    assert column is not None
    assert lines(column)[:3] == [
        ("gap", "09:00", "10:00"),
        ("held", "10:00", "10:30"),
        ("gap", "10:30", "13:00"),
    ]
    assert column.entries[1].until == hold.expires_at
    by_chair = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.CHAIR, now=WEEK_BEFORE).column(
        f"chair-{hold.chair_id}"
    )
    assert by_chair is not None and ("held", "10:00", "10:30") in lines(by_chair)
    # When the hold has ended the time is free again.
    later = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.DENTIST, now=hold.expires_at)
    free_again = later.column(f"dentist-{c.first.pk}")
    assert free_again is not None and ("gap", "09:00", "13:00") in lines(free_again)


def test_nobody_is_on_the_board_on_a_day_off(small_clinic: SmallClinic) -> None:
    board = day_board(
        clinic=small_clinic.clinic, day=MONDAY - timedelta(days=1), by=BoardBy.DENTIST, now=WEEK_BEFORE
    )

    assert board.columns == ()


def test_a_chairs_column_is_free_while_dentists_work_and_it_is_not_taken(small_clinic: SmallClinic) -> None:
    c = small_clinic
    appointment = visit(c, c.first, 10)  # the first dentist's own chair is the plain one

    board = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.CHAIR, now=WEEK_BEFORE)

    plain = board.column(f"chair-{c.chair_plain.pk}")
    xray = board.column(f"chair-{c.chair_xray.pk}")
    assert plain is not None and xray is not None
    assert appointment.chair == c.chair_plain
    assert ("appointment", "10:00", "10:30") in lines(plain)
    assert ("gap", "09:00", "10:00") in lines(plain)
    assert [kind for kind, _, _ in lines(xray)] == [
        "gap",
        "gap",
    ]  # the dentists' lunch is nobody's chair time


def test_free_times_in_a_gap_start_from_now_on_the_clinics_step(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit(c, c.first, 11)

    board = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.DENTIST, now=at(MONDAY, 10, 7))

    column = board.column(f"dentist-{c.first.pk}")
    assert column is not None
    morning, before_eleven = column.entries[0], column.entries[0].starts
    assert morning.kind == EntryKind.GAP
    # A visit of one step (15 minutes) may start from 10:15 until 10:45; nothing before now.
    assert before_eleven == (at(MONDAY, 10, 15), at(MONDAY, 10, 30), at(MONDAY, 10, 45))


def test_while_moving_a_visit_its_own_time_is_free_and_its_length_counts(small_clinic: SmallClinic) -> None:
    c = small_clinic
    moving = visit(c, c.first, 10)
    visit(c, c.first, 11)

    board = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.DENTIST, now=WEEK_BEFORE, moving=moving)

    column = board.column(f"dentist-{c.first.pk}")
    assert column is not None
    gap = next(e for e in column.entries if e.kind == EntryKind.GAP and e.span.start == at(MONDAY, 9))
    assert gap.span.end == at(MONDAY, 11)  # 09:00–11:00 with the moved visit's own half hour
    assert gap.starts[0] == at(MONDAY, 9)
    assert gap.starts[-1] == at(MONDAY, 10, 30)  # the last start that ends by 11:00
    assert any(e.appointment == moving for e in column.entries)  # still shown where it is


def test_while_moving_only_columns_that_can_take_the_visit_offer_times(small_clinic: SmallClinic) -> None:
    c = small_clinic
    surgeon = factories.SpecialtyFactory(code="surgeon", name_en="Surgeon")
    other = factories.StaffFactory(clinic=c.clinic, specialties=[surgeon])
    factories.weekly_plan(other, valid_from=MONDAY - timedelta(days=60))
    moving = visit(c, c.first, 10)

    board = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.DENTIST, now=WEEK_BEFORE, moving=moving)

    refusing = board.column(f"dentist-{other.pk}")
    assert refusing is not None and not refusing.accepts
    assert all(not entry.starts for entry in refusing.entries)


def test_cancelled_and_missed_visits_leave_the_time_free(small_clinic: SmallClinic) -> None:
    c = small_clinic
    cancelled = visit(c, c.first, 10)
    cancel_appointment(appointment=cancelled, reason="ill")

    board = day_board(clinic=c.clinic, day=MONDAY, by=BoardBy.DENTIST, now=WEEK_BEFORE)

    column = board.column(f"dentist-{c.first.pk}")
    assert column is not None
    assert [entry.appointment for entry in column.ended] == [cancelled]
    assert ("gap", "09:00", "13:00") in lines(column)


def test_the_dentists_day_lists_his_active_visits_in_order(small_clinic: SmallClinic) -> None:
    c = small_clinic
    late = visit(c, c.first, 15, patient=c.patient)
    early = visit(c, c.first, 9, patient=c.other_patient)
    cancel_appointment(appointment=visit(c, c.first, 11), reason="")
    visit(c, c.second, 9)  # someone else's
    change_status(appointment=early, to=Status.ARRIVED)

    day = dentist_day(clinic=c.clinic, dentist_ids=[c.first.pk], day=MONDAY)

    assert day == [early, late]
    assert day[0].status == Status.ARRIVED
