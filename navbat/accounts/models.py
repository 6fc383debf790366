"""The audit log: who read or changed which patient's data, when and from where. Append-only."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    VIEW = "view", _("Viewed")
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    MERGE = "merge", _("Merged")
    EXPORT = "export", _("Exported")
    ANONYMISE = "anonymise", _("Anonymised")
    IMPORT = "import", _("Imported")
    SEARCH = "search", _("Searched")
    VERIFY = "verify", _("Identity verified")
    TRANSFER = "transfer", _("Booking transferred")


class AuditEntry(models.Model):
    """One read or change. Values are never stored here, only field names: the log holds no personal data.

    Rows are never updated or deleted: database triggers (migration 0002) refuse it on SQLite and PostgreSQL.
    """

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=12, choices=AuditAction.choices)
    object_type = models.CharField(_("object"), max_length=40)
    object_id = models.CharField(_("object id"), max_length=40, blank=True)
    patient_id = models.BigIntegerField(_("patient id"), null=True, blank=True, db_index=True)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    path = models.CharField(_("page"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["actor", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"


# One-time codes (patients' sign-in and self-registration; see otp.py) ----------------------------------


class OtpPurpose(models.TextChoices):
    LOGIN = "login", _("Sign-in")
    REGISTER = "register", _("Registration")


class OneTimeCode(models.Model):
    """A code sent to a phone to prove that the person holds it. Only a keyed hash of the code is stored,
    never the code; the row keeps its life, its tries and whether it was used (otp.py owns every change)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    purpose = models.CharField(_("purpose"), max_length=10, choices=OtpPurpose.choices)
    clinic = models.ForeignKey(
        "clinic.Clinic", on_delete=models.CASCADE, related_name="+", verbose_name=_("clinic")
    )
    phone = models.CharField(_("phone"), max_length=20)  # E.164
    code_hash = models.CharField(max_length=64, editable=False)
    # False when nobody may sign in with this phone: the visitor sees the same page, but no code is sent.
    delivered = models.BooleanField(_("code sent"), default=False)
    tries_left = models.PositiveSmallIntegerField(_("tries left"))
    created_at = models.DateTimeField(_("created at"), db_index=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    requested_from = models.GenericIPAddressField(_("asked from"), null=True, blank=True)
    verified_from = models.GenericIPAddressField(_("confirmed from"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["phone", "created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


# The REST API: tokens for integrations, and the answers kept for retried requests -------------------------


class ApiToken(models.Model):
    """A bearer token for the REST API (`navbat token create`). Only a SHA-256 hash of the token is stored:
    the token itself is shown once, when it is made. A revoked token stays, so the list says who had one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an `Idempotency-Key`: a retry with the same key and the same
    request gets this answer again instead of doing the work twice (booking a second appointment)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=255)
    method_path = models.CharField(_("request"), max_length=300)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"))
    # The body exactly as first sent (JSON text): a retry gets the same bytes, whatever the database.
    response_body = models.TextField(_("response body"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.method_path} {self.response_status}"
