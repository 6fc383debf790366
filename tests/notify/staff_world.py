"""A clinic with the people of the staff pages of messages, and messages made the way the worker makes them.

Appointments are created directly (not through booking.services) so that no other notification is planned
beside the ones a test makes; a call delivery gets its task through the call channel, as the worker's would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from navbat.booking.models import Appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole
from navbat.notify.channels.base import Outgoing
from navbat.notify.channels.call import CallChannel
from navbat.notify.models import CallTask, Delivery, DeliveryStatus, InboundMessage, Kind, Notification
from navbat.patients.models import Patient
from tests import factories
from tests.accounts.helpers import authenticator, sign_in_verified

_keys = count(1)


@dataclass
class Staffed:
    clinic: Clinic
    dentist: StaffMember
    chair: Chair
    service: Service
    patient: Patient
    users: dict[str, User]

    def client(self, client: Client, role: str) -> Client:
        user = self.users[role]
        if role == StaffRole.ADMINISTRATOR:
            return sign_in_verified(client, user)
        client.force_login(user)
        return client

    def appointment(self, patient: Patient | None = None, *, days: int = 2, hour: int = 10) -> Appointment:
        day = timezone.now().astimezone(self.clinic.tz).date() + timedelta(days=days)
        starts = datetime(day.year, day.month, day.day, hour, tzinfo=self.clinic.tz)
        return Appointment.objects.create(
            clinic=self.clinic,
            patient=patient or self.patient,
            service=self.service,
            dentist=self.dentist,
            chair=self.chair,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=30),
            status=Status.BOOKED,
            channel=Channel.PHONE,
        )


def build_staffed(**clinic: object) -> Staffed:
    """A clinic in Tashkent, a dentist and his chair, a service, a patient with a phone, and one user of each
    staff role."""
    place = factories.ClinicFactory(name="Tabassum", **clinic)
    department = factories.DepartmentFactory(clinic=place)
    chair = factories.ChairFactory(department=department)
    dentist = factories.StaffFactory(
        clinic=place, department=department, user__first_name="Dilshod", user__last_name="Karimov"
    )
    users = {StaffRole.DENTIST.value: dentist.user}
    for role in (StaffRole.OPERATOR, StaffRole.REGISTRAR, StaffRole.ADMINISTRATOR, StaffRole.MANAGER):
        member = factories.StaffFactory(clinic=place, role=role, user__username=f"{role}-{place.pk}")
        users[role.value] = member.user
    authenticator(users[StaffRole.ADMINISTRATOR.value])
    patient = factories.PatientFactory(
        clinic=place, surname="Yuldasheva", name="Dilnoza", phone="+998901112233"
    )
    service = factories.ServiceFactory(clinic=place)
    return Staffed(place, dentist, chair, service, patient, users)


def delivery(
    *,
    clinic: Clinic,
    kind: str = Kind.REMINDER,
    channel: str = "call",
    appointment: Appointment | None = None,
    recipient: Patient | None = None,
    status: str = DeliveryStatus.SENT,
    text: str = "Tabassum: Dilnoza, qabul 10:00. Kelasizmi?",
    reason: str = "",
    when: datetime | None = None,
) -> Delivery:
    """A delivery as the worker leaves it (its notification planned, the text rendered)."""
    now = when or timezone.now()
    key = next(_keys)
    person = recipient or (appointment.patient if appointment is not None else None)
    notification = Notification.objects.create(
        clinic=clinic,
        kind=kind,
        key=f"test:{kind}:{key}",
        appointment=appointment,
        patient=person,
        due_at=now,
        status="planned",
    )
    made = Delivery.objects.create(
        notification=notification,
        recipient=person,
        channel=channel,
        address=str(person.phone) if person is not None else "",
        language="uz",
        idempotency_key=f"test:{kind}:{key}:{channel}",
        status=status,
        next_attempt_at=now,
        text=text,
        reason=reason,
    )
    if when is not None:  # created_at is set on insert: put it where the test wants it
        Delivery.objects.filter(pk=made.pk).update(created_at=when)
        made.refresh_from_db()
    return made


def call_task(
    *, clinic: Clinic, appointment: Appointment | None, kind: str = Kind.REMINDER, **more: object
) -> CallTask:
    """A call delivery handed to the call channel, as the worker does: its task is open, and due."""
    made = delivery(clinic=clinic, kind=kind, appointment=appointment, **more)  # type: ignore[arg-type]
    CallChannel().send(
        Outgoing(
            channel="call",
            to=made.address,
            text=made.text,
            idempotency_key=made.idempotency_key,
            delivery_id=made.pk,
        )
    )
    task = CallTask.objects.get(delivery=made)
    # Its time has come, whatever the hour the tests run at (the channel moves it out of the quiet hours).
    task.call_after = timezone.now() - timedelta(minutes=1)
    task.save(update_fields=["call_after"])
    return task


def reply(
    *,
    clinic: Clinic | None,
    text: str,
    patient: Patient | None = None,
    appointment: Appointment | None = None,
) -> InboundMessage:
    return InboundMessage.objects.create(
        clinic=clinic,
        channel="sms",
        sender=str(patient.phone) if patient is not None else "+998935550000",
        patient=patient,
        appointment=appointment,
        text=text,
    )
