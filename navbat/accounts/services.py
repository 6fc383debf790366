"""Staff accounts: the role a user works in, and the second factor of a staff sign-in.

Second factors are django-otp devices: an authenticator app (TOTP, RFC 6238) and one-time recovery codes
(a static device). Wrong codes are throttled by django-otp (each failure doubles the wait); the counts are
committed even when the service then refuses, so retrying in a loop does not reset them.
"""

from __future__ import annotations

import math
import re
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from navbat.accounts.access import Role, has_second_factor
from navbat.accounts.errors import AccountErrorCode
from navbat.accounts.roles import ADMIN_SITE_ROLES, sync_roles
from navbat.errors import DomainError

AUTHENTICATOR = "authenticator"
RECOVERY = "recovery codes"
DEMO_AUTHENTICATOR = "demo authenticator"
RECOVERY_CODE_COUNT = 10
TOTP_CODE = re.compile(r"^\d{6}$")


# Roles ------------------------------------------------------------------------------------------------------


def assign_role(*, user: User, role: Role | str) -> None:
    """Put the user in the group of his role (and in no other role's group). Administrators and managers
    reach the admin site (is_staff); other roles do not, unless the account is a superuser's."""
    role = Role(role)
    with transaction.atomic():
        groups = Group.objects.filter(name__in=[r.value for r in Role])
        group = groups.filter(name=role.value).first()
        if group is None:  # a database migrated before roles.py existed
            group = sync_roles()[role]
        user.groups.remove(*groups.exclude(pk=group.pk))
        user.groups.add(group)
        user.is_staff = user.is_superuser or role in ADMIN_SITE_ROLES
        user.save(update_fields=["is_staff"])


# Setting up an authenticator app ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    recovery_codes: list[str]


def start_totp_setup(*, user: User) -> TOTPDevice:
    """The authenticator being set up: unconfirmed (so not yet asked for) until a code from it is entered.
    Reloading the page shows the same secret, so a half-finished set-up can be finished."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    return device


def confirm_totp_setup(*, user: User, token: str) -> Enrolment:
    """The code proves the app holds the secret: the device becomes the user's authenticator (replacing an
    older one, say a lost phone's) and he gets new recovery codes, shown once."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
        )
        refusal = _try(device, token) if device is not None else None
    if device is None:
        raise DomainError(AccountErrorCode.SETUP_EXPIRED, _("The set-up has expired. Please start again."))
    if refusal is not None:
        raise refusal
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.name = AUTHENTICATOR
        device.save(update_fields=["confirmed", "name"])
        codes = new_recovery_codes(user=user)
    return Enrolment(device=device, recovery_codes=codes)


def new_recovery_codes(*, user: User, count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Replace the user's recovery codes: each lets him in once when his phone is not at hand."""
    with transaction.atomic():
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name=RECOVERY, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(count)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def secret_of(device: TOTPDevice) -> str:
    """The secret as people type it into an app: base32 in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# Entering the second factor at sign-in ----------------------------------------------------------------------


def verify_second_factor(*, user: User, token: str) -> Device:
    """The device that accepts `token`: six digits are asked of the authenticator app, anything else of the
    recovery codes (a used recovery code is gone). Raises DomainError: wrong_code, too_many_codes or
    no_second_factor."""
    token = normalise_token(token)
    kind = TOTPDevice if TOTP_CODE.match(token) else StaticDevice
    devices = list(kind.objects.filter(user=user, confirmed=True))
    if not devices and not has_second_factor(user):
        raise DomainError(AccountErrorCode.NO_SECOND_FACTOR, _("Set up a second factor first."))
    refusal = _wrong_code()
    for device in devices:
        with transaction.atomic():
            locked = type(device).objects.select_for_update().get(pk=device.pk)
            refused = _try(locked, token)
        if refused is None:
            return locked
        if refused.code == AccountErrorCode.TOO_MANY_CODES:
            refusal = refused
    raise refusal


def normalise_token(token: str) -> str:
    """Codes as people type them: "123 456", "ab3k-7qzp" → "123456", "ab3k7qzp"."""
    return re.sub(r"[\s-]", "", token).lower()


def _try(device: TOTPDevice | StaticDevice, token: str) -> DomainError | None:
    """None if the device accepts the code; else why not. A device still waiting out earlier wrong codes
    is not asked at all (django-otp's throttling: the wait doubles with each wrong code)."""
    allowed, info = device.verify_is_allowed()
    if not allowed:
        until: datetime | None = (info or {}).get("locked_until")
        seconds = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 60
        return DomainError(
            AccountErrorCode.TOO_MANY_CODES,
            ngettext(
                "Too many wrong codes. Wait %(seconds)d second and try again.",
                "Too many wrong codes. Wait %(seconds)d seconds and try again.",
                seconds,
            )
            % {"seconds": seconds},
            seconds=seconds,
        )
    if device.verify_token(normalise_token(token)):
        return None
    return _wrong_code()


def _wrong_code() -> DomainError:
    return DomainError(AccountErrorCode.WRONG_CODE, _("This code is not right. Please try again."))


# The demo clinic --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSecondFactor:
    """What `navbat demo` prints beside the demo administrator's login."""

    secret: str  # base32: add it to an authenticator app, or `oathtool --totp -b SECRET`
    uri: str  # the otpauth:// address an authenticator app reads from a QR code
    recovery_codes: list[str]


def ensure_demo_second_factor(*, user: User, recovery_codes: int = 5) -> DemoSecondFactor:
    """For the demo clinic only, whose logins are printed for anyone to use: a confirmed authenticator whose
    secret is printed, and unused recovery codes topped up to `recovery_codes`. Idempotent: a second run
    prints the same secret and the codes still unused (plus new ones for those used)."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEMO_AUTHENTICATOR, confirmed=True)
        static, _created = StaticDevice.objects.get_or_create(
            user=user, name=RECOVERY, defaults={"confirmed": True}
        )
        unused = list(static.token_set.order_by("pk").values_list("token", flat=True))
        fresh = [StaticToken.random_token() for _ in range(max(0, recovery_codes - len(unused)))]
        StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in fresh)
    return DemoSecondFactor(
        secret=b32encode(device.bin_key).decode(),
        uri=device.config_url,
        recovery_codes=(unused + fresh)[:recovery_codes],
    )
