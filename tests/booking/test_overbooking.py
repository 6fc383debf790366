"""Optional overbooking (booking.overbooking): off by default; allowed when a dentist's day expects more
no-shows than the clinic's threshold, up to its bound; never for children or long services; always in the
overtime, overlapping nothing; the desk's page and the managers' overtime report.

The small clinic's Monday: two therapists 09:00–18:00 (lunch 13–14); it is the Friday before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from navbat.booking.models import Appointment, AppointmentMove
from navbat.booking.overbooking import (
    OverbookingErrorCode,
    day_outlooks,
    overbook_appointment,
    overtime_report,
)
from navbat.booking.services import cancel_appointment, change_status, reschedule_appointment
from navbat.booking.statuses import ACTIVE_STATUSES, Channel, Status
from navbat.clinic.models import CapacityPolicy, Service, StaffMember, StaffRole
from navbat.errors import DomainError
from navbat.patients.models import Patient
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The services' messages and history lines in English, whatever the catalogues hold."""
    with translation.override("en"):
        yield


TUESDAY = MONDAY + timedelta(days=1)
SATURDAY = MONDAY + timedelta(days=5)
EN = {"Accept-Language": "en"}


def overbooking(c: SmallClinic, **fields: object) -> CapacityPolicy:
    return CapacityPolicy.objects.create(clinic=c.clinic, overbooking_enabled=True, **fields)


def with_history(c: SmallClinic, *, missed: int, came: int = 0, **fields: object) -> Patient:
    """A patient with `missed` no-shows and `came` visits in the months before NOW."""
    patient = factories.PatientFactory(clinic=c.clinic, **fields)
    for index in range(missed + came):
        start = NOW - timedelta(days=20 * (index + 1))
        Appointment.objects.create(
            clinic=c.clinic,
            patient=patient,
            service=c.therapy,
            dentist=c.second,
            chair=c.chair_xray,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            status=Status.NOSHOW if index < missed else Status.FULFILLED,
            channel=Channel.PHONE,
        )
    return patient


def plant_day(
    c: SmallClinic, count: int, *, missed: int = 3, day: date = MONDAY, dentist: StaffMember | None = None
) -> list[Appointment]:
    """`count` half-hour visits from 09:00 with the first therapist, booked two months ahead by patients who
    each missed `missed` visits: about 0.6 expected no-shows each when missed=3, 0.15 when missed=0."""
    visits = []
    for index in range(count):
        start = at(day, 9) + timedelta(minutes=30 * index)
        visits.append(
            Appointment.objects.create(
                clinic=c.clinic,
                patient=with_history(c, missed=missed),
                service=c.therapy,
                dentist=dentist or c.first,
                chair=c.chair_plain,
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                status=Status.BOOKED,
                channel=Channel.PHONE,
            )
        )
    Appointment.objects.filter(pk__in=[v.pk for v in visits]).update(created_at=NOW - timedelta(days=60))
    return visits


def overbook(
    c: SmallClinic,
    patient: Patient | None = None,
    *,
    service: Service | None = None,
    day: date = MONDAY,
    channel: Channel = Channel.RECEPTION,
) -> Appointment:
    return overbook_appointment(
        patient=patient or factories.PatientFactory(clinic=c.clinic),
        service=service or c.therapy,
        dentist=c.first,
        day=day,
        channel=channel,
        now=NOW,
    )


def refused(c: SmallClinic, code: OverbookingErrorCode, **kwargs: object) -> DomainError:
    before = Appointment.objects.count()
    with pytest.raises(DomainError) as error:
        overbook(c, **kwargs)  # type: ignore[arg-type]
    assert error.value.code == code, error.value
    assert Appointment.objects.count() == before  # nothing changed
    return error.value


def local(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(NOW.tzinfo).strftime("%a %H:%M")


def assert_no_overlaps() -> None:
    """DESIGN.md invariant 1, checked on every pair of active appointments."""
    active = list(Appointment.objects.filter(status__in=ACTIVE_STATUSES))
    for one, other in combinations(active, 2):
        if one.starts_at < other.ends_at and other.starts_at < one.ends_at:
            assert one.dentist_id != other.dentist_id, (one, other)
            assert one.chair_id != other.chair_id, (one, other)
            assert one.patient_id != other.patient_id, (one, other)


# The rules --------------------------------------------------------------------------------------------------


def test_overbooking_is_off_by_default(small_clinic: SmallClinic) -> None:
    c = small_clinic
    plant_day(c, 6)
    refused(c, OverbookingErrorCode.OFF)
    policy = CapacityPolicy.objects.create(clinic=c.clinic)
    assert policy.overbooking_enabled is False
    assert policy.overbooking_threshold == Decimal("1.0")
    assert (policy.overbooking_max_per_day, policy.overbooking_max_minutes) == (2, 30)
    refused(c, OverbookingErrorCode.OFF)
    assert day_outlooks(clinic=c.clinic, day=MONDAY, now=NOW) == {}


def test_an_extra_visit_goes_right_after_the_working_day_when_the_expected_no_shows_exceed_the_threshold(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    overbooking(c)
    plant_day(c, 2)
    outlook = day_outlooks(clinic=c.clinic, day=MONDAY, now=NOW)[c.first.pk]
    assert outlook.expected > 1.0 and outlook.allowed == 1 and outlook.used == 0
    registrar = factories.StaffFactory(clinic=c.clinic, role=StaffRole.REGISTRAR).user

    extra = overbook_appointment(
        patient=c.patient,
        service=c.therapy,
        dentist=c.first,
        day=MONDAY,
        channel=Channel.RECEPTION,
        created_by=registrar,
        now=NOW,
    )

    assert (local(extra.starts_at), local(extra.ends_at)) == ("Mon 18:00", "Mon 18:30")
    assert extra.overbooked and extra.status == Status.BOOKED and extra.channel == Channel.RECEPTION
    assert extra.dentist == c.first and extra.chair == c.chair_plain  # his own chair
    event = extra.events.get()
    assert event.actor == registrar and event.to_status == Status.BOOKED
    assert event.reason.startswith("Overbooked (") and "no-shows expected that day 1.2" in event.reason
    assert day_outlooks(clinic=c.clinic, day=MONDAY, now=NOW)[c.first.pk].used == 1


def test_not_when_the_expected_no_shows_do_not_exceed_the_threshold(small_clinic: SmallClinic) -> None:
    c = small_clinic
    policy = overbooking(c)
    plant_day(c, 4, missed=0)  # reliable patients: about 0.6 expected in all

    error = refused(c, OverbookingErrorCode.NOT_EXPECTED)
    assert "No-shows expected on the dentist's day: 0.6." in str(error.message)

    plant_day(c, 2, day=TUESDAY)  # about 1.2 expected
    overbook(c, day=TUESDAY)
    policy.overbooking_threshold = Decimal(2)
    policy.save()
    refused(c, OverbookingErrorCode.NOT_EXPECTED, day=TUESDAY)


def test_the_extra_visits_of_a_day_are_bounded(small_clinic: SmallClinic) -> None:
    c = small_clinic
    policy = overbooking(c)
    plant_day(c, 6)  # about 3.7 expected: three allowed by the expectation, two by the clinic's bound

    first, second = overbook(c), overbook(c)
    refused(c, OverbookingErrorCode.LIMIT_REACHED)

    assert [local(a.starts_at) for a in (first, second)] == ["Mon 18:00", "Mon 18:30"]
    plant_day(c, 6, day=TUESDAY)
    policy.overbooking_max_per_day = 1
    policy.save()
    overbook(c, day=TUESDAY)
    refused(c, OverbookingErrorCode.LIMIT_REACHED, day=TUESDAY)


def test_an_extra_visit_cancelled_gives_its_place_back(small_clinic: SmallClinic) -> None:
    c = small_clinic
    overbooking(c, overbooking_max_per_day=1)
    plant_day(c, 6)
    cancel_appointment(appointment=overbook(c), reason="changed his mind")
    assert local(overbook(c).starts_at) == "Mon 18:00"


def test_children_are_never_overbooked(small_clinic: SmallClinic) -> None:
    c = small_clinic
    overbooking(c)
    plant_day(c, 6)
    # Seventeen on the Monday, eighteen on the Tuesday: the age on the visit's day counts.
    teen = factories.PatientFactory(clinic=c.clinic, birth_date=date(2009, 3, 2))
    refused(c, OverbookingErrorCode.CHILD, patient=teen)
    plant_day(c, 6, day=TUESDAY)
    assert overbook(c, teen, day=TUESDAY).overbooked


def test_long_services_are_never_overbooked(small_clinic: SmallClinic) -> None:
    c = small_clinic
    policy = overbooking(c)
    plant_day(c, 6)
    long = factories.ServiceFactory(clinic=c.clinic, specialty=c.therapy.specialty, duration_minutes=45)

    refused(c, OverbookingErrorCode.SERVICE_TOO_LONG, service=long)

    policy.overbooking_max_minutes = 60
    policy.save()
    extra = overbook(c, service=long)
    assert (local(extra.starts_at), local(extra.ends_at)) == ("Mon 18:00", "Mon 18:45")


def test_only_staff_overbook_and_only_a_working_day(small_clinic: SmallClinic) -> None:
    c = small_clinic
    overbooking(c)
    plant_day(c, 6)
    refused(c, OverbookingErrorCode.STAFF_ONLY, channel=Channel.WEB)
    refused(c, OverbookingErrorCode.NOT_WORKING, day=SATURDAY)


def test_an_extra_visit_overlaps_nothing_of_the_dentist_the_chair_or_the_patient(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    overbooking(c)
    plant_day(c, 6)
    busy = factories.PatientFactory(clinic=c.clinic)
    # The other therapist stays late on the first one's chair, with the patient who will be overbooked.
    Appointment.objects.create(
        clinic=c.clinic,
        patient=busy,
        service=c.therapy,
        dentist=c.second,
        chair=c.chair_plain,
        starts_at=at(MONDAY, 18),
        ends_at=at(MONDAY, 18, 30),
        status=Status.BOOKED,
        channel=Channel.RECEPTION,
    )

    patients_turn = overbook(c, busy)  # he is busy until 18:30
    others = overbook(c)  # 18:00 is free for the dentist, but not on his own chair

    assert (local(patients_turn.starts_at), patients_turn.chair) == ("Mon 18:30", c.chair_plain)
    assert (local(others.starts_at), others.chair) == ("Mon 18:00", c.chair_xray)
    assert_no_overlaps()


def test_no_free_overtime_is_refused(small_clinic: SmallClinic) -> None:
    c = small_clinic
    overbooking(c, overbooking_max_per_day=1)
    plant_day(c, 6)
    # The dentist's only overtime slot (18:00–18:30) is taken already.
    Appointment.objects.create(
        clinic=c.clinic,
        patient=c.other_patient,
        service=c.therapy,
        dentist=c.first,
        chair=c.chair_xray,
        starts_at=at(MONDAY, 18),
        ends_at=at(MONDAY, 18, 30),
        status=Status.BOOKED,
        channel=Channel.RECEPTION,
    )
    refused(c, OverbookingErrorCode.NO_OVERTIME)
    assert_no_overlaps()


def test_the_desk_moves_an_extra_visit_into_time_freed_earlier_that_day(small_clinic: SmallClinic) -> None:
    c = small_clinic
    overbooking(c)
    day = plant_day(c, 6)
    extra = overbook(c)
    cancel_appointment(appointment=day[1], reason="ill")

    moved = reschedule_appointment(
        appointment=extra, starts_at=at(MONDAY, 9, 30), channel=Channel.RECEPTION, dentist=c.first, now=NOW
    )

    assert local(moved.starts_at) == "Mon 09:30" and not moved.overbooked
    assert Appointment.objects.get(pk=extra.pk).status == Status.CANCELLED
    assert AppointmentMove.objects.filter(original=extra, moved_to=moved).exists()
    assert_no_overlaps()


# The overtime report ----------------------------------------------------------------------------------------


def test_the_overtime_report_of_a_planted_fortnight(small_clinic: SmallClinic) -> None:
    c = small_clinic
    overbooking(c)
    plant_day(c, 6)
    came, missed = overbook(c), overbook(c)  # 18:00 and 18:30
    change_status(appointment=came, to=Status.ARRIVED)
    change_status(appointment=came, to=Status.FULFILLED)
    change_status(appointment=missed, to=Status.NOSHOW)
    plant_day(c, 6, day=TUESDAY)
    awaited = overbook(c, day=TUESDAY)
    plant_day(c, 6, day=TUESDAY + timedelta(days=1))
    cancel_appointment(appointment=overbook(c, day=TUESDAY + timedelta(days=1)))
    change_status(appointment=awaited, to=Status.ARRIVED)  # Tuesday's is there, being seen

    report = overtime_report(clinic=c.clinic, first_day=MONDAY, last_day=MONDAY + timedelta(days=13))

    rows = [
        (row.day, row.booked, row.came, row.missed, row.cancelled, row.awaited, row.overtime_minutes)
        for row in report.rows
    ]
    assert rows == [
        (MONDAY, 2, 1, 1, 0, 0, 30),
        (TUESDAY, 1, 1, 0, 0, 0, 30),
        (TUESDAY + timedelta(days=1), 1, 0, 0, 1, 0, 0),
    ]
    assert {row.dentist for row in report.rows} == {c.first}
    assert local(report.rows[0].planned_end) == "Mon 18:00"
    assert (report.booked, report.came, report.overtime_minutes) == (4, 2, 60)
    # Another range, another clinic: nothing.
    assert (
        overtime_report(
            clinic=c.clinic, first_day=MONDAY - timedelta(days=7), last_day=MONDAY - timedelta(days=1)
        ).rows
        == ()
    )
    assert overtime_report(clinic=factories.ClinicFactory(), first_day=MONDAY, last_day=TUESDAY).rows == ()


# Over HTTP --------------------------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def sign_in(c: SmallClinic, client: Client, role: StaffRole) -> StaffMember:
    member = factories.StaffFactory(clinic=c.clinic, role=role)
    client.force_login(member.user)
    return member


def post_overbook(client: Client, c: SmallClinic, patient: Patient, service: Service | None = None) -> Any:
    data = {
        "patient": patient.pk,
        "service": (service or c.therapy).pk,
        "dentist": c.first.pk,
        "date": MONDAY.isoformat(),
        "by": "dentist",
    }
    return client.post(reverse("desk:overbook"), data, headers=EN)


@pytest.mark.usefixtures("clock")
def test_the_desk_overbooks_a_day_or_says_why_not(client: Client, small_clinic: SmallClinic) -> None:
    c = small_clinic
    registrar = sign_in(c, client, StaffRole.REGISTRAR)
    plant_day(c, 2)

    off = post_overbook(client, c, c.patient)
    assert off.status_code == 400
    assert "This clinic does not overbook." in off.content.decode()

    overbooking(c)
    board = client.get(
        reverse("desk:board"), {"date": MONDAY.isoformat(), "patient": str(c.patient.pk)}, headers=EN
    )
    page = board.content.decode()
    assert "Expected no-shows: 1.2 · extra visits: 0 of 1" in page
    assert 'action="/desk/overbook/"' in page and "no-shows expected: 1.2, extra visits left: 1" in page

    done = post_overbook(client, c, c.patient)
    assert done.status_code == 302
    extra = Appointment.objects.get(overbooked=True)
    assert extra.created_by == registrar.user and extra.patient == c.patient

    full = post_overbook(client, c, c.other_patient)
    assert full.status_code == 409
    assert "as many extra visits as its expected no-shows allow (1)" in full.content.decode()

    child = factories.PatientFactory(clinic=c.clinic, birth_date=date(2016, 1, 1))
    no_child = post_overbook(client, c, child)
    assert no_child.status_code == 400
    assert "Children are never overbooked" in no_child.content.decode()
    assert Appointment.objects.filter(overbooked=True).count() == 1


@pytest.mark.usefixtures("clock")
def test_the_desk_offers_no_overbooking_for_a_child(client: Client, small_clinic: SmallClinic) -> None:
    c = small_clinic
    sign_in(c, client, StaffRole.REGISTRAR)
    overbooking(c)
    child = factories.PatientFactory(clinic=c.clinic, birth_date=date(2016, 1, 1))
    page = client.get(
        reverse("desk:board"), {"date": MONDAY.isoformat(), "patient": str(child.pk)}, headers=EN
    )
    assert page.status_code == 200
    assert 'action="/desk/overbook/"' not in page.content.decode()


@pytest.mark.usefixtures("clock")
def test_managers_read_the_overtime_report(client: Client, small_clinic: SmallClinic) -> None:
    c = small_clinic
    overbooking(c)
    plant_day(c, 6)
    came = overbook(c)
    change_status(appointment=came, to=Status.ARRIVED)
    sign_in(c, client, StaffRole.MANAGER)
    period = {"date_from": MONDAY.isoformat(), "date_to": (MONDAY + timedelta(days=6)).isoformat()}

    page = client.get(reverse("overtime_report"), period, headers=EN)

    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-day="{MONDAY.isoformat()}" data-dentist="{c.first.pk}"' in html
    assert '<td class="msg-num" id="overtime-total">30</td>' in html
    assert client.get(reverse("overtime_report"), headers=EN).status_code == 200  # the last 30 days
    bad = client.get(
        reverse("overtime_report"), {"date_from": "2027-03-09", "date_to": "2027-03-01"}, headers=EN
    )
    assert bad.status_code == 400 and "must end on or after" in bad.content.decode()
    sign_in(c, client, StaffRole.REGISTRAR)
    assert client.get(reverse("overtime_report"), headers=EN).status_code == 403
