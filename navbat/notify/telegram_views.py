"""Telegram's pages: the bot's webhook, and a signed-in patient's "Get reminders in Telegram" / "Stop".

The webhook answers 404 unless Telegram is set up with a webhook secret, and refuses (403) a request whose
path or X-Telegram-Bot-Api-Secret-Token header does not carry that secret. It answers 200 to every update it
accepted, even one it could not use, so that Telegram does not send it again and again.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from navbat.accounts.access import can_book_online, own_patient, require
from navbat.notify import telegram
from navbat.notify.channels.telegram import telegram_config
from navbat.patients.models import Patient

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1_000_000


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, secret: str) -> HttpResponse:
    config = telegram_config()
    if config is None or not config.webhook_secret:
        raise Http404
    header = request.headers.get(SECRET_HEADER, "")
    expected = config.webhook_secret.encode()
    if not (
        secrets.compare_digest(secret.encode(), expected)
        and secrets.compare_digest(header.encode(), expected)
    ):
        return HttpResponseForbidden(_("This address does not accept this request."))
    if len(request.body) > MAX_UPDATE_BYTES:
        return HttpResponseBadRequest(_("The request is too large."))
    try:
        update = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return HttpResponseBadRequest(_("The request is not valid JSON."))
    if not isinstance(update, Mapping):
        return HttpResponseBadRequest(_("The request is not valid JSON."))
    telegram.handle_update(update)
    return HttpResponse(status=200)


def _patient(request: HttpRequest) -> Patient | HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("book:mine"), reverse("me:login"))
    require(can_book_online(request.user))
    patient = own_patient(request.user)
    require(patient is not None)
    assert patient is not None
    return patient


@never_cache
@require_POST
def link(request: HttpRequest) -> HttpResponse:
    """A new one-time deep link for the signed-in patient: off to Telegram, which opens the bot."""
    patient = _patient(request)
    if isinstance(patient, HttpResponse):
        return patient
    config = telegram_config()
    if config is None or not config.bot_name:
        raise Http404
    token = telegram.create_link_token(patient=patient)
    return redirect(telegram.deep_link(token, config))


@never_cache
@require_POST
def unlink(request: HttpRequest) -> HttpResponse:
    patient = _patient(request)
    if isinstance(patient, HttpResponse):
        return patient
    if telegram.unlink_patient(patient):
        messages.success(request, _("Reminders will no longer come to Telegram."))
    return redirect("book:mine")
