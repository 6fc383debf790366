"""A dentist's private calendar feed: made and revoked on his page (or revoked in the admin), fetched by his
phone's calendar without signing in.

Through HTTP (the page, the feed's address, the admin's action) with Django's test client, the time being the
machine's: the feed's window is counted from now, so the visits here are placed relative to it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from navbat.accounts.access import Role
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.booking.models import Appointment
from navbat.booking.services import cancel_appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import CalendarFeed, StaffMember, StaffRole
from navbat.patients.models import MedicalAlert, Patient
from tests import factories
from tests.small_clinic import TASHKENT, SmallClinic

pytestmark = pytest.mark.django_db

FEED_URL = re.compile(r"https?://testserver/calendar/[A-Za-z0-9_-]+\.ics")


def visit(
    sc: SmallClinic,
    *,
    days: int,
    hour: int = 10,
    dentist: StaffMember | None = None,
    patient: Patient | None = None,
    status: Status = Status.BOOKED,
    notes: str = "",
) -> Appointment:
    """A visit `days` from today at `hour`, clinic time (the history a feed reads; how it was booked does not
    matter to the feed)."""
    day = timezone.localdate(timezone.now(), TASHKENT) + timedelta(days=days)
    starts = datetime.combine(day, time(hour), tzinfo=TASHKENT)
    return Appointment.objects.create(
        clinic=sc.clinic,
        patient=patient or sc.patient,
        service=sc.therapy,
        dentist=dentist or sc.first,
        chair=sc.chair_plain,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        status=status,
        channel=Channel.PHONE,
        notes=notes,
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_link(client: Client, language: str = "en") -> str:
    """Press "Make a link" on the calendar page: the address it shows (this once)."""
    page = client.post("/calendar/new/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    found = FEED_URL.search(page.content.decode())
    assert found, "the page shows no calendar link"
    return found.group(0)


def fetch(url: str, **headers: Any) -> Any:
    """What a phone's calendar does: GET the address, no session, no cookies."""
    return Client().get(url, **headers)


def events(body: bytes) -> dict[str, Any]:
    """The feed's events by UID."""
    return {str(event["uid"]): event for event in Calendar.from_ical(body).walk("VEVENT")}


def uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@navbat"


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# The feed's contents -------------------------------------------------------------------------------------


def test_a_dentist_makes_a_link_and_his_phone_gets_his_visits_in_utc(small_clinic: SmallClinic) -> None:
    mine = visit(small_clinic, days=3, hour=9)
    someone_elses = visit(small_clinic, days=3, hour=11, dentist=small_clinic.second)

    url = make_link(signed_in(small_clinic.first.user))
    answer = fetch(url)

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/calendar; charset=utf-8"
    assert not answer.cookies  # no session for a calendar program
    found = events(answer.content)
    assert set(found) == {uid(mine)}
    assert uid(someone_elses) not in found
    raw = answer.content.decode()
    # Times in UTC (the Z form), which every calendar converts to the phone's own zone: 09:00 in Tashkent.
    assert f"DTSTART:{utc_stamp(mine.starts_at)}" in raw
    assert utc_stamp(mine.starts_at).endswith("T040000Z")
    assert f"DTEND:{utc_stamp(mine.ends_at)}" in raw
    assert found[uid(mine)]["status"] == "CONFIRMED"
    assert "Caries treatment" in str(found[uid(mine)]["summary"])
    assert small_clinic.chair_plain.name in str(found[uid(mine)]["location"])


def test_the_feed_names_the_patient_by_number_and_initials_only(small_clinic: SmallClinic) -> None:
    patient = factories.PatientFactory(
        clinic=small_clinic.clinic,
        surname="Yuldasheva",
        name="Malika",
        patronymic="Rustamovna",
        phone="+998901234567",
        number="NB-000007-5",
    )
    MedicalAlert.objects.create(patient=patient, kind="allergy", note="Lidocaine")
    visit(small_clinic, days=2, patient=patient, notes="Afraid of needles; call her husband on 93 555 00 00")

    body = fetch(make_link(signed_in(small_clinic.first.user))).content.decode()

    assert "NB-000007-5" in body
    assert "Y. M." in body
    for personal in ("Yuldasheva", "Malika", "Rustamovna", "998901234567", "90 123", "Lidocaine", "allergy"):
        assert personal not in body, personal
    assert "needles" not in body and "555" not in body  # the appointment's notes stay at the clinic


def test_events_speak_the_language_the_link_was_made_in(small_clinic: SmallClinic) -> None:
    visit(small_clinic, days=2)

    url = make_link(signed_in(small_clinic.first.user), language="ru")
    body = fetch(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Лечение кариеса" in body
    assert "Caries treatment" not in body


def test_the_feed_holds_two_weeks_back_and_three_months_ahead(small_clinic: SmallClinic) -> None:
    too_old = visit(small_clinic, days=-15)
    recent = visit(small_clinic, days=-13)
    ahead = visit(small_clinic, days=89)
    too_far = visit(small_clinic, days=91)

    found = events(fetch(make_link(signed_in(small_clinic.first.user))).content)

    assert set(found) == {uid(recent), uid(ahead)}
    assert uid(too_old) not in found and uid(too_far) not in found


def test_a_cancelled_visit_stays_in_the_feed_marked_cancelled_for_two_weeks(
    small_clinic: SmallClinic,
) -> None:
    cancelled_today = visit(small_clinic, days=5)
    cancel_appointment(appointment=cancelled_today, reason="ill")
    cancelled_long_ago = visit(small_clinic, days=6, status=Status.CANCELLED)
    Appointment.objects.filter(pk=cancelled_long_ago.pk).update(
        updated_at=timezone.now() - timedelta(days=15)
    )

    found = events(fetch(make_link(signed_in(small_clinic.first.user))).content)

    assert set(found) == {uid(cancelled_today)}
    assert found[uid(cancelled_today)]["status"] == "CANCELLED"  # so that phones remove it


def test_an_assistant_sees_the_visits_of_the_dentists_of_his_department(small_clinic: SmallClinic) -> None:
    department = small_clinic.chair_plain.department
    StaffMember.objects.filter(pk=small_clinic.first.pk).update(department=department)
    assistant = factories.StaffFactory(
        clinic=small_clinic.clinic, role=StaffRole.ASSISTANT, department=department
    )
    his_dentists = visit(small_clinic, days=2)
    elsewhere = visit(small_clinic, days=2, hour=12, dentist=small_clinic.second)  # no department

    found = events(fetch(make_link(signed_in(assistant.user))).content)

    assert set(found) == {uid(his_dentists)}
    assert uid(elsewhere) not in found


def test_a_poll_reads_twice_and_writes_last_fetched_at_most_once_a_minute(
    small_clinic: SmallClinic, django_assert_num_queries: Any
) -> None:
    for hour in (9, 10, 11, 12, 14):
        visit(small_clinic, days=2, hour=hour, patient=factories.PatientFactory(clinic=small_clinic.clinic))
    url = make_link(signed_in(small_clinic.first.user))
    feed = CalendarFeed.objects.get()
    assert feed.last_used_at is None

    first = fetch(url)
    feed.refresh_from_db()
    fetched_at = feed.last_used_at
    with django_assert_num_queries(2):  # the feed, its visits (five of them, with what they name)
        again = fetch(url)
    feed.refresh_from_db()

    assert first.status_code == again.status_code == 200
    assert len(events(again.content)) == 5
    assert fetched_at is not None and timezone.now() - fetched_at < timedelta(minutes=1)
    assert feed.last_used_at == fetched_at  # the second poll wrote nothing


def test_a_poll_after_a_minute_updates_last_fetched(small_clinic: SmallClinic) -> None:
    url = make_link(signed_in(small_clinic.first.user))
    an_hour_ago = timezone.now() - timedelta(hours=1)
    CalendarFeed.objects.update(last_used_at=an_hour_ago)

    fetch(url)

    assert CalendarFeed.objects.get().last_used_at > an_hour_ago  # type: ignore[operator]


# The secret, revoking, a new link ------------------------------------------------------------------------


def test_only_a_hash_of_the_secret_is_stored(small_clinic: SmallClinic) -> None:
    url = make_link(signed_in(small_clinic.first.user))
    token = url.rsplit("/", 1)[1].removesuffix(".ics")

    feed = CalendarFeed.objects.get()

    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(CalendarFeed.objects.values().get())
    assert len(token) >= 43  # 256 random bits


def test_the_link_is_shown_once_and_the_page_says_what_the_events_hold(small_clinic: SmallClinic) -> None:
    client = signed_in(small_clinic.first.user)
    before = client.get("/calendar/", HTTP_ACCEPT_LANGUAGE="en")
    url = make_link(client)
    after = client.get("/calendar/", HTTP_ACCEPT_LANGUAGE="en")

    assert "You have no calendar link." in before.content.decode()
    assert "never a full name, a phone number or medical alerts" in before.content.decode()
    assert "no-store" in after["Cache-Control"]
    assert url not in after.content.decode()
    assert "Last fetched by a calendar" in after.content.decode()


def test_revoking_the_link_makes_its_address_answer_like_one_that_never_was(
    small_clinic: SmallClinic,
) -> None:
    client = signed_in(small_clinic.first.user)
    url = make_link(client)
    never_was = "http://testserver/calendar/" + "A" * 43 + ".ics"

    revoked = client.post("/calendar/revoke/")
    gone, unknown = fetch(url), fetch(never_was)

    assert (revoked.status_code, revoked["Location"]) == (302, "/calendar/")
    assert gone.status_code == unknown.status_code == 404
    assert gone.content == unknown.content  # no hint that this one existed
    assert CalendarFeed.objects.get().revoked_at is not None


def test_a_new_link_revokes_the_old_one(small_clinic: SmallClinic) -> None:
    client = signed_in(small_clinic.first.user)
    old = make_link(client)

    new = make_link(client)

    assert new != old
    assert fetch(old).status_code == 404
    assert fetch(new).status_code == 200
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_the_database_refuses_a_second_live_feed_for_one_dentist(small_clinic: SmallClinic) -> None:
    """The last guard if two pages made a link at the same moment: one live feed per staff member."""
    CalendarFeed.objects.create(staff=small_clinic.first, token_hash="a" * 64)

    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarFeed.objects.create(staff=small_clinic.first, token_hash="b" * 64)
    CalendarFeed.objects.update(revoked_at=timezone.now())
    CalendarFeed.objects.create(staff=small_clinic.first, token_hash="c" * 64)  # a revoked one is no bar

    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_making_and_revoking_links_are_in_the_audit_log(small_clinic: SmallClinic) -> None:
    client = signed_in(small_clinic.first.user)
    make_link(client)
    make_link(client)
    client.post("/calendar/revoke/")
    first, second = CalendarFeed.objects.order_by("pk")

    entries = list(
        AuditEntry.objects.filter(object_type="calendar_feed")
        .order_by("pk")
        .values_list("action", "object_id", "actor")
    )

    me = small_clinic.first.user.pk
    assert entries == [
        (AuditAction.CREATE, str(first.pk), me),
        (AuditAction.UPDATE, str(first.pk), me),  # revoked by the new link
        (AuditAction.CREATE, str(second.pk), me),
        (AuditAction.UPDATE, str(second.pk), me),
    ]


def test_a_dentist_who_left_has_a_feed_no_more(small_clinic: SmallClinic) -> None:
    url = make_link(signed_in(small_clinic.first.user))

    User.objects.filter(pk=small_clinic.first.user.pk).update(is_active=False)

    assert fetch(url).status_code == 404


@pytest.mark.parametrize("address", ["/calendar/short.ics", "/calendar/" + "x" * 500 + ".ics"])
def test_a_made_up_address_is_404(db: None, address: str) -> None:
    assert fetch(address).status_code == 404


def test_a_manager_revokes_a_dentists_link_in_the_admin(small_clinic: SmallClinic) -> None:
    url = make_link(signed_in(small_clinic.first.user))
    manager = factories.StaffFactory(clinic=small_clinic.clinic, role=Role.MANAGER)
    feed = CalendarFeed.objects.get()

    answer = signed_in(manager.user).post(
        "/admin/clinic/calendarfeed/",
        {"action": "revoke", "_selected_action": [feed.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )

    assert answer.status_code == 200
    assert "1 calendar link revoked." in answer.content.decode()
    assert fetch(url).status_code == 404
    assert AuditEntry.objects.filter(
        object_type="calendar_feed", action=AuditAction.UPDATE, actor=manager.user
    ).exists()


def test_the_calendar_page_is_for_dentists_and_assistants(small_clinic: SmallClinic) -> None:
    registrar = factories.StaffFactory(clinic=small_clinic.clinic, role=StaffRole.REGISTRAR)

    refused = signed_in(registrar.user).post("/calendar/new/")
    anonymous = Client().get("/calendar/")

    assert refused.status_code == 403
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert not CalendarFeed.objects.exists()
