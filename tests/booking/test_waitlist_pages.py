"""The waitlist's pages: a patient answers his offer by its link without signing in; operators see the offers
in flight. The clinic works Mon–Fri from today on; the freed time is next Monday 10:00."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from navbat.accounts.access import Role
from navbat.accounts.models import AuditEntry
from navbat.accounts.services import assign_role
from navbat.booking import waitlist
from navbat.booking.models import OfferStatus, Urgency, WaitlistEntry, WaitlistOffer, WaitlistStatus
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.booking.tasks import expire_offer
from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole
from navbat.patients.models import Patient
from tests import factories

pytestmark = pytest.mark.django_db


@dataclass
class Live:
    clinic: Clinic
    dentist: StaffMember
    chair: Chair
    service: Service
    patient: Patient
    user: User
    operator: StaffMember
    monday: date

    def ten(self) -> datetime:
        return datetime.combine(self.monday, time(10), tzinfo=self.clinic.tz)


@pytest.fixture
def live() -> Live:
    clinic = factories.ClinicFactory(observes_national_holidays=False)
    department = factories.DepartmentFactory(clinic=clinic)
    chair = factories.ChairFactory(department=department)
    therapist = factories.SpecialtyFactory()
    dentist = factories.StaffFactory(clinic=clinic, specialties=[therapist])
    today = timezone.now().astimezone(clinic.tz).date()
    factories.weekly_plan(dentist, valid_from=today, chair=chair)
    service = factories.ServiceFactory(clinic=clinic, specialty=therapist, duration_minutes=30)
    operator = factories.StaffFactory(clinic=clinic, role=StaffRole.OPERATOR, user__username="operator")
    user = factories.UserFactory(username="yuldasheva", password=None)
    patient = factories.PatientFactory(clinic=clinic, surname="Yuldasheva", user=user)
    assign_role(user=user, role=Role.PATIENT)
    monday = today + timedelta(days=7 - today.weekday())
    waitlist.join_waitlist(
        patient=patient, service=service, date_from=today, date_to=monday + timedelta(days=7)
    )
    return Live(clinic, dentist, chair, service, patient, user, operator, monday)


@pytest.fixture
def client() -> Client:
    return Client(headers={"Accept-Language": "en"})


def offered(live: Live, *, minutes_ago: int = 0) -> WaitlistOffer:
    offer = waitlist.offer_freed_time(
        clinic=live.clinic,
        dentist=live.dentist,
        chair=live.chair,
        start=live.ten(),
        end=live.ten() + timedelta(minutes=30),
        now=timezone.now() - timedelta(minutes=minutes_ago),
    )
    assert offer is not None
    return offer


def test_the_link_shows_the_offered_time_and_accepting_books_it(live: Live, client: Client) -> None:
    offer = offered(live)
    url = f"/waitlist/o/{offer.token}/"

    page = client.get(url)
    assert page.status_code == 200
    assert "A time has become free for you" in page.content.decode()
    assert "10:00" in page.content.decode()

    answer = client.post(url, {"answer": "accept"})

    assert answer.status_code == 200
    assert "The time is yours" in answer.content.decode()
    assert live.patient.appointments.get(status=Status.BOOKED).starts_at == live.ten()


def test_declining_by_the_link_keeps_him_waiting(live: Live, client: Client) -> None:
    offer = offered(live)

    answer = client.post(f"/waitlist/o/{offer.token}/", {"answer": "decline"})

    assert answer.status_code == 200
    assert "You are still on the waiting list" in answer.content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED


def test_an_ended_offer_answers_gone_and_an_answered_one_conflict(live: Live, client: Client) -> None:
    offer = offered(live, minutes_ago=20)
    url = f"/waitlist/o/{offer.token}/"

    assert client.get(url).status_code == 410
    accepted_late = client.post(url, {"answer": "accept"})

    assert accepted_late.status_code == 410
    assert "This offer has expired" in accepted_late.content.decode()
    assert not live.patient.appointments.filter(status=Status.BOOKED).exists()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED
    assert client.post(url, {"answer": "decline"}).status_code == 410


def test_an_unknown_link_is_not_found(client: Client) -> None:
    assert client.get("/waitlist/o/not-a-real-token/").status_code == 404


def test_a_second_answer_is_a_conflict(live: Live, client: Client) -> None:
    offer = offered(live)
    url = f"/waitlist/o/{offer.token}/"
    client.post(url, {"answer": "decline"})

    assert client.post(url, {"answer": "accept"}).status_code == 409
    assert client.get(url).status_code == 409


def test_operators_see_the_offers_in_flight_and_the_reading_is_audited(live: Live, client: Client) -> None:
    offered(live)
    client.force_login(live.operator.user)

    page = client.get("/waitlist/offers/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Offers in flight" in html and "Yuldasheva" in html
    assert AuditEntry.objects.filter(patient_id=live.patient.pk, note="waitlist").exists()


def test_a_dentist_may_not_open_the_operators_list(live: Live, client: Client) -> None:
    client.force_login(live.dentist.user)

    assert client.get("/waitlist/offers/").status_code == 403


def test_a_patient_joins_the_waitlist_when_no_time_suits(live: Live, client: Client) -> None:
    hygiene = factories.ServiceFactory(
        clinic=live.clinic, specialty=live.service.specialty, name_en="Hygiene"
    )
    client.force_login(live.user)
    assert client.get("/waitlist/join/").status_code == 200

    answer = client.post(
        "/waitlist/join/",
        {
            "patient": live.patient.pk,
            "service": hygiene.pk,
            "dentists": [live.dentist.pk],
            "date_from": live.monday.isoformat(),
            "date_to": (live.monday + timedelta(days=4)).isoformat(),
            "weekdays": ["1", "3"],
            "time_from": "09:00",
            "time_to": "12:00",
            "urgency": str(Urgency.URGENT),  # not his to say: ignored
        },
    )

    assert answer.status_code == 200, answer.content.decode()[:2000]
    assert "You are on the waiting list" in answer.content.decode()
    entry = WaitlistEntry.objects.get(service=hygiene)
    assert (entry.patient, entry.weekdays, entry.time_to, entry.urgency) == (
        live.patient,
        "13",
        time(12),
        Urgency.ROUTINE,
    )
    assert list(entry.dentists.all()) == [live.dentist]


def test_dates_out_of_order_are_refused_with_a_message(live: Live, client: Client) -> None:
    client.force_login(live.user)

    answer = client.post(
        "/waitlist/join/",
        {
            "patient": live.patient.pk,
            "service": live.service.pk,
            "date_from": (live.monday + timedelta(days=3)).isoformat(),
            "date_to": live.monday.isoformat(),
        },
    )

    assert answer.status_code == 400
    assert "Please choose dates from today on" in answer.content.decode()


def test_earlier_if_possible_on_a_booked_visit(live: Live, client: Client) -> None:
    WaitlistEntry.objects.update(status=WaitlistStatus.WITHDRAWN)
    visit = book_appointment(
        patient=live.patient,
        service=live.service,
        starts_at=live.ten() + timedelta(days=2),
        channel=Channel.WEB,
    )
    client.force_login(live.user)

    answer = client.post(f"/waitlist/earlier/{visit.pk}/")

    assert answer.status_code == 200
    assert "We will look for an earlier time" in answer.content.decode()
    entry = WaitlistEntry.objects.get(status=WaitlistStatus.WAITING)
    assert entry.earlier_than == visit
    # Monday 10:00 frees up: it is offered to him, and taking it moves his visit.
    offer = offered(live)
    assert offer.entry == entry
    client.post(f"/waitlist/o/{offer.token}/", {"answer": "accept"})
    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert live.patient.appointments.get(status=Status.BOOKED).starts_at == live.ten()


def test_an_operator_puts_a_caller_on_the_waitlist_with_his_urgency(live: Live, client: Client) -> None:
    caller = factories.PatientFactory(clinic=live.clinic)
    client.force_login(live.operator.user)

    answer = client.post(
        f"/waitlist/join/{caller.pk}/",
        {
            "patient": caller.pk,
            "service": live.service.pk,
            "date_from": live.monday.isoformat(),
            "date_to": live.monday.isoformat(),
            "urgency": str(Urgency.URGENT),
        },
    )

    assert answer.status_code == 302
    entry = WaitlistEntry.objects.get(patient=caller)
    assert (entry.urgency, entry.created_by) == (Urgency.URGENT, live.operator.user)


def test_the_booking_flow_sends_him_to_the_form_with_his_choices(live: Live, client: Client) -> None:
    client.force_login(live.user)

    html = client.get("/waitlist/join/", {"p": live.patient.pk, "s": live.service.pk}).content.decode()

    assert f'<option value="{live.service.pk}" selected>' in html
    assert f'<option value="{live.patient.pk}" selected>' in html


def test_the_expiry_task_ends_an_unanswered_offer_and_leaves_an_answered_one(live: Live) -> None:
    ended = offered(live, minutes_ago=20)

    assert expire_offer.call(ended.pk) == OfferStatus.EXPIRED
    assert expire_offer.call(ended.pk) == OfferStatus.EXPIRED  # run twice: nothing more happens
    assert expire_offer.call(0) == "gone"
