"""The admin of messages: the wording (MessageTemplate) and the clinic's rules (NotifyPolicy).

Both are checked on save as on the staff pages: a template that does not render is refused with the errors
(rendering.check_template), never found broken at send time; the rules must name known channels and whole
hours. Deliveries, replies and call tasks are not here: they are patient data, which the admin's roles may
not see (accounts/roles.py); operators and registrars work with them on their own pages.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from navbat.notify.models import MessageTemplate, NotifyPolicy
from navbat.notify.rendering import check_template
from navbat.patients.models import ContactChannel

MAX_REMINDER_HOURS = 24 * 14


class MessageTemplateForm(forms.ModelForm[MessageTemplate]):
    class Meta:
        model = MessageTemplate
        fields = ["clinic", "kind", "channel", "language", "subject", "body"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        address = {key: data.get(key) for key in ("kind", "channel", "language")}
        if all(address.values()) and "body" in data:
            errors = check_template(
                subject=data.get("subject") or "",
                body=data["body"],
                **address,  # type: ignore[arg-type]
            )
            if errors:
                self.add_error("body", errors)
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin[MessageTemplate]):
    form = MessageTemplateForm
    list_display = ["kind", "channel", "language", "clinic", "updated_at", "updated_by"]
    list_filter = ["kind", "channel", "language", "clinic"]
    readonly_fields = ["updated_at", "updated_by"]
    list_select_related = ["clinic", "updated_by"]

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


def clean_channels(value: str) -> str:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in ContactChannel.values]
    if not names:
        raise forms.ValidationError(_("Name at least one channel."))
    if unknown:
        raise forms.ValidationError(
            _("Unknown channels: %(names)s. Known: %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(ContactChannel.values)}
        )
    if len(set(names)) != len(names):
        raise forms.ValidationError(_("Each channel once."))
    return ",".join(names)


def clean_hours(value: str) -> str:
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not all(part.isdigit() and 0 < int(part) <= MAX_REMINDER_HOURS for part in parts):
        raise forms.ValidationError(
            _("Whole hours between 1 and %(most)s, separated by commas (for example 24,2).")
            % {"most": MAX_REMINDER_HOURS}
        )
    return ",".join(str(hours) for hours in sorted({int(part) for part in parts}, reverse=True))


class NotifyPolicyForm(forms.ModelForm[NotifyPolicy]):
    class Meta:
        model = NotifyPolicy
        fields = [
            "clinic",
            "channels",
            "reminder_hours",
            "confirmation_hours",
            "quiet_from",
            "quiet_until",
            "max_attempts",
        ]

    def clean_channels(self) -> str:
        return clean_channels(self.cleaned_data["channels"])

    def clean_reminder_hours(self) -> str:
        return clean_hours(self.cleaned_data["reminder_hours"])


@admin.register(NotifyPolicy)
class NotifyPolicyAdmin(admin.ModelAdmin[NotifyPolicy]):
    form = NotifyPolicyForm
    list_display = ["clinic", "channels", "reminder_hours", "confirmation_hours", "quiet_from", "quiet_until"]
    list_select_related = ["clinic"]
