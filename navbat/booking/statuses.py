"""Appointment statuses (HL7 FHIR Appointment.status) and the one table of allowed transitions."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    PENDING = "pending", _("Pending confirmation")
    BOOKED = "booked", _("Booked")
    ARRIVED = "arrived", _("Arrived")
    CHECKED_IN = "checked-in", _("Checked in")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")
    NOSHOW = "noshow", _("No-show")
    ENTERED_IN_ERROR = "entered-in-error", _("Entered in error")
    WAITLIST = "waitlist", _("Waitlist")


# Statuses that occupy the dentist, the chair and the patient: no two may overlap (DESIGN.md invariant 1).
ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {Status.PENDING, Status.BOOKED, Status.ARRIVED, Status.CHECKED_IN, Status.FULFILLED}
)

# from → allowed to. Everything else is refused. "Entered in error" corrects any record and ends it.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PROPOSED: frozenset({Status.PENDING, Status.BOOKED, Status.CANCELLED, Status.ENTERED_IN_ERROR}),
    Status.WAITLIST: frozenset(
        {Status.PROPOSED, Status.PENDING, Status.BOOKED, Status.CANCELLED, Status.ENTERED_IN_ERROR}
    ),
    # Pending confirmation (booking.noshows): a patient who comes has confirmed; one who does not: a no-show.
    Status.PENDING: frozenset(
        {
            Status.BOOKED,
            Status.ARRIVED,
            Status.CHECKED_IN,
            Status.CANCELLED,
            Status.NOSHOW,
            Status.ENTERED_IN_ERROR,
        }
    ),
    Status.BOOKED: frozenset(
        {Status.ARRIVED, Status.CHECKED_IN, Status.CANCELLED, Status.NOSHOW, Status.ENTERED_IN_ERROR}
    ),
    Status.ARRIVED: frozenset(
        {Status.CHECKED_IN, Status.FULFILLED, Status.CANCELLED, Status.ENTERED_IN_ERROR}
    ),
    Status.CHECKED_IN: frozenset({Status.FULFILLED, Status.CANCELLED, Status.ENTERED_IN_ERROR}),
    Status.FULFILLED: frozenset({Status.ENTERED_IN_ERROR}),
    Status.CANCELLED: frozenset({Status.ENTERED_IN_ERROR}),
    Status.NOSHOW: frozenset({Status.ENTERED_IN_ERROR}),
    Status.ENTERED_IN_ERROR: frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    return Status(target) in TRANSITIONS[Status(current)]


class Channel(models.TextChoices):
    WEB = "web", _("Online")
    PHONE = "phone", _("Phone (call centre)")
    RECEPTION = "reception", _("Reception desk")
    WALK_IN = "walk-in", _("Walk-in")
    EMERGENCY = "emergency", _("Emergency")
