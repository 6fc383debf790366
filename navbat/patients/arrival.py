"""Identity at arrival (issue 6 §4): before "Arrived", the registrar compares who stands at the desk with the
registry — name and date of birth, or a document.

Policy: the check is recorded either way and the visit goes on. A person in pain at the desk is not sent
away by a registrar; a mismatch flags the patient (Patient.flagged, with the reason), is audited, and shows
on the suspicious-activity report for the manager, who decides what follows (a booking taken under someone
else's name is what scalpers resell). A match by document also marks the patient as identity-verified.
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.patients.models import Patient
from navbat.patients.services import verify_identity

MISMATCH_NOTE = "identity mismatch at arrival"


class IdentityCheck(models.TextChoices):
    BIRTH_DATE = "birth_date", _("Name and date of birth match")
    DOCUMENT = "document", _("Document shown, it matches")
    MISMATCH = "mismatch", _("Does not match")


def check_identity_at_arrival(
    *, patient: Patient, check: IdentityCheck, actor: Actor, appointment_id: int
) -> bool:
    """Record what the registrar found for the patient of appointment `appointment_id`; True when it matched.
    Call it in the transaction that marks the arrival. Field names only go into the audit log, no values."""
    note = f"arrival, appointment {appointment_id}"
    with transaction.atomic():
        if check == IdentityCheck.DOCUMENT:
            verify_identity(patient=patient, actor=actor, document=note)
            return True
        if check == IdentityCheck.BIRTH_DATE:
            record(
                actor,
                AuditAction.VIEW,
                object_type="patient",
                object_id=patient.pk,
                patient_id=patient.pk,
                fields=["surname", "name", "birth_date"],
                note=f"identity checked at {note}",
            )
            return True
        reason = gettext("Identity did not match at arrival (appointment #%(id)s).") % {"id": appointment_id}
        Patient.objects.filter(pk=patient.pk).update(flagged=True, flag_reason=reason[:300])
        record(
            actor,
            AuditAction.UPDATE,
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            fields=["flagged", "flag_reason"],
            note=f"{MISMATCH_NOTE}, appointment {appointment_id}",
        )
    patient.flagged, patient.flag_reason = True, reason[:300]
    return False
