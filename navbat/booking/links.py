"""Signed links to one appointment that work without signing in: see it (and its .ics), cancel it, move it.

A token is django.core.signing over {appointment, expiry, version}, with a salt per purpose, so a cancel
token cannot move or show and the other way round. It expires when the appointment starts. `version` is a
digest of what a change of the appointment changes (status, time, dentist): once the appointment is
cancelled or moved (moving cancels it and books a new one) every link to it is dead, and a used link cannot
be used again. Nothing personal is in the token: only the appointment's number, readable by whoever has it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navbat.booking.models import Appointment
from navbat.booking.services import RESCHEDULABLE_STATUSES
from navbat.errors import DomainError


class Purpose(StrEnum):
    VIEW = "view"
    CANCEL = "cancel"
    MOVE = "move"


class LinkErrorCode(StrEnum):
    INVALID = "link_invalid"
    EXPIRED = "link_expired"


SALT = "navbat.booking.link."
# Longer than any token we issue (about 90 characters): anything longer is refused before it is unsigned.
MAX_TOKEN_LENGTH = 200

INVALID_MESSAGE = _("This link is not valid. Please check that it was copied whole.")
EXPIRED_MESSAGE = _(
    "This link no longer works: the appointment has started, was changed or was cancelled. "
    "Please sign in or contact the clinic."
)


def appointment_token(appointment: Appointment, purpose: Purpose) -> str:
    payload = {
        "a": appointment.pk,
        "e": int(appointment.starts_at.timestamp()),
        "v": _version(appointment),
    }
    return signing.dumps(payload, salt=SALT + purpose)


def appointment_from_token(token: str, purpose: Purpose, *, now: datetime | None = None) -> Appointment:
    """The appointment a token of `purpose` opens. DomainError link_invalid if the token is not ours (or
    is for another purpose); link_expired if the appointment has started, changed or was cancelled."""
    signed = _unsigned(token, purpose)
    appointment = (
        Appointment.objects.select_related("clinic", "patient", "service__clinic", "dentist__user", "chair")
        .filter(pk=signed.appointment_id)
        .first()
    )
    if appointment is None:
        raise DomainError(LinkErrorCode.INVALID, INVALID_MESSAGE)
    now = now or timezone.now()
    if (
        signed.version != _version(appointment)
        or now.timestamp() >= signed.expires
        or appointment.status not in RESCHEDULABLE_STATUSES
    ):
        raise DomainError(LinkErrorCode.EXPIRED, EXPIRED_MESSAGE)
    return appointment


@dataclass(frozen=True)
class _Signed:
    appointment_id: int
    expires: int  # a POSIX timestamp: the appointment's start when the link was made
    version: str


def _unsigned(token: str, purpose: Purpose) -> _Signed:
    if len(token) > MAX_TOKEN_LENGTH:
        raise DomainError(LinkErrorCode.INVALID, INVALID_MESSAGE)
    try:
        payload = signing.loads(token, salt=SALT + purpose)
    except signing.BadSignature:
        raise DomainError(LinkErrorCode.INVALID, INVALID_MESSAGE) from None
    if not isinstance(payload, dict):
        raise DomainError(LinkErrorCode.INVALID, INVALID_MESSAGE)
    pk, expires, version = payload.get("a"), payload.get("e"), payload.get("v")
    if not (isinstance(pk, int) and isinstance(expires, int) and isinstance(version, str)):
        raise DomainError(LinkErrorCode.INVALID, INVALID_MESSAGE)
    return _Signed(pk, expires, version)


def _version(appointment: Appointment) -> str:
    state = f"{appointment.status}|{appointment.starts_at.timestamp()}|{appointment.dentist_id}"
    return hashlib.sha256(state.encode()).hexdigest()[:12]
