"""SMS through an HTTP gateway: a generic JSON protocol, Eskiz.uz (Uzbekistan) and SMS.ru (Russia).

`SmsChannel` is what `NAVBAT_CHANNELS["sms"]` names; it sends through the gateway that settings.NAVBAT_SMS
chooses ({"BACKEND": "generic" | "eskiz" | "smsru", "URL": …, credentials, "TIMEOUT": …}, filled from
NAVBAT_SMS_* environment variables in settings.py).

Each gateway classifies what went wrong and nothing more: a 5xx, a timeout, a refused connection, a rate
limit or refused credentials raise `TemporaryFailure` (the dispatcher retries with backoff, and falls back
after its attempts); a number or a text the gateway will never take raises `PermanentFailure` (the
dispatcher falls back to the next channel at once). Reasons are fixed words, never the gateway's own text,
which may quote the number.

Where the idempotency key goes, so that a retry after a lost answer does not send twice:
- generic: the `idempotency_key` field (and an `Idempotency-Key` header); the protocol requires the gateway
  to answer a repeated key with the first message's id and send nothing.
- Eskiz: `user_sms_id`, Eskiz's field for the client's own message id. Eskiz returns it in delivery reports
  but does not promise to refuse a repeated one, so a send whose answer was lost may go twice.
- SMS.ru: has no field for a client's message id; only its own limit on one text to one number per
  minute catches a quick repeat. The same risk as Eskiz, and the reason the generic protocol exists.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from navbat.notify.channels.base import Outgoing, PermanentFailure, Sent, TemporaryFailure
from navbat.notify.segments import count_segments

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_SEGMENTS = 6


class SmsGateway(Protocol):
    name: str

    def send(self, message: Outgoing) -> Sent: ...


# ---- shared HTTP handling ----------------------------------------------------------------------------------


def _request(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One HTTP call; failures of the network are temporary."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise TemporaryFailure("gateway timeout") from None
    except httpx.TransportError:
        raise TemporaryFailure("gateway unreachable") from None


def _raise_for_status(response: httpx.Response, *, invalid: str = "") -> None:
    """Turns an HTTP error answer into the failure the dispatcher acts on. `invalid`: the reason to give
    for a 4xx that names the number."""
    status = response.status_code
    if status < 400:
        return
    if status >= 500 or status in (408, 425, 429):
        raise TemporaryFailure(f"gateway error (HTTP {status})")
    if status in (401, 403):
        # Wrong or expired credentials: a setting to fix, not the patient's fault. Retrying lets an
        # administrator fix it; after the attempts run out the dispatcher falls back to the next channel.
        raise TemporaryFailure(f"gateway refused our credentials (HTTP {status})")
    raise PermanentFailure(invalid or f"rejected by the gateway (HTTP {status})")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise TemporaryFailure("unreadable gateway answer") from None
    if not isinstance(body, dict):
        raise TemporaryFailure("unreadable gateway answer")
    return body


def _phone(message: Outgoing) -> str:
    if not E164.match(message.to):
        raise PermanentFailure("invalid number")
    return message.to


def _text(message: Outgoing) -> str:
    if not message.text.strip():
        raise PermanentFailure("empty text")
    return message.text


@contextmanager
def _session(timeout: float) -> Iterator[httpx.Client]:
    """One pooled client per thread and timeout: a new TCP (and TLS) connection per SMS costs more than the
    SMS request itself. A client that saw a transport error is dropped, so the next send reconnects."""
    clients: dict[float, httpx.Client] = _local.__dict__.setdefault("clients", {})
    client = clients.get(timeout)
    if client is None or client.is_closed:
        client = clients[timeout] = httpx.Client(timeout=timeout)
    try:
        yield client
    except TemporaryFailure:
        clients.pop(timeout, None)
        client.close()
        raise


_local = threading.local()


# ---- the generic JSON protocol ----------------------------------------------------------------------------


class GenericJsonGateway:
    """POST {"to", "text", "idempotency_key", "report_url"} as JSON with a bearer token; the answer is
    {"id"}. A 4xx answer {"error": "invalid_number"} refuses the number for good."""

    name = "generic"

    def __init__(self, *, url: str, token: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not url:
            raise ImproperlyConfigured("NAVBAT_SMS needs a URL for the generic gateway.")
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, message: Outgoing) -> Sent:
        body = {
            "to": _phone(message),
            "text": _text(message),
            "idempotency_key": message.idempotency_key,
            "report_url": message.report_url,
        }
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": message.idempotency_key}
        with _session(self.timeout) as client:
            response = _request(client, "POST", self.url, json=body, headers=headers)
        _raise_for_status(response, invalid=self._error_code(response))
        provider_id = _json(response).get("id")
        if not provider_id:
            raise TemporaryFailure("gateway answer without an id")
        return Sent(provider_id=str(provider_id))

    @staticmethod
    def _error_code(response: httpx.Response) -> str:
        """The answer's machine code ("invalid_number" → "invalid number"), or "". Only a short code is
        kept: a gateway's own words may quote the number."""
        if not 400 <= response.status_code < 500:
            return ""
        try:
            code = response.json().get("error", "")
        except (ValueError, AttributeError):
            return ""
        return code.replace("_", " ") if isinstance(code, str) and ERROR_CODE.match(code) else ""


# ---- Eskiz.uz ---------------------------------------------------------------------------------------------

_eskiz_tokens: dict[tuple[str, str], str] = {}
_eskiz_lock = threading.Lock()


class EskizGateway:
    """notify.eskiz.uz: POST /api/auth/login (email, password) gives a bearer token valid for 30 days,
    kept in memory and renewed when Eskiz answers 401; POST /api/message/sms/send (mobile_phone as digits
    without "+", message, from, callback_url, user_sms_id) answers {"id", "status": "waiting"}.

    Written from Eskiz's public API description (documenter.getpostman.com/view/663428/RzfmES4z) and
    client libraries; not tried against Eskiz itself here. Eskiz sends only texts its moderators have
    approved: a refused text is a 400, a permanent failure."""

    name = "eskiz"

    def __init__(
        self,
        *,
        email: str,
        password: str,
        url: str = "https://notify.eskiz.uz",
        sender: str = "4546",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not (email and password):
            raise ImproperlyConfigured("NAVBAT_SMS needs EMAIL and PASSWORD for Eskiz.")
        self.url = url.rstrip("/")
        self.email = email
        self.password = password
        self.sender = sender
        self.timeout = timeout

    def send(self, message: Outgoing) -> Sent:
        form = {
            "mobile_phone": _phone(message).removeprefix("+"),
            "message": _text(message),
            "from": self.sender,
            "user_sms_id": message.idempotency_key,
        }
        if message.report_url:
            form["callback_url"] = message.report_url
        with _session(self.timeout) as client:
            response = self._send(client, form, renew=False)
            if response.status_code == 401:  # the token expired or was revoked: log in once more
                response = self._send(client, form, renew=True)
        _raise_for_status(response, invalid=self._refusal(response))
        body = _json(response)
        if str(body.get("status", "")).lower() == "error" or not body.get("id"):
            raise PermanentFailure("rejected by the gateway")
        return Sent(provider_id=str(body["id"]))

    def _send(self, client: httpx.Client, form: dict[str, str], *, renew: bool) -> httpx.Response:
        token = self._token(client, renew=renew)
        return _request(
            client,
            "POST",
            f"{self.url}/api/message/sms/send",
            data=form,
            headers={"Authorization": f"Bearer {token}"},
        )

    def _token(self, client: httpx.Client, *, renew: bool) -> str:
        key = (self.url, self.email)
        with _eskiz_lock:
            if not renew and key in _eskiz_tokens:
                return _eskiz_tokens[key]
        response = _request(
            client,
            "POST",
            f"{self.url}/api/auth/login",
            data={"email": self.email, "password": self.password},
        )
        _raise_for_status(response)
        data = _json(response).get("data")
        token = data.get("token") if isinstance(data, dict) else None
        if not token:
            raise TemporaryFailure("gateway answer without a token")
        with _eskiz_lock:
            _eskiz_tokens[key] = str(token)
        return str(token)

    @staticmethod
    def _refusal(response: httpx.Response) -> str:
        if 400 <= response.status_code < 500 and "mobile_phone" in response.text:
            return "invalid number"
        return ""


def forget_eskiz_tokens() -> None:
    with _eskiz_lock:
        _eskiz_tokens.clear()


# ---- SMS.ru -----------------------------------------------------------------------------------------------

# SMS.ru's answer codes (sms.ru/api/send) that retrying cannot change; the rest (220 service unavailable,
# 230–233 limits, 200/300–302 credentials, 201 no money) may pass, and are retried.
SMSRU_PERMANENT = {
    202: "invalid number",
    203: "empty text",
    204: "sender name not approved",
    205: "text too long",
    207: "no route to this number",
    209: "number in the stop list",
}


class SmsRuGateway:
    """sms.ru: POST /sms/send (api_id, to as digits, msg, json=1, from, test, partner_id) answers
    {"status": "OK", "sms": {<number>: {"status", "status_code", "sms_id"}}}, HTTP 200 even for errors.
    Delivery reports go to the one callback URL set in the SMS.ru account (report_url("smsru") below), not
    per message. Written from SMS.ru's public API page; not tried against SMS.ru itself here."""

    name = "smsru"

    def __init__(
        self,
        *,
        api_id: str,
        url: str = "https://sms.ru",
        sender: str = "",
        test: bool = False,
        partner_id: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not api_id:
            raise ImproperlyConfigured("NAVBAT_SMS needs API_ID for SMS.ru.")
        self.url = url.rstrip("/")
        self.api_id = api_id
        self.sender = sender
        self.test = test
        self.partner_id = partner_id
        self.timeout = timeout

    def send(self, message: Outgoing) -> Sent:
        number = _phone(message).removeprefix("+")
        form = {"api_id": self.api_id, "to": number, "msg": _text(message), "json": "1"}
        if self.sender:
            form["from"] = self.sender
        if self.test:
            form["test"] = "1"
        if self.partner_id:
            form["partner_id"] = self.partner_id
        with _session(self.timeout) as client:
            response = _request(client, "POST", f"{self.url}/sms/send", data=form)
        _raise_for_status(response)
        body = _json(response)
        if body.get("status") != "OK":
            self._fail(body.get("status_code"))
        sms = body.get("sms")
        result = sms.get(number) if isinstance(sms, dict) else None
        if not isinstance(result, dict):
            raise TemporaryFailure("unreadable gateway answer")
        if result.get("status") != "OK" or not result.get("sms_id"):
            self._fail(result.get("status_code"))
        return Sent(provider_id=str(result["sms_id"]))

    @staticmethod
    def _fail(code: object) -> None:
        try:
            number = int(str(code))
        except ValueError:
            raise TemporaryFailure("unreadable gateway answer") from None
        if number in SMSRU_PERMANENT:
            raise PermanentFailure(SMSRU_PERMANENT[number])
        raise TemporaryFailure(f"gateway error (code {number})")


# ---- configuration ----------------------------------------------------------------------------------------


def sms_settings() -> Mapping[str, Any]:
    return getattr(settings, "NAVBAT_SMS", {}) or {}


def gateway_from_settings(config: Mapping[str, Any] | None = None) -> SmsGateway:
    config = sms_settings() if config is None else config
    backend = str(config.get("BACKEND") or "")
    timeout = float(config.get("TIMEOUT") or DEFAULT_TIMEOUT)
    if backend == "generic":
        return GenericJsonGateway(url=config.get("URL", ""), token=config.get("TOKEN", ""), timeout=timeout)
    if backend == "eskiz":
        return EskizGateway(
            url=config.get("URL") or "https://notify.eskiz.uz",
            email=config.get("EMAIL", ""),
            password=config.get("PASSWORD", ""),
            sender=config.get("FROM") or "4546",
            timeout=timeout,
        )
    if backend == "smsru":
        return SmsRuGateway(
            url=config.get("URL") or "https://sms.ru",
            api_id=config.get("API_ID", ""),
            sender=config.get("FROM", ""),
            test=bool(config.get("TEST")),
            partner_id=config.get("PARTNER_ID", ""),
            timeout=timeout,
        )
    raise ImproperlyConfigured(f"NAVBAT_SMS['BACKEND'] must be generic, eskiz or smsru, not {backend!r}.")


def report_url(provider: str) -> str:
    """The absolute address a gateway posts delivery reports to, with the shared secret in it (gateways
    such as Eskiz call a bare URL and cannot add a header). Empty without NAVBAT_SMS["PUBLIC_URL"]."""
    config = sms_settings()
    base = str(config.get("PUBLIC_URL") or "").rstrip("/")
    token = str(config.get("WEBHOOK_TOKEN") or "")
    if not (base and token):
        return ""
    path = reverse("notify_hooks:sms-report", kwargs={"provider": provider})
    return f"{base}{path}?{urlencode({'token': token})}"


class SmsChannel:
    """The "sms" channel: the gateway NAVBAT_SMS configures, with the delivery-report address filled in.

    A text longer than NAVBAT_SMS["MAX_SEGMENTS"] SMS parts (6 by default; segments.py counts them) is not
    sent: it fails permanently and the next channel carries it.

    Without a usable NAVBAT_SMS every message fails permanently, so the dispatcher falls back to the next
    channel; the reason says so on the delivery dashboard and the log names the missing setting."""

    def __init__(self, gateway: SmsGateway | None = None) -> None:
        self._gateway = gateway

    @property
    def gateway(self) -> SmsGateway:
        if self._gateway is None:
            try:
                self._gateway = gateway_from_settings()
            except ImproperlyConfigured as error:
                logger.error("SMS channel: %s", error)
                raise PermanentFailure("SMS gateway is not configured") from None
        return self._gateway

    def send(self, message: Outgoing) -> Sent:
        gateway = self.gateway
        parts = count_segments(message.text).segments
        if parts > int(sms_settings().get("MAX_SEGMENTS") or DEFAULT_MAX_SEGMENTS):
            # A wording that grew too long would cost every patient many SMS: the next channel takes it.
            raise PermanentFailure(f"text too long for SMS ({parts} parts)")
        if not message.report_url and gateway.name != "smsru":
            url = report_url(gateway.name)
            if url:
                message = replace(message, report_url=url)
        return gateway.send(message)
