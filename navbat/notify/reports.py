"""Delivery reports from SMS gateways: what each gateway posts, read into one shape, and recorded.

The parsers are pure: they turn a gateway's request body into `Report`s or raise `BadReport`. The
webhook views (notify/webhooks.py) check the shared secret and answer; `record_delivery_report` changes the
delivery. A report is matched by the gateway's message id (Delivery.provider_id) and, when the gateway
echoes it, by our idempotency key — a report can overtake the worker that is still recording the id.

Recording is idempotent: "delivered" is final and wins over everything (a late "failed" after it is
ignored, and a "delivered" after a "failed" corrects it, since it is the fact); a repeated report changes
nothing. Interim states ("sent to the operator", "waiting") are accepted and ignored. A "failed" report
hands the message to the recipient's next channel (services.fall_back), as a refused send does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from navbat.notify.models import Delivery, DeliveryStatus
from navbat.notify.services import fall_back
from navbat.patients.models import ContactChannel

WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_ -]{0,39}$")

GENERIC_DELIVERED = {"delivered"}
GENERIC_FAILED = {"failed", "undelivered", "rejected", "expired"}
# Eskiz reports SMPP states, spelled short (DELIVRD) or long (DELIVERED) depending on the route.
ESKIZ_DELIVERED = {"DELIVRD", "DELIVERED"}
ESKIZ_FAILED = {
    "UNDELIV",
    "UNDELIVERED",
    "UNDELIVERABLE",
    "EXPIRED",
    "REJECTD",
    "REJECTED",
    "FAILED",
    "ERROR",
}
# SMS.ru's status codes (sms.ru/api/status): 103 delivered; 104–108 and 150 will never be.
SMSRU_DELIVERED = {"103"}
SMSRU_FAILED = {
    "104": "expired",
    "105": "deleted by the operator",
    "106": "failed in the phone",
    "107": "undelivered",
    "108": "rejected",
    "150": "no route to this number",
}


class BadReport(ValueError):
    """The body is not a report this gateway sends."""


@dataclass(frozen=True)
class Report:
    provider_id: str
    outcome: str  # "delivered", "failed", or "" for an interim state
    reason: str = ""  # fixed words, no personal data
    key: str = ""  # our idempotency key, when the gateway echoes it


# ---- parsers ----------------------------------------------------------------------------------------------


def _text(body: dict[str, Any], *names: str) -> str:
    for name in names:
        value = body.get(name)
        if value not in (None, ""):
            return str(value).strip()[:200]
    return ""


def parse_generic(body: object) -> list[Report]:
    """{"id", "status": "delivered" | "failed" | …, "reason"?, "idempotency_key"?}"""
    if not isinstance(body, dict):
        raise BadReport("not an object")
    provider_id, status = _text(body, "id"), _text(body, "status").lower()
    if not provider_id or not status:
        raise BadReport("id and status are required")
    if status in GENERIC_DELIVERED:
        return [Report(provider_id, "delivered", key=_text(body, "idempotency_key"))]
    if status in GENERIC_FAILED:
        code = _text(body, "reason")
        # Only a short code is kept: a gateway's own sentence may quote the number.
        reason = f"gateway reported {status}" + (f": {code}" if WORD.match(code) else "")
        return [Report(provider_id, "failed", reason, key=_text(body, "idempotency_key"))]
    return [Report(provider_id, "")]


def parse_eskiz(body: object) -> list[Report]:
    """Eskiz posts the message's id (request_id or message_id, or id), our user_sms_id and an SMPP
    status to the callback_url given with each message."""
    if not isinstance(body, dict):
        raise BadReport("not an object")
    provider_id = _text(body, "request_id", "message_id", "id")
    status = _text(body, "status").upper()
    if not provider_id or not status:
        raise BadReport("an id and a status are required")
    key = _text(body, "user_sms_id")
    if status in ESKIZ_DELIVERED:
        return [Report(provider_id, "delivered", key=key)]
    if status in ESKIZ_FAILED:
        return [Report(provider_id, "failed", f"gateway reported {status.lower()}", key=key)]
    return [Report(provider_id, "")]


def parse_smsru(form: dict[str, list[str]]) -> list[Report]:
    """SMS.ru posts up to 100 events as data[0], data[1], …; each is lines: the type ("sms_status"), the
    sms_id, the status code, a Unix time. Other event types are ignored."""
    lines = [value for name, values in form.items() if name.startswith("data[") for value in values]
    if not lines:
        raise BadReport("no data[] entries")
    reports: list[Report] = []
    for entry in lines:
        parts = entry.strip().splitlines()
        if not parts:
            raise BadReport("an empty entry")
        if parts[0].strip() != "sms_status":
            continue
        if len(parts) < 3 or not parts[1].strip() or not parts[2].strip().isdigit():
            raise BadReport("sms_status needs an id and a code")
        provider_id, code = parts[1].strip()[:100], parts[2].strip()
        if code in SMSRU_DELIVERED:
            reports.append(Report(provider_id, "delivered"))
        elif code in SMSRU_FAILED:
            reports.append(Report(provider_id, "failed", f"gateway reported {SMSRU_FAILED[code]}"))
        else:
            reports.append(Report(provider_id, ""))
    return reports


# ---- recording --------------------------------------------------------------------------------------------


def find_sms_delivery(report: Report) -> Delivery | None:
    deliveries = Delivery.objects.filter(channel=ContactChannel.SMS)
    found = deliveries.filter(provider_id=report.provider_id).order_by("-pk").first()
    if found is None and report.key:
        found = deliveries.filter(idempotency_key=report.key).first()
    return found


@transaction.atomic
def record_delivery_report(*, report: Report, now: datetime | None = None) -> Delivery | None:
    """Apply one report; None when no SMS delivery has that id (the gateway may try again later)."""
    found = find_sms_delivery(report)
    if found is None:
        return None
    delivery = Delivery.objects.select_for_update().get(pk=found.pk)
    now = now or timezone.now()
    fields: list[str] = []
    if not delivery.provider_id:
        delivery.provider_id = report.provider_id[:100]
        fields.append("provider_id")
    if report.outcome == "delivered" and delivery.status != DeliveryStatus.DELIVERED:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.sent_at = delivery.sent_at or now
        delivery.reason = ""
        fields += ["status", "delivered_at", "sent_at", "reason"]
    elif report.outcome == "failed" and delivery.status in (
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENDING,
        DeliveryStatus.SENT,
    ):
        delivery.status = DeliveryStatus.FAILED
        delivery.reason = report.reason[:200]
        delivery.lease_until = None
        fields += ["status", "reason", "lease_until"]
    if fields:
        delivery.save(update_fields=[*fields, "updated_at"])
    if "status" in fields and delivery.status == DeliveryStatus.FAILED:
        # The patient did not get it: the next channel takes over, as after a refused send.
        fall_back(delivery, now=now)
    return delivery
