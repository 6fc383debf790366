"""Forms of the patient import pages: the upload, and the confirmation of a checked file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from navbat.accounts.access import AnyUser, clinic_of, import_clinics
from navbat.clinic.models import Clinic

# A page checks and imports in the request, and each run holds the registry's write transaction (on SQLite,
# the whole database's) for its length: about 10 ms a row here, so 1,000 rows stay well inside a web
# server's 30-second timeout. A bigger list is a job for the navbat import_patients command.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PAGE_ROWS = 1000
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Patient list (CSV or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(SUFFIXES)}),
    )
    clinic = forms.ModelChoiceField(label=_("Clinic"), queryset=Clinic.objects.none(), empty_label=None)

    def __init__(self, *args: Any, user: AnyUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["clinic"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = import_clinics(user)
        field.initial = clinic_of(user)

    def clean_file(self) -> UploadedFile:
        file: UploadedFile = self.cleaned_data["file"]
        if not (file.name or "").casefold().endswith(SUFFIXES):
            raise forms.ValidationError(_("Upload a CSV or XLSX file."), code="bad_file")
        if (file.size or 0) > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(megabytes)d MB.") % {"megabytes": MAX_UPLOAD_BYTES // 2**20},
                code="too_big",
            )
        return file


class ConfirmForm(forms.Form):
    skip_rejected = forms.BooleanField(required=False)
