"""Administrators' wording of the clinic's messages: saved only when it is a working template.

A template is checked (rendering.check_template: its syntax, and a trial render against the sample context)
before it is saved; a broken one is refused with the errors and nothing is saved, so that it can never fail
at send time. Resetting removes the clinic's own wording: the built-in one (or the network's) is used again.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import User
from django.db import transaction

from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.notify.models import Kind, MessageTemplate
from navbat.notify.rendering import check_template
from navbat.patients.models import ContactChannel, Language


class WordingErrorCode(StrEnum):
    BROKEN_TEMPLATE = "broken_template"
    UNKNOWN_TEMPLATE = "unknown_template"


def is_template_address(kind: str, channel: str, language: str) -> bool:
    return kind in Kind.values and channel in ContactChannel.values and language in Language.values


def save_template(
    *,
    clinic: Clinic | None,
    kind: str,
    channel: str,
    language: str,
    subject: str,
    body: str,
    user: User | None,
) -> MessageTemplate:
    """Save the clinic's wording (None: every clinic's) if it renders; else DomainError with the errors."""
    errors = check_template(subject=subject, body=body, kind=kind, channel=channel, language=language)
    if errors:
        raise DomainError(WordingErrorCode.BROKEN_TEMPLATE, " ".join(errors), errors=errors)
    with transaction.atomic():
        template, _created = MessageTemplate.objects.select_for_update().update_or_create(
            clinic=clinic,
            kind=kind,
            channel=channel,
            language=language,
            defaults={"subject": subject, "body": body, "updated_by": user},
        )
    return template


def reset_template(*, clinic: Clinic | None, kind: str, channel: str, language: str) -> bool:
    """Remove the clinic's own wording; True if there was one."""
    deleted, _by_model = MessageTemplate.objects.filter(
        clinic=clinic, kind=kind, channel=channel, language=language
    ).delete()
    return deleted > 0
