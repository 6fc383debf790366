"""A local stand-in for the Telegram Bot API: a real HTTP server on 127.0.0.1 in a thread.

It answers POST /bot<token>/<method> with JSON as Telegram does, records every call (`.calls`), serves
queued updates to getUpdates (honouring `offset`), and can be told to fail: `.fail_next[method] = [status…]`
answers the next calls of that method with those statuses, `.blocked` chats get 403 as when the patient
blocked the bot.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.notify.loopback import serving

TOKEN = "123456:TEST-token"


@dataclass
class Call:
    method: str
    payload: dict[str, Any]


@dataclass
class BotApiStub:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    fail_next: dict[str, list[int]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    next_message_id: int = 100
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, method: str) -> list[dict[str, Any]]:
        return [call.payload for call in self.calls if call.method == method]

    def answer(self, method: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls.append(Call(method, payload))
            failures = self.fail_next.get(method) or []
            if failures:
                status = failures.pop(0)
                return status, {"ok": False, "error_code": status, "description": "stub failure"}
            chat = payload.get("chat_id")
            if chat in self.blocked:
                return 403, {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
            if method == "sendMessage":
                self.next_message_id += 1
                message = {
                    "message_id": self.next_message_id,
                    "chat": {"id": chat},
                    "text": payload.get("text"),
                }
                return 200, {"ok": True, "result": message}
            if method == "getUpdates":
                offset = int(payload.get("offset") or 0)
                batch = [update for update in self.updates if update["update_id"] >= offset]
                return 200, {"ok": True, "result": batch}
            if method == "editMessageText":
                return 200, {
                    "ok": True,
                    "result": {"message_id": payload.get("message_id"), "chat": {"id": chat}},
                }
            if method in {"answerCallbackQuery", "setWebhook", "deleteWebhook"}:
                return 200, {"ok": True, "result": True}
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


def _handler(stub: BotApiStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            prefix = f"/bot{TOKEN}/"
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b"{}"
            if not self.path.startswith(prefix):
                status, answer = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            else:
                status, answer = stub.answer(self.path[len(prefix) :], json.loads(body or b"{}"))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


@contextmanager
def bot_api() -> Iterator[BotApiStub]:
    stub = BotApiStub()
    with serving(_handler(stub)) as url:
        stub.url = url
        yield stub
