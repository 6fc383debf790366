"""The patient as booking needs him now; the full registry (identifiers, guardians, consents) grows here."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from navbat.clinic.models import Clinic


class Patient(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="patients", verbose_name=_("clinic")
    )
    surname = models.CharField(_("surname"), max_length=100)
    name = models.CharField(_("first name"), max_length=100)
    patronymic = models.CharField(_("patronymic"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"))
    # Blank for a child reached through a guardian's phone.
    phone = PhoneNumberField(_("phone"), blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["surname", "name"]
        indexes = [models.Index(fields=["phone"]), models.Index(fields=["surname", "name"])]

    def __str__(self) -> str:
        return self.short_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.name, self.patronymic) if part)

    @property
    def short_name(self) -> str:
        """Surname and initial: enough for a day board without showing more than needed."""
        return f"{self.surname} {self.name[:1]}." if self.name else self.surname

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)
