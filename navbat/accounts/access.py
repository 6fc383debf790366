"""Who may see and do what. Every permission question is answered here, never by `if user.role …` in a view.

Roles (Django groups of the same names, see roles.py) give coarse permissions; the object-level rules:
- administrators, managers and registrars see their clinic's registry (the network's, if it shares one);
- call-centre operators see contact data and appointments, and of clinical alerts only what booking needs
  (that there are alerts), not the alerts themselves;
- a dentist (and his assistant) sees the clinical fields of patients who have appointments with him;
- a patient sees only himself and his children;
- nobody sees another clinic's patients unless the clinics share a registry.
Objects a user may not see are answered 404 (not 403), so that their existence is not revealed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from navbat.booking.models import Appointment, SlotHold
from navbat.booking.statuses import Channel, Status, can_transition
from navbat.clinic.models import Clinic, StaffMember, StaffRole
from navbat.patients.models import Patient
from navbat.patients.selectors import registry

AnyUser = AbstractBaseUser | AnonymousUser


class Role(StrEnum):
    ADMINISTRATOR = StaffRole.ADMINISTRATOR.value
    MANAGER = StaffRole.MANAGER.value
    REGISTRAR = StaffRole.REGISTRAR.value
    OPERATOR = StaffRole.OPERATOR.value
    DENTIST = StaffRole.DENTIST.value
    ASSISTANT = StaffRole.ASSISTANT.value
    PATIENT = "patient"


REGISTRY_ROLES = frozenset({Role.ADMINISTRATOR, Role.MANAGER, Role.REGISTRAR, Role.OPERATOR})
CLINICAL_ROLES = frozenset({Role.DENTIST, Role.ASSISTANT})
EDIT_ROLES = frozenset({Role.ADMINISTRATOR, Role.MANAGER, Role.REGISTRAR})


def staff_member(user: AnyUser) -> StaffMember | None:
    if not user.is_authenticated:
        return None
    cached: StaffMember | None = getattr(user, "_navbat_staff", None)
    if cached is None:
        cached = StaffMember.objects.filter(user_id=user.pk, is_active=True).select_related("clinic").first()
        user._navbat_staff = cached  # type: ignore[attr-defined]
    return cached


def own_patient(user: AnyUser) -> Patient | None:
    """The patient record a patient signs in as."""
    if not user.is_authenticated:
        return None
    return Patient.objects.filter(user_id=user.pk, merged_into__isnull=True).first()


def role_of(user: AnyUser) -> Role | None:
    member = staff_member(user)
    if member is not None:
        return Role(member.role)
    if getattr(user, "is_superuser", False):
        return Role.ADMINISTRATOR
    if own_patient(user) is not None:
        return Role.PATIENT
    return None


def clinic_of(user: AnyUser) -> Clinic | None:
    """The clinic a staff member works for; for a superuser without a staff record, the first clinic."""
    member = staff_member(user)
    if member is not None:
        return member.clinic
    if getattr(user, "is_superuser", False):
        return Clinic.objects.order_by("pk").first()
    return None


def clinic_for_schedule(user: AnyUser) -> Clinic | None:
    """The clinic whose day board the user may see: staff see their own; patients none."""
    return clinic_of(user)


def visible_patients(user: AnyUser) -> QuerySet[Patient]:
    """The patient records this user may open at all."""
    role = role_of(user)
    if role is None:
        return Patient.objects.none()
    if role == Role.PATIENT:
        me = own_patient(user)
        assert me is not None
        return Patient.objects.filter(Q(pk=me.pk) | Q(guardians__guardian=me)).distinct()
    clinic = clinic_of(user)
    if clinic is None:
        return Patient.objects.none()
    patients = registry(clinic)
    if role in CLINICAL_ROLES:
        return patients.filter(pk__in=_patients_of_dentist(user).values("pk"))
    return patients


def _patients_of_dentist(user: AnyUser) -> QuerySet[Patient]:
    member = staff_member(user)
    if member is None:
        return Patient.objects.none()
    # A booking made in error or cancelled never brought the patient to this dentist.
    visits = Appointment.objects.exclude(status__in=[Status.CANCELLED, Status.ENTERED_IN_ERROR])
    if member.role == StaffRole.ASSISTANT:
        # An assistant works beside the dentists of his department; without one, beside nobody.
        if member.department_id is None:
            return Patient.objects.none()
        dentists = StaffMember.objects.filter(clinic=member.clinic, department=member.department)
        return Patient.objects.filter(pk__in=visits.filter(dentist__in=dentists).values("patient_id"))
    return Patient.objects.filter(pk__in=visits.filter(dentist=member).values("patient_id"))


def patient_or_404(user: AnyUser, pk: int) -> Patient:
    patient = visible_patients(user).filter(pk=pk).first()
    if patient is None:
        raise Http404(_("No such patient."))
    return patient


def can_see_clinical(user: AnyUser, patient: Patient) -> bool:
    """Medical alerts: the treating dentists and their assistants, reception (who must warn the dentist),
    the administrator, and the patient himself. Not managers or operators: their work does not need them."""
    role = role_of(user)
    if role in (Role.ADMINISTRATOR, Role.REGISTRAR, Role.PATIENT):
        return visible_patients(user).filter(pk=patient.pk).exists()
    if role in CLINICAL_ROLES:
        return _patients_of_dentist(user).filter(pk=patient.pk).exists()
    return False


def can_edit_alerts(user: AnyUser, patient: Patient) -> bool:
    """Recording or removing an alert: reception and the administrator, or the treating dentist."""
    role = role_of(user)
    if role in (Role.ADMINISTRATOR, Role.REGISTRAR):
        return visible_patients(user).filter(pk=patient.pk).exists()
    if role == Role.DENTIST:
        return _patients_of_dentist(user).filter(pk=patient.pk).exists()
    return False


def can_use_registry(user: AnyUser) -> bool:
    """Search the registry and open cards of patients without an appointment with oneself."""
    return role_of(user) in REGISTRY_ROLES


def can_register(user: AnyUser) -> bool:
    return role_of(user) in REGISTRY_ROLES


def can_edit_patient(user: AnyUser, patient: Patient) -> bool:
    role = role_of(user)
    if role in EDIT_ROLES:
        return visible_patients(user).filter(pk=patient.pk).exists()
    return False


def can_merge(user: AnyUser) -> bool:
    return role_of(user) in (Role.ADMINISTRATOR, Role.MANAGER, Role.REGISTRAR)


def can_handle_privacy_requests(user: AnyUser, patient: Patient | None = None) -> bool:
    """Export a full record, anonymise: the administrators of the patient's own clinic (the data-protection
    duty stays with the clinic that holds the record, even where a network shares the registry)."""
    if role_of(user) != Role.ADMINISTRATOR:
        return False
    clinic = clinic_of(user)
    return patient is None or (clinic is not None and patient.clinic_id == clinic.pk)


def can_import(user: AnyUser) -> bool:
    return role_of(user) in (Role.ADMINISTRATOR, Role.MANAGER)


def import_clinics(user: AnyUser) -> QuerySet[Clinic]:
    """The clinics the user may import patients into: his own; a superuser without a staff record, any."""
    if not can_import(user):
        return Clinic.objects.none()
    if staff_member(user) is None and getattr(user, "is_superuser", False):
        return Clinic.objects.all()
    clinic = clinic_of(user)
    return Clinic.objects.filter(pk=clinic.pk) if clinic is not None else Clinic.objects.none()


def can_view_audit(user: AnyUser) -> bool:
    return role_of(user) == Role.ADMINISTRATOR


# Appointments ---------------------------------------------------------------------------------------------

# Who books through which channel: a patient online (the clinic's notice and horizon apply), an operator by
# phone, other staff at the desk.
CHANNEL_OF_ROLE = {Role.PATIENT: Channel.WEB, Role.OPERATOR: Channel.PHONE}
FRONT_DESK_AND_PATIENT = REGISTRY_ROLES | {Role.PATIENT}
# Which roles may take each step, on an appointment they can see. A dentist or an assistant only for the
# patients he treats (visible_patients).
STEP_ROLES: dict[str, frozenset[Role]] = {
    "cancel": FRONT_DESK_AND_PATIENT,
    "reschedule": FRONT_DESK_AND_PATIENT,
    "arrive": EDIT_ROLES,
    "noshow": EDIT_ROLES,
    "fulfil": CLINICAL_ROLES | {Role.ADMINISTRATOR},
    "notes": frozenset(Role),
    # Giving a booking to another patient (booking.transfer, DESIGN.md invariant 2): who stands at the desk
    # and sees both people and their documents. Not operators: a voice on the phone proves nobody's identity,
    # and a booking resold by phone is what the rule is against. Never a patient himself.
    "transfer": EDIT_ROLES,
}


def visible_appointments(user: AnyUser) -> QuerySet[Appointment]:
    """The appointments of the patients the user may see, and for staff those of his clinic."""
    visible = Q(patient__in=visible_patients(user).values("pk"))
    clinic = clinic_of(user)
    if clinic is not None:
        visible |= Q(clinic=clinic)
    return Appointment.objects.filter(visible)


def appointment_or_404(user: AnyUser, pk: int) -> Appointment:
    appointment = (
        visible_appointments(user)
        .select_related("clinic", "service__clinic", "dentist__user", "chair", "patient")
        .filter(pk=pk)
        .first()
    )
    if appointment is None:
        raise Http404(_("No such appointment."))
    return appointment


def can_take_step(user: AnyUser, appointment: Appointment, step: str) -> bool:
    """May the user cancel, reschedule, mark arrived / no-show / fulfilled, or annotate this appointment?"""
    role = role_of(user)
    if role not in STEP_ROLES[step]:
        return False
    if role in CLINICAL_ROLES:
        return visible_patients(user).filter(pk=appointment.patient_id).exists()
    return True


def can_transfer(user: AnyUser | None) -> bool:
    """May the user give a booking of his clinic to another patient? (Audited: booking.transfer.)"""
    return user is not None and role_of(user) in STEP_ROLES["transfer"] and clinic_of(user) is not None


def booking_channel(user: AnyUser) -> Channel:
    role = role_of(user)
    return CHANNEL_OF_ROLE.get(role, Channel.RECEPTION) if role is not None else Channel.RECEPTION


def require(allowed: bool) -> None:
    """Views call `require(can_…(request.user))`: 403 in the user's language when not allowed."""
    if not allowed:
        raise PermissionDenied(_("You do not have access to this page."))


# Sign-in security -----------------------------------------------------------------------------------------


def can_use_two_factor(user: AnyUser) -> bool:
    """Staff protect their sign-in with an authenticator app; patients sign in with a code sent by SMS."""
    role = role_of(user)
    return role is not None and role != Role.PATIENT


def two_factor_mandatory(user: AnyUser) -> bool:
    """Administrators and superusers may not work without a second factor."""
    return bool(getattr(user, "is_superuser", False)) or role_of(user) == Role.ADMINISTRATOR


def two_factor_required(user: AnyUser) -> bool:
    """Whether this signed-in user must enter a second factor after the password: always for administrators
    and superusers; for other staff once they have set one up (else setting it up would protect nothing)."""
    if not user.is_authenticated:
        return False
    return two_factor_mandatory(user) or has_second_factor(user)


def has_second_factor(user: AnyUser) -> bool:
    """A confirmed authenticator app, or recovery codes not yet used up."""
    if not user.is_authenticated:
        return False
    app: bool = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()
    codes: bool = StaticDevice.objects.filter(
        user_id=user.pk, confirmed=True, token_set__isnull=False
    ).exists()
    return app or codes


# Patient booking pages (book:*) ---------------------------------------------------------------------------
# A patient books online for himself and his children (visible_patients); staff book through their own
# pages, so these are 403 for them. The signed links (booking.links) need no sign-in: the token is the right.


def can_book_online(user: AnyUser) -> bool:
    return role_of(user) == Role.PATIENT


def family_patient_or_404(user: AnyUser, pk: int) -> Patient:
    """Whom a signed-in patient may book for: himself or one of his children."""
    require(can_book_online(user))
    return patient_or_404(user, pk)


def visible_holds(user: AnyUser) -> QuerySet[SlotHold]:
    """The held times of the signed-in patient's family (live or expired: the pages say which)."""
    require(can_book_online(user))
    return SlotHold.objects.filter(patient__in=visible_patients(user).values("pk")).select_related(
        "clinic", "patient", "service", "dentist__user", "chair"
    )


def family_appointment_or_404(user: AnyUser, pk: int) -> Appointment:
    """An appointment of the signed-in patient's family, on the patient's own pages."""
    require(can_book_online(user))
    return appointment_or_404(user, pk)


# A patient changes online what has not begun and is still only booked; after that it is the clinic's.
ONLINE_CHANGEABLE = frozenset({Status.PENDING, Status.BOOKED})


def can_change_online(user: AnyUser, appointment: Appointment, *, now: datetime) -> bool:
    """May the signed-in patient move or cancel this appointment himself?"""
    return (
        can_take_step(user, appointment, "cancel")
        and appointment.status in ONLINE_CHANGEABLE
        and appointment.starts_at > now
    )


# Call-centre console (console:*) --------------------------------------------------------------------------

# Who answers the phone: operators, and the registrars, managers and administrators who stand in for them.
CONSOLE_ROLES = frozenset({Role.ADMINISTRATOR, Role.MANAGER, Role.REGISTRAR, Role.OPERATOR})


def can_use_console(user: AnyUser) -> bool:
    """Search callers, open their cards, find options and book, move or cancel by phone, register a caller.
    Dentists, assistants and patients do not; nor a superuser while no clinic exists to book in."""
    return role_of(user) in CONSOLE_ROLES and clinic_of(user) is not None


# Reception desk and the dentist's day (desk:*) ------------------------------------------------------------
# Every staff member of a clinic sees its day board; walk-ins and emergencies are booked by who stands at the
# desk; moving and marking an appointment follow can_take_step. The dentist's own day is for dentists and
# their assistants.

DESK_ROLES = frozenset({Role.ADMINISTRATOR, Role.MANAGER, Role.REGISTRAR})
# The steps the board offers and the status each leads to ("reschedule" moves the appointment).
DESK_STEP_TARGETS = {
    "arrive": Status.ARRIVED,
    "noshow": Status.NOSHOW,
    "cancel": Status.CANCELLED,
    "fulfil": Status.FULFILLED,
}


def can_see_board(user: AnyUser) -> bool:
    role = role_of(user)
    return role is not None and role != Role.PATIENT and clinic_of(user) is not None


def can_book_at_desk(user: AnyUser) -> bool:
    """Walk-ins and emergencies: registrars, and the managers and administrators who stand in for them."""
    return role_of(user) in DESK_ROLES and clinic_of(user) is not None


def desk_appointment_or_404(user: AnyUser, pk: int) -> Appointment:
    """An appointment of the user's own clinic, for staff (403 for others): the board shows no other."""
    require(can_see_board(user))
    appointment = appointment_or_404(user, pk)
    clinic = clinic_of(user)
    if clinic is None or appointment.clinic_id != clinic.pk:
        raise Http404(_("No such appointment."))
    return appointment


def desk_steps(user: AnyUser, appointment: Appointment, *, now: datetime) -> frozenset[str]:
    """The steps the board offers on an appointment: those the user may take and its status allows; "arrive"
    on the day of the visit only, "noshow" once its time has come."""
    # Imported here: booking.services imports the audit log, which imports this module.
    from navbat.booking.services import RESCHEDULABLE_STATUSES

    steps = {
        step
        for step, target in DESK_STEP_TARGETS.items()
        if can_transition(appointment.status, target) and can_take_step(user, appointment, step)
    }
    if appointment.status in RESCHEDULABLE_STATUSES and can_take_step(user, appointment, "reschedule"):
        steps.add("reschedule")
    tz = appointment.clinic.tz
    if appointment.starts_at.astimezone(tz).date() != now.astimezone(tz).date():
        steps.discard("arrive")
    if appointment.starts_at > now:
        steps.discard("noshow")
        if appointment.status in RESCHEDULABLE_STATUSES and can_transfer(user):
            steps.add("transfer")
    return frozenset(steps)


def can_open_my_day(user: AnyUser) -> bool:
    member = staff_member(user)
    return member is not None and Role(member.role) in CLINICAL_ROLES


def my_day_dentist_ids(user: AnyUser) -> list[int]:
    """Whose patients the dentist's day lists: a dentist's own; an assistant's, those of the dentists of his
    department (the patients he works beside, as in visible_patients); nobody else's."""
    member = staff_member(user)
    if member is None:
        return []
    if member.role == StaffRole.DENTIST:
        return [member.pk]
    if member.role == StaffRole.ASSISTANT and member.department_id is not None:
        dentists = StaffMember.objects.filter(
            clinic_id=member.clinic_id, department_id=member.department_id, role=StaffRole.DENTIST
        )
        return list(dentists.values_list("pk", flat=True))
    return []


def my_day_appointment_or_404(user: AnyUser, pk: int) -> Appointment:
    """An appointment on the user's own day (403 for who has no day of his own)."""
    require(can_open_my_day(user))
    appointment = appointment_or_404(user, pk)
    if appointment.dentist_id not in my_day_dentist_ids(user):
        raise Http404(_("No such appointment."))
    return appointment


# Calendars (calendar:*) -----------------------------------------------------------------------------------


def can_use_calendar_feed(user: AnyUser) -> bool:
    """A private calendar feed of one's appointments, for one's phone: dentists and their assistants, who
    work from a schedule of their own. Not other staff, nor a superuser without a staff record."""
    member = staff_member(user)
    return member is not None and Role(member.role) in CLINICAL_ROLES


def calendar_appointments(member: StaffMember) -> QuerySet[Appointment]:
    """The appointments a staff member's calendar feed may show: a dentist's own; an assistant's, those of
    the dentists of his department (the patients he works beside, as in visible_patients); nobody else's."""
    if member.role == StaffRole.DENTIST:
        return Appointment.objects.filter(dentist_id=member.pk)
    if member.role == StaffRole.ASSISTANT and member.department_id is not None:
        return Appointment.objects.filter(
            dentist__clinic_id=member.clinic_id,
            dentist__department_id=member.department_id,
            dentist__role=StaffRole.DENTIST,
        )
    return Appointment.objects.none()


# Messages: call tasks, the inbox of replies, templates, the delivery dashboard (console:calls, messages:*)

# Who phones patients and reads their replies: the people who answer the phone and stand at the desk.
MESSAGE_DESK_ROLES = frozenset({Role.OPERATOR, Role.REGISTRAR})
# Who words the messages and watches their delivery: they see counts and reasons, never a patient.
MESSAGE_SETUP_ROLES = frozenset({Role.ADMINISTRATOR, Role.MANAGER})


def can_make_calls(user: AnyUser) -> bool:
    """The list of patients to phone (reminders, confirmations), and recording what came of each call."""
    return role_of(user) in MESSAGE_DESK_ROLES and clinic_of(user) is not None


def can_read_inbox(user: AnyUser) -> bool:
    """Patients' replies nobody understood: read them, mark them handled, confirm or cancel the visit."""
    return role_of(user) in MESSAGE_DESK_ROLES and clinic_of(user) is not None


def can_edit_templates(user: AnyUser) -> bool:
    """The wording of the clinic's messages (previewed on made-up data, never a patient's)."""
    return role_of(user) in MESSAGE_SETUP_ROLES and clinic_of(user) is not None


def can_view_deliveries(user: AnyUser) -> bool:
    """The delivery dashboard: counts per channel and day, failures and their reasons; no people."""
    return role_of(user) in MESSAGE_SETUP_ROLES and clinic_of(user) is not None


def can_resend(user: AnyUser) -> bool:
    """Sending a failed message again: the administrator, who answers for what the clinic sends."""
    return role_of(user) == Role.ADMINISTRATOR and clinic_of(user) is not None


def can_view_suspicious_activity(user: AnyUser) -> bool:
    """The suspicious-activity report (accounts.suspicious): pseudonymous evidence only, no patient data."""
    return role_of(user) in (Role.ADMINISTRATOR, Role.MANAGER) and clinic_of(user) is not None


def can_view_overtime_report(user: AnyUser) -> bool:
    """The overbooking overtime report (booking.overbooking): counts and minutes per dentist and day, no
    patients."""
    return role_of(user) in (Role.ADMINISTRATOR, Role.MANAGER) and clinic_of(user) is not None
