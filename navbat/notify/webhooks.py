"""Where SMS gateways call us: delivery reports and patients' incoming SMS.

POST /notify/hooks/sms/<provider>/report/   a delivery report (generic, eskiz, smsru)
POST /notify/hooks/sms/<provider>/inbound/  an incoming SMS (generic: {"from", "text", "id"})

Gateways cannot sign in: every call carries the shared secret NAVBAT_SMS["WEBHOOK_TOKEN"] as `?token=` in
the URL (report_url() in channels/sms.py builds it; Eskiz and SMS.ru call a bare URL), or as an
`X-Navbat-Token` or bearer header. Without a configured secret every call is refused. Wrong secret: 403;
a body that is not the provider's report: 400; a report for a message we never sent: 404 (a gateway then
tries again later — the report may have overtaken the worker). Answers are JSON {"code", "message"}, except
SMS.ru's, which wants the text "100" or it repeats the call. Nothing here logs a number or a text.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import phonenumbers
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from navbat.notify import reports
from navbat.notify.channels.sms import sms_settings
from navbat.notify.replies import receive_reply
from navbat.patients.models import ContactChannel


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _token_ok(request: HttpRequest) -> bool:
    expected = str(sms_settings().get("WEBHOOK_TOKEN") or "")
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    given = (
        request.GET.get("token")
        or request.headers.get("X-Navbat-Token")
        or (header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else "")
    )
    return hmac.compare_digest(given.encode(), expected.encode())


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise reports.BadReport("not JSON") from None


def _body(request: HttpRequest) -> Any:
    """JSON, or a form as a flat dict (Eskiz may post either)."""
    if request.content_type == "application/json":
        return _json_body(request)
    return {name: values[-1] for name, values in _form(request).items()}


def _form(request: HttpRequest) -> dict[str, list[str]]:
    try:
        return parse_qs(request.body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise reports.BadReport("not UTF-8") from None


PARSERS: dict[str, Callable[[HttpRequest], list[reports.Report]]] = {
    "generic": lambda request: reports.parse_generic(_json_body(request)),
    "eskiz": lambda request: reports.parse_eskiz(_body(request)),
    "smsru": lambda request: reports.parse_smsru(_form(request)),
}


def _guard(request: HttpRequest, provider: str, known: set[str] | dict[str, Any]) -> JsonResponse | None:
    if provider not in known:
        return _error(404, "unknown_provider", _("This gateway is not known here."))
    if not _token_ok(request):
        return _error(403, "wrong_token", _("The gateway's secret token is missing or wrong."))
    return None


@csrf_exempt
@require_POST
def sms_report(request: HttpRequest, provider: str) -> HttpResponse:
    refused = _guard(request, provider, PARSERS)
    if refused is not None:
        return refused
    try:
        found = PARSERS[provider](request)
    except reports.BadReport:
        return _error(400, "bad_report", _("This is not a delivery report this gateway sends."))
    matched = [reports.record_delivery_report(report=report) for report in found]
    if provider == "smsru":
        # SMS.ru repeats a call until it reads "100"; a report for an unknown id would never match.
        return HttpResponse("100", content_type="text/plain")
    if found and all(delivery is None for delivery in matched):
        return _error(404, "unknown_message", _("No message with this id was sent from here."))
    return JsonResponse({"code": "ok", "recorded": sum(d is not None for d in matched)})


# Gateways whose incoming SMS we understand. Eskiz and SMS.ru send none to a client's URL as far as their
# public API descriptions say; a gateway with a two-way number can speak the generic shape.
INBOUND = {"generic"}


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest, provider: str) -> HttpResponse:
    refused = _guard(request, provider, INBOUND)
    if refused is not None:
        return refused
    try:
        body = _body(request)
    except reports.BadReport:
        body = None
    sender = _e164(body.get("from")) if isinstance(body, dict) else ""
    text = body.get("text") if isinstance(body, dict) else None
    if not sender or not isinstance(text, str):
        return _error(400, "bad_message", _("An incoming SMS needs the sender's number and a text."))
    external_id = str(body.get("id") or "")[:100]
    message = receive_reply(channel=ContactChannel.SMS, sender=sender, text=text, external_id=external_id)
    return JsonResponse({"code": "ok", "handled": message.handled_at is not None})


def _e164(value: object) -> str:
    """The sender as E.164 ("998901234567", "+998 90 123-45-67" → "+998901234567"), or ""."""
    if not isinstance(value, str | int) or not str(value).strip():
        return ""
    raw = str(value).strip()
    candidate = raw if raw.startswith("+") else "+" + raw
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
