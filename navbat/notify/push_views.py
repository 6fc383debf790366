"""Web push pages: the service worker at /sw.js, and a signed-in patient's subscribe and unsubscribe.

Subscribe and unsubscribe take JSON from the page's script (push.js), are CSRF-protected like every POST,
and answer JSON: 201/200 with a message, 400 with a message in the patient's language for a body that is
not a browser's subscription, 403 for anybody but a signed-in patient.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from navbat.accounts.access import can_book_online, own_patient
from navbat.notify import push
from navbat.patients.models import Patient

SERVICE_WORKER = Path(__file__).resolve().parent.parent / "static" / "sw.js"
MAX_BODY = 4000


@cache
def _service_worker() -> bytes:
    return SERVICE_WORKER.read_bytes()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from the site's root so that it may control every page (its scope is "/")."""
    response = HttpResponse(_service_worker(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


def _patient(request: HttpRequest) -> Patient | None:
    if not (request.user.is_authenticated and can_book_online(request.user)):
        return None
    return own_patient(request.user)


def _refused(message: object, status: int = 400) -> JsonResponse:
    return JsonResponse({"message": str(message)}, status=status)


def _body(request: HttpRequest) -> object:
    if len(request.body) > MAX_BODY:
        raise push.PushInputError(push.INVALID)
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise push.PushInputError(push.INVALID) from None


@never_cache
@require_POST
def subscribe(request: HttpRequest) -> JsonResponse:
    patient = _patient(request)
    if patient is None:
        return _refused(_("Please sign in as a patient first."), 403)
    try:
        push.subscribe(patient=patient, data=_body(request))
    except push.PushInputError as error:
        return _refused(error.message)
    return JsonResponse({"message": _("Reminders will come to this browser.")}, status=201)


@never_cache
@require_POST
def unsubscribe(request: HttpRequest) -> JsonResponse:
    patient = _patient(request)
    if patient is None:
        return _refused(_("Please sign in as a patient first."), 403)
    try:
        data = _body(request)
        endpoint = data.get("endpoint") if isinstance(data, dict) else None
        push.unsubscribe(patient=patient, endpoint=endpoint)
    except push.PushInputError as error:
        return _refused(error.message)
    return JsonResponse({"message": _("Reminders will no longer come to this browser.")})
