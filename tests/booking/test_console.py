"""The call-centre console through HTTP, as an operator uses it: search, the caller's card, options, book,
move, cancel, register; and bad input answered with 400 (or 409) that changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from navbat.accounts.audit import SYSTEM
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.booking.models import Appointment
from navbat.booking.services import SLOT_TAKEN_MESSAGE, book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole
from navbat.patients.models import Guardianship, MedicalAlert, Patient
from navbat.patients.services import PatientData, register_patient
from tests import factories

pytestmark = pytest.mark.django_db


@dataclass
class Desk:
    """A clinic that works Mon–Fri 09:00–18:00 (lunch 13–14) from today on, two therapists, an operator."""

    clinic: Clinic
    first: StaffMember
    second: StaffMember
    chair_one: Chair
    chair_two: Chair
    therapy: Service
    operator: StaffMember
    caller: Patient
    monday: date

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.clinic.tz)


def registered(clinic: Clinic, surname: str, name: str, phone: str = "", **more: object) -> Patient:
    data = PatientData(surname=surname, name=name, birth_date=date(1990, 1, 15), phone=phone)
    return register_patient(clinic=clinic, data=data, actor=SYSTEM, allow_duplicates=True, **more)  # type: ignore[arg-type]


@pytest.fixture
def desk() -> Desk:
    clinic = factories.ClinicFactory(country="UZ", patient_prefix="NB", observes_national_holidays=False)
    department = factories.DepartmentFactory(clinic=clinic)
    chair_one = factories.ChairFactory(department=department, name="Chair 1")
    chair_two = factories.ChairFactory(department=department, name="Chair 2")
    therapist = factories.SpecialtyFactory()
    first = factories.StaffFactory(
        clinic=clinic, specialties=[therapist], user__first_name="Dilshod", user__last_name="Karimov"
    )
    second = factories.StaffFactory(
        clinic=clinic, specialties=[therapist], user__first_name="Malika", user__last_name="Saidova"
    )
    today = timezone.now().astimezone(clinic.tz).date()
    factories.weekly_plan(first, valid_from=today, chair=chair_one)
    factories.weekly_plan(second, valid_from=today, chair=chair_two)
    therapy = factories.ServiceFactory(clinic=clinic, specialty=therapist, duration_minutes=30)
    operator = factories.StaffFactory(clinic=clinic, role=StaffRole.OPERATOR, user__username="operator")
    caller = registered(clinic, "Yuldashev", "Aziz", "+998901234567")
    # The Monday of next week: a whole working week ahead, whatever day the tests run.
    monday = today + timedelta(days=7 - today.weekday())
    return Desk(clinic, first, second, chair_one, chair_two, therapy, operator, caller, monday)


@pytest.fixture
def operator(client: Client, desk: Desk) -> Client:
    client.force_login(desk.operator.user)
    return client


def html_of(response: HttpResponseBase) -> str:
    assert isinstance(response, HttpResponse)
    return response.content.decode()


HTMX = {"HX-Request": "true", "Accept-Language": "en"}
ENGLISH = {"Accept-Language": "en"}


def wishes(desk: Desk, **changes: Any) -> dict[str, Any]:
    """The caller's wishes as the form sends them: the service, any dentist, from next Monday."""
    return {"service": desk.therapy.pk, "earliest": desk.monday.strftime("%d.%m.%Y"), **changes}


def option_of(
    desk: Desk, start: datetime, dentist: StaffMember, chair: Chair, **more: object
) -> dict[str, object]:
    """What an option's Book button sends: the wishes that found it and the slot."""
    return {
        **wishes(desk),
        "slot_start": start.isoformat(),
        "slot_dentist": dentist.pk,
        "slot_chair": chair.pk,
        **more,
    }


def booked(desk: Desk, patient: Patient, start: datetime, dentist: StaffMember | None = None) -> Appointment:
    return book_appointment(
        patient=patient,
        service=desk.therapy,
        starts_at=start,
        channel=Channel.PHONE,
        dentist=dentist or desk.first,
    )


# Search -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["90 123 45 67", "+998 90 123-45-67", "4567", "Юлдашев", "yuldashev az"])
def test_the_search_box_finds_the_caller_by_phone_in_any_format_or_his_name_in_either_script(
    operator: Client, desk: Desk, typed: str
) -> None:
    registered(desk.clinic, "Karimova", "Dilnoza", "+998935550000")

    response = operator.get(reverse("console:search"), {"q": typed}, headers=HTMX)

    html = html_of(response)
    assert response.status_code == 200
    assert "<html" not in html  # htmx gets the results only
    assert "Yuldashev Aziz" in html and "Karimova" not in html
    assert reverse("console:card", args=[desk.caller.pk]) in html
    assert "+998 90 123 45 67" in html  # operators see contact data


def test_the_search_box_finds_the_caller_by_his_patient_number(operator: Client, desk: Desk) -> None:
    assert desk.caller.number is not None

    html = html_of(operator.get(reverse("console:search"), {"q": desk.caller.number.lower()}, headers=HTMX))

    assert "Yuldashev Aziz" in html


def test_a_phone_that_finds_nobody_offers_the_new_caller_form_with_the_phone_filled_in(
    operator: Client, desk: Desk
) -> None:
    results = html_of(operator.get(reverse("console:search"), {"q": "93 777 66 55"}, headers=HTMX))
    form = html_of(operator.get(reverse("console:register"), {"q": "93 777 66 55"}, headers=HTMX))

    assert "Nobody found." in results
    assert f"{reverse('console:register')}?q=93%20777%2066%2055" in results
    assert 'value="93 777 66 55"' in form


def test_each_search_is_one_audit_entry_without_what_was_typed(operator: Client, desk: Desk) -> None:
    operator.get(reverse("console:search"), {"q": "Yuldashev"}, headers=HTMX)

    entry = AuditEntry.objects.get(action=AuditAction.SEARCH)
    assert entry.actor == desk.operator.user and entry.note == "1 results"
    assert "Yuldashev" not in f"{entry.note} {entry.object_id} {entry.fields} {entry.path}"


# The caller's card ------------------------------------------------------------------------------------------


def test_the_card_shows_coming_visits_no_shows_children_and_is_put_on_record(
    operator: Client, desk: Desk
) -> None:
    visit = booked(desk, desk.caller, desk.at(desk.monday, 10))
    missed = booked(desk, desk.caller, desk.at(desk.monday + timedelta(days=1), 10))
    Appointment.objects.filter(pk=missed.pk).update(status=Status.NOSHOW)
    child = registered(desk.clinic, "Yuldasheva", "Madina", guardian=desk.caller, relation="father")

    response = operator.get(reverse("console:card", args=[desk.caller.pk]), headers=ENGLISH)

    html = html_of(response)
    assert response.status_code == 200 and "<html" in html  # a whole page without htmx
    assert "Yuldashev Aziz" in html and "+998 90 123 45 67" in html
    assert "1 no-show" in html
    assert reverse("console:move", args=[visit.pk]) in html
    assert reverse("console:cancel", args=[visit.pk]) in html
    assert reverse("console:move", args=[missed.pk]) not in html  # a missed visit is not coming
    assert "Yuldasheva Madina" in html and reverse("console:card", args=[child.pk]) in html
    view = AuditEntry.objects.get(action=AuditAction.VIEW, patient_id=desk.caller.pk)
    assert view.actor == desk.operator.user and "alerts" not in view.fields


def test_an_operator_sees_only_that_alerts_exist_and_a_registrar_sees_them(
    client: Client, desk: Desk
) -> None:
    MedicalAlert.objects.create(patient=desk.caller, kind="allergy", note="Lidocaine")
    registrar = factories.StaffFactory(clinic=desk.clinic, role=StaffRole.REGISTRAR)
    url = reverse("console:card", args=[desk.caller.pk])

    client.force_login(desk.operator.user)
    as_operator = html_of(client.get(url, headers=HTMX))
    client.force_login(registrar.user)
    as_registrar = html_of(client.get(url, headers=HTMX))

    assert "Has medical alerts" in as_operator and "Lidocaine" not in as_operator
    assert "Lidocaine" in as_registrar and "Allergy" in as_registrar


def test_a_card_of_another_clinics_patient_is_not_found(operator: Client, desk: Desk) -> None:
    stranger = registered(factories.ClinicFactory(), "Begona", "Odam", "+998935551111")

    assert operator.get(reverse("console:card", args=[stranger.pk])).status_code == 404


# Options ----------------------------------------------------------------------------------------------------


def test_the_best_five_options_spread_over_dentists_and_days_earliest_first(
    operator: Client, desk: Desk
) -> None:
    response = operator.get(reverse("console:options", args=[desk.caller.pk]), wishes(desk), headers=HTMX)

    html = html_of(response)
    assert response.status_code == 200
    assert html.count('data-option="') == 5
    assert html.count("Karimov") == 3 and html.count("Saidova") == 2  # Mon, Tue, Wed / Mon, Tue
    assert html.count("09:00–09:30") == 5
    assert "autofocus" in html.split('data-option="1"')[1].split(">")[0]  # Enter books the first


def test_wishes_for_thursday_afternoons_with_one_dentist_give_only_those(
    operator: Client, desk: Desk
) -> None:
    chosen = wishes(desk, weekdays=["3"], day_part="afternoon", dentist=desk.second.pk)

    html = html_of(operator.get(reverse("console:options", args=[desk.caller.pk]), chosen, headers=HTMX))

    thursday = desk.monday + timedelta(days=3)
    assert html.count('data-option="') == 5
    assert "Karimov" not in html
    assert f'value="{desk.at(thursday, 12).isoformat()}"' in html  # the first afternoon time
    assert f'value="{desk.at(thursday + timedelta(days=7), 12).isoformat()}"' in html  # a Thursday a week on
    starts = [
        datetime.fromisoformat(part.split('"')[0]) for part in html.split('name="slot_start" value="')[1:]
    ]
    assert all(s.astimezone(desk.clinic.tz).weekday() == 3 for s in starts)
    assert all(
        time(12) <= s.astimezone(desk.clinic.tz).time() and s.astimezone(desk.clinic.tz).hour < 17
        for s in starts
    )


def test_a_from_to_window_is_honoured(operator: Client, desk: Desk) -> None:
    chosen = wishes(desk, time_from="16:00", time_to="17:00")

    html = html_of(operator.get(reverse("console:options", args=[desk.caller.pk]), chosen, headers=HTMX))

    assert "16:00–16:30" in html and "09:00" not in html


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"earliest": "31.02.2027"}, "Enter a valid date."),
        ({"time_from": "15:00", "time_to": "11:00"}, "The end of the window must be after its start."),
        ({"service": "999999"}, "Select a valid choice."),
        ({"weekdays": ["9"]}, "Select a valid choice."),
        ({"earliest": "01.01.2099"}, "That is more than a year ahead. Please check the date."),
    ],
)
def test_bad_wishes_are_answered_400_with_the_reason(
    operator: Client, desk: Desk, changes: dict[str, object], message: str
) -> None:
    response = operator.get(
        reverse("console:options", args=[desk.caller.pk]), wishes(desk, **changes), headers=HTMX
    )

    assert response.status_code == 400
    assert message in html_of(response)
    assert 'data-option="' not in html_of(response)


def test_bad_wishes_are_explained_in_the_users_language(operator: Client, desk: Desk) -> None:
    response = operator.get(
        reverse("console:options", args=[desk.caller.pk]),
        wishes(desk, time_from="15:00", time_to="11:00"),
        headers={"HX-Request": "true", "Accept-Language": "ru"},
    )

    with translation.override("ru"):
        expected = translation.gettext("The end of the window must be after its start.")
    assert response.status_code == 400
    assert expected != "The end of the window must be after its start." and expected in html_of(response)


def test_no_options_says_so(operator: Client, desk: Desk) -> None:
    response = operator.get(
        reverse("console:options", args=[desk.caller.pk]), wishes(desk, weekdays=["6"]), headers=HTMX
    )

    assert response.status_code == 200
    assert "No free time matches these wishes." in html_of(response)


# Book, move, cancel -----------------------------------------------------------------------------------------


def test_an_option_is_booked_by_phone_and_confirmed_on_the_card(operator: Client, desk: Desk) -> None:
    start = desk.at(desk.monday, 9)

    response = operator.post(
        reverse("console:book", args=[desk.caller.pk]),
        option_of(desk, start, desk.first, desk.chair_one),
        headers=HTMX,
    )

    appointment = Appointment.objects.get(patient=desk.caller)
    assert (appointment.starts_at, appointment.dentist, appointment.chair) == (
        start,
        desk.first,
        desk.chair_one,
    )
    assert appointment.channel == Channel.PHONE and appointment.created_by == desk.operator.user
    html = html_of(response)
    assert response.status_code == 200
    assert "Booked:" in html and "09:00" in html and "Dilshod Karimov" in html
    assert response["HX-Push-Url"] == reverse("console:card", args=[desk.caller.pk])


def test_without_htmx_a_booking_posts_normally_and_comes_back_to_the_card(
    operator: Client, desk: Desk
) -> None:
    start = desk.at(desk.monday, 9)

    response = operator.post(
        reverse("console:book", args=[desk.caller.pk]),
        option_of(desk, start, desk.first, desk.chair_one),
        headers=ENGLISH,
    )
    card = operator.get(response["Location"], headers=ENGLISH)

    assert response.status_code == 302
    assert "Booked:" in html_of(card)
    assert Appointment.objects.filter(patient=desk.caller, starts_at=start).exists()


def test_a_time_taken_meanwhile_is_explained_with_fresh_options(operator: Client, desk: Desk) -> None:
    start = desk.at(desk.monday, 9)
    someone = registered(desk.clinic, "Boshqa", "Odam", "+998935552222")
    booked(desk, someone, start, desk.first)

    response = operator.post(
        reverse("console:book", args=[desk.caller.pk]),
        option_of(desk, start, desk.first, desk.chair_one),
        headers=HTMX,
    )

    html = html_of(response)
    assert response.status_code == 409
    assert str(SLOT_TAKEN_MESSAGE) in html
    assert html.count('data-option="') == 5
    assert (
        f'value="{start.isoformat()}"><input type="hidden" name="slot_dentist" value="{desk.first.pk}"'
        not in html
    )
    assert not Appointment.objects.filter(patient=desk.caller).exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"slot_start": "not a time"},
        {"slot_start": ""},
        {"slot_dentist": "999999"},
        {"slot_chair": "abc"},
        {"slot_start": "2099-01-05T10:00:00+05:00"},
        {"service": ""},
    ],
)
def test_a_bad_booking_is_refused_with_400_and_books_nothing(
    operator: Client, desk: Desk, changes: dict[str, object]
) -> None:
    data = option_of(desk, desk.at(desk.monday, 9), desk.first, desk.chair_one) | changes

    response = operator.post(reverse("console:book", args=[desk.caller.pk]), data, headers=HTMX)

    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_a_time_nobody_works_is_refused_and_books_nothing(operator: Client, desk: Desk) -> None:
    sunday = desk.at(desk.monday + timedelta(days=6), 10)

    response = operator.post(
        reverse("console:book", args=[desk.caller.pk]),
        option_of(desk, sunday, desk.first, desk.chair_one),
        headers=HTMX,
    )

    assert response.status_code == 409
    assert "Nobody can do this service at that time." in html_of(response)
    assert not Appointment.objects.exists()


def test_a_visit_is_moved_to_the_option_chosen(operator: Client, desk: Desk) -> None:
    visit = booked(desk, desk.caller, desk.at(desk.monday, 9))
    later = desk.at(desk.monday + timedelta(days=2), 15)

    form = operator.get(reverse("console:move", args=[visit.pk]), headers=HTMX)
    options = operator.get(
        reverse("console:options", args=[desk.caller.pk]), wishes(desk, move=visit.pk), headers=HTMX
    )
    response = operator.post(
        reverse("console:move", args=[visit.pk]),
        option_of(desk, later, desk.second, desk.chair_two, move=visit.pk),
        headers=HTMX,
    )

    assert form.status_code == 200 and "Move the visit of" in html_of(form)
    assert reverse("console:move", args=[visit.pk]) in html_of(options) and "Move here" in html_of(options)
    assert response.status_code == 200 and "Moved to" in html_of(response)
    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED
    moved = Appointment.objects.get(patient=desk.caller, status=Status.BOOKED)
    assert (moved.starts_at, moved.dentist) == (later, desk.second)


def test_options_to_move_another_callers_visit_are_not_found(operator: Client, desk: Desk) -> None:
    someone = registered(desk.clinic, "Boshqa", "Odam", "+998935552222")
    theirs = booked(desk, someone, desk.at(desk.monday, 9))

    response = operator.get(
        reverse("console:options", args=[desk.caller.pk]), wishes(desk, move=theirs.pk), headers=HTMX
    )

    assert response.status_code == 404


def test_a_visit_is_cancelled_with_the_reason_given(operator: Client, desk: Desk) -> None:
    visit = booked(desk, desk.caller, desk.at(desk.monday, 9))

    asked = operator.get(reverse("console:cancel", args=[visit.pk]), headers=HTMX)
    response = operator.post(
        reverse("console:cancel", args=[visit.pk]), {"reason": "the patient is ill"}, headers=HTMX
    )

    assert asked.status_code == 200 and "Why is the visit cancelled?" in html_of(asked)
    assert response.status_code == 200 and "Cancelled the visit of" in html_of(response)
    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert visit.events.last().reason == "the patient is ill"  # type: ignore[union-attr]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
def test_a_cancel_without_a_sensible_reason_is_refused_and_keeps_the_visit(
    operator: Client, desk: Desk, reason: str
) -> None:
    visit = booked(desk, desk.caller, desk.at(desk.monday, 9))

    response = operator.post(reverse("console:cancel", args=[visit.pk]), {"reason": reason}, headers=HTMX)

    assert response.status_code == 400
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED


def test_cancelling_a_cancelled_visit_is_a_conflict(operator: Client, desk: Desk) -> None:
    visit = booked(desk, desk.caller, desk.at(desk.monday, 9))
    Appointment.objects.filter(pk=visit.pk).update(status=Status.CANCELLED)

    response = operator.post(reverse("console:cancel", args=[visit.pk]), {"reason": "twice"}, headers=HTMX)

    assert response.status_code == 409
    assert "cannot become" in html_of(response)


# Registering a caller ---------------------------------------------------------------------------------------

NEW_CALLER = {"surname": "Rahimov", "name": "Jasur", "birth_date": "15.01.1990", "phone": "93 777 66 55"}


def test_a_new_caller_is_registered_inline_and_his_card_opens(operator: Client, desk: Desk) -> None:
    response = operator.post(
        reverse("console:register"), {**NEW_CALLER, "preferred_language": "ru"}, headers=HTMX
    )

    patient = Patient.objects.get(surname="Rahimov")
    assert (patient.name, patient.birth_date, str(patient.phone)) == (
        "Jasur",
        date(1990, 1, 15),
        "+998937776655",
    )
    assert patient.preferred_language == "ru" and not patient.is_verified
    html = html_of(response)
    assert response.status_code == 200
    assert f"Registered with number {patient.number}." in html
    assert 'id="options-form"' in html  # straight on to the caller's wishes
    assert response["HX-Push-Url"] == reverse("console:card", args=[patient.pk])
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, patient_id=patient.pk).exists()


def test_a_child_is_registered_from_the_parents_card_without_a_phone(operator: Client, desk: Desk) -> None:
    form = operator.get(reverse("console:register"), {"guardian": desk.caller.pk}, headers=HTMX)
    response = operator.post(
        reverse("console:register"),
        {
            "surname": "Yuldashev",
            "name": "Timur",
            "birth_date": "02.04.2019",
            "preferred_language": "uz",
            "guardian": desk.caller.pk,
            "relation": "father",
        },
        headers=HTMX,
    )

    assert "A child of Yuldashev Aziz" in html_of(form)
    assert response.status_code == 200
    child = Patient.objects.get(name="Timur")
    assert Guardianship.objects.filter(guardian=desk.caller, child=child, relation="father").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"surname": ""}, "This field is required."),
        ({"birth_date": "1990-13-45"}, "Enter a valid date."),
        ({"birth_date": "01.01.2999"}, "The date of birth cannot be in the future."),
        ({"phone": "12"}, "This is not a valid phone number."),
        ({"phone": ""}, "A phone number is needed, or a guardian who can be reached."),
        ({"guardian": "999999"}, "No such patient."),
        ({"preferred_language": "xx"}, "Select a valid choice."),
    ],
)
def test_a_bad_registration_is_refused_with_400_and_registers_nobody(
    operator: Client, desk: Desk, changes: dict[str, str], message: str
) -> None:
    before = Patient.objects.count()

    response = operator.post(
        reverse("console:register"), {**NEW_CALLER, "preferred_language": "uz", **changes}, headers=HTMX
    )

    assert response.status_code == 400
    assert message in html_of(response)
    assert Patient.objects.count() == before


def test_a_probable_duplicate_is_shown_and_registered_only_when_the_operator_says_so(
    operator: Client, desk: Desk
) -> None:
    same = {
        "surname": "Yuldashev",
        "name": "Aziz",
        "birth_date": "15.01.1990",
        "phone": "",
        "preferred_language": "uz",
    }
    same["phone"] = "90 123 45 67"

    refused = operator.post(reverse("console:register"), same, headers=HTMX)
    forced = operator.post(
        reverse("console:register"), {**same, "phone": "93 000 11 22", "allow_duplicates": "on"}, headers=HTMX
    )

    assert refused.status_code == 409
    assert reverse("console:card", args=[desk.caller.pk]) in html_of(refused)
    assert forced.status_code == 200
    assert Patient.objects.filter(surname="Yuldashev", name="Aziz").count() == 2


# Who may use it ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [StaffRole.DENTIST, StaffRole.ASSISTANT])
def test_dentists_and_assistants_do_not_use_the_console(client: Client, desk: Desk, role: StaffRole) -> None:
    member = factories.StaffFactory(clinic=desk.clinic, role=role)
    client.force_login(member.user)

    assert client.get(reverse("console:home")).status_code == 403
    assert (
        client.post(
            reverse("console:book", args=[desk.caller.pk]),
            option_of(desk, desk.at(desk.monday, 9), desk.first, desk.chair_one),
        ).status_code
        == 403
    )
    assert not Appointment.objects.exists()


def test_the_navigation_offers_the_console_to_an_operator(operator: Client, desk: Desk) -> None:
    html = html_of(operator.get(reverse("console:home"), headers=ENGLISH))

    assert f'href="{reverse("console:home")}"' in html
    assert 'id="console-q"' in html and "autofocus" in html.split('id="console-q"')[1].split(">")[0]
