"""What the navigation bar may offer the signed-in person, from the access rules."""

from __future__ import annotations

from django.http import HttpRequest

from navbat.accounts.access import (
    Role,
    can_edit_templates,
    can_import,
    can_make_calls,
    can_open_my_day,
    can_read_inbox,
    can_use_calendar_feed,
    can_use_console,
    can_use_registry,
    can_view_deliveries,
    can_view_overtime_report,
    can_view_suspicious_activity,
    role_of,
)


def navigation(request: HttpRequest) -> dict[str, object]:
    if not request.user.is_authenticated:
        return {"nav_role": None}
    role = role_of(request.user)
    return {
        "nav_role": role,
        "nav_staff": role not in (None, Role.PATIENT),
        "nav_registry": can_use_registry(request.user),
        "nav_import": can_import(request.user),
        "nav_patient": role == Role.PATIENT,
        # ---- console flag ----
        "nav_console": can_use_console(request.user),
        "nav_waitlist": can_use_console(request.user),
        "nav_suspicious": can_view_suspicious_activity(request.user),
        "nav_overtime": can_view_overtime_report(request.user),
        # ---- desk flags ----
        "nav_my_day": can_open_my_day(request.user),
        # ---- calendar flag ----
        "nav_calendar": can_use_calendar_feed(request.user),
        # ---- messages flags ----
        "nav_calls": can_make_calls(request.user),
        "nav_inbox": can_read_inbox(request.user),
        "nav_message_setup": can_view_deliveries(request.user) or can_edit_templates(request.user),
    }
