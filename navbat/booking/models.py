"""Appointments and their history."""

from __future__ import annotations

from datetime import datetime, time

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
    # An extra visit in the dentist's overtime on a day expected to lose visits (booking.overbooking).
    overbooked = models.BooleanField(_("overbooked"), default=False, editable=False)
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


# Waitlist (issue 6 §1): patients waiting for a time, and the freed times offered to them --------------------


class Urgency(models.IntegerChoices):
    ROUTINE = 0, _("Routine")
    SOON = 1, _("Soon")
    URGENT = 2, _("Urgent")


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Offered a time")
    BOOKED = "booked", _("Booked")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class OfferStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")


class WaitlistEntry(models.Model):
    """A patient who waits for a time that suits him (booking.waitlist). `earlier_than`: he is booked already
    and wants that visit earlier; an offer he accepts moves it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+", verbose_name=_("clinic"))
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="waitlist_entries", verbose_name=_("patient")
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service")
    )
    # Empty: any dentist who does the service.
    dentists = models.ManyToManyField(
        StaffMember, blank=True, related_name="+", verbose_name=_("acceptable dentists")
    )
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("until"))
    # ISO weekdays 1 (Monday) … 7, as a string such as "135"; empty: any day.
    weekdays = models.CharField(_("weekdays"), max_length=7, blank=True)
    time_from = models.TimeField(_("not before"), null=True, blank=True)
    time_to = models.TimeField(_("not after"), null=True, blank=True)
    urgency = models.PositiveSmallIntegerField(_("urgency"), choices=Urgency.choices, default=Urgency.ROUTINE)
    earlier_than = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("earlier than"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["clinic", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(date_to__gte=models.F("date_from")), name="waitlist_dates_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date_from}…{self.date_to} {self.service.code}"


class FreedTime(models.Model):
    """A time that became free (cancelled, moved, no-show, released reserve): what the refill stats count."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+", verbose_name=_("clinic"))
    dentist = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="+", verbose_name=_("dentist")
    )
    chair = models.ForeignKey(Chair, on_delete=models.CASCADE, related_name="+", verbose_name=_("chair"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    freed_at = models.DateTimeField(_("freed at"))

    class Meta:
        verbose_name = _("freed time")
        verbose_name_plural = _("freed times")
        ordering = ["freed_at", "pk"]
        indexes = [models.Index(fields=["clinic", "freed_at"])]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}"


class WaitlistOffer(models.Model):
    """A freed time offered to one waiting patient, kept for him by a SlotHold until `expires_at`.
    `appointment` is the proposal (status proposed) the offer message is about; `booked` what accepting made.
    """

    entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, related_name="offers", verbose_name=_("waitlist entry")
    )
    freed = models.ForeignKey(
        FreedTime, on_delete=models.CASCADE, related_name="offers", verbose_name=_("freed time")
    )
    dentist = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="+", verbose_name=_("dentist")
    )
    chair = models.ForeignKey(Chair, on_delete=models.CASCADE, related_name="+", verbose_name=_("chair"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    hold = models.OneToOneField(
        SlotHold, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("hold")
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="+", verbose_name=_("proposal")
    )
    booked = models.ForeignKey(
        Appointment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked appointment"),
    )
    expires_at = models.DateTimeField(_("answer by"))
    status = models.CharField(
        _("status"), max_length=20, choices=OfferStatus.choices, default=OfferStatus.OFFERED
    )
    token = models.CharField(_("token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("waitlist offer")
        verbose_name_plural = _("waitlist offers")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One live offer per entry; one live offer per time (the SlotHold's exclusion is the other guard).
            models.UniqueConstraint(
                fields=["entry"],
                condition=models.Q(status="offered"),
                name="waitlist_one_live_offer_per_entry",
            ),
            models.UniqueConstraint(
                fields=["dentist", "starts_at"],
                condition=models.Q(status="offered"),
                name="waitlist_one_live_offer_per_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} {self.status}"


# Anti-scalping (issue 6 §4): quotas, moves, the fair release of new days ---------------------------------


class BookingPolicy(models.Model):
    """A clinic's own limits against hoarding; a clinic without a row has the defaults (booking.quotas)."""

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, related_name="booking_policy", verbose_name=_("clinic")
    )
    free_bookings_per_specialty = models.PositiveSmallIntegerField(
        _("active future free bookings per patient and specialty"), default=1
    )
    max_reschedules = models.PositiveSmallIntegerField(_("moves allowed per booking"), default=2)
    # A new day of the horizon opens at this local time; requests in the first minutes go into a draw.
    release_time = models.TimeField(_("new days open at"), default=time(7, 0))
    release_window_minutes = models.PositiveSmallIntegerField(
        _("draw window after opening (minutes)"), default=10
    )

    class Meta:
        verbose_name = _("booking policy")
        verbose_name_plural = _("booking policies")

    def __str__(self) -> str:
        return str(self.clinic)


class AppointmentMove(models.Model):
    """One move of a booking: `moved_to` replaced an appointment whose chain began with `original`."""

    original = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="moves", verbose_name=_("first booking")
    )
    moved_to = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="move", verbose_name=_("new appointment")
    )
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("appointment move")
        verbose_name_plural = _("appointment moves")

    def __str__(self) -> str:
        return f"{self.original_id} → {self.moved_to_id}"


class DrawOutcome(models.TextChoices):
    WAITING = "waiting", _("Waiting for the draw")
    WON = "won", _("Booked")
    NOT_WON = "not_won", _("No time left")


class ReleaseDraw(models.Model):
    """The draw of one newly opened day: run once, with its seed kept so that anyone can replay it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+", verbose_name=_("clinic"))
    day = models.DateField(_("day opened"))
    closes_at = models.DateTimeField(_("requests until"))
    seed = models.BigIntegerField(_("random seed"), null=True, blank=True)
    ran_at = models.DateTimeField(_("drawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("release draw")
        verbose_name_plural = _("release draws")
        constraints = [models.UniqueConstraint(fields=["clinic", "day"], name="release_draw_one_per_day")]

    def __str__(self) -> str:
        return f"{self.clinic_id} {self.day}"


class ReleaseDrawEntry(models.Model):
    """A patient's request for the newly opened day, made in the draw's window: one per patient and draw."""

    draw = models.ForeignKey(
        ReleaseDraw, on_delete=models.CASCADE, related_name="entries", verbose_name=_("draw")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="release_entries", verbose_name=_("patient")
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service")
    )
    dentist = models.ForeignKey(
        StaffMember,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dentist wished"),
    )
    # Local times of day the patient would take, in his order of preference ("09:00", …); empty: any.
    wishes = models.JSONField(_("wished times"), default=list, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"))
    position = models.PositiveIntegerField(_("place in the draw"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=DrawOutcome.choices, default=DrawOutcome.WAITING
    )
    appointment = models.OneToOneField(
        Appointment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("appointment"),
    )

    class Meta:
        verbose_name = _("release draw entry")
        verbose_name_plural = _("release draw entries")
        ordering = ["draw", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "patient"], name="release_entry_one_per_patient")
        ]

    def __str__(self) -> str:
        return f"{self.draw_id}: {self.outcome}"
