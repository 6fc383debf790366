"""Appointments and their history."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from navbat.booking.statuses import ACTIVE_STATUSES, Channel, Status
from navbat.clinic.models import Chair, Clinic, Service, StaffMember
from navbat.patients.models import Patient


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self) -> AppointmentQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def overlapping(self, starts_at: object, ends_at: object) -> AppointmentQuerySet:
        return self.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)


class Appointment(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("clinic")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("patient")
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("service")
    )
    dentist = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("dentist")
    )
    chair = models.ForeignKey(
        Chair, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("chair")
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.BOOKED)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    notes = models.TextField(_("notes"), blank=True)
    # The patient said he will come (a reply to a confirmation request, a button, an operator's call).
    # Cleared when the visit moves: the new time has not been confirmed.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["dentist", "starts_at"]),
            models.Index(fields=["chair", "starts_at"]),
            models.Index(fields=["patient", "starts_at"]),
            models.Index(fields=["clinic", "starts_at"]),
        ]
        # The no-overlap rules live in migration 0002: EXCLUDE USING gist on PostgreSQL; on SQLite the
        # booking service's serialised transaction enforces them.
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} {self.service.code}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class AppointmentEvent(models.Model):
    """One change of an appointment's status: who, when, from → to, and why."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="events", verbose_name=_("appointment")
    )
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    from_status = models.CharField(_("previous status"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("new status"), max_length=20, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment history")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class SlotHold(models.Model):
    """A time kept for one patient for a few minutes while he confirms it online (booking.holds).

    Until `expires_at` every slot search and every booking treats it as busy for the dentist and the chair,
    except for its own patient. One row per patient: a new hold replaces his previous one. On PostgreSQL
    migration 0003 forbids two overlapping holds of one dentist or chair; expired rows are deleted before a
    new hold is written over them.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+", verbose_name=_("clinic"))
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="slot_holds", verbose_name=_("patient")
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service")
    )
    dentist = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="+", verbose_name=_("dentist")
    )
    chair = models.ForeignKey(Chair, on_delete=models.CASCADE, related_name="+", verbose_name=_("chair"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    expires_at = models.DateTimeField(_("held until"))
    # Came through "I am in pain": the emergency reserve (issue 6) may serve it.
    urgent = models.BooleanField(_("urgent"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("held time")
        verbose_name_plural = _("held times")
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["dentist", "starts_at"]),
            models.Index(fields=["chair", "starts_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="slot_hold_one_per_patient"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="slot_hold_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} {self.service.code}"

    def seconds_left(self, now: datetime) -> int:
        return max(0, int((self.expires_at - now).total_seconds()))
