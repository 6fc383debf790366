"""`navbat demo`: build the demo clinic if the database has no clinic yet, and print the staff logins."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from navbat.accounts.api_auth import create_token
from navbat.accounts.models import ApiToken
from navbat.accounts.services import ensure_demo_second_factor
from navbat.clinic.demo import DEMO_PASSWORD, DemoSpec, build_demo_clinic
from navbat.clinic.models import Clinic, StaffMember
from navbat.patients.models import Patient

DEMO_TOKEN = "demo"


class Command(BaseCommand):
    help = "Build a demo dental clinic (generated people only) if the database is empty."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DemoSpec.seed)

    def handle(self, *args: Any, seed: int, **options: Any) -> None:
        clinic = Clinic.objects.order_by("pk").first()
        if clinic is None:
            clinic, _logins = build_demo_clinic(DemoSpec(seed=seed), now=timezone.now())
            self.stdout.write(self.style.SUCCESS(f"Built the demo clinic “{clinic.name}”."))
        else:
            self.stdout.write(f"The database already has a clinic (“{clinic.name}”): left as it is.")
        self.print_logins()

    def print_logins(self) -> None:
        users = get_user_model().objects.filter(username__in=_demo_usernames()).order_by("pk")
        roles = dict(StaffMember.objects.filter(user__in=users).values_list("user_id", "role"))
        self.stdout.write(f"\nDemo staff logins (password for all: {DEMO_PASSWORD}):")
        for user in users:
            role = roles.get(user.pk, "administrator")
            self.stdout.write(f"  {user.get_username():<16} {role}")
        admin = users.filter(username="admin").first()
        if admin is not None:
            second = ensure_demo_second_factor(user=admin)
            self.stdout.write(
                "\nThe administrator signs in with a second factor (demo only: its secret is printed here):\n"
                f"  authenticator key  {second.secret}   (oathtool --totp -b {second.secret})\n"
                f"  or add to an app   {second.uri}\n"
                f"  recovery codes     {' '.join(second.recovery_codes)}"
            )
        operator = users.filter(username="operator").first()
        if operator is not None:
            # A fresh token each run (shown once, stored hashed); the previous demo token is revoked.
            ApiToken.objects.filter(user=operator, name=DEMO_TOKEN, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            _record, token = create_token(user=operator, name=DEMO_TOKEN)
            self.stdout.write(
                f"\nREST API (docs at /api/v1/docs) for the demo operator:\n  Authorization: Bearer {token}"
            )
        patient = Patient.objects.filter(user__isnull=True).exclude(phone="").order_by("pk").first()
        if patient is not None:
            self.stdout.write(
                f"\nPatients sign in at /me/login/ with their phone, e.g. {patient.phone.as_e164};"
                " the one-time code is printed in this terminal (the demo sends no SMS)."
            )
        self.stdout.write("")


def _demo_usernames() -> list[str]:
    return [
        "admin",
        "manager",
        "registrar",
        "operator",
        "therapist1",
        "surgeon1",
        "paediatric1",
        "orthodontist1",
    ]
