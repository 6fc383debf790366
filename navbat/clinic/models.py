"""The clinic and what it schedules with: departments, staff, chairs, equipment, services, plans."""

from __future__ import annotations

import zoneinfo
from datetime import date, time
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from navbat.scheduling import ExceptionKind


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(zone)s"), params={"zone": value})


class Country(models.TextChoices):
    """Countries we know the phone region, currency and public holidays of."""

    UZBEKISTAN = "UZ", _("Uzbekistan")
    RUSSIA = "RU", _("Russia")
    KAZAKHSTAN = "KZ", _("Kazakhstan")
    KYRGYZSTAN = "KG", _("Kyrgyzstan")
    TAJIKISTAN = "TJ", _("Tajikistan")


CURRENCY = {"UZ": "UZS", "RU": "RUB", "KZ": "KZT", "KG": "KGS", "TJ": "TJS"}


class TranslatedName(models.Model):
    """A name kept in the three interface languages; `name` picks the active one."""

    name_uz = models.CharField(_("name (Uzbek)"), max_length=200)
    name_ru = models.CharField(_("name (Russian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        language = (get_language() or "uz")[:2]
        return str(getattr(self, f"name_{language}", "") or self.name_uz)


class Network(models.Model):
    """Clinics run together (a regional network of polyclinics); they may share one patient registry."""

    name = models.CharField(_("name"), max_length=200)
    shares_registry = models.BooleanField(
        _("clinics share the patient registry"),
        default=False,
        help_text=_("Staff of one clinic of the network may then see the patients of the others."),
    )

    class Meta:
        verbose_name = _("clinic network")
        verbose_name_plural = _("clinic networks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Clinic(models.Model):
    name = models.CharField(_("name"), max_length=200)
    network = models.ForeignKey(
        Network,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clinics",
        verbose_name=_("network"),
    )
    patient_prefix = models.CharField(
        _("patient number prefix"),
        max_length=6,
        default="NB",
        help_text=_("Letters before every patient number."),
    )
    requires_national_id = models.BooleanField(
        _("state-funded care needs a national identifier"), default=False
    )
    max_patients_per_phone = models.PositiveSmallIntegerField(
        _("patients per phone number"), default=6, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    retention_years = models.PositiveSmallIntegerField(
        _("keep medical records for (years)"), default=25, validators=[MinValueValidator(1)]
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Tashkent", validators=[validate_time_zone]
    )
    country = models.CharField(
        _("country"), max_length=2, choices=Country.choices, default=Country.UZBEKISTAN
    )
    observes_national_holidays = models.BooleanField(_("closed on national holidays"), default=True)
    slot_step_minutes = models.PositiveSmallIntegerField(
        _("slot step (minutes)"), default=15, validators=[MinValueValidator(5), MaxValueValidator(60)]
    )
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice for online booking (minutes)"), default=60
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(366)]
    )

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def phone_region(self) -> str:
        return self.country

    @property
    def currency(self) -> str:
        return CURRENCY.get(self.country, "")


class DepartmentKind(models.TextChoices):
    ADULT = "adult", _("Adult dentistry")
    CHILDREN = "children", _("Children's dentistry")
    SURGERY = "surgery", _("Oral surgery")
    ORTHODONTICS = "orthodontics", _("Orthodontics")
    PROSTHETICS = "prosthetics", _("Prosthetic dentistry")
    EMERGENCY = "emergency", _("Emergency care")


class Department(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="departments", verbose_name=_("clinic")
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=20, choices=DepartmentKind.choices, default=DepartmentKind.ADULT
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["clinic", "name"]

    def __str__(self) -> str:
        return self.name


class Specialty(TranslatedName):
    """Therapist, surgeon, orthodontist, paediatric dentist, periodontist, prosthodontist, hygienist."""

    code = models.SlugField(_("code"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")
        ordering = ["code"]


class StaffRole(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    MANAGER = "manager", _("Manager")
    REGISTRAR = "registrar", _("Registrar")
    OPERATOR = "operator", _("Call-centre operator")
    DENTIST = "dentist", _("Dentist")
    ASSISTANT = "assistant", _("Assistant")


class StaffMember(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff", verbose_name=_("user")
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="staff", verbose_name=_("clinic")
    )
    role = models.CharField(_("role"), max_length=20, choices=StaffRole.choices)
    specialties = models.ManyToManyField(
        Specialty, blank=True, related_name="staff", verbose_name=_("specialties")
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("department"),
    )
    languages = models.CharField(
        _("languages spoken"),
        max_length=50,
        blank=True,
        help_text=_("Language codes, comma-separated: uz,ru,en"),
    )
    bio = models.TextField(_("short bio"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="staff/", blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def language_list(self) -> list[str]:
        return [code.strip() for code in self.languages.split(",") if code.strip()]


class Equipment(TranslatedName):
    """X-ray, microscope, …: what a service may need and a chair may have."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="equipment", verbose_name=_("clinic")
    )
    code = models.SlugField(_("code"), max_length=40)

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="equipment_code_unique_per_clinic")
        ]


class Chair(models.Model):
    """A dental chair (operatory) in a department, with the equipment that reaches it."""

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="chairs", verbose_name=_("department")
    )
    name = models.CharField(_("name"), max_length=100)
    equipment = models.ManyToManyField(
        Equipment, blank=True, related_name="chairs", verbose_name=_("equipment")
    )
    is_active = models.BooleanField(_("in service"), default=True)

    class Meta:
        verbose_name = _("chair")
        verbose_name_plural = _("chairs")
        ordering = ["department", "name"]

    def __str__(self) -> str:
        return self.name


class Funding(models.TextChoices):
    STATE = "state", _("State-funded (free)")
    PAID = "paid", _("Paid")


class Service(TranslatedName):
    """A procedure a patient can book: how long it takes, who may do it, what it needs and costs."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="services", verbose_name=_("clinic")
    )
    code = models.SlugField(_("code"), max_length=40)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, related_name="services", verbose_name=_("specialty required")
    )
    equipment = models.ManyToManyField(
        Equipment, blank=True, related_name="services", verbose_name=_("equipment required")
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, default=Decimal(0))
    funding = models.CharField(_("funding"), max_length=10, choices=Funding.choices, default=Funding.PAID)
    min_age = models.PositiveSmallIntegerField(_("minimum age (years)"), null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(_("maximum age (years)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="service_code_unique_per_clinic"),
            models.CheckConstraint(
                condition=models.Q(min_age__isnull=True)
                | models.Q(max_age__isnull=True)
                | models.Q(min_age__lte=models.F("max_age")),
                name="service_age_range_valid",
            ),
        ]

    def accepts_age(self, age: int) -> bool:
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)


class WorkingPlan(models.Model):
    """A staff member's weekly template, valid over a date range, with a default chair."""

    staff = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="working_plans", verbose_name=_("staff member")
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    default_chair = models.ForeignKey(
        Chair,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default chair"),
    )

    class Meta:
        verbose_name = _("working plan")
        verbose_name_plural = _("working plans")
        ordering = ["staff", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="working_plan_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff} ({self.valid_from} – {self.valid_until or '…'})"

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class PlanIntervalKind(models.TextChoices):
    WORK = "work", _("Working hours")
    BREAK = "break", _("Break")


class PlanInterval(models.Model):
    """One interval of a weekly plan: working hours or a break, in the clinic's local time."""

    plan = models.ForeignKey(
        WorkingPlan, on_delete=models.CASCADE, related_name="intervals", verbose_name=_("plan")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    kind = models.CharField(
        _("kind"), max_length=10, choices=PlanIntervalKind.choices, default=PlanIntervalKind.WORK
    )
    start = models.TimeField(_("start time"))
    end = models.TimeField(_("end time"))

    class Meta:
        verbose_name = _("plan interval")
        verbose_name_plural = _("plan intervals")
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="plan_interval_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class ScheduleExceptionKind(models.TextChoices):
    EXTRA = "extra", _("Extra hours")
    LEAVE = "leave", _("Leave")
    SICK = "sick", _("Sick day")
    OFF = "off", _("Day off")

    @property
    def core_kind(self) -> ExceptionKind:
        return ExceptionKind.EXTRA if self == ScheduleExceptionKind.EXTRA else ExceptionKind.OFF


class ScheduleException(models.Model):
    """A date where a staff member's plan does not apply as written: extra hours, leave, a sick day."""

    staff = models.ForeignKey(
        StaffMember,
        on_delete=models.CASCADE,
        related_name="schedule_exceptions",
        verbose_name=_("staff member"),
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=ScheduleExceptionKind.choices)
    start = models.TimeField(_("start time"), null=True, blank=True, help_text=_("Empty for the whole day"))
    end = models.TimeField(_("end time"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("schedule exception")
        verbose_name_plural = _("schedule exceptions")
        ordering = ["date", "start"]
        indexes = [models.Index(fields=["staff", "date"])]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(start__isnull=True) & models.Q(end__isnull=True))
                | (
                    models.Q(start__isnull=False)
                    & models.Q(end__isnull=False)
                    & models.Q(end__gt=models.F("start"))
                ),
                name="schedule_exception_times_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="extra") | models.Q(start__isnull=False),
                name="schedule_exception_extra_has_times",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} {self.date} {self.get_kind_display()}"


class ClinicClosure(models.Model):
    """A date (or part of one) when the whole clinic is closed, beyond the national holidays."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="closures", verbose_name=_("clinic")
    )
    date = models.DateField(_("date"))
    start = models.TimeField(_("start time"), null=True, blank=True, help_text=_("Empty for the whole day"))
    end = models.TimeField(_("end time"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("clinic closure")
        verbose_name_plural = _("clinic closures")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(start__isnull=True) & models.Q(end__isnull=True))
                | (
                    models.Q(start__isnull=False)
                    & models.Q(end__isnull=False)
                    & models.Q(end__gt=models.F("start"))
                ),
                name="clinic_closure_times_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clinic} {self.date}"


class CalendarFeed(models.Model):
    """A private iCalendar feed of a dentist's (or an assistant's) appointments, for the calendar on his
    phone. The address carries a secret token; only its SHA-256 hash is stored, so the token is shown once,
    when the feed is made. A revoked feed stays, so the list says who had one; a staff member has at most
    one live feed (making a new one revokes the old: see clinic/services.py)."""

    staff = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="calendar_feeds", verbose_name=_("staff member")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The language the events are written in: the calendar program that fetches the feed sends none of its
    # owner's (Google fetches from its own servers), so it is the one the page spoke when the link was made.
    language = models.CharField(_("language"), max_length=8, default="uz")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last fetched at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_live_calendar_feed_per_staff",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.staff}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# Capacity (issue 6 §2, §3): no-shows, confirmations, the emergency reserve ---------------------------------


class NoShowMode(models.TextChoices):
    CONFIRM = "confirm", _("Bookings need confirmation")
    CALL_CENTRE = "call_centre", _("Booking only through the call centre")


class PriorityGroup(models.TextChoices):
    """Who goes first on the waitlist among equally urgent patients who have waited as long."""

    CHILDREN = "children", _("Children")
    ELDERLY = "elderly", _("The elderly")
    DISABLED = "disabled", _("Patients with a disability")


def validate_priority_groups(value: str) -> None:
    unknown = [part for part in _parts(value) if part not in PriorityGroup.values]
    if unknown:
        raise ValidationError(
            _("Unknown priority group: %(group)s. Use: %(known)s."),
            params={"group": unknown[0], "known": ", ".join(PriorityGroup.values)},
        )


def _parts(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class CapacityPolicy(models.Model):
    """A clinic's rules for no-shows and its emergency reserve. A clinic without one has no reserve and no
    no-show limit; visits still become no-shows after the default grace (booking.noshows)."""

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, related_name="capacity_policy", verbose_name=_("clinic")
    )
    no_show_grace_minutes = models.PositiveSmallIntegerField(
        _("no-show after the visit's end (minutes)"), default=15, validators=[MaxValueValidator(24 * 60)]
    )
    no_show_limit = models.PositiveSmallIntegerField(
        _("no-shows that trigger the policy"), default=2, validators=[MinValueValidator(1)]
    )
    no_show_months = models.PositiveSmallIntegerField(
        _("counted over (months)"), default=6, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    no_show_mode = models.CharField(
        _("then"), max_length=12, choices=NoShowMode.choices, default=NoShowMode.CONFIRM
    )
    reserve_percent = models.PositiveSmallIntegerField(
        _("emergency reserve (percent of each day)"), default=10, validators=[MaxValueValidator(100)]
    )
    reserve_release_evening_at = models.TimeField(
        _("reserve offered to the waitlist the evening before at"),
        null=True,
        blank=True,
        default=time(18, 0),
        help_text=_("Empty: not the evening before"),
    )
    reserve_release_hours = models.PositiveSmallIntegerField(
        _("reserve open to everyone (hours before)"), default=2, validators=[MaxValueValidator(72)]
    )
    waitlist_priority_groups = models.CharField(
        _("waitlist priority groups"),
        max_length=60,
        blank=True,
        default="children,elderly,disabled",
        validators=[validate_priority_groups],
        help_text=_("Comma-separated, any of: children, elderly, disabled. Empty: none."),
    )
    # Reserve released (offered to the waitlist) up to this moment: the release task goes on from here.
    reserve_released_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Overbooking (issue 6 §5, booking.overbooking): extra visits in a dentist's overtime on days that expect
    # enough no-shows. Off unless the clinic turns it on; never for children or long services.
    overbooking_enabled = models.BooleanField(_("overbooking allowed"), default=False)
    overbooking_threshold = models.DecimalField(
        _("overbook when the expected no-shows of a dentist's day exceed (visits)"),
        max_digits=4,
        decimal_places=1,
        default=Decimal("1.0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))],
    )
    overbooking_max_per_day = models.PositiveSmallIntegerField(
        _("extra visits per dentist and day at most"), default=2, validators=[MaxValueValidator(10)]
    )
    overbooking_max_minutes = models.PositiveSmallIntegerField(
        _("longest service that may be overbooked (minutes)"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )

    class Meta:
        verbose_name = _("capacity policy")
        verbose_name_plural = _("capacity policies")

    def __str__(self) -> str:
        return str(self.clinic)

    def priority_groups(self) -> frozenset[str]:
        return frozenset(_parts(self.waitlist_priority_groups)) & frozenset(PriorityGroup.values)


class ReserveBlock(models.Model):
    """A named time a dentist keeps for emergencies, every `weekday` or on one `date`. A dentist with blocks
    keeps these instead of the clinic's share of his day."""

    name = models.CharField(_("name"), max_length=100)
    dentist = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="reserve_blocks", verbose_name=_("dentist")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices, null=True, blank=True)
    date = models.DateField(_("date"), null=True, blank=True)
    start = models.TimeField(_("start time"))
    end = models.TimeField(_("end time"))

    class Meta:
        verbose_name = _("emergency reserve block")
        verbose_name_plural = _("emergency reserve blocks")
        ordering = ["dentist", "weekday", "date", "start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__isnull=True) ^ models.Q(date__isnull=True),
                name="reserve_block_weekday_or_date",
            ),
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="reserve_block_order"),
        ]

    def __str__(self) -> str:
        return self.name
