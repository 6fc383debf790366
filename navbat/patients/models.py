"""The patient registry: identity, contacts, identifiers, guardians, alerts, consents, complaints.

Patient data is special-category personal data (ZRU-547, 152-FZ): only the services in services.py
write it, every staff read and change is audited (accounts.audit), and nothing here is ever logged.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from navbat.clinic.models import Clinic


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Language(models.TextChoices):
    UZBEK = "uz", _("Uzbek")
    RUSSIAN = "ru", _("Russian")
    ENGLISH = "en", _("English")


class ContactChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    TELEGRAM = "telegram", _("Telegram")
    EMAIL = "email", _("E-mail")
    PUSH = "push", _("Web push")
    CALL = "call", _("Phone call")


class TreatmentStatus(models.TextChoices):
    NONE = "", _("Not in treatment")
    IN_TREATMENT = "in_treatment", _("In treatment")
    COMPLETED = "completed", _("Treatment completed")


class Category(models.TextChoices):
    """What the registry shows at a glance; see selectors.patient_category for how it is derived."""

    NEW = "new", _("New")
    RETURNING = "returning", _("Returning")
    FLAGGED = "flagged", _("Flagged")
    IN_TREATMENT = "in_treatment", _("In treatment")
    COMPLETED = "completed", _("Treatment completed")


class Patient(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="patients", verbose_name=_("clinic")
    )
    # NULL until the registering transaction issues it, so that the unique constraint ignores it.
    number = models.CharField(_("patient number"), max_length=24, null=True, blank=True)  # noqa: DJ001
    surname = models.CharField(_("surname"), max_length=100)
    name = models.CharField(_("first name"), max_length=100)
    patronymic = models.CharField(_("patronymic"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, blank=True)
    # Blank for a child reached through a guardian's phone. E.164, the region from the clinic's country.
    phone = PhoneNumberField(_("phone"), blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.UZBEK
    )
    preferred_channel = models.CharField(
        _("preferred contact channel"),
        max_length=10,
        choices=ContactChannel.choices,
        default=ContactChannel.SMS,
    )
    treatment_status = models.CharField(
        _("treatment status"), max_length=15, choices=TreatmentStatus.choices, blank=True, default=""
    )
    flagged = models.BooleanField(_("flagged"), default=False)
    flag_reason = models.CharField(_("reason for the flag"), max_length=300, blank=True)
    is_verified = models.BooleanField(
        _("identity verified"), default=False, help_text=_("A registrar has checked a document.")
    )
    self_registered = models.BooleanField(_("registered online"), default=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient",
        verbose_name=_("sign-in account"),
    )
    # Cross-script search keys (translit.search_key), kept by the services, indexed for prefix search.
    search_surname = models.CharField(max_length=100, blank=True, editable=False, db_index=True)
    search_name = models.CharField(max_length=100, blank=True, editable=False, db_index=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merged into"),
    )
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["surname", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "number"], name="patient_number_unique_per_clinic"),
        ]
        indexes = [
            models.Index(fields=["number"]),
            models.Index(fields=["phone"]),
            models.Index(fields=["clinic", "birth_date"]),
        ]

    def __str__(self) -> str:
        return self.short_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.name, self.patronymic) if part)

    @property
    def short_name(self) -> str:
        """Surname and initial: enough for a day board without showing more than needed."""
        return f"{self.surname} {self.name[:1]}." if self.name else self.surname

    @property
    def is_active_record(self) -> bool:
        return self.merged_into_id is None and self.anonymised_at is None

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)


class IdentifierKind(models.TextChoices):
    PINFL = "pinfl", _("PINFL (Uzbekistan)")
    SNILS = "snils", _("SNILS (Russia)")
    OMS = "oms", _("OMS policy number (Russia)")


class NationalIdentifier(models.Model):
    """A state identifier, validated by its check rules; one patient per identifier in a country."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="identifiers", verbose_name=_("patient")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=IdentifierKind.choices)
    country = models.CharField(_("country"), max_length=2)
    value = models.CharField(_("number"), max_length=20)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("national identifier")
        verbose_name_plural = _("national identifiers")
        constraints = [
            models.UniqueConstraint(
                fields=["country", "kind", "value"], name="identifier_unique_per_country"
            ),
            models.UniqueConstraint(fields=["patient", "kind"], name="one_identifier_of_a_kind_per_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} …{self.value[-4:]}"


class Guardianship(models.Model):
    """A parent or guardian who books for and is contacted about a child."""

    class Relation(models.TextChoices):
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        GUARDIAN = "guardian", _("Guardian")
        OTHER = "other", _("Other relative")

    guardian = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="wards", verbose_name=_("guardian")
    )
    child = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="guardians", verbose_name=_("child")
    )
    relation = models.CharField(
        _("relation"), max_length=10, choices=Relation.choices, default=Relation.GUARDIAN
    )

    class Meta:
        verbose_name = _("guardianship")
        verbose_name_plural = _("guardianships")
        constraints = [
            models.UniqueConstraint(fields=["guardian", "child"], name="guardianship_unique"),
            models.CheckConstraint(
                condition=~models.Q(guardian=models.F("child")), name="guardian_is_not_child"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.child}"


class AlertKind(models.TextChoices):
    ALLERGY = "allergy", _("Allergy")
    ANTICOAGULANTS = "anticoagulants", _("Takes anticoagulants")
    PREGNANCY = "pregnancy", _("Pregnancy")
    DIABETES = "diabetes", _("Diabetes")
    HEART = "heart", _("Heart disease")
    EPILEPSY = "epilepsy", _("Epilepsy")
    INFECTION = "infection", _("Infectious disease")
    DISABILITY = "disability", _("Disability")  # also a priority group of the waitlist (booking.waitlist)
    OTHER = "other", _("Other")


class MedicalAlert(models.Model):
    """What every dentist must see before touching the patient."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("patient")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("medical alert")
        verbose_name_plural = _("medical alerts")
        ordering = ["kind"]

    def __str__(self) -> str:
        return str(self.get_kind_display())


class ConsentKind(models.TextChoices):
    PERSONAL_DATA = "personal_data", _("Processing of personal data")
    SMS = "sms", _("SMS messages")
    MESSENGER = "messenger", _("Messenger messages")
    EMAIL = "email", _("E-mail messages")


class Consent(models.Model):
    """A consent given or withdrawn, with the version of the text the patient agreed to. Latest wins."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="consents", verbose_name=_("patient")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ConsentKind.choices)
    granted = models.BooleanField(_("granted"))
    text_version = models.CharField(_("text version"), max_length=20)
    at = models.DateTimeField(_("date"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.granted}"


class Complaint(models.Model):
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="complaints", verbose_name=_("patient")
    )
    text = models.TextField(_("complaint"))
    at = models.DateTimeField(_("date"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    resolved = models.BooleanField(_("resolved"), default=False)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d}"


class PatientCounter(models.Model):
    """The last patient number issued by a clinic (incremented inside the registering transaction)."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("patient number counter")
        verbose_name_plural = _("patient number counters")

    def __str__(self) -> str:
        return str(self.last)
