"""The Telegram bot against a local stub of the Bot API: linking by deep link, reminders with buttons, the
buttons' answers, the webhook's secret and long polling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.notify import telegram
from navbat.notify.channels.base import Button, Outgoing, PermanentFailure, TemporaryFailure
from navbat.notify.channels.telegram import TelegramChannel
from navbat.notify.models import InboundMessage, Kind, ReplyAction, TelegramLink, TelegramLinkToken
from navbat.patients.models import ConsentKind, Patient
from tests import factories
from tests.notify.outbox import grant, policy, run_worker
from tests.notify.sent import sent_message
from tests.notify.telegram_stub import TOKEN, BotApiStub, bot_api
from tests.small_clinic import MONDAY, NOW, SmallClinic, at


def said(text: str, language: str = "uz") -> str:
    """What the bot says, in the patient's language (the test patients' default, Uzbek)."""
    with translation.override(language):
        return translation.gettext(text)


TOO_LATE = "This visit can no longer be changed here. Please contact the clinic."
CONFIRMED_TEXT = "Thank you! Your visit is confirmed."
CANCELLED_TEXT = "Your visit is cancelled. Thank you for letting us know: the time is free for others."
CONFIRMED = said(CONFIRMED_TEXT)
CANCELLED = said(CANCELLED_TEXT)

CHAT = 5550001
SECRET = "hook-Secret_123"


@pytest.fixture
def stub(settings: SettingsWrapper) -> Iterator[BotApiStub]:
    with bot_api() as running:
        settings.NAVBAT_TELEGRAM = {
            "TOKEN": TOKEN,
            "BOT_NAME": "navbat_test_bot",
            "API_URL": running.url,
            "WEBHOOK_SECRET": SECRET,
        }
        settings.NAVBAT_PUBLIC_URL = "https://navbat.example"
        yield running


@pytest.fixture
def no_telegram(settings: SettingsWrapper) -> None:
    settings.NAVBAT_TELEGRAM = {"TOKEN": "", "BOT_NAME": "", "API_URL": "", "WEBHOOK_SECRET": ""}


def signed_in(patient: Patient) -> Client:
    user = factories.UserFactory()
    patient.user = user
    patient.save(update_fields=["user"])
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def linked(patient: Patient, chat: int = CHAT) -> TelegramLink:
    return TelegramLink.objects.create(patient=patient, chat_id=chat)


def book(c: SmallClinic, start: datetime, patient: Patient | None = None) -> Appointment:
    return book_appointment(
        patient=patient or c.patient,
        service=c.therapy,
        starts_at=start,
        channel=Channel.PHONE,
        dentist=c.first,
        now=NOW,
    )


def start_update(text: str, *, chat: int = CHAT, update_id: int = 1, language: str = "en") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 7,
            "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": language},
            "chat": {"id": chat, "type": "private"},
            "date": 1700000000,
            "text": text,
        },
    }


def button_update(
    data: str, *, chat: int = CHAT, message_id: int = 101, update_id: int = 2
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": "en"},
            "message": {
                "message_id": message_id,
                "chat": {"id": chat, "type": "private"},
                "date": 1700000000,
                "text": "Reminder: tomorrow at 10:00",
            },
            "chat_instance": "1",
            "data": data,
        },
    }


# --- Linking ---


def test_a_patient_links_his_telegram_by_the_deep_link(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    patient = small_clinic.patient
    patient.preferred_language = "en"
    patient.save(update_fields=["preferred_language"])
    browser = signed_in(patient)

    page = browser.get(reverse("book:mine")).content.decode()
    assert "Get reminders in Telegram" in page
    response = browser.post(reverse("telegram:link"))

    assert response.status_code == 302
    link = urlsplit(response["Location"])
    assert (link.scheme, link.netloc, link.path) == ("https", "t.me", "/navbat_test_bot")
    token = parse_qs(link.query)["start"][0]
    stored = TelegramLinkToken.objects.get(patient=patient)
    assert token not in stored.digest and len(stored.digest) == 64  # only the hash is kept
    assert stored.expires_at - timezone.now() > timedelta(hours=23)

    telegram.handle_update(start_update(f"/start {token}"))

    assert TelegramLink.objects.get(patient=patient).chat_id == CHAT
    answer = stub.of("sendMessage")[-1]
    assert answer["chat_id"] == CHAT and "Reminders of your appointments will come here" in answer["text"]
    page = browser.get(reverse("book:mine")).content.decode()
    assert "Reminders come to your Telegram" in page


def test_a_deep_link_works_once(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    token = telegram.create_link_token(patient=small_clinic.patient)
    telegram.handle_update(start_update(f"/start {token}"))

    telegram.handle_update(start_update(f"/start {token}", chat=CHAT + 1, update_id=2))

    assert list(TelegramLink.objects.values_list("chat_id", flat=True)) == [CHAT]
    assert "not valid or has expired" in stub.of("sendMessage")[-1]["text"]


def test_an_expired_deep_link_links_nothing(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    token = telegram.create_link_token(patient=small_clinic.patient, now=timezone.now() - timedelta(days=2))

    telegram.handle_update(start_update(f"/start {token}"))

    assert not TelegramLink.objects.exists()
    assert "not valid or has expired" in stub.of("sendMessage")[-1]["text"]


def test_stop_unlinks_the_chat(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    linked(small_clinic.patient)

    telegram.handle_update(start_update("/stop"))

    assert not TelegramLink.objects.exists()
    assert said("Reminders will no longer come here.") in stub.of("sendMessage")[-1]["text"]


def test_without_a_token_the_patient_page_offers_no_telegram(
    no_telegram: None, small_clinic: SmallClinic
) -> None:
    browser = signed_in(small_clinic.patient)

    page = browser.get(reverse("book:mine")).content.decode()

    assert "Telegram" not in page
    assert browser.post(reverse("telegram:link")).status_code == 404


def test_only_a_signed_in_patient_gets_a_deep_link(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    response = Client().post(reverse("telegram:link"))

    assert response.status_code == 302 and "/me/" in response["Location"]
    assert not TelegramLinkToken.objects.exists()


# --- Reminders with buttons ---


def test_a_reminder_arrives_with_confirm_cancel_and_move_buttons(
    stub: BotApiStub, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    delivery = sent_message(visit, channel="telegram", address=str(CHAT))

    sent = TelegramChannel().send(
        Outgoing(
            channel="telegram",
            to=str(CHAT),
            text="Reminder: Monday 10:00",
            idempotency_key=delivery.idempotency_key,
            language="en",
            delivery_id=delivery.pk,
        )
    )

    call = stub.of("sendMessage")[-1]
    assert call["chat_id"] == CHAT and call["text"] == "Reminder: Monday 10:00"
    answers, move = call["reply_markup"]["inline_keyboard"]
    assert [button["callback_data"] for button in answers] == [f"c:{delivery.pk}", f"x:{delivery.pk}"]
    assert move[0]["url"].startswith("https://navbat.example/book/a/") and move[0]["url"].endswith("/move/")
    assert sent.provider_id == str(stub.next_message_id) and sent.delivered


def test_buttons_given_by_the_caller_are_used_as_they_are(stub: BotApiStub) -> None:
    TelegramChannel().send(
        Outgoing(
            channel="telegram",
            to=str(CHAT),
            text="Hello",
            idempotency_key="k1",
            buttons=(Button("Yes", "c:9"), Button("Open", "https://navbat.example/x")),
        )
    )

    keyboard = stub.of("sendMessage")[-1]["reply_markup"]["inline_keyboard"]
    assert keyboard == [
        [{"text": "Yes", "callback_data": "c:9"}],
        [{"text": "Open", "url": "https://navbat.example/x"}],
    ]


def test_a_blocked_bot_is_a_permanent_failure_and_unlinks_the_chat(
    stub: BotApiStub, small_clinic: SmallClinic
) -> None:
    linked(small_clinic.patient)
    stub.blocked.add(CHAT)

    with pytest.raises(PermanentFailure):
        TelegramChannel().send(Outgoing(channel="telegram", to=str(CHAT), text="x", idempotency_key="k"))

    assert not TelegramLink.objects.exists()


@pytest.mark.parametrize("status", [429, 500, 502])
def test_rate_limits_and_server_errors_are_tried_again(stub: BotApiStub, status: int) -> None:
    stub.fail_next["sendMessage"] = [status]

    with pytest.raises(TemporaryFailure):
        TelegramChannel().send(Outgoing(channel="telegram", to=str(CHAT), text="x", idempotency_key="k"))


def test_an_unreachable_bot_api_is_tried_again(settings: SettingsWrapper) -> None:
    with bot_api() as stopped:
        url = stopped.url
    settings.NAVBAT_TELEGRAM = {"TOKEN": TOKEN, "BOT_NAME": "b", "API_URL": url, "WEBHOOK_SECRET": ""}

    with pytest.raises(TemporaryFailure):
        TelegramChannel().send(Outgoing(channel="telegram", to=str(CHAT), text="x", idempotency_key="k"))


def test_telegram_off_fails_over_to_the_next_channel(no_telegram: None) -> None:
    with pytest.raises(PermanentFailure):
        TelegramChannel().send(Outgoing(channel="telegram", to=str(CHAT), text="x", idempotency_key="k"))


# --- The buttons' answers ---


def test_the_confirm_button_confirms_and_shows_the_outcome(
    stub: BotApiStub, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    delivery = sent_message(visit, channel="telegram", address=str(CHAT))

    telegram.handle_update(button_update(f"c:{delivery.pk}"))

    visit.refresh_from_db()
    assert visit.status == Status.BOOKED and visit.confirmed_at is not None
    answered = stub.of("answerCallbackQuery")[-1]
    assert answered["callback_query_id"] == "cq2" and CONFIRMED in answered["text"]
    edited = stub.of("editMessageText")[-1]
    assert edited["chat_id"] == CHAT and edited["message_id"] == 101
    assert edited["text"].startswith("Reminder: tomorrow at 10:00") and CONFIRMED in edited["text"]
    assert edited["reply_markup"] == {"inline_keyboard": []}
    reply = InboundMessage.objects.get()
    assert (reply.channel, reply.action, reply.appointment) == ("telegram", ReplyAction.CONFIRM, visit)


def test_the_cancel_button_cancels_and_frees_the_time(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    delivery = sent_message(visit, channel="telegram", address=str(CHAT), kind=Kind.CONFIRMATION)

    telegram.handle_update(button_update(f"x:{delivery.pk}"))

    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert CANCELLED in stub.of("editMessageText")[-1]["text"]
    assert book(c, at(MONDAY, 10), patient=c.other_patient).status == Status.BOOKED


def test_a_button_pressed_twice_acts_once(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    delivery = sent_message(visit, channel="telegram", address=str(CHAT))

    telegram.handle_update(button_update(f"x:{delivery.pk}", update_id=2))
    telegram.handle_update(button_update(f"x:{delivery.pk}", update_id=3))

    assert visit.events.filter(to_status=Status.CANCELLED).count() == 1
    assert CANCELLED in stub.of("answerCallbackQuery")[-1]["text"]


def test_a_button_for_a_visit_that_started_is_left_to_staff(
    stub: BotApiStub, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    delivery = sent_message(visit, channel="telegram", address=str(CHAT))
    Appointment.objects.filter(pk=visit.pk).update(starts_at=timezone.now() - timedelta(minutes=5))

    telegram.handle_update(button_update(f"c:{delivery.pk}"))

    assert said(TOO_LATE) in stub.of("answerCallbackQuery")[-1]["text"]
    reply = InboundMessage.objects.get()
    assert reply.action == ReplyAction.UNKNOWN and reply.handled_at is None and reply.appointment == visit


def test_a_button_from_another_chat_changes_nothing(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    delivery = sent_message(visit, channel="telegram", address=str(CHAT))

    telegram.handle_update(button_update(f"x:{delivery.pk}", chat=CHAT + 1))

    visit.refresh_from_db()
    assert visit.status == Status.BOOKED
    assert "no longer works" in stub.of("answerCallbackQuery")[-1]["text"]
    assert not InboundMessage.objects.exists()


def test_a_text_reply_in_a_linked_chat_is_understood_like_an_sms(
    stub: BotApiStub, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="telegram", address=str(CHAT))

    telegram.handle_update(start_update("Ha", update_id=9))
    telegram.handle_update(start_update("What about parking?", update_id=10))

    visit.refresh_from_db()
    assert visit.confirmed_at is not None
    unknown = InboundMessage.objects.get(action=ReplyAction.UNKNOWN)
    assert unknown.patient == c.patient and unknown.handled_at is None and unknown.external_id == "u10"
    assert (
        said("Thank you, your message has been passed on to the clinic.")
        in stub.of("sendMessage")[-1]["text"]
    )


def test_text_from_an_unlinked_chat_gets_the_way_to_link(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    telegram.handle_update(start_update("hello"))

    assert not InboundMessage.objects.exists()
    assert "Get reminders in Telegram" in stub.of("sendMessage")[-1]["text"]


# --- Webhook and long polling ---


def post_update(
    client: Client, update: dict[str, Any], *, path_secret: str = SECRET, header: str = SECRET
) -> Any:
    return client.post(
        reverse("telegram:webhook", kwargs={"secret": path_secret}),
        data=json.dumps(update),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": header},
    )


def test_the_webhook_handles_an_update_with_the_secret(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    token = telegram.create_link_token(patient=small_clinic.patient)

    response = post_update(Client(), start_update(f"/start {token}"))

    assert response.status_code == 200
    assert TelegramLink.objects.filter(patient=small_clinic.patient, chat_id=CHAT).exists()


@pytest.mark.parametrize(("path_secret", "header"), [(SECRET, "wrong"), ("wrong", SECRET), (SECRET, "")])
def test_the_webhook_refuses_a_wrong_secret(
    stub: BotApiStub, small_clinic: SmallClinic, path_secret: str, header: str
) -> None:
    token = telegram.create_link_token(patient=small_clinic.patient)

    response = post_update(Client(), start_update(f"/start {token}"), path_secret=path_secret, header=header)

    assert response.status_code == 403
    assert not TelegramLink.objects.exists() and stub.calls == []


def test_the_webhook_refuses_what_is_not_json(stub: BotApiStub, db: None) -> None:
    response = Client(headers={"Accept-Language": "en"}).post(
        reverse("telegram:webhook", kwargs={"secret": SECRET}),
        data="{not json",
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )

    assert response.status_code == 400 and b"JSON" in response.content


def test_without_a_webhook_secret_there_is_no_webhook(
    settings: SettingsWrapper, stub: BotApiStub, db: None
) -> None:
    settings.NAVBAT_TELEGRAM = {**settings.NAVBAT_TELEGRAM, "WEBHOOK_SECRET": ""}

    assert post_update(Client(), start_update("/start"), path_secret="x", header="").status_code == 404


def test_set_webhook_registers_the_url_with_the_secret(stub: BotApiStub) -> None:
    call_command("telegram", "--set-webhook", f"https://navbat.example/notify/telegram/{SECRET}/")

    assert stub.of("setWebhook") == [
        {
            "url": f"https://navbat.example/notify/telegram/{SECRET}/",
            "secret_token": SECRET,
            "allowed_updates": ["message", "callback_query"],
        }
    ]


def test_set_webhook_refuses_plain_http(stub: BotApiStub) -> None:
    with pytest.raises(CommandError):
        call_command("telegram", "--set-webhook", "http://navbat.example/hook/")


def test_long_polling_once_handles_the_waiting_updates(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    delivery = sent_message(visit, channel="telegram", address=str(CHAT))
    stub.updates.append(button_update(f"c:{delivery.pk}", update_id=41))

    call_command("telegram", "--once", "--timeout", "0")

    visit.refresh_from_db()
    assert visit.confirmed_at is not None
    assert stub.of("getUpdates")[0]["timeout"] == 0


def test_polling_asks_past_the_updates_it_handled(stub: BotApiStub, small_clinic: SmallClinic) -> None:
    stub.updates.extend([start_update("/start", update_id=41), start_update("/start", update_id=42)])

    offset = telegram.poll_once(timeout=0)
    again = telegram.poll_once(offset=offset, timeout=0)

    assert offset == 43 and again == 43
    assert len(stub.of("sendMessage")) == 2  # the second poll got nothing new


def test_the_command_without_a_token_says_what_to_set(no_telegram: None) -> None:
    with pytest.raises(CommandError, match="NAVBAT_TELEGRAM_TOKEN"):
        call_command("telegram", "--once")


def test_the_bot_answers_in_the_patients_language(
    stub: BotApiStub, small_clinic: SmallClinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Marks every text with the language active when it was translated (the catalogues are merged later).
    monkeypatch.setattr(telegram, "_", lambda text: f"[{translation.get_language()}] {text}")
    patient = small_clinic.patient
    patient.preferred_language = "ru"
    patient.save(update_fields=["preferred_language"])
    token = telegram.create_link_token(patient=patient)

    telegram.handle_update(start_update(f"/start {token}", language="en"))
    telegram.handle_update(start_update("hello", chat=CHAT + 1, update_id=2, language="uz"))
    telegram.handle_update(start_update("hello", chat=CHAT + 2, update_id=3, language="de"))

    texts = [call["text"][:4] for call in stub.of("sendMessage")]
    assert texts == ["[ru]", "[uz]", "[uz]"]  # the patient's choice; else Telegram's language, if ours


def test_the_dispatchers_buttons_name_the_appointment_and_work_too(
    stub: BotApiStub, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="telegram", address=str(CHAT))
    TelegramChannel().send(
        Outgoing(
            channel="telegram",
            to=str(CHAT),
            text="Reminder",
            idempotency_key="k",
            buttons=(
                Button("I will come", f"confirm:{visit.pk}"),
                Button("Another time", f"reschedule:{visit.pk}"),
            ),
        )
    )
    answers, move = stub.of("sendMessage")[-1]["reply_markup"]["inline_keyboard"]
    assert answers == [{"text": "I will come", "callback_data": f"confirm:{visit.pk}"}]
    assert move[0]["url"].startswith("https://navbat.example/book/a/")

    telegram.handle_update(button_update(f"confirm:{visit.pk}", chat=CHAT + 1, update_id=3))
    visit.refresh_from_db()
    assert visit.confirmed_at is None  # not this chat's visit
    telegram.handle_update(button_update(f"confirm:{visit.pk}", update_id=4))
    visit.refresh_from_db()
    assert visit.confirmed_at is not None


def test_where_telegram_cannot_open_our_address_the_move_button_sends_the_link(
    stub: BotApiStub, settings: SettingsWrapper, small_clinic: SmallClinic
) -> None:
    settings.NAVBAT_PUBLIC_URL = "http://127.0.0.1:8000"
    c = small_clinic
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))
    delivery = sent_message(visit, channel="telegram", address=str(CHAT))

    buttons = telegram.buttons_for_delivery(delivery.pk)
    assert [button.data for button in buttons] == [f"c:{delivery.pk}", f"x:{delivery.pk}", f"r:{delivery.pk}"]
    telegram.handle_update(button_update(f"r:{delivery.pk}"))

    sent = stub.of("sendMessage")[-1]
    assert sent["chat_id"] == CHAT and "http://127.0.0.1:8000/book/a/" in sent["text"]
    assert stub.of("answerCallbackQuery")[-1] == {"callback_query_id": "cq2"}
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED


def test_polling_while_a_webhook_is_set_says_how_to_remove_it(stub: BotApiStub) -> None:
    stub.fail_next["getUpdates"] = [409]

    with pytest.raises(CommandError, match="--delete-webhook"):
        call_command("telegram", "--once", "--timeout", "0")


def test_a_reminder_from_the_worker_is_answered_with_its_button(
    stub: BotApiStub, settings: SettingsWrapper, small_clinic: SmallClinic
) -> None:
    """The whole way: booked → the worker sends the reminder through Telegram → the patient taps cancel →
    the time is free for the next person."""
    settings.NAVBAT_NOTIFY_BACKEND = ""
    c = small_clinic
    grant(c.patient, ConsentKind.MESSENGER)
    policy(c.clinic, channels="telegram", reminder_hours="24", confirmation_hours=0)
    linked(c.patient)
    visit = book(c, at(MONDAY, 10))

    run_worker(at(MONDAY, 10) - timedelta(hours=23))

    [reminder] = [call for call in stub.of("sendMessage") if "reply_markup" in call]
    assert reminder["chat_id"] == CHAT
    rows = reminder["reply_markup"]["inline_keyboard"]
    callbacks = [button["callback_data"] for row in rows for button in row if "callback_data" in button]
    links = [button["url"] for row in rows for button in row if "url" in button]
    assert len(callbacks) == 2 and links and links[0].startswith("https://navbat.example/book/a/")
    cancel = callbacks[1]

    telegram.handle_update(button_update(cancel))

    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert book(c, at(MONDAY, 10), patient=c.other_patient).status == Status.BOOKED
