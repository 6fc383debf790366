"""The notification interface: send_message hands a message to the configured backend, once per key."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.notify.backends import ConsoleBackend, FileBackend, MemoryBackend, Message
from navbat.notify.services import send_message

PHONE = "+998901234567"
TEXT = "123456 is your navbat code."


@pytest.fixture
def memory(settings: SettingsWrapper) -> list[Message]:
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.MemoryBackend"
    MemoryBackend.clear()
    return MemoryBackend.outbox


def test_send_message_goes_through_the_configured_backend(memory: list[Message]) -> None:
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")

    assert [(m.channel, m.to, m.text, m.idempotency_key) for m in memory] == [("sms", PHONE, TEXT, "otp:1")]


def test_the_same_idempotency_key_is_delivered_once(memory: list[Message]) -> None:
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:2")

    assert [m.idempotency_key for m in memory] == ["otp:1", "otp:2"]


@pytest.mark.parametrize(
    "missing", [{"channel": ""}, {"to": ""}, {"idempotency_key": ""}], ids=["channel", "to", "key"]
)
def test_a_message_without_channel_address_or_key_is_refused(memory: list[Message], missing) -> None:
    arguments = {"channel": "sms", "to": PHONE, "text": TEXT, "idempotency_key": "otp:1"} | missing

    with pytest.raises(ValueError):
        send_message(**arguments)

    assert memory == []


def test_the_logs_name_the_event_but_never_the_address_or_the_text(
    memory: list[Message], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:42")

    assert "otp:42" in caplog.text
    assert PHONE not in caplog.text
    assert "123456" not in caplog.text


def test_the_console_backend_prints_a_marked_block_to_stdout(
    settings: SettingsWrapper, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.ConsoleBackend"

    with caplog.at_level(logging.DEBUG):
        send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:console-1")
        send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:console-1")

    printed = capsys.readouterr().out
    assert "navbat DEV MESSAGE" in printed
    assert printed.count(TEXT) == 1  # the retry did not print again
    assert PHONE in printed
    assert TEXT not in caplog.text


def test_the_console_backend_can_write_to_another_stream(tmp_path: Path) -> None:
    target = tmp_path / "console.txt"
    with target.open("w") as stream:
        ConsoleBackend(stream).send(Message(channel="sms", to=PHONE, text=TEXT, idempotency_key="k"))

    assert TEXT in target.read_text()


def test_the_file_backend_appends_one_json_line_per_message_once_per_key(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox" / "messages.jsonl"
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.FileBackend"
    settings.NAVBAT_NOTIFY_FILE = outbox

    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")
    send_message(channel="sms", to=PHONE, text="второе сообщение", idempotency_key="otp:2")

    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [(line["to"], line["text"], line["idempotency_key"]) for line in lines] == [
        (PHONE, TEXT, "otp:1"),
        (PHONE, "второе сообщение", "otp:2"),
    ]
    assert [m.text for m in FileBackend(outbox).messages()] == [TEXT, "второе сообщение"]
