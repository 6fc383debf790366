"""The patient's booking pages over HTTP: a parent books for his child (who → what → dentist → when → hold →
confirm), "I am in pain", My appointments, and the signed links that cancel or move without signing in."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from navbat.accounts.access import Role
from navbat.booking.holds import place_hold
from navbat.booking.links import Purpose, appointment_token
from navbat.booking.models import Appointment, SlotHold
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Service
from tests import factories
from tests.api.conftest import ApiClient, ApiWorld, assert_error, build_api_world

pytestmark = pytest.mark.django_db

START = re.compile(r'name="start" value="([^"]+)"')


@pytest.fixture
def world() -> ApiWorld:
    """The API tests' clinic (open 08:00–20:00 every day), with an urgent service and one for adults only."""
    world = build_api_world()
    specialty = world.service.specialty
    factories.ServiceFactory(
        clinic=world.clinic, code="pain-relief", name_en="Urgent pain relief", specialty=specialty
    )
    factories.ServiceFactory(
        clinic=world.clinic, code="whitening", name_en="Teeth whitening", specialty=specialty, min_age=18
    )
    return world


@pytest.fixture
def client() -> Client:
    """A browser that asks for English pages."""
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def parent(client: Client, world: ApiWorld) -> Client:
    client.force_login(world.users[Role.PATIENT.value])
    return client


def page(client: Client, name: str, status: int = 200, **query: str | int | date) -> str:
    response = client.get(reverse(name), {key: str(value) for key, value in query.items()})
    assert response.status_code == status, response.content.decode()[:1000]
    return response.content.decode()


def times_on(html: str) -> list[datetime]:
    return [datetime.fromisoformat(value) for value in START.findall(html)]


def tomorrow_at_ten(world: ApiWorld) -> datetime:
    return world.at(1, 10)


# --- The whole flow ----------------------------------------------------------------------------------------


def test_a_parent_books_for_his_child_step_by_step(parent: Client, world: ApiWorld) -> None:
    child = world.child

    who = page(parent, "book:start")
    assert "Timur" in who and f"?p={child.pk}" in who

    what = page(parent, "book:what", p=child.pk)
    assert world.service.name_en in what
    assert "Teeth whitening" not in what  # adults only
    assert "Urgent pain relief" not in what  # reached through "I am in pain"
    assert "I am in pain" in what

    dentists = page(parent, "book:dentist", p=child.pk, s="checkup")
    assert "First available dentist" in dentists
    assert all(d.display_name in dentists for d in world.dentists)

    when = page(
        parent, "book:when", p=child.pk, s="checkup", d=world.dentists[1].pk, day=world.at(1, 0).date()
    )
    assert tomorrow_at_ten(world) in times_on(when)

    held = parent.post(
        reverse("book:hold"),
        {
            "p": child.pk,
            "s": "checkup",
            "d": world.dentists[1].pk,
            "start": tomorrow_at_ten(world).isoformat(),
        },
    )
    assert held.status_code == 302
    hold = SlotHold.objects.get(patient=child)
    assert urlsplit(held["Location"]).path == reverse("book:confirm", kwargs={"pk": hold.pk})

    confirm = parent.get(held["Location"])
    assert confirm.status_code == 200
    assert "Time left to confirm" in confirm.content.decode()
    assert re.search(r"[45]:\d\d</strong>", confirm.content.decode())

    booked = parent.post(held["Location"], {"note": "He is afraid of the drill"})

    appointment = Appointment.objects.get(patient=child)
    assert booked["Location"] == reverse("book:appointment", kwargs={"pk": appointment.pk})
    assert (appointment.starts_at, appointment.dentist, appointment.status) == (
        tomorrow_at_ten(world),
        world.dentists[1],
        Status.BOOKED,
    )
    assert appointment.channel == Channel.WEB
    assert appointment.created_by == world.users[Role.PATIENT.value]
    assert appointment.notes == "He is afraid of the drill"
    assert not SlotHold.objects.exists()

    done = parent.get(booked["Location"]).content.decode()
    assert "Booked." in done
    assert reverse("book:ics", kwargs={"pk": appointment.pk}) in done
    calendar = parent.get(reverse("book:ics", kwargs={"pk": appointment.pk}))
    assert calendar["Content-Type"].startswith("text/calendar")
    assert "attachment" in calendar["Content-Disposition"]
    assert b"BEGIN:VEVENT" in calendar.content


def test_without_children_the_patient_goes_straight_to_the_services(client: Client, world: ApiWorld) -> None:
    user = factories.UserFactory(username="lonely", password=None)
    me = factories.PatientFactory(clinic=world.clinic, user=user)
    client.force_login(user)

    response = client.get(reverse("book:start"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('book:what')}?p={me.pk}"


def test_first_available_offers_each_time_once_and_books_any_dentist(parent: Client, world: ApiWorld) -> None:
    when = page(parent, "book:when", p=world.parent.pk, s="checkup", d="any", day=world.at(1, 0).date())
    starts = times_on(when)
    assert len(starts) == len(set(starts))

    parent.post(
        reverse("book:hold"),
        {"p": world.parent.pk, "s": "checkup", "d": "any", "start": starts[3].isoformat()},
    )

    assert SlotHold.objects.get(patient=world.parent).dentist in world.dentists


def test_the_date_strip_loads_the_times_alone_with_htmx(parent: Client, world: ApiWorld) -> None:
    day = world.at(2, 0).date()
    response = parent.get(
        reverse("book:when"),
        {"p": str(world.child.pk), "s": "checkup", "d": "any", "day": day.isoformat()},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="times"' in html
    assert {start.date() for start in times_on(html)} == {day}


def test_without_a_day_the_strip_opens_on_the_first_day_with_free_time(
    parent: Client, world: ApiWorld
) -> None:
    html = page(parent, "book:when", p=world.child.pk, s="checkup", d="any")

    first = times_on(html)[0]
    assert first > timezone.now()
    assert re.search(rf'value="{first.date().isoformat()}" checked', html)


# --- I am in pain ------------------------------------------------------------------------------------------

PAIN = {"swelling": "yes", "fever": "no", "injury": "no", "night": "yes"}


def test_i_am_in_pain_asks_every_question_before_it_goes_on(parent: Client, world: ApiWorld) -> None:
    questions = page(parent, "book:pain", p=world.child.pk)
    assert questions.count('type="radio"') == 2 * len(PAIN)

    half = page(parent, "book:dentist", 400, p=world.child.pk, swelling="yes", fever="no")

    assert "Please answer every question." in half


def test_i_am_in_pain_books_the_urgent_service_with_the_answers_for_the_dentist(
    parent: Client, world: ApiWorld
) -> None:
    dentists = page(parent, "book:dentist", 200, p=world.child.pk, **PAIN)
    assert "Urgent pain relief" in dentists and "urgent" in dentists

    held = parent.post(
        reverse("book:hold"), {"p": world.child.pk, "d": "any", "start": world.at(1, 9).isoformat(), **PAIN}
    )
    hold = SlotHold.objects.get(patient=world.child)
    assert hold.urgent
    assert hold.service.code == "pain-relief"
    parent.post(held["Location"], {"note": ""})

    appointment = Appointment.objects.get(patient=world.child)
    assert appointment.service.code == "pain-relief"
    # Written in the clinic's working language (Uzbek): four questions, each answered.
    assert len(appointment.notes.splitlines()) == 1 + len(PAIN)


def test_without_an_urgent_service_the_clinic_offers_no_i_am_in_pain(parent: Client, world: ApiWorld) -> None:
    Service.objects.filter(code="pain-relief").update(is_active=False)

    assert "I am in pain" not in page(parent, "book:what", p=world.child.pk)
    page(parent, "book:pain", 404, p=world.child.pk)
    page(parent, "book:dentist", 404, p=world.child.pk, **PAIN)


# --- Holds on the pages ---------------------------------------------------------------------------------


def test_a_time_another_family_holds_is_not_offered(parent: Client, world: ApiWorld) -> None:
    day = world.at(1, 0).date()
    place_hold(
        patient=world.stranger,
        service=world.service,
        starts_at=tomorrow_at_ten(world),
        dentist=world.dentists[0],
    )

    starts = times_on(
        page(parent, "book:when", p=world.child.pk, s="checkup", d=world.dentists[0].pk, day=day)
    )

    assert tomorrow_at_ten(world) not in starts
    assert world.at(1, 10, 30) in starts


def test_a_time_taken_meanwhile_sends_the_patient_back_to_the_times(parent: Client, world: ApiWorld) -> None:
    flow = {"p": world.child.pk, "s": "checkup", "d": world.dentists[0].pk}
    ApiClient(world.token("operator")).post(
        "/appointments",
        {
            "patient": world.stranger.pk,
            "service": "checkup",
            "start": tomorrow_at_ten(world).isoformat(),
            "dentist": world.dentists[0].pk,
        },
    )

    response = parent.post(
        reverse("book:hold"), {**flow, "start": tomorrow_at_ten(world).isoformat()}, follow=True
    )

    assert resolve(response.redirect_chain[-1][0].split("?")[0]).view_name == "book:when"
    assert "This time has just been taken" in response.content.decode()
    assert not SlotHold.objects.exists()


def test_the_api_cannot_book_a_time_a_patient_holds(world: ApiWorld) -> None:
    place_hold(
        patient=world.child,
        service=world.service,
        starts_at=tomorrow_at_ten(world),
        dentist=world.dentists[0],
    )

    response = ApiClient(world.token("operator")).post(
        "/appointments",
        {
            "patient": world.stranger.pk,
            "service": "checkup",
            "start": tomorrow_at_ten(world).isoformat(),
            "dentist": world.dentists[0].pk,
        },
    )

    assert_error(response, 409, "slot_taken")


def test_confirming_after_the_hold_ended_and_the_time_went_leads_back_to_the_times(
    parent: Client, world: ApiWorld
) -> None:
    hold = place_hold(
        patient=world.child,
        service=world.service,
        starts_at=tomorrow_at_ten(world),
        dentist=world.dentists[0],
    )
    SlotHold.objects.filter(pk=hold.pk).update(expires_at=timezone.now())
    book_appointment(
        patient=world.stranger,
        service=world.service,
        starts_at=tomorrow_at_ten(world),
        dentist=world.dentists[0],
        channel=Channel.PHONE,
    )
    url = f"{reverse('book:confirm', kwargs={'pk': hold.pk})}?p={world.child.pk}&s=checkup&d=any"

    response = parent.post(url, {"note": ""}, follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("book:when"))
    assert "This time has just been taken" in response.content.decode()
    assert not Appointment.objects.filter(patient=world.child).exists()


def test_releasing_the_hold_frees_the_time_and_goes_back(parent: Client, world: ApiWorld) -> None:
    hold = place_hold(
        patient=world.child,
        service=world.service,
        starts_at=tomorrow_at_ten(world),
        dentist=world.dentists[0],
    )

    response = parent.post(
        f"{reverse('book:release', kwargs={'pk': hold.pk})}?p={world.child.pk}&s=checkup&d=any"
    )

    assert response.status_code == 302 and response["Location"].startswith(reverse("book:when"))
    assert not SlotHold.objects.exists()


# --- Who may, and bad input -----------------------------------------------------------------------------


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_patient_sign_in(
    client: Client, world: ApiWorld
) -> None:
    response = client.get(reverse("book:when"), {"p": world.child.pk})

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("me:login")
    assert parse_qs(location.query)["next"] == [f"{reverse('book:when')}?p={world.child.pk}"]


def test_staff_book_on_their_own_pages_not_here(client: Client, world: ApiWorld) -> None:
    client.force_login(world.users[Role.OPERATOR.value])

    assert client.get(reverse("book:start")).status_code == 403


def test_a_patient_cannot_book_for_someone_outside_his_family(parent: Client, world: ApiWorld) -> None:
    page(parent, "book:what", 404, p=world.stranger.pk)
    held = parent.post(
        reverse("book:hold"),
        {"p": world.stranger.pk, "s": "checkup", "d": "any", "start": world.at(1, 10).isoformat()},
    )
    assert held.status_code == 404
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        {"p": "x"},
        {"p": "99999999999999999999999"},
        {"s": "checkup", "d": "any"},
        {"p": "{child}", "s": "checkup", "d": "not-a-dentist"},
        {"p": "{child}", "s": "checkup", "d": "any", "day": "2020-01-01"},
        {"p": "{child}", "s": "checkup", "d": "any", "day": "tomorrow"},
    ],
    ids=["bad person", "huge person", "no person", "bad dentist", "day outside the strip", "not a date"],
)
def test_a_broken_address_gets_a_clear_400(parent: Client, world: ApiWorld, query: dict[str, str]) -> None:
    filled = {key: value.format(child=world.child.pk) for key, value in query.items()}

    html = page(parent, "book:when", 400, **filled)

    assert "This did not work" in html or "Please choose a day" in html


@pytest.mark.parametrize("start", ["", "tomorrow", "2027-03-01T10:00:00", "9" * 50])
def test_a_time_not_from_the_list_gets_a_clear_400_and_holds_nothing(
    parent: Client, world: ApiWorld, start: str
) -> None:
    response = parent.post(
        reverse("book:hold"), {"p": world.child.pk, "s": "checkup", "d": "any", "start": start}
    )

    assert response.status_code == 400
    assert "Please choose a time from the list." in response.content.decode()
    assert not SlotHold.objects.exists()


def test_an_unknown_service_or_one_not_for_the_age_is_404(parent: Client, world: ApiWorld) -> None:
    page(parent, "book:dentist", 404, p=world.child.pk, s="no-such")
    page(parent, "book:dentist", 404, p=world.child.pk, s="whitening")
    page(parent, "book:dentist", 200, p=world.parent.pk, s="whitening")


# --- My appointments ---------------------------------------------------------------------------------------


def test_my_appointments_lists_the_familys_with_calendar_move_and_cancel(
    parent: Client, world: ApiWorld
) -> None:
    childs = world.book(world.child, world.at(2, 11))
    strangers = world.book(world.stranger, world.at(2, 12), dentist=1)

    html = page(parent, "book:mine")

    assert "Karimov Timur" in html
    for name in ("ics", "move", "cancel"):
        assert reverse(f"book:{name}", kwargs={"pk": childs.pk}) in html
    assert reverse("book:ics", kwargs={"pk": strangers.pk}) not in html


def test_a_signed_in_parent_cancels_his_childs_appointment(parent: Client, world: ApiWorld) -> None:
    childs = world.book(world.child, world.at(2, 11))
    url = reverse("book:cancel", kwargs={"pk": childs.pk})
    assert "Cancel the appointment?" in parent.get(url).content.decode()

    response = parent.post(url)

    assert response["Location"] == reverse("book:mine")
    childs.refresh_from_db()
    assert childs.status == Status.CANCELLED
    assert childs.events.last().actor == world.users[Role.PATIENT.value]


def test_another_familys_appointment_is_404_on_every_page(parent: Client, world: ApiWorld) -> None:
    strangers = world.book(world.stranger, world.at(2, 12))

    for name in ("appointment", "ics", "cancel", "move"):
        assert parent.get(reverse(f"book:{name}", kwargs={"pk": strangers.pk})).status_code == 404
    assert parent.post(reverse("book:cancel", kwargs={"pk": strangers.pk})).status_code == 404
    strangers.refresh_from_db()
    assert strangers.status == Status.BOOKED


# --- Signed links, no sign-in ------------------------------------------------------------------------------


def test_the_cancel_link_works_without_signing_in_and_only_once(client: Client, world: ApiWorld) -> None:
    childs = world.book(world.child, world.at(2, 11))
    url = reverse("book:link_cancel", kwargs={"token": appointment_token(childs, Purpose.CANCEL)})

    asked = client.get(url)
    assert asked.status_code == 200
    assert "Cancel the appointment?" in asked.content.decode()
    done = client.post(url)

    assert done.status_code == 200
    assert "The appointment is cancelled" in done.content.decode()
    childs.refresh_from_db()
    assert childs.status == Status.CANCELLED
    again = client.post(url)
    assert again.status_code == 410
    assert "This link no longer works" in again.content.decode()


def test_a_move_link_cannot_cancel(client: Client, world: ApiWorld) -> None:
    childs = world.book(world.child, world.at(2, 11))
    url = reverse("book:link_cancel", kwargs={"token": appointment_token(childs, Purpose.MOVE)})

    response = client.post(url)

    assert response.status_code == 404
    childs.refresh_from_db()
    assert childs.status == Status.BOOKED


def test_the_move_link_moves_without_signing_in(client: Client, world: ApiWorld) -> None:
    childs = world.book(world.child, world.at(2, 11))
    url = reverse("book:link_move", kwargs={"token": appointment_token(childs, Purpose.MOVE)})
    day = world.at(3, 0).date()
    starts = times_on(client.get(url, {"day": day.isoformat()}).content.decode())
    new_time = world.at(3, 15)
    assert new_time in starts

    held = client.post(f"{url}?day={day.isoformat()}", {"start": new_time.isoformat()})
    assert held.status_code == 302
    confirm = client.get(held["Location"])
    assert "Confirm the new time" in confirm.content.decode()
    moved = client.post(held["Location"])

    childs.refresh_from_db()
    assert childs.status == Status.CANCELLED
    new = Appointment.objects.get(patient=world.child, status=Status.BOOKED)
    assert (new.starts_at, new.dentist) == (new_time, childs.dentist)
    assert resolve(urlsplit(moved["Location"]).path).view_name == "book:link"
    shown = client.get(moved["Location"])
    assert "Moved." in shown.content.decode()
    assert client.get(url).status_code == 410  # the old link is dead


def test_the_view_link_shows_the_appointment_and_its_calendar_file(client: Client, world: ApiWorld) -> None:
    childs = world.book(world.child, world.at(2, 11))
    token = appointment_token(childs, Purpose.VIEW)

    html = client.get(reverse("book:link", kwargs={"token": token}))
    calendar = client.get(reverse("book:link_ics", kwargs={"token": token}))

    assert "Karimov Timur" in html.content.decode()
    assert b"BEGIN:VCALENDAR" in calendar.content
    assert client.get(reverse("book:link", kwargs={"token": token + "x"})).status_code == 404
