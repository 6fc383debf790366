"""Roles as Django groups: the model permissions each role's group holds.

Model permissions are the coarse layer — what kind of record a role may view, add, change or delete at all;
`access.py` decides which records (one clinic, one dentist's patients, a patient's own family). A permission
is named here as "app_label.model" → the actions on it; `sync_roles()` makes the groups match this table and
runs after every `migrate` (and after the test database is flushed), so a deployment never drifts from it.

The admin site (`/admin/`, reached by administrators and managers, see ADMIN_SITE_ROLES) lists every clinic's
rows: its querysets are not narrowed by access.py. So the roles that reach it get no permission on patient
data (PATIENT_DATA); they work with patients through the registry pages, where access.py scopes every read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from navbat.accounts.access import Role

VIEW = ("view",)
VIEW_ADD = ("view", "add")
EDIT = ("view", "add", "change")
ALL = ("view", "add", "change", "delete")

# Roles whose accounts are `is_staff`: they open /admin/ for the clinic's set-up and, for administrators,
# users, the audit log, lock-outs and lost second factors.
ADMIN_SITE_ROLES = frozenset({Role.ADMINISTRATOR, Role.MANAGER})

# Personal and clinical data of patients, and appointments (which say who comes for what).
PATIENT_DATA = frozenset(
    {
        "patients.patient",
        "patients.nationalidentifier",
        "patients.guardianship",
        "patients.medicalalert",
        "patients.consent",
        "patients.complaint",
        "booking.appointment",
        "booking.appointmentevent",
        "booking.waitlistentry",  # who waits for what, and the times offered to him
        "booking.waitlistoffer",
        "notify.delivery",  # an address and the text of a message about a visit
        "notify.inboundmessage",
        "notify.calltask",
        "booking.appointmentmove",  # which visit replaced which (booking.quotas counts moves)
        "booking.releasedrawentry",  # a patient's request in the draw of a newly opened day
    }
)

# Models no group gets any permission on: bookkeeping only the services (or a superuser) touch.
NO_GROUP_PERMISSIONS = frozenset(
    {
        "patients.patientcounter",
        "accounts.onetimecode",  # the patients' sign-in codes (hashed): only accounts.otp reads them
        "accounts.apitoken",  # REST API tokens (hashed): made and revoked with `navbat token`
        "accounts.idempotencyrecord",  # answers kept for retried API requests: only the API reads them
        "booking.slothold",  # a patient's 5-minute hold on a time while he confirms: only booking.holds
        "booking.waitlistentry",  # the waitlist: only booking.waitlist and its pages
        "booking.waitlistoffer",
        "booking.freedtime",  # bookkeeping for the refill statistics
        "otp_static.statictoken",
        "notify.notification",  # the outbox: written by the services, read by the worker
        "notify.telegramlink",  # made by the patient through the bot's deep link
        "notify.telegramlinktoken",
        "notify.pushsubscription",  # made by the patient's browser
        "axes.accessattemptexpiration",
        "booking.appointmentmove",  # written by reschedule_appointment, read by booking.quotas
        "booking.releasedraw",  # a day's draw and its seed: only booking.release
        "booking.releasedrawentry",
    }
)

CLINIC_SETUP = {
    "clinic.clinic": ("view", "change"),
    "clinic.department": ALL,
    "clinic.specialty": ALL,
    "clinic.staffmember": ALL,
    "clinic.equipment": ALL,
    "clinic.chair": ALL,
    "clinic.service": ALL,
    "clinic.workingplan": ALL,
    "clinic.planinterval": ALL,
    "clinic.scheduleexception": ALL,
    "clinic.clinicclosure": ALL,
    # Revoking a dentist's calendar feed (a lost phone): the admin's action; only the dentist makes one.
    "clinic.calendarfeed": ("view", "change"),
    # Messages: the wording and the rules. The delivery dashboard shows them counts and reasons, no people.
    "notify.messagetemplate": ALL,
    "notify.notifypolicy": EDIT,
    # Quotas and the fair release of new days (booking.quotas, booking.release).
    "booking.bookingpolicy": EDIT,
    # No-show policy and the emergency reserve (booking.noshows, booking.reserve).
    "clinic.capacitypolicy": EDIT,
    "clinic.reserveblock": ALL,
}

# The staff inbox of replies nobody understood, and the list of people to phone.
MESSAGES_DESK = {
    "notify.delivery": VIEW,  # what a caller was sent, and whether it arrived
    "notify.inboundmessage": ("view", "change"),
    "notify.calltask": ("view", "change"),
}

# What the front desk and the treatment rooms read of the clinic's set-up to book and to work.
CLINIC_READ = {
    "clinic.clinic": VIEW,
    "clinic.department": VIEW,
    "clinic.specialty": VIEW,
    "clinic.staffmember": VIEW,
    "clinic.chair": VIEW,
    "clinic.service": VIEW,
    "clinic.workingplan": VIEW,
    "clinic.planinterval": VIEW,
    "clinic.scheduleexception": VIEW,
    "clinic.clinicclosure": VIEW,
    "clinic.reserveblock": VIEW,
}

ROLE_PERMISSIONS: Mapping[Role, Mapping[str, tuple[str, ...]]] = {
    Role.ADMINISTRATOR: {
        **CLINIC_SETUP,
        "clinic.network": ("view", "change"),
        # Accounts are deactivated, never deleted: the audit log points at them.
        "auth.user": EDIT,
        "auth.group": VIEW,
        "accounts.auditentry": VIEW,
        # Unlocking a locked-out account is deleting its failed attempts.
        "axes.accessattempt": ("view", "delete"),
        "axes.accesslog": VIEW,
        "axes.accessfailurelog": VIEW,
        # A staff member who lost his phone: remove the device, he sets up a new one.
        "otp_totp.totpdevice": ("view", "delete"),
        "otp_static.staticdevice": ("view", "delete"),
    },
    Role.MANAGER: {
        **CLINIC_SETUP,
        "clinic.network": VIEW,
        "auth.user": VIEW,
    },
    Role.REGISTRAR: {
        **CLINIC_READ,
        "patients.patient": EDIT,
        "patients.nationalidentifier": EDIT,
        "patients.guardianship": ALL,
        "patients.medicalalert": ALL,
        "patients.consent": VIEW_ADD,
        "patients.complaint": EDIT,
        "booking.appointment": EDIT,
        "booking.appointmentevent": VIEW,
        **MESSAGES_DESK,
    },
    Role.OPERATOR: {
        # Contact data and appointments; no clinical data (access.py tells him only that alerts exist).
        **CLINIC_READ,
        "patients.patient": VIEW_ADD,
        "patients.guardianship": VIEW_ADD,
        "patients.consent": VIEW_ADD,
        "booking.appointment": EDIT,
        "booking.appointmentevent": VIEW,
        **MESSAGES_DESK,
    },
    Role.DENTIST: {
        **CLINIC_READ,
        "patients.patient": VIEW,
        "patients.medicalalert": EDIT,
        "patients.complaint": VIEW,
        "booking.appointment": ("view", "change"),
        "booking.appointmentevent": VIEW,
    },
    Role.ASSISTANT: {
        **CLINIC_READ,
        "patients.patient": VIEW,
        "patients.medicalalert": VIEW,
        "booking.appointment": ("view", "change"),
        "booking.appointmentevent": VIEW,
    },
    Role.PATIENT: {
        # Himself and his children only (access.visible_patients): book, move, cancel, consent.
        "clinic.clinic": VIEW,
        "clinic.specialty": VIEW,
        "clinic.service": VIEW,
        "clinic.staffmember": VIEW,
        "patients.patient": ("view", "change"),
        "patients.guardianship": VIEW,
        "patients.consent": VIEW_ADD,
        "booking.appointment": EDIT,
    },
}


def permission_names(role: Role) -> set[str]:
    """The role's permissions as "app_label.codename", the form `user.has_perm` takes."""
    names: set[str] = set()
    for label, actions in ROLE_PERMISSIONS[role].items():
        app_label, model = label.split(".")
        names.update(f"{app_label}.{action}_{model}" for action in actions)
    return names


def sync_roles(using: str = "default") -> dict[Role, Group]:
    """Create the role groups and set their permissions to exactly what the table says. Idempotent.

    Raises LookupError naming any permission in the table that no installed model has, so a renamed model
    fails `migrate` loudly instead of silently leaving a role without a permission it needs.
    """
    for app_config in apps.get_app_configs():
        # The permissions of apps migrated after this one do not exist yet when our post_migrate runs.
        create_permissions(app_config, verbosity=0, using=using)
    wanted = {role: permission_names(role) for role in Role}
    known = _permissions_by_name(set().union(*wanted.values()), using)
    missing = sorted(set().union(*wanted.values()) - set(known))
    if missing:
        raise LookupError(f"roles.py names permissions no model has: {', '.join(missing)}")
    groups = {}
    with transaction.atomic(using=using):
        for role in Role:
            group, _created = Group.objects.using(using).get_or_create(name=role.value)
            group.permissions.set([known[name] for name in sorted(wanted[role])])
            groups[role] = group
    return groups


def _permissions_by_name(names: Iterable[str], using: str) -> dict[str, Permission]:
    wanted = set(names)
    found = {}
    for permission in Permission.objects.using(using).select_related("content_type"):
        name = f"{permission.content_type.app_label}.{permission.codename}"
        if name in wanted:
            found[name] = permission
    return found
