"""`navbat telegram`: the Telegram bot's updates.

navbat telegram                          # long polling: fetch updates and act on them until stopped
navbat telegram --once [--timeout 0]     # one batch (tests, cron)
navbat telegram --set-webhook URL        # webhook mode: Telegram posts to URL (…/notify/telegram/<secret>/)
navbat telegram --delete-webhook         # back to polling
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from navbat.notify import telegram
from navbat.notify.channels.base import DeliveryFailure, TemporaryFailure
from navbat.notify.channels.telegram import TelegramError, telegram_config

RETRY_PAUSE_SECONDS = 5.0
HINTS = {
    401: "Telegram does not know this bot token: check NAVBAT_TELEGRAM_TOKEN.",
    409: "A webhook is set, so updates cannot be polled: remove it with `navbat telegram --delete-webhook`.",
}


class Command(BaseCommand):
    help = "Run the Telegram bot by long polling, or register its webhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Handle one batch of updates and stop.")
        parser.add_argument(
            "--timeout", type=int, default=25, help="Seconds Telegram may hold a poll open (default 25)."
        )
        parser.add_argument("--set-webhook", metavar="URL", help="Register URL as the bot's webhook.")
        parser.add_argument("--delete-webhook", action="store_true", help="Remove the webhook.")

    def handle(self, *args: Any, **options: Any) -> None:
        config = telegram_config()
        if config is None:
            raise CommandError("Telegram is off: set NAVBAT_TELEGRAM_TOKEN (and NAVBAT_TELEGRAM_BOT_NAME).")
        try:
            if options["set_webhook"]:
                self._set_webhook(options["set_webhook"])
            elif options["delete_webhook"]:
                telegram.delete_webhook()
                self.stdout.write("Webhook removed: updates can be fetched by `navbat telegram`.")
            else:
                self._poll(once=options["once"], timeout=max(0, options["timeout"]))
        except TelegramError as error:
            raise CommandError(HINTS.get(error.status, f"Telegram: {error.reason}")) from None
        except DeliveryFailure as failure:
            raise CommandError(f"Telegram: {failure.reason}") from None

    def _set_webhook(self, url: str) -> None:
        if not url.startswith("https://"):
            raise CommandError("Telegram posts only to https:// addresses.")
        try:
            telegram.set_webhook(url)
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        self.stdout.write("Webhook set: Telegram will post updates there.")

    def _poll(self, *, once: bool, timeout: int) -> None:
        offset: int | None = None
        if once:
            telegram.poll_once(offset=offset, timeout=timeout)
            return
        self.stdout.write("Polling Telegram for updates; Ctrl+C stops.")
        try:
            while True:
                try:
                    offset = telegram.poll_once(offset=offset, timeout=timeout)
                except TemporaryFailure as failure:
                    self.stderr.write(f"Telegram: {failure.reason}; trying again shortly.")
                    time.sleep(RETRY_PAUSE_SECONDS)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
