"""Web push (RFC 8030 with VAPID, RFC 8292, and aes128gcm payload encryption, RFC 8291) through pywebpush.

`to` is a PushSubscription's id (navbat.notify.push.push_address). The payload is JSON for static/sw.js:
{"title", "body", "url", "tag"}; the service worker shows it and opens `url` on a click — the first link in
the text (the appointment's signed page), else the patient's "My appointments".

The push service answers 201; 404 or 410 means the browser dropped the subscription: it is deleted and the
failure is permanent (the worker falls back to the next channel). 429, 5xx, timeouts and connection errors are
temporary. The Topic header is derived from the idempotency key, so a retry replaces a copy the push service
still holds instead of adding a second one.
"""

from __future__ import annotations

import hashlib
import json
import re

import requests
from django.urls import reverse
from pywebpush import WebPushException, webpush

from navbat.notify.channels.base import Outgoing, PermanentFailure, Sent, TemporaryFailure
from navbat.notify.models import PushSubscription
from navbat.notify.push import push_ttl, vapid_keys, vapid_subject

TIMEOUT_SECONDS = 10.0
MAX_BODY = 1000  # push services accept about 4 kB encrypted; a reminder is far shorter
_URL = re.compile(r"https?://\S+")


def payload_of(message: Outgoing) -> dict[str, str]:
    urls = _URL.findall(message.text)
    body = _URL.sub("", message.text).strip()
    return {
        "title": message.subject or "navbat",
        "body": re.sub(r"[ \t]+\n", "\n", body)[:MAX_BODY],
        "url": urls[0].rstrip(".,);") if urls else reverse("book:mine"),
        "tag": hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32],
    }


class PushChannel:
    """The "push" channel."""

    def __init__(self, *, session: requests.Session | None = None) -> None:
        self._session = session

    def send(self, message: Outgoing) -> Sent:
        subscription = (
            PushSubscription.objects.filter(pk=int(message.to)).first() if message.to.isdigit() else None
        )
        if subscription is None:
            raise PermanentFailure("the browser is no longer subscribed")
        payload = payload_of(message)
        keys = vapid_keys()
        try:
            response = webpush(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=keys.private_key,
                vapid_claims={"sub": vapid_subject()},
                ttl=push_ttl(),
                timeout=TIMEOUT_SECONDS,
                headers={"Topic": payload["tag"], "Urgency": "high"},
                requests_session=self._session,
            )
        except WebPushException as error:
            status = error.response.status_code if error.response is not None else None
            if status in (404, 410):
                subscription.delete()
                raise PermanentFailure("the browser dropped the subscription") from None
            if status is not None and (status == 429 or status >= 500):
                raise TemporaryFailure(f"push service error {status}") from None
            if status is None:
                raise PermanentFailure("the browser's subscription keys are not valid") from None
            raise PermanentFailure(f"push service refused the message ({status})") from None
        except requests.Timeout:
            raise TemporaryFailure("the push service did not answer in time") from None
        except requests.RequestException:
            raise TemporaryFailure("the push service could not be reached") from None
        location = response.headers.get("Location", "") if isinstance(response, requests.Response) else ""
        # The push service holds the message until the browser comes online: accepted, not yet delivered.
        return Sent(provider_id=location.rsplit("/", 1)[-1][:100], delivered=False)
