"""Signed links to one appointment: single-purpose, expiring when it starts, dead once it is changed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from navbat.booking.links import LinkErrorCode, Purpose, appointment_from_token, appointment_token
from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment, cancel_appointment, reschedule_appointment
from navbat.booking.statuses import Channel
from navbat.errors import DomainError
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(small_clinic: SmallClinic) -> Appointment:
    c = small_clinic
    return book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 10),
        dentist=c.first,
        channel=Channel.WEB,
        now=NOW,
    )


def refused(token: str, purpose: Purpose, *, now: datetime) -> str:
    with pytest.raises(DomainError) as error:
        appointment_from_token(token, purpose, now=now)
    return str(error.value.code)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_link_opens_its_appointment_until_it_starts(booked: Appointment, purpose: Purpose) -> None:
    token = appointment_token(booked, purpose)

    assert appointment_from_token(token, purpose, now=NOW) == booked
    assert appointment_from_token(token, purpose, now=booked.starts_at - timedelta(seconds=1)) == booked
    assert refused(token, purpose, now=booked.starts_at) == LinkErrorCode.EXPIRED


def test_a_link_does_one_thing_only(booked: Appointment) -> None:
    cancel = appointment_token(booked, Purpose.CANCEL)
    move = appointment_token(booked, Purpose.MOVE)

    assert cancel != move
    assert refused(cancel, Purpose.MOVE, now=NOW) == LinkErrorCode.INVALID
    assert refused(move, Purpose.CANCEL, now=NOW) == LinkErrorCode.INVALID
    assert refused(cancel, Purpose.VIEW, now=NOW) == LinkErrorCode.INVALID


@pytest.mark.parametrize(
    "token", ["", "x", "abc:def", "eyJhIjoxfQ:1tqv0p:" + "A" * 43, "a" * 500], ids=lambda t: f"{len(t)}"
)
def test_a_forged_or_broken_link_is_refused(booked: Appointment, token: str) -> None:
    assert refused(token, Purpose.CANCEL, now=NOW) == LinkErrorCode.INVALID


def test_a_link_with_one_character_changed_is_refused(booked: Appointment) -> None:
    token = appointment_token(booked, Purpose.CANCEL)
    changed = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert refused(changed, Purpose.CANCEL, now=NOW) == LinkErrorCode.INVALID


def test_links_die_when_the_appointment_is_cancelled(booked: Appointment) -> None:
    tokens = {purpose: appointment_token(booked, purpose) for purpose in Purpose}

    cancel_appointment(appointment=booked)

    for purpose, token in tokens.items():
        assert refused(token, purpose, now=NOW) == LinkErrorCode.EXPIRED


def test_links_die_when_the_appointment_is_moved_and_the_new_one_gets_its_own(
    small_clinic: SmallClinic, booked: Appointment
) -> None:
    old_link = appointment_token(booked, Purpose.MOVE)

    moved = reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 11), channel=Channel.WEB, now=NOW)

    assert refused(old_link, Purpose.MOVE, now=NOW) == LinkErrorCode.EXPIRED
    assert appointment_from_token(appointment_token(moved, Purpose.MOVE), Purpose.MOVE, now=NOW) == moved
