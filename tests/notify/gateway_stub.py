"""A real SMS gateway on loopback, for tests: an HTTP server on 127.0.0.1 in a thread.

It speaks three dialects, at three paths:

- the generic JSON protocol (navbat.notify.channels.sms.GenericJsonGateway) at `/send`:
  POST {"to", "text", "idempotency_key", "report_url"} with `Authorization: Bearer <token>` →
  200 {"id"}; a second request with a key it has seen answers the first id and sends nothing (that is the
  protocol's promise); 400 {"error": "invalid_number"} for a number that is not E.164; 401 for a wrong token.
- Eskiz.uz at `/api/auth/login` (email + password → a bearer token) and `/api/message/sms/send`
  (mobile_phone without "+", message, from, callback_url, user_sms_id) → {"id", "status": "waiting"}.
- SMS.ru at `/sms/send` (api_id, to, msg, json=1) → {"status": "OK", "sms": {<number>: {"sms_id"}}}.

Eskiz and SMS.ru promise no de-duplication, so their dialects do not de-duplicate either.

Failures: with `fail_rate` that share of send requests fails, chosen by a seeded random generator, half
of them as a 500 before the message is taken ("error") and half as an answer that comes too late for the
client ("slow": the message IS taken, as by a real gateway whose answer was lost — only the idempotency key
then keeps a retry from sending it twice). `fail_next("error", "slow", "invalid", …)` scripts the next
answers exactly. `accept_seconds` makes taking each message take that long (a gateway under load).

`received` lists the accepted messages, once per idempotency key; `attempts` counts every send request.
`report(id, status)` posts a delivery report to the message's report URL in the dialect it came in.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
DIGITS = re.compile(r"^[1-9]\d{7,14}$")

TOKEN = "stub-gateway-token"
ESKIZ_EMAIL = "clinic@example.uz"
ESKIZ_PASSWORD = "eskiz-secret"
SMSRU_API_ID = "0000AAAA-1111-2222-3333-444455556666"


@dataclass
class ReceivedSms:
    provider: str  # "generic", "eskiz", "smsru"
    id: str
    to: str  # E.164, whatever the dialect sent
    text: str
    idempotency_key: str
    report_url: str
    sender: str = ""
    raw: dict[str, str] = field(default_factory=dict)


class StubGateway:
    def __init__(
        self, *, fail_rate: float = 0.0, seed: int = 5, slow_seconds: float = 1.0, accept_seconds: float = 0.0
    ) -> None:
        self.fail_rate = fail_rate
        self.slow_seconds = slow_seconds
        self.accept_seconds = accept_seconds  # how long taking each message takes (a gateway under load)
        self.token = TOKEN
        self.eskiz_email = ESKIZ_EMAIL
        self.eskiz_password = ESKIZ_PASSWORD
        self.smsru_api_id = SMSRU_API_ID
        self.received: list[ReceivedSms] = []
        self.attempts = 0
        self.logins = 0
        self.failures: list[str] = []  # what each injected failure was
        self._random = random.Random(seed)
        self._scripted: list[str] = []
        self._by_key: dict[str, ReceivedSms] = {}
        self._by_id: dict[str, ReceivedSms] = {}
        self._eskiz_tokens: set[str] = set()
        self._next_id = 1
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits up to one poll
            name="sms-gateway-stub",
            daemon=True,
        )

    # ---- set-up ---------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The generic protocol's send URL."""
        return f"{self.base_url}/send"

    def configure(self, *, fail_rate: float | None = None, seed: int | None = None) -> None:
        if fail_rate is not None:
            self.fail_rate = fail_rate
        if seed is not None:
            self._random = random.Random(seed)

    def fail_next(self, *modes: str) -> None:
        """Answer the next send requests so: "error" (500), "slow" (taken, answered too late),
        "invalid" (400 invalid number), "unavailable" (503), "unauthorized" (401)."""
        with self._lock:
            self._scripted.extend(modes)

    def expire_tokens(self) -> None:
        """Eskiz tokens live 30 days; make the ones handed out so far stop working."""
        with self._lock:
            self._eskiz_tokens.clear()

    def start(self) -> StubGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ---- what happened --------------------------------------------------------------------------------

    def by_id(self, provider_id: str) -> ReceivedSms:
        return self._by_id[provider_id]

    def keys(self) -> list[str]:
        return [message.idempotency_key for message in self.received]

    def report(self, provider_id: str, status: str = "delivered", *, url: str | None = None) -> int:
        """Post a delivery report for one accepted message, as its gateway would; returns the HTTP status.

        `status` is "delivered" or "failed"; each dialect spells it its own way."""
        message = self._by_id[provider_id]
        target = url or message.report_url
        if message.provider == "smsru":
            code = {"delivered": "103", "failed": "107"}.get(status, status)
            line = f"sms_status\n{message.id}\n{code}\n{int(time.time())}"
            return post_form(target, {"data[0]": line})
        if message.provider == "eskiz":
            spelled = {"delivered": "DELIVRD", "failed": "UNDELIV"}.get(status, status)
            return post_json(
                target,
                {
                    "request_id": message.id,
                    "message_id": message.id,
                    "user_sms_id": message.idempotency_key,
                    "status": spelled,
                    "status_date": time.strftime("%Y-%m-%d %H:%M:%S"),
                },
            )
        body: dict[str, str] = {"id": message.id, "status": status}
        if status == "failed":
            body["reason"] = "absent subscriber"
        return post_json(target, body)

    # ---- the server's side ----------------------------------------------------------------------------

    def _failure(self) -> str:
        with self._lock:
            if self._scripted:
                mode = self._scripted.pop(0)
            elif self.fail_rate and self._random.random() < self.fail_rate:
                mode = self._random.choice(["error", "slow"])
            else:
                return ""
            self.failures.append(mode)
            return mode

    def _accept(self, message: ReceivedSms, *, dedupe: bool) -> ReceivedSms:
        if self.accept_seconds:
            time.sleep(self.accept_seconds)
        with self._lock:
            if dedupe and message.idempotency_key in self._by_key:
                return self._by_key[message.idempotency_key]
            message.id = f"{message.provider}-{self._next_id:06d}"
            self._next_id += 1
            self.received.append(message)
            self._by_id[message.id] = message
            if dedupe:
                self._by_key[message.idempotency_key] = message
            return message

    def _new_eskiz_token(self) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._eskiz_tokens.add(token)
            self.logins += 1
        return token

    def _eskiz_token_ok(self, token: str) -> bool:
        with self._lock:
            return token in self._eskiz_tokens


def post_json(url: str, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> int:
    data = json.dumps(body).encode()
    return _post(url, data, {"Content-Type": "application/json", **(headers or {})})


def post_form(url: str, body: dict[str, str]) -> int:
    data = urllib.parse.urlencode(body).encode()
    return _post(url, data, {"Content-Type": "application/x-www-form-urlencoded"})


def _post(url: str, data: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _handler(gateway: StubGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .received instead
            pass

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            routes = {
                "/send": self._generic,
                "/api/auth/login": self._eskiz_login,
                "/api/message/sms/send": self._eskiz_send,
                "/sms/send": self._smsru_send,
            }
            route = routes.get(path)
            if route is None:
                self._answer(404, {"error": "not_found"})
                return
            route()

        # -- parsing and answering

        def _body(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                try:
                    parsed = json.loads(raw or b"{}")
                except ValueError:
                    return {}
                return {str(k): "" if v is None else str(v) for k, v in parsed.items()}
            return {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def _bearer(self) -> str:
            value = self.headers.get("Authorization") or ""
            return value.removeprefix("Bearer ").strip() if value.startswith("Bearer ") else ""

        def _injected(self, mode: str, invalid: dict[str, Any]) -> bool:
            """Answers an injected failure; True when it did. A "slow" one is answered by the caller."""
            if mode == "error":
                self._answer(500, {"error": "internal"})
            elif mode == "unavailable":
                self._answer(503, {"error": "unavailable"})
            elif mode == "invalid":
                self._answer(400, invalid)
            elif mode == "unauthorized":
                self._answer(401, {"message": "Unauthorized"})
            else:
                return False
            return True

        def _late(self, mode: str) -> None:
            if mode == "slow":
                time.sleep(gateway.slow_seconds)

        # -- the generic JSON protocol

        def _generic(self) -> None:
            with gateway._lock:
                gateway.attempts += 1
            if not secrets.compare_digest(self._bearer(), gateway.token):
                self._answer(401, {"error": "unauthorized"})
                return
            body = self._body()
            mode = gateway._failure()
            if self._injected(mode, {"error": "invalid_number"}):
                return
            key = body.get("idempotency_key", "")
            if not E164.match(body.get("to", "")) or not key or not body.get("text"):
                self._answer(400, {"error": "invalid_number" if key else "missing_idempotency_key"})
                return
            message = gateway._accept(
                ReceivedSms(
                    provider="generic",
                    id="",
                    to=body["to"],
                    text=body["text"],
                    idempotency_key=key,
                    report_url=body.get("report_url", ""),
                    raw=body,
                ),
                dedupe=True,
            )
            self._late(mode)
            self._answer(200, {"id": message.id})

        # -- Eskiz.uz

        def _eskiz_login(self) -> None:
            body = self._body()
            if body.get("email") != gateway.eskiz_email or body.get("password") != gateway.eskiz_password:
                self._answer(401, {"message": "Invalid credentials", "status": "error"})
                return
            token = gateway._new_eskiz_token()
            self._answer(
                200, {"message": "token_generated", "data": {"token": token}, "token_type": "bearer"}
            )

        def _eskiz_send(self) -> None:
            with gateway._lock:
                gateway.attempts += 1
            if not gateway._eskiz_token_ok(self._bearer()):
                self._answer(401, {"message": "Expired token", "status": "token-invalid"})
                return
            body = self._body()
            invalid = {"message": {"mobile_phone": ["Invalid phone number"]}, "status": "error"}
            mode = gateway._failure()
            if self._injected(mode, invalid):
                return
            if not DIGITS.match(body.get("mobile_phone", "")) or not body.get("message"):
                self._answer(400, invalid)
                return
            message = gateway._accept(
                ReceivedSms(
                    provider="eskiz",
                    id="",
                    to="+" + body["mobile_phone"],
                    text=body["message"],
                    idempotency_key=body.get("user_sms_id", ""),
                    report_url=body.get("callback_url", ""),
                    sender=body.get("from", ""),
                    raw=body,
                ),
                dedupe=False,
            )
            self._late(mode)
            self._answer(200, {"id": message.id, "message": "Waiting for SMS provider", "status": "waiting"})

        # -- SMS.ru

        def _smsru_send(self) -> None:
            with gateway._lock:
                gateway.attempts += 1
            body = self._body()
            if body.get("api_id") != gateway.smsru_api_id:
                self._answer(
                    200, {"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"}
                )
                return
            mode = gateway._failure()
            number = body.get("to", "")
            invalid = {
                "status": "OK",
                "status_code": 100,
                "sms": {number: {"status": "ERROR", "status_code": 202, "status_text": "Неправильный номер"}},
            }
            if mode == "invalid":
                self._answer(200, invalid)
                return
            if self._injected(mode, invalid):
                return
            if not DIGITS.match(number) or not body.get("msg"):
                self._answer(200, invalid)
                return
            message = gateway._accept(
                ReceivedSms(
                    provider="smsru",
                    id="",
                    to="+" + number,
                    text=body["msg"],
                    idempotency_key="",
                    report_url="",
                    sender=body.get("from", ""),
                    raw=body,
                ),
                dedupe=False,
            )
            self._late(mode)
            self._answer(
                200,
                {
                    "status": "OK",
                    "status_code": 100,
                    "sms": {number: {"status": "OK", "status_code": 100, "sms_id": message.id}},
                    "balance": 100.5,
                },
            )

    return Handler


@contextlib.contextmanager
def sms_gateway(
    *, fail_rate: float = 0.0, seed: int = 5, slow_seconds: float = 1.0, accept_seconds: float = 0.0
) -> Iterator[StubGateway]:
    """A running stub gateway for the duration of the block."""
    gateway = StubGateway(
        fail_rate=fail_rate, seed=seed, slow_seconds=slow_seconds, accept_seconds=accept_seconds
    ).start()
    try:
        yield gateway
    finally:
        gateway.stop()
