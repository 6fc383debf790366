"""Who may open what: the table the role × endpoint matrix (test_access_matrix.py) checks every URL against.

Every named URL of the site has an entry here, keyed by its name ("patients:card"); a URL without one fails
the matrix, so a new page or API endpoint comes with its rule. An entry is one or more cases: the URL built
with fixture objects from the World (a patient of the clinic, of a clinic sharing its registry, of another
clinic, …) and what each of the eight visitors gets: 200, a redirect to a named page, 403 or 404.

The table is written from the rules of the product (accounts/access.py's docstring and the issue), not from
access.py's code, so that the two check each other. Objects a user may not see are 404, pages a role may not
use are 403 (access.py's convention); a view that checks the role before looking the object up answers 403
even for another clinic's patient.

An API endpoint (django-ninja routes are Django URL patterns, named "<namespace>:<operation>") is one line,
with the method and the JSON success code, e.g.
    "api-1:patient_detail": (Case("own", visible_card, kwargs={"pk": "patient"}),),
    "api-1:booking_create": (Case("book", expect(STAFF_FRONT_DESK, allowed=Outcome(201)), method="post"),),
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from navbat.accounts.access import Role
from navbat.accounts.audit import SYSTEM
from navbat.accounts.services import assign_role
from navbat.booking.links import Purpose, appointment_token
from navbat.booking.models import Appointment, SlotHold
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Clinic, Network, StaffMember
from navbat.clinic.services import create_calendar_feed, revoke_calendar_feed
from navbat.notify.models import CallTask, Delivery, InboundMessage, Notification
from navbat.patients.models import Guardianship, MedicalAlert, Patient
from tests import factories
from tests.accounts.helpers import authenticator, sign_in_verified

ANONYMOUS = "anonymous"
WHO = (ANONYMOUS, *(role.value for role in Role))


@dataclass(frozen=True)
class Outcome:
    """What a visitor gets: a status, and for a redirect the name of the page it leads to."""

    status: int
    to: str = ""

    def __str__(self) -> str:
        return f"{self.status} → {self.to}" if self.to else str(self.status)


OK = Outcome(200)
FORBIDDEN = Outcome(403)
NOT_FOUND = Outcome(404)
LOGIN = Outcome(302, "login")
PATIENT_LOGIN = Outcome(302, "me:login")


def redirect(name: str) -> Outcome:
    return Outcome(302, name)


# The role groups of the rules (spelled out here, not imported from access.py: the table is the spec).
ADMINISTRATOR, MANAGER, REGISTRAR, OPERATOR, DENTIST, ASSISTANT, PATIENT = (
    Role.ADMINISTRATOR,
    Role.MANAGER,
    Role.REGISTRAR,
    Role.OPERATOR,
    Role.DENTIST,
    Role.ASSISTANT,
    Role.PATIENT,
)
EVERYONE = frozenset(Role)
STAFF = EVERYONE - {PATIENT}
FRONT_DESK = frozenset({ADMINISTRATOR, MANAGER, REGISTRAR, OPERATOR})  # search, register, contact data
EDITORS = frozenset({ADMINISTRATOR, MANAGER, REGISTRAR})  # change registry records, merge
CLINICAL = frozenset({ADMINISTRATOR, REGISTRAR, DENTIST, ASSISTANT})  # see medical alerts
ALERT_EDITORS = frozenset({ADMINISTRATOR, REGISTRAR, DENTIST})  # record or remove them
IMPORTERS = frozenset({ADMINISTRATOR, MANAGER})
PRIVACY_OFFICERS = frozenset({ADMINISTRATOR})  # export a full record, anonymise


def expect(
    ok: Iterable[Role] = (),
    *,
    allowed: Outcome = OK,
    others: Outcome = FORBIDDEN,
    anonymous: Outcome = LOGIN,
    **special: Outcome,
) -> Mapping[str, Outcome]:
    """`allowed` for the roles in `ok`, `others` for the other roles, and exceptions by role name."""
    unknown = set(special) - set(WHO)
    assert not unknown, f"no such visitor: {unknown}"
    table = {ANONYMOUS: anonymous}
    table.update({role.value: allowed if role in ok else others for role in Role})
    table.update(special)
    return table


# --- The world the URLs are built in ----------------------------------------------------------------------


@dataclass
class World:
    """Clinic A (in a network that shares its registry with clinic A2) and clinic B, on its own.

    All staff work at clinic A. `patient` has an appointment with the dentist (the assistant works in the
    dentist's department); `sibling_patient` is registered at A2; `foreign_patient` at B. The patient who
    signs in is `me`, registered at A, guardian of `child`.
    """

    clinic: Clinic
    sibling_clinic: Clinic
    other_clinic: Clinic
    users: dict[str, User]
    patient: Patient
    sibling_patient: Patient
    foreign_patient: Patient
    me: Patient
    child: Patient
    alert: MedicalAlert
    sibling_alert: MedicalAlert
    foreign_alert: MedicalAlert

    def user(self, who: str) -> User | None:
        return None if who == ANONYMOUS else self.users[who]


def build_world() -> World:
    network = Network.objects.create(name="Regional network", shares_registry=True)
    clinic = factories.ClinicFactory(name="Clinic A", network=network)
    sibling = factories.ClinicFactory(name="Clinic A2", network=network)
    other = factories.ClinicFactory(name="Clinic B")
    department = factories.DepartmentFactory(clinic=clinic)
    chair = factories.ChairFactory(department=department)
    service = factories.ServiceFactory(clinic=clinic)
    users: dict[str, User] = {}
    staff: dict[Role, StaffMember] = {}
    for role in sorted(STAFF):
        user = factories.UserFactory(username=f"matrix-{role.value}", password="!")
        staff[role] = factories.StaffFactory(user=user, clinic=clinic, role=role, department=department)
        assign_role(user=user, role=role)
        users[role.value] = user
    authenticator(users[ADMINISTRATOR.value])  # administrators must have a second factor
    patient = factories.PatientFactory(clinic=clinic)
    starts = timezone.now() + timedelta(days=3)
    Appointment.objects.create(
        clinic=clinic,
        patient=patient,
        service=service,
        dentist=staff[DENTIST],
        chair=chair,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        status=Status.BOOKED,
        channel=Channel.PHONE,
    )
    me_user = factories.UserFactory(username="matrix-patient", password="!")
    me = factories.PatientFactory(clinic=clinic, user=me_user)
    child = factories.PatientFactory(clinic=clinic, birth_date=date(2018, 4, 2), phone="")
    Guardianship.objects.create(guardian=me, child=child)
    assign_role(user=me_user, role=PATIENT)
    users[PATIENT.value] = me_user
    sibling_patient = factories.PatientFactory(clinic=sibling)
    foreign_patient = factories.PatientFactory(clinic=other)
    return World(
        clinic=clinic,
        sibling_clinic=sibling,
        other_clinic=other,
        users=users,
        patient=patient,
        sibling_patient=sibling_patient,
        foreign_patient=foreign_patient,
        me=me,
        child=child,
        alert=MedicalAlert.objects.create(patient=patient, kind="allergy", note="Lidocaine"),
        sibling_alert=MedicalAlert.objects.create(patient=sibling_patient, kind="allergy"),
        foreign_alert=MedicalAlert.objects.create(patient=foreign_patient, kind="allergy"),
    )


def sign_in(client: Client, user: User) -> None:
    """As the sign-in pages leave it: an administrator has passed his second factor."""
    if Role.ADMINISTRATOR.value in user.groups.values_list("name", flat=True):
        sign_in_verified(client, user)
    else:
        client.force_login(user)


# --- URL arguments that need more than an object's pk ---------------------------------------------------

Arg = str | Callable[[World, User | None], object]


def _upload(world: World, importer: User, *, commit: bool = False) -> str:
    """A patient list uploaded (and checked) by `importer`: the token its pages carry."""
    client = Client()
    sign_in(client, importer)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(
        [["surname", "name", "birth date", "phone"], ["Importov", "Ali", "1990-01-02", "+998935551234"]]
    )
    file = SimpleUploadedFile("patients.csv", out.getvalue().encode(), content_type="text/csv")
    checked = client.post(reverse("patient_import:upload"), {"clinic": world.clinic.pk, "file": file})
    assert checked.status_code == 302, checked.content.decode()[:500]
    token = str(resolve(checked["Location"]).kwargs["token"])
    if commit:
        done = client.post(reverse("patient_import:commit", kwargs={"token": token}))
        assert done.status_code == 302
    return token


def _importer_for(world: World, user: User | None, *, own: bool) -> User:
    """`user` himself if he may import and `own`; else another importer."""
    manager, administrator = world.users[MANAGER.value], world.users[ADMINISTRATOR.value]
    if own and user in (manager, administrator):
        return user
    return administrator if user == manager else manager


def own_import(world: World, user: User | None) -> str:
    return _upload(world, _importer_for(world, user, own=True))


def own_finished_import(world: World, user: User | None) -> str:
    return _upload(world, _importer_for(world, user, own=True), commit=True)


def someone_elses_import(world: World, user: User | None) -> str:
    return _upload(world, _importer_for(world, user, own=False))


# --- The rules ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    label: str
    expect: Mapping[str, Outcome]
    kwargs: Mapping[str, Arg] = field(default_factory=dict)
    method: Literal["get", "post"] = "get"
    data: Mapping[str, str] = field(default_factory=dict)


def on_patients(
    *,
    own: Mapping[str, Outcome],
    shared: Mapping[str, Outcome],
    foreign: Mapping[str, Outcome],
    method: Literal["get", "post"] = "get",
    **kwargs: Arg,
) -> tuple[Case, ...]:
    """A page about one patient, tried on a patient of the clinic, of a clinic that shares the registry,
    and of a clinic that does not."""
    return (
        Case("patient of the clinic", own, {"pk": "patient", **kwargs}, method),
        Case("patient of a clinic sharing the registry", shared, {"pk": "sibling_patient", **kwargs}, method),
        Case("patient of another clinic", foreign, {"pk": "foreign_patient", **kwargs}, method),
    )


# A patient he may not see is hidden (404) from everyone; the patient himself sees only his own family.
HIDDEN = expect(others=NOT_FOUND)
# Staff of the clinic see its registry and the network's; dentists and assistants only their own patients.
UNLESS_TREATING = {DENTIST.value: NOT_FOUND, ASSISTANT.value: NOT_FOUND, PATIENT.value: NOT_FOUND}
ONLY_PATIENT_HIDDEN = {PATIENT.value: NOT_FOUND}


def _editing_page() -> tuple[Case, ...]:
    """Edit, verify identity, record a consent: the registry's editors."""
    return on_patients(
        own=expect(EDITORS, **ONLY_PATIENT_HIDDEN),
        shared=expect(EDITORS, **UNLESS_TREATING),
        foreign=HIDDEN,
    )


def _privacy_page() -> tuple[Case, ...]:
    """Full export and anonymisation: the administrator (the role is checked before the patient)."""
    return on_patients(
        own=expect(PRIVACY_OFFICERS),
        # The duty stays with the clinic that holds the record, even in a network sharing the registry.
        shared=expect(),
        foreign=expect(PRIVACY_OFFICERS, allowed=NOT_FOUND),
    )


def _import_page(
    token: Arg, *, allowed: Outcome = OK, method: Literal["get", "post"] = "get"
) -> tuple[Case, ...]:
    return (
        Case("own upload", expect(IMPORTERS, allowed=allowed), {"token": token}, method),
        Case(
            "someone else's upload",
            expect(IMPORTERS, allowed=NOT_FOUND),
            {"token": someone_elses_import},
            method,
        ),
    )


SIGNED_IN_PATIENT_GOES_HOME = expect(STAFF, anonymous=OK, patient=redirect("me:home"))

# --- The REST API (/api/v1/, django-ninja: names "api-1:<operation>") ---------------------------------------
# Every caller must be signed in (401 otherwise, the API's JSON error); objects he may not see are 404, steps
# his role may not take 403. The matrix signs in with the session, so these are the session's answers.

SIGN_IN_FIRST = Outcome(401)


def api_rule(
    ok: Iterable[Role] = (), *, allowed: Outcome = OK, others: Outcome = FORBIDDEN, **special: Outcome
) -> Mapping[str, Outcome]:
    return expect(ok, allowed=allowed, others=others, anonymous=SIGN_IN_FIRST, **special)


def _booked_for(world: World, patient: Patient, status: str, days: int) -> int:
    """An appointment like the world's own (the dentist, his chair), for `patient`, `days` from now."""
    model = Appointment.objects.get(patient=world.patient, status=Status.BOOKED)
    starts = model.starts_at + timedelta(days=days)
    return Appointment.objects.create(
        clinic=model.clinic,
        patient=patient,
        service=model.service,
        dentist=model.dentist,
        chair=model.chair,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        status=status,
        channel=Channel.PHONE,
    ).pk


def the_appointment(world: World, user: User | None) -> int:
    """The world's appointment: `patient` with the dentist."""
    return Appointment.objects.get(patient=world.patient, status=Status.BOOKED).pk


def arrived_appointment(world: World, user: User | None) -> int:
    return _booked_for(world, world.patient, Status.ARRIVED, days=1)


def childs_appointment(world: World, user: User | None) -> int:
    """An appointment of the signed-in patient's child."""
    return _booked_for(world, world.child, Status.BOOKED, days=2)


def nowhere(world: World, user: User | None) -> str:
    return "no/such/address"


def dentists_feed(world: World, user: User | None) -> str:
    """The secret token of a live calendar feed of the world's dentist."""
    dentist = StaffMember.objects.get(user=world.users[DENTIST.value])
    return create_calendar_feed(staff=dentist, actor=SYSTEM, language="en")[1]


def revoked_feed(world: World, user: User | None) -> str:
    """The token of the dentist's feed after it was revoked."""
    token = dentists_feed(world, user)
    dentist = StaffMember.objects.get(user=world.users[DENTIST.value])
    revoke_calendar_feed(feed=dentist.calendar_feeds.get(revoked_at__isnull=True), actor=SYSTEM)
    return token


# --- Patient booking pages (book:*) ---


def childs_hold(world: World, user: User | None) -> int:
    """A live hold of the signed-in patient's child, of the world's service, with the world's dentist."""
    model = Appointment.objects.get(patient=world.patient, status=Status.BOOKED)
    starts = model.starts_at + timedelta(days=5)
    return SlotHold.objects.create(
        clinic=model.clinic,
        patient=world.child,
        service=model.service,
        dentist=model.dentist,
        chair=model.chair,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        expires_at=timezone.now() + timedelta(minutes=5),
    ).pk


def _childs_link(purpose: Purpose) -> Callable[[World, User | None], str]:
    def token(world: World, user: User | None) -> str:
        return appointment_token(Appointment.objects.get(pk=childs_appointment(world, user)), purpose)

    return token


# A signed-in patient's own pages: others are sent to the patient sign-in, staff get 403.
FAMILY = expect({PATIENT}, anonymous=PATIENT_LOGIN)
# The flow's pages need the person chosen (?p=…): without it the patient gets a clear 400.
FAMILY_WITHOUT_PERSON = expect({PATIENT}, allowed=Outcome(400), anonymous=PATIENT_LOGIN)
# The signed links need no sign-in: whoever holds the link may use it.
ANYONE_WITH_THE_LINK = expect(EVERYONE, anonymous=OK)


# --- Staff pages of messages (console:calls, messages:*) ---


def _world_delivery(world: World, status: str) -> Delivery:
    """A reminder about the world's appointment, sent by phone call."""
    appointment = Appointment.objects.get(patient=world.patient, status=Status.BOOKED)
    number = Notification.objects.count() + 1
    notification = Notification.objects.create(
        clinic=world.clinic,
        kind="reminder",
        key=f"matrix:reminder:{number}",
        appointment=appointment,
        patient=world.patient,
        due_at=timezone.now(),
    )
    return Delivery.objects.create(
        notification=notification,
        recipient=world.patient,
        channel="call",
        address=str(world.patient.phone),
        language="uz",
        idempotency_key=f"matrix:reminder:{number}:call",
        status=status,
        next_attempt_at=timezone.now(),
    )


def a_call_to_make(world: World, user: User | None) -> int:
    delivery = _world_delivery(world, "sent")
    return CallTask.objects.create(delivery=delivery, clinic=world.clinic, call_after=timezone.now()).pk


def a_reply(world: World, user: User | None) -> int:
    return InboundMessage.objects.create(
        clinic=world.clinic, channel="sms", sender=str(world.patient.phone), patient=world.patient, text="?"
    ).pk


def a_sent_delivery(world: World, user: User | None) -> int:
    return _world_delivery(world, "sent").pk


def _word(value: str) -> Callable[[World, User | None], str]:
    return lambda world, user: value


REMINDER_SMS_RU = {"kind": _word("reminder"), "channel": _word("sms"), "language": _word("ru")}
# Who phones patients and reads their replies: operators and registrars. Who words the messages and watches
# their delivery (counts, no people): administrators and managers; sending a failed one again: administrators.
MESSAGE_DESK = frozenset({OPERATOR, REGISTRAR})
MESSAGE_SETUP = frozenset({ADMINISTRATOR, MANAGER})


RULES: Mapping[str, tuple[Case, ...]] = {
    # The home page: a welcome for visitors and patients, the day board for staff.
    "home": (Case("", expect(EVERYONE, anonymous=OK)),),
    "login": (Case("", expect(EVERYONE, anonymous=OK)),),
    "logout": (
        Case("", expect(EVERYONE, allowed=redirect("home"), anonymous=redirect("home")), method="post"),
    ),
    # Staff two-factor sign-in.
    "accounts:two_factor_setup": (Case("", expect(STAFF)),),
    "accounts:two_factor_verify": (
        Case(
            "",
            expect(
                STAFF,
                allowed=redirect("accounts:two_factor_setup"),  # who has no second factor sets one up
                administrator=redirect("home"),  # already verified in this session
            ),
        ),
    ),
    # The registry.
    "patients:search": (Case("", expect(FRONT_DESK)),),
    "patients:register": (Case("", expect(FRONT_DESK)),),
    "patients:card": (
        *on_patients(
            own=expect(STAFF, **ONLY_PATIENT_HIDDEN),
            shared=expect(FRONT_DESK, **UNLESS_TREATING),
            foreign=HIDDEN,
        ),
        # A signed-in patient sees his own record on his own pages (me:home), not on the staff card.
        Case(
            "the signed-in patient's own record",
            expect(FRONT_DESK, **{**UNLESS_TREATING, PATIENT.value: FORBIDDEN}),
            {"pk": "me"},
        ),
    ),
    "patients:edit": _editing_page(),
    "patients:verify": _editing_page(),
    "patients:consent": _editing_page(),
    "patients:alerts": on_patients(
        own=expect(CLINICAL, **ONLY_PATIENT_HIDDEN),
        shared=expect(CLINICAL - {DENTIST, ASSISTANT}, **UNLESS_TREATING),
        foreign=HIDDEN,
    ),
    "patients:alert_remove": (
        Case(
            "alert of a patient of the clinic",
            expect(ALERT_EDITORS, allowed=redirect("patients:alerts"), **ONLY_PATIENT_HIDDEN),
            {"pk": "patient", "alert_pk": "alert"},
            "post",
        ),
        Case(
            "alert of a patient of a clinic sharing the registry",
            expect(ALERT_EDITORS - {DENTIST}, allowed=redirect("patients:alerts"), **UNLESS_TREATING),
            {"pk": "sibling_patient", "alert_pk": "sibling_alert"},
            "post",
        ),
        Case(
            "alert of a patient of another clinic",
            HIDDEN,
            {"pk": "foreign_patient", "alert_pk": "foreign_alert"},
            "post",
        ),
        Case(
            "another patient's alert under this patient's address",
            expect(others=NOT_FOUND, operator=FORBIDDEN, manager=FORBIDDEN, assistant=FORBIDDEN),
            {"pk": "patient", "alert_pk": "foreign_alert"},
            "post",
        ),
    ),
    "patients:complaint": on_patients(
        own=expect(FRONT_DESK, **ONLY_PATIENT_HIDDEN),
        shared=expect(FRONT_DESK, **UNLESS_TREATING),
        foreign=HIDDEN,
    ),
    "patients:merge": on_patients(
        own=expect(EDITORS),
        shared=expect(EDITORS),
        foreign=expect(EDITORS, allowed=NOT_FOUND),
    ),
    "patients:export_json": _privacy_page(),
    "patients:export_html": _privacy_page(),
    "patients:anonymise": _privacy_page(),
    # Importing a patient list: managers and administrators, each only his own uploads.
    "patient_import:upload": (Case("", expect(IMPORTERS)),),
    "patient_import:report": _import_page(own_import),
    "patient_import:commit": _import_page(
        own_import, allowed=redirect("patient_import:result"), method="post"
    ),
    "patient_import:result": _import_page(own_finished_import),
    "patient_import:rejections_csv": _import_page(own_import),
    # Patients' own pages: signing in with the phone and a code, self-registration.
    "me:home": (Case("", expect({PATIENT}, anonymous=PATIENT_LOGIN)),),
    "me:login": (Case("", SIGNED_IN_PATIENT_GOES_HOME),),
    "me:register": (Case("", SIGNED_IN_PATIENT_GOES_HOME),),
    # Without a code asked for in this session there is nothing to enter or choose: back to the start.
    "me:code": (Case("", expect(anonymous=PATIENT_LOGIN, others=PATIENT_LOGIN)),),
    "me:who": (Case("", expect(anonymous=PATIENT_LOGIN, others=PATIENT_LOGIN)),),
    "me:logout": (Case("", expect(anonymous=PATIENT_LOGIN, others=PATIENT_LOGIN), method="post"),),
    # The REST API.
    "api-1:openapi-json": (Case("", expect(EVERYONE, anonymous=OK)),),
    "api-1:openapi-view": (Case("", expect(EVERYONE, anonymous=OK)),),
    "api-1:api-root": (Case("", expect(others=NOT_FOUND, anonymous=NOT_FOUND)),),
    "api-1:no_such_address": (
        Case("", expect(others=NOT_FOUND, anonymous=NOT_FOUND), kwargs={"rest": nowhere}),
    ),
    "api-1:clinic_list": (Case("", api_rule(EVERYONE)),),
    "api-1:dentist_list": (Case("", api_rule(EVERYONE)),),
    "api-1:service_list": (Case("", api_rule(EVERYONE)),),
    # The world's service has a generated code: an unknown one shows who gets as far as looking it up.
    "api-1:slots_list": (Case("unknown service", api_rule(others=NOT_FOUND), data={"service": "no-such"}),),
    # The body is read before who may book for whom is known: an empty one is refused for everyone.
    "api-1:appointment_create": (Case("empty body", api_rule(others=Outcome(422)), method="post"),),
    "api-1:appointment": (
        Case("of a patient of the clinic", api_rule(STAFF, others=NOT_FOUND), {"id": the_appointment}),
        Case("of the signed-in patient's child", api_rule(EVERYONE), {"id": childs_appointment}),
    ),
    "api-1:appointment_cancel": (
        Case(
            "of a patient of the clinic",
            api_rule(FRONT_DESK, **ONLY_PATIENT_HIDDEN),
            {"id": the_appointment},
            "post",
        ),
        Case(
            "of the signed-in patient's child",
            api_rule(FRONT_DESK | {PATIENT}),
            {"id": childs_appointment},
            "post",
        ),
    ),
    # A time nobody works: who may move the appointment gets as far as the schedule's refusal (409).
    "api-1:appointment_reschedule": (
        Case(
            "of a patient of the clinic, to a time nobody works",
            api_rule(FRONT_DESK, allowed=Outcome(409), **ONLY_PATIENT_HIDDEN),
            {"id": the_appointment},
            "post",
            {"start": "2099-01-05T10:00:00+05:00"},
        ),
    ),
    "api-1:appointment_arrive": (
        Case(
            "of a patient of the clinic",
            api_rule(EDITORS, **ONLY_PATIENT_HIDDEN),
            {"id": the_appointment},
            "post",
        ),
    ),
    "api-1:appointment_noshow": (
        Case(
            "of a patient of the clinic",
            api_rule(EDITORS, **ONLY_PATIENT_HIDDEN),
            {"id": the_appointment},
            "post",
        ),
    ),
    # Giving a booking to another patient: who stands at the desk (not operators, never a patient, not even
    # for his own child). Sent to a patient nobody has, it gets as far as looking him up: 404.
    "api-1:appointment_transfer": (
        Case(
            "of a patient of the clinic, to a patient who does not exist",
            api_rule(EDITORS, allowed=NOT_FOUND, **ONLY_PATIENT_HIDDEN),
            {"id": the_appointment},
            "post",
            {"patient": "999999999", "reason": "Asked at the desk"},
        ),
        Case(
            "of the signed-in patient's child",
            api_rule(EDITORS, allowed=NOT_FOUND),
            {"id": childs_appointment},
            "post",
            {"patient": "999999999", "reason": "Asked at the desk"},
        ),
    ),
    "api-1:appointment_fulfil": (
        Case(
            "an arrived patient of the dentist",
            api_rule({ADMINISTRATOR, DENTIST, ASSISTANT}, **ONLY_PATIENT_HIDDEN),
            {"id": arrived_appointment},
            "post",
        ),
    ),
    "api-1:patient_list": (Case("", api_rule(FRONT_DESK | {PATIENT})),),
    "api-1:patient_detail": (
        Case("patient of the clinic", api_rule(STAFF, **ONLY_PATIENT_HIDDEN), {"id": "patient"}),
        Case(
            "patient of a clinic sharing the registry",
            api_rule(FRONT_DESK, **UNLESS_TREATING),
            {"id": "sibling_patient"},
        ),
        Case("patient of another clinic", api_rule(others=NOT_FOUND), {"id": "foreign_patient"}),
        Case(
            "the signed-in patient himself",
            api_rule(FRONT_DESK | {PATIENT}, dentist=NOT_FOUND, assistant=NOT_FOUND),
            {"id": "me"},
        ),
        Case(
            "the signed-in patient's child",
            api_rule(FRONT_DESK | {PATIENT}, dentist=NOT_FOUND, assistant=NOT_FOUND),
            {"id": "child"},
        ),
    ),
    # ---- patient booking pages (book:*) ----
    "book:start": (Case("", FAMILY),),
    "book:what": (Case("without the person", FAMILY_WITHOUT_PERSON),),
    "book:pain": (Case("without the person", FAMILY_WITHOUT_PERSON),),
    "book:dentist": (Case("without the person", FAMILY_WITHOUT_PERSON),),
    "book:when": (Case("without the person", FAMILY_WITHOUT_PERSON),),
    "book:hold": (Case("without the person", FAMILY_WITHOUT_PERSON, method="post"),),
    # A hold that is not the family's is answered like one that ended: back to choosing a time.
    "book:confirm": (Case("the child's hold", FAMILY, {"pk": childs_hold}),),
    "book:release": (
        Case(
            "the child's hold",
            expect({PATIENT}, allowed=redirect("book:start"), anonymous=PATIENT_LOGIN),
            {"pk": childs_hold},
            "post",
        ),
    ),
    "book:mine": (Case("", FAMILY),),
    **{
        f"book:{name}": (
            Case("of the signed-in patient's child", FAMILY, {"pk": childs_appointment}),
            Case(
                "of a patient of the clinic",
                expect(others=FORBIDDEN, anonymous=PATIENT_LOGIN, patient=NOT_FOUND),
                {"pk": the_appointment},
            ),
        )
        for name in ("appointment", "ics", "cancel", "move")
    },
    "book:move_confirm": (
        Case("of the child, to the child's hold", FAMILY, {"pk": childs_appointment, "hold": childs_hold}),
    ),
    "book:link": (Case("", ANYONE_WITH_THE_LINK, {"token": _childs_link(Purpose.VIEW)}),),
    "book:link_ics": (Case("", ANYONE_WITH_THE_LINK, {"token": _childs_link(Purpose.VIEW)}),),
    "book:link_cancel": (
        Case("", ANYONE_WITH_THE_LINK, {"token": _childs_link(Purpose.CANCEL)}),
        Case(
            "with a move link",
            expect(others=NOT_FOUND, anonymous=NOT_FOUND),
            {"token": _childs_link(Purpose.MOVE)},
        ),
    ),
    "book:link_move": (Case("", ANYONE_WITH_THE_LINK, {"token": _childs_link(Purpose.MOVE)}),),
    "book:link_move_confirm": (
        Case(
            "to the child's hold",
            ANYONE_WITH_THE_LINK,
            {"token": _childs_link(Purpose.MOVE), "hold": childs_hold},
        ),
    ),
    # ---- call-centre console (console:*) ----
    # Who answers the phone: operators, and the registrars, managers and administrators who stand in for them.
    # The role is checked first (403 for dentists, assistants and patients), then the caller or visit (404).
    # An empty form is bad input (400) for those who get that far.
    "console:home": (Case("", expect(FRONT_DESK)),),
    "console:search": (Case("", expect(FRONT_DESK)),),
    "console:register": (
        Case("the form", expect(FRONT_DESK)),
        Case("an empty form", expect(FRONT_DESK, allowed=Outcome(400)), method="post"),
    ),
    "console:card": on_patients(
        own=expect(FRONT_DESK), shared=expect(FRONT_DESK), foreign=expect(FRONT_DESK, allowed=NOT_FOUND)
    ),
    "console:options": on_patients(
        own=expect(FRONT_DESK, allowed=Outcome(400)),
        shared=expect(FRONT_DESK, allowed=Outcome(400)),
        foreign=expect(FRONT_DESK, allowed=NOT_FOUND),
    ),
    "console:book": on_patients(
        own=expect(FRONT_DESK, allowed=Outcome(400)),
        shared=expect(FRONT_DESK, allowed=Outcome(400)),
        foreign=expect(FRONT_DESK, allowed=NOT_FOUND),
        method="post",
    ),
    "console:move": (
        Case("the form, for a visit of the clinic", expect(FRONT_DESK), {"pk": the_appointment}),
        Case(
            "an empty choice, for a visit of the clinic",
            expect(FRONT_DESK, allowed=Outcome(400)),
            {"pk": the_appointment},
            "post",
        ),
    ),
    "console:cancel": (
        Case("the form, for a visit of the clinic", expect(FRONT_DESK), {"pk": the_appointment}),
        Case(
            "no reason, for a visit of the clinic",
            expect(FRONT_DESK, allowed=Outcome(400)),
            {"pk": the_appointment},
            "post",
        ),
    ),
    # ---- reception desk and dentist's day (desk:*) ----
    # The day board: all staff of the clinic. Its tools (find the patient, walk-ins, emergencies): who stands
    # at the desk, the same as the registry's editors. Moving and marking follow the appointment steps (as the
    # API's). Patients get 403: these are staff pages. An empty form is bad input: 400 for who may send it.
    "desk:board": (Case("", expect(STAFF)),),
    "desk:find_patient": (Case("", expect(EDITORS)),),
    "desk:walk_in": (Case("empty form", expect(EDITORS, allowed=Outcome(400)), method="post"),),
    "desk:emergency": (Case("empty form", expect(EDITORS, allowed=Outcome(400)), method="post"),),
    "desk:overbook": (Case("empty form", expect(EDITORS, allowed=Outcome(400)), method="post"),),
    "desk:move": (
        Case(
            "of a patient of the clinic, no time given",
            expect(FRONT_DESK, allowed=Outcome(400)),
            {"pk": the_appointment},
            "post",
        ),
    ),
    "desk:arrive": (
        Case(
            "of a patient of the clinic",
            expect(EDITORS, allowed=redirect("desk:board")),
            {"pk": the_appointment},
            "post",
            data={"identity": "birth_date"},
        ),
    ),
    "desk:noshow": (
        Case(
            "of a patient of the clinic, no reason given",
            expect(EDITORS, allowed=Outcome(400)),
            {"pk": the_appointment},
            "post",
        ),
    ),
    "desk:cancel": (
        Case(
            "of a patient of the clinic, no reason given",
            expect(FRONT_DESK, allowed=Outcome(400)),
            {"pk": the_appointment},
            "post",
        ),
    ),
    "desk:fulfil": (
        Case(
            "an arrived patient of the dentist",
            expect({ADMINISTRATOR, DENTIST, ASSISTANT}, allowed=redirect("desk:board")),
            {"pk": arrived_appointment},
            "post",
        ),
    ),
    "desk:transfer": (
        Case(
            "of a patient of the clinic, no patient number or reason given",
            expect(EDITORS, allowed=Outcome(400)),
            {"pk": the_appointment},
            "post",
        ),
    ),
    # The dentist's own day: dentists and their assistants.
    "desk:my_day": (Case("", expect({DENTIST, ASSISTANT})),),
    "desk:my_day_fulfil": (
        Case(
            "an arrived patient of the dentist",
            expect({DENTIST, ASSISTANT}, allowed=redirect("desk:my_day")),
            {"pk": arrived_appointment},
            "post",
        ),
    ),
    # ---- calendars and language (calendar:*) ----
    # A dentist's (or his assistant's) own feed; his page is his alone, a patient is not staff (403).
    "calendar:mine": (Case("", expect({DENTIST, ASSISTANT})),),
    "calendar:create": (Case("", expect({DENTIST, ASSISTANT}), method="post"),),
    "calendar:revoke": (
        Case("", expect({DENTIST, ASSISTANT}, allowed=redirect("calendar:mine")), method="post"),
    ),
    # The feed needs no session: the secret address is the key, whoever holds it. Revoked: as if never made.
    "calendar:feed": (
        Case("a live feed", expect(EVERYONE, anonymous=OK), {"token": dentists_feed}),
        Case("a revoked feed", expect(others=NOT_FOUND, anonymous=NOT_FOUND), {"token": revoked_feed}),
    ),
    # The language switch: everyone; a signed-in patient's choice is also kept as his preferred language.
    "language": (
        Case(
            "",
            expect(EVERYONE, allowed=redirect("home"), anonymous=redirect("home")),
            method="post",
            data={"language": "ru", "next": "/"},
        ),
    ),
    # ---- staff pages of messages (console:calls, messages:*) ----
    # The role is checked first (403), then the call, reply or delivery among the clinic's (404); an empty
    # form is bad input (400) for who gets that far.
    "console:calls": (Case("", expect(MESSAGE_DESK)),),
    "console:call_outcome": (
        Case(
            "no outcome, a call of the clinic",
            expect(MESSAGE_DESK, allowed=Outcome(400)),
            {"pk": a_call_to_make},
            "post",
        ),
    ),
    "messages:home": (
        Case(
            "",
            expect(
                MESSAGE_DESK | MESSAGE_SETUP,
                allowed=redirect("messages:inbox"),
                administrator=redirect("messages:deliveries"),
                manager=redirect("messages:deliveries"),
            ),
        ),
    ),
    "messages:inbox": (Case("", expect(MESSAGE_DESK)),),
    "messages:reply": (
        Case(
            "no step, a reply to the clinic",
            expect(MESSAGE_DESK, allowed=Outcome(400)),
            {"pk": a_reply},
            "post",
        ),
    ),
    "messages:templates": (Case("", expect(MESSAGE_SETUP)),),
    "messages:template_edit": (Case("reminder by SMS in Russian", expect(MESSAGE_SETUP), REMINDER_SMS_RU),),
    "messages:template_preview": (
        Case("no message named", expect(MESSAGE_SETUP, allowed=Outcome(400)), method="post"),
    ),
    "messages:template_reset": (
        Case(
            "reminder by SMS in Russian",
            expect(MESSAGE_SETUP, allowed=redirect("messages:template_edit")),
            REMINDER_SMS_RU,
            "post",
        ),
    ),
    "messages:deliveries": (Case("", expect(MESSAGE_SETUP)),),
    # Only a failed delivery is sent again: the administrator gets as far as that refusal (409).
    "messages:resend": (
        Case(
            "a delivery that did not fail",
            expect({ADMINISTRATOR}, allowed=Outcome(409)),
            {"pk": a_sent_delivery},
            "post",
        ),
    ),
}


def a_gateway(world: World, user: User | None) -> str:
    return "generic"


# SMS gateways call these with a shared secret, never as a signed-in user: without it everyone gets 403.
RULES = {
    **RULES,
    "notify_hooks:sms-report": (
        Case("no secret", expect(anonymous=FORBIDDEN), {"provider": a_gateway}, "post"),
    ),
    "notify_hooks:sms-inbound": (
        Case("no secret", expect(anonymous=FORBIDDEN), {"provider": a_gateway}, "post"),
    ),
}


def a_webhook_secret(world: World, user: User | None) -> str:
    return "not-the-secret"


# Telegram and web push (N3). The bot's webhook exists only with a token and a secret (the matrix runs
# without: 404 for everyone). A patient's deep link needs the bot (404 without); the service worker is
# public; a patient's subscription without a body is bad input (400, JSON), anybody else's is 403.
RULES = {
    **RULES,
    "telegram:webhook": (
        Case(
            "Telegram off",
            expect(others=NOT_FOUND, anonymous=NOT_FOUND),
            {"secret": a_webhook_secret},
            "post",
        ),
    ),
    "telegram:link": (
        Case("Telegram off", expect({PATIENT}, allowed=NOT_FOUND, anonymous=PATIENT_LOGIN), method="post"),
    ),
    "telegram:unlink": (
        Case(
            "",
            expect({PATIENT}, allowed=redirect("book:mine"), anonymous=PATIENT_LOGIN),
            method="post",
        ),
    ),
    "push:service_worker": (Case("", expect(EVERYONE, anonymous=OK)),),
    **{
        f"push:{name}": (
            Case("no body", expect({PATIENT}, allowed=Outcome(400), anonymous=FORBIDDEN), method="post"),
        )
        for name in ("subscribe", "unsubscribe")
    },
}

# --- The waitlist (waitlist:*) ----------------------------------------------------------------------------


def no_such_offer(world: World, user: User | None) -> str:
    return "no-such-offer"


def the_patient(world: World, user: User | None) -> int:
    return world.patient.pk


RULES = {
    **RULES,
    # The offer's link works without signing in; an unknown one is 404 for everybody.
    "waitlist:offer": (
        Case("unknown link", expect(others=NOT_FOUND, anonymous=NOT_FOUND), {"token": no_such_offer}),
    ),
    "waitlist:offers": (Case("", expect(FRONT_DESK)),),
    "waitlist:join": (Case("", FAMILY),),
    "waitlist:join_for": (Case("a patient of the clinic", expect(FRONT_DESK), {"patient": the_patient}),),
    "waitlist:earlier": (
        Case("of the signed-in patient's child", FAMILY, {"pk": childs_appointment}, "post"),
        Case(
            "of a patient of the clinic",
            expect(others=FORBIDDEN, anonymous=PATIENT_LOGIN, patient=NOT_FOUND),
            {"pk": the_appointment},
            "post",
        ),
    ),
}

# URLs the matrix does not try, and why.
SKIPPED_NAMESPACES = {"admin": "Django's admin: its own permission checks (roles.py gives the permissions)"}
SKIPPED_NAMES = {"set_language": "Django's language switch (i18n/): no data, every visitor may use it"}

# --- Reports for managers ---------------------------------------------------------------------------------

RULES = {
    **RULES,
    # Pseudonymous evidence only (accounts.suspicious): the manager and the administrator.
    "suspicious_report": (Case("", expect({ADMINISTRATOR, MANAGER})),),
    # Extra visits and overtime per dentist and day (booking.overbooking): counts only, no patients.
    "overtime_report": (Case("", expect({ADMINISTRATOR, MANAGER})),),
}
