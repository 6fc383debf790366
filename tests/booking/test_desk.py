"""The reception desk and the dentist's day over HTTP: the board, walk-ins, emergencies, moving and marking
appointments, bad input (400, nothing changed), conflicts (409), who may do what, and the audit log.

The clock is held at Monday 09:05 in the small clinic (two therapists, Mon–Fri 09:00–18:00, lunch 13–14)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from navbat.accounts.models import AuditAction, AuditEntry
from navbat.booking.holds import place_hold
from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment, change_status
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Service, StaffMember, StaffRole
from navbat.patients.models import MedicalAlert, Patient
from navbat.patients.services import refresh_search_keys
from tests import factories
from tests.small_clinic import MONDAY, SmallClinic, at

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 9, 5)
TUESDAY = MONDAY + timedelta(days=1)
EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", **EN}


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def staff(c: SmallClinic, role: StaffRole, client: Client) -> StaffMember:
    member = factories.StaffFactory(clinic=c.clinic, role=role)
    client.force_login(member.user)
    return member


@pytest.fixture
def registrar(small_clinic: SmallClinic, client: Client) -> StaffMember:
    return staff(small_clinic, StaffRole.REGISTRAR, client)


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
        now=NOW - timedelta(days=7),
    )


def pain_relief(c: SmallClinic) -> Service:
    return factories.ServiceFactory(
        clinic=c.clinic, code="pain-relief", specialty=c.therapy.specialty, name_en="Urgent pain relief"
    )


def snapshot() -> list[tuple[int, str, object, int]]:
    return list(Appointment.objects.order_by("pk").values_list("pk", "status", "starts_at", "dentist_id"))


# The board ------------------------------------------------------------------------------------------------


def test_the_registrar_sees_todays_board_per_dentist_with_the_desks_tools(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    visit(c, c.first, 10, patient=c.patient)

    page = client.get(reverse("desk:board"), headers=EN)

    html = page.content.decode()
    assert page.status_code == 200
    assert "Schedule for Monday" in html
    assert c.first.display_name in html and c.second.display_name in html
    assert c.patient.short_name in html and "10:00–10:30" in html
    assert "13:00–14:00" in html and "Break" in html
    assert "09:00–10:00" in html and "free" in html  # the gap before the visit
    assert "Mark arrived" in html and "Move" in html and "Cancel…" in html
    assert "Did not come…" not in html  # a no-show only once his time has come
    assert 'id="desk-tools"' in html and "Find the patient" in html
    assert c.patient.phone.as_e164 not in html  # the board shows no more than it needs


def test_the_home_page_is_the_same_board(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    visit(small_clinic, small_clinic.first, 10, patient=small_clinic.patient)

    page = client.get("/", headers=EN)

    assert page.status_code == 200
    assert 'id="desk-main"' in page.content.decode()
    assert small_clinic.patient.short_name in page.content.decode()


def test_the_board_per_chair_shows_each_chairs_visits_with_their_dentist(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    visit(c, c.first, 10, patient=c.patient)

    page = client.get(reverse("desk:board"), {"date": MONDAY.isoformat(), "by": "chair"}, headers=EN)

    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="col-chair-{c.chair_plain.pk}"' in html and f'id="col-chair-{c.chair_xray.pk}"' in html
    column = html[html.index(f'id="col-chair-{c.chair_plain.pk}"') :]
    column = column[: column.index("</section>")]
    assert c.patient.short_name in column and c.first.display_name in column


def test_the_board_says_whose_time_is_held_and_until_when_in_the_registrars_language(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    place_hold(patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 11), dentist=c.first, now=NOW)

    html = client.get(reverse("desk:board"), headers={"Accept-Language": "ru"}).content.decode()

    column = html[html.index(f'id="col-dentist-{c.first.pk}"') :]
    column = column[: column.index("</section>")]
    assert "11:00–11:30" in column and "занято для пациента до 09:10" in column
    assert "11:00–11:30</time> свободно" not in column


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date": "31.02.2027"}, "is not a date"),
        ({"date": "9999-12-31"}, "between 2000 and 2100"),
        ({"by": "room"}, "by dentist or by chair"),
        ({"move": "-3"}, ""),
        ({"patient": "abc"}, ""),
    ],
)
def test_a_bad_address_is_a_clear_400(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember, query: dict[str, str], message: str
) -> None:
    page = client.get(reverse("desk:board"), query, headers=EN)

    assert page.status_code == 400
    assert message in page.content.decode()


def test_opening_the_board_puts_the_patients_shown_on_the_audit_log(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    visit(c, c.first, 10, patient=c.patient)
    visit(c, c.second, 11, patient=c.other_patient)

    client.get(reverse("desk:board"))

    views = AuditEntry.objects.filter(actor=registrar.user, action=AuditAction.VIEW)
    assert set(views.values_list("patient_id", flat=True)) == {c.patient.pk, c.other_patient.pk}
    assert all(entry.fields == ["appointments", "name", "surname"] for entry in views)


def test_a_dentist_sees_the_board_without_the_desks_tools_and_actions(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    visit(c, c.first, 9, patient=c.patient)
    staff(c, StaffRole.DENTIST, client)

    html = client.get(reverse("desk:board"), headers=EN).content.decode()

    assert c.patient.short_name in html
    assert 'id="desk-tools"' not in html
    assert "Move" not in html and "Cancel…" not in html


def test_a_patient_may_not_open_the_board(client: Client, small_clinic: SmallClinic) -> None:
    user = factories.UserFactory()
    small_clinic.patient.user = user
    small_clinic.patient.save()
    client.force_login(user)

    assert client.get(reverse("desk:board")).status_code == 403


# Finding the patient and booking him --------------------------------------------------------------------


def test_the_desk_finds_the_patient_as_the_registrar_types_and_the_search_is_on_the_log(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    c.patient.surname, c.patient.name = "Yuldashev", "Aziz"
    refresh_search_keys(c.patient)
    c.patient.save()

    found = client.get(reverse("desk:find_patient"), {"q": "Юлдаш", "date": MONDAY.isoformat()}, headers=HTMX)

    html = found.content.decode()
    assert found.status_code == 200
    assert "Yuldashev Aziz" in html
    assert f"patient={c.patient.pk}" in html
    assert AuditEntry.objects.filter(actor=registrar.user, action=AuditAction.SEARCH).count() == 1


def test_choosing_the_patient_shows_the_walk_in_and_emergency_forms_and_his_alerts(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    pain_relief(c)
    MedicalAlert.objects.create(patient=c.patient, kind="allergy", note="Lidocaine")

    page = client.get(reverse("desk:board"), {"patient": c.patient.pk}, headers=EN)

    html = page.content.decode()
    assert page.status_code == 200
    assert c.patient.full_name in html and "Lidocaine" in html
    assert "Book the first free time" in html and "Book the earliest time today" in html
    [view] = AuditEntry.objects.filter(actor=registrar.user, patient_id=c.patient.pk, object_type="patient")
    assert {"number", "surname", "name", "birth_date", "alerts"} <= set(view.fields)


def test_a_walk_in_is_booked_into_the_first_gap_and_the_board_shows_it(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    for minute in (0, 30):
        visit(c, c.first, 9, minute)
        visit(c, c.second, 9, minute)

    answer = client.post(
        reverse("desk:walk_in"),
        {"patient": c.patient.pk, "service": c.therapy.pk, "date": MONDAY.isoformat(), "by": "dentist"},
        headers=EN,
    )

    appointment = Appointment.objects.get(patient=c.patient)
    assert answer.status_code == 302
    assert (appointment.starts_at, appointment.channel, appointment.created_by) == (
        at(MONDAY, 10),
        Channel.WALK_IN,
        registrar.user,
    )
    board = client.get(answer["Location"], headers=EN).content.decode()
    assert "Booked: " + c.patient.short_name in board
    assert f'id="appt-{appointment.pk}"' in board and "desk-new" in board


def test_an_htmx_walk_in_answers_with_the_board_and_a_fresh_search(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic

    answer = client.post(
        reverse("desk:walk_in"),
        {"patient": c.patient.pk, "service": c.therapy.pk, "notes": "Sensitive tooth"},
        headers=HTMX,
    )

    html = answer.content.decode()
    appointment = Appointment.objects.get(patient=c.patient)
    assert answer.status_code == 200
    assert html.lstrip().startswith('<div id="desk-main"')
    assert f'id="appt-{appointment.pk}"' in html
    assert 'hx-swap-oob="outerHTML"' in html and "Find the patient" in html
    assert appointment.starts_at == at(MONDAY, 9, 15) and appointment.notes == "Sensitive tooth"


@pytest.mark.parametrize(
    "change",
    [
        {"service": ""},
        {"service": "999999"},
        {"patient": "999999"},
        {"dentist": "abc"},
        {"start": "yesterday"},
        {"notes": "x" * 201},
        {"date": "2027-13-01"},
    ],
)
def test_a_walk_in_with_bad_input_is_a_400_and_books_nothing(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember, change: dict[str, str]
) -> None:
    c = small_clinic
    data = {"patient": str(c.patient.pk), "service": str(c.therapy.pk), **change}

    plain = client.post(reverse("desk:walk_in"), data, headers=EN)
    htmx = client.post(reverse("desk:walk_in"), data, headers=HTMX)

    assert plain.status_code == 400 and htmx.status_code == 400
    assert htmx["HX-Retarget"] == "#desk-tools"
    assert 'class="error"' in htmx.content.decode()
    assert not Appointment.objects.exists()


def test_a_patient_of_another_clinic_cannot_be_booked_at_this_desk(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    stranger = factories.PatientFactory()  # registered at another clinic

    answer = client.post(
        reverse("desk:walk_in"), {"patient": stranger.pk, "service": small_clinic.therapy.pk}, headers=EN
    )

    assert answer.status_code == 400
    assert not Appointment.objects.exists()


def test_when_today_is_full_the_walk_in_is_offered_tomorrows_times_and_books_one(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = small_clinic
    monkeypatch.setattr(timezone, "now", lambda: at(MONDAY, 17, 40))
    client.force_login(registrar.user)  # a new session: the one of 09:05 has expired
    data = {"patient": c.patient.pk, "service": c.therapy.pk, "date": MONDAY.isoformat(), "by": "dentist"}

    refused = client.post(reverse("desk:walk_in"), data, headers=HTMX)

    html = refused.content.decode()
    assert refused.status_code == 409
    assert "There is no free time for" in html and "left today" in html
    assert "Book Tuesday, 2 March at 09:00" in html
    assert not Appointment.objects.exists()

    chosen = client.post(
        reverse("desk:walk_in"),
        {**data, "start": at(TUESDAY, 9).isoformat(), "dentist": c.second.pk, "chair": c.chair_xray.pk},
        headers=EN,
    )

    assert chosen.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.starts_at, appointment.dentist, appointment.channel) == (
        at(TUESDAY, 9),
        c.second,
        Channel.WALK_IN,
    )


def test_an_emergency_is_booked_at_the_earliest_time_today_with_what_is_wrong_for_the_dentist(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    pain = pain_relief(c)
    for hour, minute in [(9, 0), (9, 30), (10, 0)]:
        visit(c, c.first, hour, minute)
    for minute in (0, 30):
        visit(c, c.second, 9, minute)

    answer = client.post(
        reverse("desk:emergency"),
        {
            "patient": c.patient.pk,
            "service": pain.pk,
            "complaints": ["pain", "swelling"],
            "notes": "since night",
        },
        headers=EN,
    )

    appointment = Appointment.objects.get(patient=c.patient)
    assert answer.status_code == 302
    assert (appointment.starts_at, appointment.dentist, appointment.channel) == (
        at(MONDAY, 10),
        c.second,
        Channel.EMERGENCY,
    )
    assert appointment.notes == "Emergency: Severe pain, Swelling. since night"


def test_an_emergency_must_say_what_is_wrong_and_use_an_urgent_service(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    pain = pain_relief(c)

    silent = client.post(reverse("desk:emergency"), {"patient": c.patient.pk, "service": pain.pk}, headers=EN)
    routine = client.post(
        reverse("desk:emergency"),
        {"patient": c.patient.pk, "service": c.therapy.pk, "complaints": ["pain"]},
        headers=EN,
    )

    assert silent.status_code == 400 and "Tick what is wrong" in silent.content.decode()
    assert routine.status_code == 400
    assert not Appointment.objects.exists()


def test_an_emergency_on_a_full_day_says_so_clearly(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = small_clinic
    pain = pain_relief(c)
    monkeypatch.setattr(timezone, "now", lambda: at(MONDAY, 17, 50))
    client.force_login(registrar.user)  # a new session: the one of 09:05 has expired

    refused = client.post(
        reverse("desk:emergency"),
        {"patient": c.patient.pk, "service": pain.pk, "complaints": ["trauma"]},
        headers=EN,
    )

    html = refused.content.decode()
    assert refused.status_code == 409
    assert "No dentist who does" in html and "has free time left today" in html
    assert "Book Tuesday, 2 March at 09:00" in html
    assert 'name="complaints" value="trauma"' in html  # the offered time keeps what was said
    assert not Appointment.objects.exists()


def test_operators_dentists_and_assistants_do_not_book_at_the_desk(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    for role in (StaffRole.OPERATOR, StaffRole.DENTIST, StaffRole.ASSISTANT):
        staff(c, role, client)

        answer = client.post(reverse("desk:walk_in"), {"patient": c.patient.pk, "service": c.therapy.pk})

        assert answer.status_code == 403, role
    assert not Appointment.objects.exists()


# Moving -----------------------------------------------------------------------------------------------------


def test_choosing_move_shows_the_free_times_of_every_column(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    appointment = visit(c, c.first, 10, patient=c.patient)

    page = client.get(reverse("desk:board"), {"move": appointment.pk}, headers=HTMX)

    html = page.content.decode()
    assert page.status_code == 200
    assert "Moving" in html and "Stop moving" in html
    assert f'aria-label="Move to 11:00, {c.second.display_name}"' in html
    assert f'aria-label="Move to 09:15, {c.first.display_name}"' in html
    assert 'aria-label="Move to 09:00' not in html  # already past


def test_a_visit_is_moved_to_a_free_time_in_another_dentists_column(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    appointment = visit(c, c.first, 10, patient=c.patient)

    answer = client.post(
        reverse("desk:move", args=[appointment.pk]),
        {"start": at(MONDAY, 11).isoformat(), "dentist": c.second.pk, "date": MONDAY.isoformat()},
        headers=HTMX,
    )

    appointment.refresh_from_db()
    moved = Appointment.objects.get(patient=c.patient, status=Status.BOOKED)
    assert answer.status_code == 200
    assert appointment.status == Status.CANCELLED
    assert (moved.starts_at, moved.dentist) == (at(MONDAY, 11), c.second)
    assert "Moved: " in answer.content.decode() and f'id="appt-{moved.pk}"' in answer.content.decode()


def test_a_visit_moved_in_a_chairs_column_keeps_its_dentist(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    appointment = visit(c, c.first, 10, patient=c.patient)
    assert appointment.chair == c.chair_plain

    answer = client.post(
        reverse("desk:move", args=[appointment.pk]),
        {"start": at(MONDAY, 10, 15).isoformat(), "chair": c.chair_xray.pk, "by": "chair"},
    )

    moved = Appointment.objects.get(patient=c.patient, status=Status.BOOKED)
    assert answer.status_code == 302
    assert (moved.starts_at, moved.dentist, moved.chair) == (at(MONDAY, 10, 15), c.first, c.chair_xray)


def test_moving_onto_a_taken_time_is_refused_and_nothing_changes(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    appointment = visit(c, c.first, 10, patient=c.patient)
    visit(c, c.second, 11)
    before = snapshot()

    answer = client.post(
        reverse("desk:move", args=[appointment.pk]),
        {"start": at(MONDAY, 11, 15).isoformat(), "dentist": c.second.pk},
        headers=HTMX,
    )

    assert answer.status_code == 409
    assert "just been taken" in answer.content.decode()
    assert "Stop moving" in answer.content.decode()  # still choosing a time
    assert snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"start": "tomorrow"},
        {"start": "3000-01-01T10:00:00+05:00"},
        {"start": "2027-03-01T11:00", "chair": "x"},
    ],
)
def test_a_move_with_bad_input_is_a_400_and_nothing_changes(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember, data: dict[str, str]
) -> None:
    appointment = visit(small_clinic, small_clinic.first, 10)
    before = snapshot()

    answer = client.post(reverse("desk:move", args=[appointment.pk]), data, headers=HTMX)

    assert answer.status_code == 400
    assert snapshot() == before


def test_moving_into_the_past_is_refused(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    appointment = visit(small_clinic, small_clinic.first, 10)
    before = snapshot()

    answer = client.post(
        reverse("desk:move", args=[appointment.pk]), {"start": at(MONDAY, 9).isoformat()}, headers=HTMX
    )

    assert answer.status_code == 400
    assert "already passed" in answer.content.decode()
    assert snapshot() == before


def test_another_clinics_appointment_is_not_found(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    from tests.small_clinic import build_small_clinic

    other = build_small_clinic()
    theirs = visit(other, other.first, 10)

    for name in ("desk:move", "desk:arrive", "desk:cancel"):
        assert client.post(reverse(name, args=[theirs.pk]), {}).status_code == 404, name


# Marking --------------------------------------------------------------------------------------------------


def test_marking_arrived_answers_htmx_with_the_column(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic
    appointment = visit(c, c.first, 9, patient=c.patient)

    board = client.get(reverse("desk:board"), headers=EN).content.decode()
    answer = client.post(
        reverse("desk:arrive", args=[appointment.pk]),
        {"by": "dentist", "identity": "birth_date"},
        headers=HTMX,
    )

    html = answer.content.decode()
    appointment.refresh_from_db()
    assert "Mark arrived" in board
    assert answer.status_code == 200
    assert html.lstrip().startswith(f'<section class="column desk-column" id="col-dentist-{c.first.pk}"')
    assert appointment.status == Status.ARRIVED
    assert f"{c.patient.short_name}, 09:00: Arrived." in html
    assert "Mark arrived" not in html  # he has come: the step is gone
    assert appointment.events.last().actor == registrar.user  # type: ignore[union-attr]


def test_a_plain_post_is_sent_back_to_the_board(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    appointment = visit(small_clinic, small_clinic.first, 9)

    answer = client.post(
        reverse("desk:arrive", args=[appointment.pk]), {"by": "chair", "identity": "document"}
    )

    assert answer.status_code == 302
    assert answer["Location"] == f"{reverse('desk:board')}?date={MONDAY.isoformat()}&by=chair"


def test_marking_arrived_twice_is_a_409_that_says_why(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    appointment = visit(small_clinic, small_clinic.first, 9)
    change_status(appointment=appointment, to=Status.ARRIVED)

    answer = client.post(
        reverse("desk:arrive", args=[appointment.pk]), {"identity": "birth_date"}, headers=HTMX
    )

    assert answer.status_code == 409
    assert "cannot become" in answer.content.decode()
    assert Appointment.objects.get().status == Status.ARRIVED


def test_a_no_show_needs_a_reason_and_records_it(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    appointment = visit(small_clinic, small_clinic.first, 9)

    unexplained = client.post(reverse("desk:noshow", args=[appointment.pk]), {"reason": ""}, headers=HTMX)
    explained = client.post(reverse("desk:noshow", args=[appointment.pk]), {"reason": "absent"}, headers=HTMX)

    assert unexplained.status_code == 400
    assert "Choose a reason" in unexplained.content.decode()
    assert "open" in unexplained.content.decode()  # the reason form stays open with its error
    assert explained.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == Status.NOSHOW
    assert appointment.events.last().reason == "Did not come and did not call"  # type: ignore[union-attr]


def test_cancelling_for_another_reason_needs_the_details(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    appointment = visit(small_clinic, small_clinic.first, 11)

    vague = client.post(reverse("desk:cancel", args=[appointment.pk]), {"reason": "other"}, headers=EN)
    unknown = client.post(reverse("desk:cancel", args=[appointment.pk]), {"reason": "bored"}, headers=EN)
    assert Appointment.objects.get().status == Status.BOOKED
    said = client.post(
        reverse("desk:cancel", args=[appointment.pk]),
        {"reason": "other", "note": "Moved to another city"},
        headers=EN,
    )

    assert vague.status_code == 400 and "Say what the other reason is" in vague.content.decode()
    assert unknown.status_code == 400
    assert said.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.events.last().reason == "Another reason: Moved to another city"  # type: ignore[union-attr]


def test_who_may_mark_what(client: Client, small_clinic: SmallClinic) -> None:
    c = small_clinic
    appointment = visit(c, c.first, 9)

    staff(c, StaffRole.OPERATOR, client)
    operator_arrives = client.post(reverse("desk:arrive", args=[appointment.pk]))
    staff(c, StaffRole.DENTIST, client)
    dentist_cancels = client.post(reverse("desk:cancel", args=[appointment.pk]), {"reason": "ill"})

    assert operator_arrives.status_code == 403
    assert dentist_cancels.status_code == 403
    assert Appointment.objects.get().status == Status.BOOKED


# The dentist's own day --------------------------------------------------------------------------------------


def test_the_dentist_sees_his_patients_of_the_day_with_their_alerts_and_the_views_are_logged(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    client.force_login(c.first.user)
    MedicalAlert.objects.create(patient=c.patient, kind="allergy", note="Lidocaine")
    first = visit(c, c.first, 11, patient=c.patient)
    early = visit(c, c.first, 9, patient=c.other_patient)
    change_status(appointment=early, to=Status.ARRIVED)
    someone_elses = visit(c, c.second, 10)

    page = client.get(reverse("desk:my_day"), headers=EN)

    html = page.content.decode()
    assert page.status_code == 200
    assert html.index(c.other_patient.full_name) < html.index(c.patient.full_name)  # in order of time
    assert "Lidocaine" in html and "Allergy" in html
    assert "Arrived" in html
    assert someone_elses.patient.full_name not in html
    logged = AuditEntry.objects.filter(actor=c.first.user, action=AuditAction.VIEW)
    assert set(logged.values_list("patient_id", flat=True)) == {c.patient.pk, c.other_patient.pk}
    assert "alerts" in logged.get(patient_id=c.patient.pk).fields
    assert f'action="{reverse("desk:my_day_fulfil", args=[early.pk])}"' in html  # he has come
    assert f'action="{reverse("desk:my_day_fulfil", args=[first.pk])}"' not in html  # not yet


def test_the_dentist_marks_a_visit_done_on_his_day(client: Client, small_clinic: SmallClinic) -> None:
    c = small_clinic
    client.force_login(c.first.user)
    appointment = visit(c, c.first, 9, patient=c.patient)
    change_status(appointment=appointment, to=Status.ARRIVED)

    answer = client.post(reverse("desk:my_day_fulfil", args=[appointment.pk]), headers=HTMX)

    appointment.refresh_from_db()
    assert answer.status_code == 200
    assert appointment.status == Status.FULFILLED
    assert f'id="day-{appointment.pk}"' in answer.content.decode()


def test_a_visit_not_yet_begun_cannot_be_marked_done(client: Client, small_clinic: SmallClinic) -> None:
    c = small_clinic
    client.force_login(c.first.user)
    appointment = visit(c, c.first, 9, patient=c.patient)

    answer = client.post(reverse("desk:my_day_fulfil", args=[appointment.pk]), headers=EN)

    assert answer.status_code == 409
    assert Appointment.objects.get().status == Status.BOOKED


def test_a_dentist_cannot_mark_another_dentists_visit(client: Client, small_clinic: SmallClinic) -> None:
    c = small_clinic
    client.force_login(c.second.user)
    appointment = visit(c, c.first, 9)
    change_status(appointment=appointment, to=Status.ARRIVED)

    answer = client.post(reverse("desk:my_day_fulfil", args=[appointment.pk]))

    assert answer.status_code == 404
    assert Appointment.objects.get().status == Status.ARRIVED


def test_an_assistant_sees_the_day_of_his_departments_dentists(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    department = c.chair_plain.department
    c.first.department = department
    c.first.save()
    assistant = factories.StaffFactory(clinic=c.clinic, role=StaffRole.ASSISTANT, department=department)
    client.force_login(assistant.user)
    visit(c, c.first, 9, patient=c.patient)
    visit(c, c.second, 10, patient=c.other_patient)  # not of his department

    html = client.get(reverse("desk:my_day"), headers=EN).content.decode()

    assert c.patient.full_name in html
    assert c.other_patient.full_name not in html


def test_the_registrar_has_no_day_of_his_own(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    assert client.get(reverse("desk:my_day")).status_code == 403


def test_the_boards_queries_do_not_grow_with_its_appointments(
    client: Client, small_clinic: SmallClinic, registrar: StaffMember
) -> None:
    c = small_clinic

    def queries() -> int:
        with CaptureQueriesContext(connection) as run:
            assert client.get(reverse("desk:board")).status_code == 200
        return len(run.captured_queries)

    visit(c, c.first, 10)
    few = queries()
    for hour in (11, 12, 14, 15):
        visit(c, c.first, hour)
        visit(c, c.second, hour)

    assert queries() == few
