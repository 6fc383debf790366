"""`{% reminder_options patient %}` on the patient's "My appointments": Telegram and this browser."""

from __future__ import annotations

from typing import Any

from django import template

from navbat.notify.channels.telegram import telegram_config
from navbat.notify.models import TelegramLink
from navbat.notify.push import vapid_keys
from navbat.patients.models import Patient

register = template.Library()


@register.inclusion_tag("notify/patient/_reminders.html", takes_context=True)
def reminder_options(context: template.Context, patient: Patient | None) -> dict[str, Any]:
    config = telegram_config()
    return {
        "patient": patient,
        "csrf_token": context.get("csrf_token"),
        "telegram_on": patient is not None and config is not None and bool(config.bot_name),
        "telegram_linked": patient is not None and TelegramLink.objects.filter(patient=patient).exists(),
        "vapid_public_key": vapid_keys().public_key if patient is not None else "",
    }
