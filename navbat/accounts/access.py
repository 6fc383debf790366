"""Who may see what. Every permission question is answered here, never by `if user.role …` in a view."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from navbat.clinic.models import Clinic, StaffMember


def staff_member(user: AbstractBaseUser | AnonymousUser) -> StaffMember | None:
    if not user.is_authenticated:
        return None
    return StaffMember.objects.filter(user_id=user.pk, is_active=True).select_related("clinic").first()


def clinic_for_schedule(user: AbstractBaseUser | AnonymousUser) -> Clinic | None:
    """The clinic whose day board the user may see: his own; any for a superuser; none for others."""
    member = staff_member(user)
    if member is not None:
        return member.clinic
    if getattr(user, "is_superuser", False):
        return Clinic.objects.order_by("pk").first()
    return None
