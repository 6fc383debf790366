"""Pages for importing a patient list: upload → dry-run report → confirm → result. Managers and
administrators only (access.can_import).

The uploaded file is kept on the server, in var/imports/ (never under MEDIA_ROOT, which may be served),
under a random key, until it is imported or STASH_SECONDS have passed. The pages carry a signed token
that names the key, the user and the clinic: the browser never holds the parsed rows, and another user's
token opens nothing. The reports kept beside the file hold row numbers, reason codes and messages only.
"""

from __future__ import annotations

import io
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from navbat.accounts.access import AnyUser, can_import, import_clinics, require
from navbat.accounts.audit import Actor
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients.import_forms import MAX_PAGE_ROWS, ConfirmForm, UploadForm
from navbat.patients.importing import ImportReport, import_patients, read_rows, write_rejections_csv

SALT = "navbat.patients.import"
STASH_SECONDS = 6 * 3600


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    require(can_import(request.user))
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        clinic: Clinic = form.cleaned_data["clinic"]
        stash = Stash.keep(form.cleaned_data["file"], user=request.user, clinic=clinic)
        try:
            report = _run(stash, clinic, request, dry_run=True)
        except DomainError as error:
            stash.discard()
            form.add_error("file", str(error.message))
        else:
            stash.save_report("checked", report)
            return redirect("patient_import:report", token=stash.token)
    status = 400 if form.errors else 200
    return render(request, "patients/import/upload.html", {"form": form}, status=status)


@login_required
def report(request: HttpRequest, token: str) -> HttpResponse:
    require(can_import(request.user))
    stash, clinic = _open(token, request.user)
    if stash.report("done") is not None:
        return redirect("patient_import:result", token=token)
    checked = stash.report("checked")
    if checked is None or not (stash.upload.exists() or stash.claimed.exists()):
        raise Http404(_("This import has expired. Upload the file again."))
    context = {"report": checked, "clinic": clinic, "token": token, "form": ConfirmForm()}
    return render(request, "patients/import/report.html", context)


@login_required
@require_POST
def commit(request: HttpRequest, token: str) -> HttpResponse:
    require(can_import(request.user))
    stash, clinic = _open(token, request.user)
    form = ConfirmForm(request.POST)
    skip_rejected = form.is_valid() and form.cleaned_data["skip_rejected"]
    if not stash.claim():  # a second click: imported already, or still importing; or expired
        if stash.report("done") is not None:
            return redirect("patient_import:result", token=token)
        if stash.claimed.exists():
            return redirect("patient_import:report", token=token)
        raise Http404(_("This import has expired. Upload the file again."))
    try:
        result = _run(stash, clinic, request, dry_run=False, skip_rejected=skip_rejected)
    except BaseException:
        stash.release()
        raise
    if result.committed:
        stash.save_report("done", result)
        stash.discard_upload()
        return redirect("patient_import:result", token=token)
    # Refused (a row was rejected, perhaps because the registry changed since the check): show why.
    stash.save_report("checked", result)
    stash.release()
    return redirect("patient_import:report", token=token)


@login_required
def result(request: HttpRequest, token: str) -> HttpResponse:
    require(can_import(request.user))
    stash, clinic = _open(token, request.user)
    done = stash.report("done")
    if done is None:
        raise Http404(_("This import has expired. Upload the file again."))
    return render(request, "patients/import/result.html", {"report": done, "clinic": clinic, "token": token})


@login_required
def rejections_csv(request: HttpRequest, token: str) -> HttpResponse:
    require(can_import(request.user))
    stash, _clinic = _open(token, request.user)
    kept = stash.report("done") or stash.report("checked")
    if kept is None:
        raise Http404(_("This import has expired. Upload the file again."))
    out = io.StringIO()
    write_rejections_csv(kept, out)
    # With a BOM, so that Excel opens the file as UTF-8.
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rejected-rows.csv"'
    return response


def _run(
    stash: Stash, clinic: Clinic, request: HttpRequest, *, dry_run: bool, skip_rejected: bool = False
) -> ImportReport:
    with stash.upload_or_claimed.open("rb") as file:
        return import_patients(
            clinic=clinic,
            rows=read_rows(file, f"upload.{stash.suffix}", max_rows=MAX_PAGE_ROWS),
            actor=Actor.of(request),
            dry_run=dry_run,
            skip_rejected=skip_rejected,
        )


def _open(token: str, user: AnyUser) -> tuple[Stash, Clinic]:
    """The stash a token names, if it is this user's and he may still import into its clinic; else 404."""
    stash = Stash.from_token(token)
    clinic = import_clinics(user).filter(pk=stash.clinic_id).first() if stash else None
    if stash is None or stash.user_id != user.pk or clinic is None:
        raise Http404(_("This import has expired. Upload the file again."))
    return stash, clinic


@dataclass(frozen=True)
class Stash:
    """An uploaded file and its reports on the server, named by a random key."""

    key: str
    user_id: int
    clinic_id: int
    suffix: str

    @classmethod
    def keep(cls, file: UploadedFile, *, user: AnyUser, clinic: Clinic) -> Stash:
        _purge_expired()
        suffix = (file.name or "").rsplit(".", 1)[-1].casefold()
        stash = cls(key=secrets.token_hex(16), user_id=int(user.pk or 0), clinic_id=clinic.pk, suffix=suffix)
        with stash.upload.open("xb") as out:
            for chunk in file.chunks():
                out.write(chunk)
        return stash

    @classmethod
    def from_token(cls, token: str) -> Stash | None:
        try:
            data = signing.loads(token, salt=SALT, max_age=STASH_SECONDS)
            stash = cls(key=data["k"], user_id=data["u"], clinic_id=data["c"], suffix=data["s"])
        except (signing.BadSignature, KeyError, TypeError):
            return None
        return stash if stash.key.isalnum() and stash.suffix.isalnum() else None

    @property
    def token(self) -> str:
        return signing.dumps(
            {"k": self.key, "u": self.user_id, "c": self.clinic_id, "s": self.suffix}, salt=SALT
        )

    @property
    def upload(self) -> Path:
        return _directory() / f"{self.key}.upload"

    @property
    def claimed(self) -> Path:
        return _directory() / f"{self.key}.importing"

    @property
    def upload_or_claimed(self) -> Path:
        return self.claimed if self.claimed.exists() else self.upload

    def claim(self) -> bool:
        """Take the file for the import; False if another request took it first (a rename is atomic)."""
        try:
            self.upload.rename(self.claimed)
        except FileNotFoundError:
            return False
        return True

    def release(self) -> None:
        self.claimed.rename(self.upload)

    def report(self, name: str) -> ImportReport | None:
        path = _directory() / f"{self.key}.{name}.json"
        return ImportReport.from_json(path.read_text()) if path.exists() else None

    def save_report(self, name: str, report: ImportReport) -> None:
        (_directory() / f"{self.key}.{name}.json").write_text(report.to_json())

    def discard_upload(self) -> None:
        self.upload.unlink(missing_ok=True)
        self.claimed.unlink(missing_ok=True)

    def discard(self) -> None:
        self.discard_upload()
        for path in _directory().glob(f"{self.key}.*.json"):
            path.unlink(missing_ok=True)


def _directory() -> Path:
    directory = Path(getattr(settings, "NAVBAT_IMPORT_DIR", settings.VAR_DIR / "imports"))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _purge_expired() -> None:
    """Uploads hold personal data: none stays longer than a stash lives."""
    oldest = time.time() - STASH_SECONDS
    for path in _directory().iterdir():
        if path.stat().st_mtime < oldest:
            path.unlink(missing_ok=True)
