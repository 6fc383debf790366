"""Writing the audit log (DESIGN.md invariant 3). Services call `record`; pages pass who and from where."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from navbat.accounts.middleware import client_ip
from navbat.accounts.models import AuditAction, AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who does something, and from which address: what every audited service needs to know."""

    user: User | None
    ip: str | None = None
    path: str = ""

    @classmethod
    def of(cls, request: HttpRequest) -> Actor:
        user = request.user if not isinstance(request.user, AnonymousUser) else None
        return cls(user=user, ip=client_ip(request), path=request.path[:200])


SYSTEM = Actor(user=None, path="system")


def record(
    actor: Actor,
    action: AuditAction,
    *,
    object_type: str,
    object_id: object = "",
    patient_id: int | None = None,
    fields: Iterable[str] = (),
    note: str = "",
) -> AuditEntry:
    """Append one entry. Field names only — never values: the log must hold no personal data."""
    return AuditEntry.objects.create(
        actor=actor.user,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        patient_id=patient_id,
        fields=sorted(set(fields)),
        ip_address=actor.ip,
        path=actor.path,
        note=note[:300],
    )
