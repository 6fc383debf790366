"""`navbat token`: API tokens for integrations.

navbat token create --user NAME [--name LABEL]   # prints the token once: it is not stored
navbat token list
navbat token revoke ID
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from navbat.accounts.api_auth import create_token, revoke_token
from navbat.accounts.models import ApiToken


class Command(BaseCommand):
    help = "Create, list and revoke REST API tokens (Authorization: Bearer <token>)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="Make a token for a user and print it (once).")
        create.add_argument("--user", required=True, help="The user's username.")
        create.add_argument("--name", default="", help="What the token is for (an integration's name).")
        actions.add_parser("list", help="Every token: id, user, name, created, last used, revoked.")
        revoke = actions.add_parser("revoke", help="Revoke a token by its id: it stops working at once.")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            self.create(options["user"], options["name"])
        elif action == "revoke":
            self.revoke(options["id"])
        else:
            self.list()

    def create(self, username: str, name: str) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"The user {username!r} is not active.")
        record, token = create_token(user=user, name=name)
        self.stderr.write(f"Token #{record.pk} for {username}. It is shown only now; keep it secret:")
        self.stdout.write(token)

    def revoke(self, pk: int) -> None:
        token = ApiToken.objects.filter(pk=pk).first()
        if token is None:
            raise CommandError(f"No token #{pk}.")
        already = token.revoked_at is not None
        token = revoke_token(token=token)
        assert token.revoked_at is not None
        when = _when(token.revoked_at)
        self.stdout.write(
            f"Token #{pk} was already revoked ({when})." if already else f"Revoked token #{pk}."
        )

    def list(self) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("pk")
        self.stdout.write(f"{'id':>5}  {'user':<20} {'name':<24} {'created':<16} {'last used':<16} revoked")
        for token in tokens:
            self.stdout.write(
                f"{token.pk:>5}  {token.user.get_username():<20} {token.name:<24} "
                f"{_when(token.created_at):<16} {_when(token.last_used_at):<16} {_when(token.revoked_at)}"
            )


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else "-"
