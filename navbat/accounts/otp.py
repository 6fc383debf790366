"""One-time codes: a patient proves he holds a phone, to sign in or to register himself online.

A code is 6 random digits, valid NAVBAT_OTP_TTL_SECONDS (5 minutes), for NAVBAT_OTP_MAX_TRIES (3) tries;
only a keyed hash of it is stored. How many codes may be asked for is limited per phone and per client
address, per hour and per day (NAVBAT_OTP_LIMITS), with counters in Django's cache.

Nothing here tells a visitor whether a phone is registered: a sign-in code for a phone nobody may sign in
with is "asked for" like any other — same limits, same page, same answers to every code typed — it just
never leaves the building.

Sign-in and self-registration build on a verified phone (`VerifiedPhone`, returned by `verify_code`):
`sign_in_choices`, `sign_in` and `register_self`.
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from navbat.accounts import ratelimits
from navbat.accounts.access import Role
from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction, OneTimeCode, OtpPurpose
from navbat.accounts.services import assign_role
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.notify.services import record_otp
from navbat.patients.errors import PatientErrorCode
from navbat.patients.models import Patient
from navbat.patients.selectors import registry
from navbat.patients.services import PatientData, normalize_phone, register_patient

CODE_DIGITS = 6
# Challenges are kept this long after they expire (evidence for the suspicious-activity report), then purged.
KEEP_FOR = timedelta(days=30)
HOUR = 3600
DAY = 86400


class OtpErrorCode(StrEnum):
    RATE_LIMITED = "otp_rate_limited"
    EXPIRED = "otp_expired"
    WRONG = "otp_wrong"
    USED = "otp_used"
    LOCKED = "otp_locked"
    ADULTS_ONLY = "adults_only"
    NOT_ON_PHONE = "not_on_phone"


@dataclass(frozen=True)
class OtpChallenge:
    """A code was asked for. The id goes back to the visitor (in his session); the code only to the phone."""

    id: uuid.UUID
    purpose: OtpPurpose
    phone: str
    clinic_id: int
    expires_at: datetime


@dataclass(frozen=True)
class VerifiedPhone:
    """The person holds `phone`: he typed the code sent to it. Good for `ttl()` after `verified_at`."""

    challenge_id: uuid.UUID
    purpose: OtpPurpose
    phone: str
    clinic_id: int
    verified_at: datetime


def ttl() -> timedelta:
    return timedelta(seconds=settings.NAVBAT_OTP_TTL_SECONDS)


# Asking for a code --------------------------------------------------------------------------------------


def request_code(
    *,
    phone: str,
    purpose: OtpPurpose | str,
    ip: str | None,
    clinic: Clinic,
    language: str | None = None,
    now: datetime | None = None,
) -> OtpChallenge:
    """Send a code to `phone` for signing in or registering at `clinic`.

    Refuses a bad phone number (bad_phone) and too many requests for the phone or from the address
    (otp_rate_limited, with `retry_after` in seconds). A sign-in code goes out only when an adult patient of
    the clinic's registry has this phone; the caller cannot tell. The SMS is in the patient's language,
    else in `language` (the page's)."""
    now = now or timezone.now()
    purpose = OtpPurpose(purpose)
    e164 = normalize_phone(phone, clinic=clinic)
    if not e164:
        raise DomainError(PatientErrorCode.BAD_PHONE, _("This is not a valid phone number."))
    _take_rate_limits(phone=e164, ip=ip, now=now)
    deliver = True
    if purpose == OtpPurpose.LOGIN:
        adults = adults_on_phone(clinic=clinic, phone=e164, today=now.astimezone(clinic.tz).date())
        deliver = bool(adults)
        language = adults[0].preferred_language if adults else language
    code = new_code()
    challenge_id = uuid.uuid4()
    with transaction.atomic():
        OneTimeCode.objects.filter(created_at__lt=now - KEEP_FOR).delete()
        row = OneTimeCode.objects.create(
            public_id=challenge_id,
            purpose=purpose,
            clinic=clinic,
            phone=e164,
            code_hash=_hash(challenge_id, code),
            delivered=deliver,
            tries_left=settings.NAVBAT_OTP_MAX_TRIES,
            created_at=now,
            expires_at=now + ttl(),
            requested_from=ip or None,
        )
        if deliver:
            # Through the outbox, sent at once after the commit (and retried by the worker if the gateway
            # fails); the text with the code is kept only in the delivery.
            language = language or settings.LANGUAGE_CODE
            record_otp(
                clinic=clinic,
                phone=e164,
                text=code_message(code, language=language),
                key=f"otp:{challenge_id}",
                language=language,
            )
    return OtpChallenge(
        id=challenge_id, purpose=purpose, phone=e164, clinic_id=clinic.pk, expires_at=row.expires_at
    )


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_message(code: str, *, language: str) -> str:
    """The SMS: the code, its life, and the warning never to give it to anyone."""
    minutes = max(1, settings.NAVBAT_OTP_TTL_SECONDS // 60)
    with translation.override(language):
        return ngettext(
            "%(code)s is your navbat code. It is valid for %(minutes)d minute. Never tell it to anyone: "
            "the clinic will never ask you for this code; fraudsters posing as the clinic do.",
            "%(code)s is your navbat code. It is valid for %(minutes)d minutes. Never tell it to anyone: "
            "the clinic will never ask you for this code; fraudsters posing as the clinic do.",
            minutes,
        ) % {"code": code, "minutes": minutes}


# Checking a code ----------------------------------------------------------------------------------------


def verify_code(
    *, challenge_id: uuid.UUID | str, code: str, ip: str | None, now: datetime | None = None
) -> VerifiedPhone:
    """The phone of the challenge is verified when `code` is its code, typed in time, within its tries.

    Refusals: otp_wrong (with `tries_left`; the last wrong try kills the challenge), otp_locked (no tries
    left), otp_expired (too late, or no such challenge), otp_used (already verified once)."""
    now = now or timezone.now()
    typed = "".join(code.split()).replace("-", "")
    try:
        public_id = challenge_id if isinstance(challenge_id, uuid.UUID) else uuid.UUID(str(challenge_id))
    except ValueError:
        raise _expired() from None
    with transaction.atomic():
        row = OneTimeCode.objects.select_for_update().filter(public_id=public_id).first()
        refusal = _refusal(row, now)
        if row is not None and refusal is None:
            if constant_time_compare(row.code_hash, _hash(public_id, typed)):
                row.used_at = now
                row.verified_from = ip or None
                row.save(update_fields=["used_at", "verified_from"])
            else:
                row.tries_left -= 1
                row.save(update_fields=["tries_left"])
                refusal = _wrong(row.tries_left)
    # Raised after the transaction, so that the spent try stays spent.
    if refusal is not None or row is None:
        raise refusal or _expired()
    return _verified(row)


def verified_phone(*, challenge_id: uuid.UUID | str, now: datetime | None = None) -> VerifiedPhone:
    """A challenge verified earlier (in a previous request), if it was verified less than `ttl()` ago."""
    now = now or timezone.now()
    try:
        public_id = uuid.UUID(str(challenge_id))
    except ValueError:
        raise _expired() from None
    row = OneTimeCode.objects.filter(public_id=public_id, used_at__gt=now - ttl()).first()
    if row is None:
        raise _expired()
    return _verified(row)


def _refusal(row: OneTimeCode | None, now: datetime) -> DomainError | None:
    if row is None:
        return _expired()
    if row.used_at is not None:
        return DomainError(OtpErrorCode.USED, _("This code has already been used. Ask for a new one."))
    if row.tries_left <= 0:
        return DomainError(
            OtpErrorCode.LOCKED, _("Too many wrong codes were typed for this one. Ask for a new code.")
        )
    if now >= row.expires_at:
        return _expired()
    return None


def _expired() -> DomainError:
    return DomainError(OtpErrorCode.EXPIRED, _("This code has expired. Ask for a new one."))


def _wrong(tries_left: int) -> DomainError:
    if tries_left <= 0:
        message = str(_("The code is wrong, and no tries are left. Ask for a new code."))
    else:
        message = ngettext(
            "The code is wrong. You have %(tries)d more try.",
            "The code is wrong. You have %(tries)d more tries.",
            tries_left,
        ) % {"tries": tries_left}
    return DomainError(OtpErrorCode.WRONG, message, tries_left=tries_left)


def _verified(row: OneTimeCode) -> VerifiedPhone:
    assert row.used_at is not None
    return VerifiedPhone(
        challenge_id=row.public_id,
        purpose=OtpPurpose(row.purpose),
        phone=row.phone,
        clinic_id=row.clinic_id,
        verified_at=row.used_at,
    )


def _hash(challenge_id: uuid.UUID, code: str) -> str:
    """Keyed with SECRET_KEY and salted with the challenge: a copy of the table alone reveals no code."""
    return salted_hmac("navbat.accounts.otp", f"{challenge_id}:{code}", algorithm="sha256").hexdigest()


# Rate limits --------------------------------------------------------------------------------------------


def _limits(phone: str, ip: str | None) -> list[ratelimits.Limit]:
    configured: Mapping[str, int] = settings.NAVBAT_OTP_LIMITS
    limits = [
        ratelimits.Limit("phone", phone, HOUR, configured["phone_per_hour"]),
        ratelimits.Limit("phone", phone, DAY, configured["phone_per_day"]),
    ]
    if ip:
        limits += [
            ratelimits.Limit("ip", ip, HOUR, configured["ip_per_hour"]),
            ratelimits.Limit("ip", ip, DAY, configured["ip_per_day"]),
        ]
    return limits


def _take_rate_limits(*, phone: str, ip: str | None, now: datetime) -> None:
    """Count this request against every limit; if one is over, take the request back and refuse.

    Fixed windows (hours and UTC days on the clock) in the cache, counted by accounts.ratelimits.
    `retry_after` is when the last exceeded window ends."""
    ratelimits.take(action="otp", limits=_limits(phone, ip), now=now, refusal=_too_many_codes)


def _too_many_codes(retry_after: int) -> DomainError:
    minutes = math.ceil(retry_after / 60)
    return DomainError(
        OtpErrorCode.RATE_LIMITED,
        ngettext(
            "Too many codes have been asked for. Please try again in %(minutes)d minute.",
            "Too many codes have been asked for. Please try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
        retry_after=retry_after,
    )


# Signing in and registering with a verified phone ------------------------------------------------------


def adults_on_phone(*, clinic: Clinic, phone: str, today: date) -> list[Patient]:
    """Current adult patients of the clinic's registry whose own phone this is, oldest record first."""
    return list(
        registry(clinic)
        .filter(phone=phone, birth_date__lte=_years_before(today, settings.NAVBAT_ADULT_AGE))
        .order_by("pk")
    )


def check_adult(*, birth_date: date, clinic: Clinic, now: datetime | None = None) -> None:
    """Online self-registration is for adults; children are registered by a guardian at the registry."""
    today = (now or timezone.now()).astimezone(clinic.tz).date()
    if birth_date > _years_before(today, settings.NAVBAT_ADULT_AGE):
        raise DomainError(
            OtpErrorCode.ADULTS_ONLY,
            _(
                "Online registration is for adults. A child is registered by a parent or guardian "
                "at the clinic's registry."
            ),
            adult_age=settings.NAVBAT_ADULT_AGE,
        )


def sign_in_choices(*, verified: VerifiedPhone, now: datetime | None = None) -> list[Patient]:
    """Whom the holder of a verified phone may sign in as: the adults whose phone it is."""
    now = now or timezone.now()
    _check_fresh(verified, now, OtpPurpose.LOGIN)
    clinic = Clinic.objects.get(pk=verified.clinic_id)
    return adults_on_phone(clinic=clinic, phone=verified.phone, today=now.astimezone(clinic.tz).date())


def sign_in(*, verified: VerifiedPhone, patient_id: int, actor: Actor, now: datetime | None = None) -> User:
    """The sign-in account of one of `sign_in_choices`, created and linked on his first sign-in."""
    choices = {patient.pk: patient for patient in sign_in_choices(verified=verified, now=now)}
    patient = choices.get(patient_id)
    if patient is None:
        raise DomainError(
            OtpErrorCode.NOT_ON_PHONE,
            _("Nobody can sign in with this phone number online. Please contact the clinic's registry."),
        )
    return account_for(patient=patient, actor=actor)


def register_self(
    *,
    verified: VerifiedPhone,
    data: PatientData,
    consent_version: str,
    actor: Actor,
    now: datetime | None = None,
) -> tuple[Patient, User]:
    """Register the holder of a verified phone as a patient of the clinic he chose, unverified until a
    registrar sees a document, with his consent to the processing of his personal data; and sign him in.

    The registry's refusals pass through (a possible duplicate among them): the page must not show them
    to the public as they are."""
    now = now or timezone.now()
    _check_fresh(verified, now, OtpPurpose.REGISTER)
    clinic = Clinic.objects.get(pk=verified.clinic_id)
    check_adult(birth_date=data.birth_date, clinic=clinic, now=now)
    with transaction.atomic():
        patient = register_patient(
            clinic=clinic,
            data=replace(data, phone=verified.phone),
            actor=actor,
            self_registered=True,
            consent_version=consent_version,
        )
        user = account_for(patient=patient, actor=actor)
    return patient, user


def account_for(*, patient: Patient, actor: Actor) -> User:
    """The patient's sign-in account; on the first sign-in a new one, without a password (he signs in
    with codes) and without personal data (its name is the patient number)."""
    with transaction.atomic():
        locked = Patient.objects.select_for_update(of=("self",)).select_related("user").get(pk=patient.pk)
        if locked.user is not None:
            return locked.user
        users = get_user_model()
        username = locked.number or f"patient-{locked.pk}"
        if users.objects.filter(username=username).exists():
            username = f"patient-{locked.pk}-{secrets.token_hex(3)}"
        user = users.objects.create_user(username=username)
        assign_role(user=user, role=Role.PATIENT)
        Patient.objects.filter(pk=locked.pk).update(user=user, updated_at=timezone.now())
        record(
            actor,
            AuditAction.UPDATE,
            object_type="patient",
            object_id=locked.pk,
            patient_id=locked.pk,
            fields=["user"],
        )
    patient.user = user
    return user


def _check_fresh(verified: VerifiedPhone, now: datetime, purpose: OtpPurpose) -> None:
    if verified.purpose != purpose or now - verified.verified_at > ttl():
        raise _expired()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
