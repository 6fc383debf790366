"""The staff inbox: patients' replies nobody understood, read by operators and registrars, who mark them
handled or confirm or cancel the visit they answer; every reading is on record."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from navbat.accounts.models import AuditEntry
from navbat.booking.models import AppointmentEvent
from navbat.booking.statuses import Status
from navbat.clinic.models import StaffRole
from navbat.notify.models import ReplyAction
from tests import factories
from tests.notify.staff_world import Staffed, build_staffed, reply

pytestmark = pytest.mark.django_db

ENGLISH = {"Accept-Language": "en"}
HTMX = {**ENGLISH, "HX-Request": "true"}


@pytest.fixture
def staffed() -> Staffed:
    return build_staffed()


def test_the_inbox_lists_the_replies_nobody_understood_with_their_patient(
    staffed: Staffed, client: Client
) -> None:
    visit = staffed.appointment()
    known = reply(
        clinic=staffed.clinic,
        text="Ertaga kechroq kelsam bo'ladimi?",
        patient=staffed.patient,
        appointment=visit,
    )
    stranger = reply(clinic=None, text="Kim bu?")
    understood = reply(clinic=staffed.clinic, text="1", patient=staffed.patient)
    understood.action = ReplyAction.CONFIRM
    understood.save()
    other = build_staffed()
    reply(clinic=other.clinic, text="Boshqa klinika", patient=other.patient)
    staffed.client(client, StaffRole.OPERATOR)

    response = client.get(reverse("messages:inbox"), headers=ENGLISH)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ertaga kechroq kelsam bo&#x27;ladimi?" in html and "Kim bu?" in html
    assert "Boshqa klinika" not in html and ">1<" not in html
    assert reverse("console:card", kwargs={"pk": staffed.patient.pk}) in html
    assert "Unknown sender" in html and stranger.sender in html
    assert html.count("Confirm the visit") == 1  # only the reply about a visit offers it
    assert reverse("messages:reply", kwargs={"pk": known.pk}) in html
    entry = AuditEntry.objects.get(action="view", note="replies inbox")
    assert entry.patient_id == staffed.patient.pk and "inbound_messages" in entry.fields


def test_marking_a_reply_handled_takes_it_off_the_inbox(staffed: Staffed, client: Client) -> None:
    message = reply(clinic=staffed.clinic, text="Rahmat!", patient=staffed.patient)
    staffed.client(client, StaffRole.REGISTRAR)

    response = client.post(
        reverse("messages:reply", kwargs={"pk": message.pk}), {"step": "handled"}, headers=HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200 and "The reply is marked handled." in html
    assert "Rahmat!" not in html and "No replies wait for you." in html
    message.refresh_from_db()
    assert message.handled_at is not None and message.handled_by == staffed.users[StaffRole.REGISTRAR]
    assert AuditEntry.objects.filter(object_type="inbound_message", object_id=str(message.pk)).exists()


def test_a_reply_read_by_a_person_can_cancel_the_visit(staffed: Staffed, client: Client) -> None:
    visit = staffed.appointment()
    message = reply(clinic=staffed.clinic, text="Kela olmayman", patient=staffed.patient, appointment=visit)
    staffed.client(client, StaffRole.OPERATOR)

    response = client.post(reverse("messages:reply", kwargs={"pk": message.pk}), {"step": "cancel"})

    assert response.status_code == 302 and response["Location"] == reverse("messages:inbox")
    visit.refresh_from_db()
    message.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert (
        AppointmentEvent.objects.get(appointment=visit, to_status=Status.CANCELLED).reason
        == "cancelled by reply"
    )
    assert message.action == ReplyAction.CANCEL and message.handled_at is not None


def test_a_reply_read_by_a_person_can_confirm_the_visit(staffed: Staffed, client: Client) -> None:
    visit = staffed.appointment()
    message = reply(clinic=staffed.clinic, text="Albatta boraman", patient=staffed.patient, appointment=visit)
    staffed.client(client, StaffRole.OPERATOR)

    client.post(reverse("messages:reply", kwargs={"pk": message.pk}), {"step": "confirm"}, headers=HTMX)

    visit.refresh_from_db()
    message.refresh_from_db()
    assert visit.confirmed_at is not None and visit.status == Status.BOOKED
    assert message.action == ReplyAction.CONFIRM and message.handled_at is not None


def test_a_reply_handled_twice_or_without_a_visit_is_refused_and_changes_nothing(
    staffed: Staffed, client: Client
) -> None:
    message = reply(clinic=staffed.clinic, text="?", patient=staffed.patient)
    staffed.client(client, StaffRole.OPERATOR)
    url = reverse("messages:reply", kwargs={"pk": message.pk})

    no_visit = client.post(url, {"step": "cancel"}, headers=HTMX)
    no_step = client.post(url, {"step": "delete"}, headers=HTMX)
    message.refresh_from_db()
    assert (no_visit.status_code, no_step.status_code) == (400, 400)
    assert "This reply is not about a visit." in no_visit.content.decode()
    assert message.handled_at is None

    client.post(url, {"step": "handled"}, headers=HTMX)
    again = client.post(url, {"step": "handled"}, headers=HTMX)
    assert again.status_code == 409 and "Somebody has already handled this reply." in again.content.decode()


def test_a_reply_of_another_clinic_is_not_found(staffed: Staffed, client: Client) -> None:
    other = build_staffed()
    message = reply(clinic=other.clinic, text="Salom", patient=other.patient)
    staffed.client(client, StaffRole.OPERATOR)

    response = client.post(reverse("messages:reply", kwargs={"pk": message.pk}), {"step": "handled"})

    assert response.status_code == 404
    message.refresh_from_db()
    assert message.handled_at is None


def test_a_reply_without_a_clinic_from_a_patient_one_may_not_see_is_not_shown(
    staffed: Staffed, client: Client
) -> None:
    foreign = factories.PatientFactory(clinic=factories.ClinicFactory(), surname="Begona")
    reply(clinic=None, text="Begona xabar", patient=foreign)
    staffed.client(client, StaffRole.OPERATOR)

    response = client.get(reverse("messages:inbox"), headers=ENGLISH)

    assert "Begona xabar" not in response.content.decode()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (StaffRole.OPERATOR, 200),
        (StaffRole.REGISTRAR, 200),
        (StaffRole.ADMINISTRATOR, 403),
        (StaffRole.MANAGER, 403),
        (StaffRole.DENTIST, 403),
    ],
)
def test_operators_and_registrars_read_the_inbox(
    staffed: Staffed, client: Client, role: StaffRole, status: int
) -> None:
    message = reply(clinic=staffed.clinic, text="Salom", patient=staffed.patient)
    staffed.client(client, role)

    listed = client.get(reverse("messages:inbox"))
    handled = client.post(reverse("messages:reply", kwargs={"pk": message.pk}), {"step": "handled"})

    assert listed.status_code == status
    assert handled.status_code == (302 if status == 200 else 403)
    message.refresh_from_db()
    assert (message.handled_at is not None) == (status == 200)
