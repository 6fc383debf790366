from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from navbat.accounts.roles import sync_roles

    sync_roles(using=using)


class AccountsConfig(AppConfig):
    name = "navbat.accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # After every migrate (and every flush of the test database) the role groups match roles.py.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="navbat.accounts.sync_roles")
