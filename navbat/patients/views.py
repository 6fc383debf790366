"""Registry pages for staff: search, the patient card, registration, editing, merging, privacy requests.

Thin: each view checks access first (accounts.access: a patient the user may not see is 404, a page he may
not use is 403), calls a selector or a service, and renders. Every page that shows a patient's data puts
the read on record (services.record_patient_view / record_search); pages with personal data are never
cached by the browser (a reception computer is shared).
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from navbat.accounts.access import (
    AnyUser,
    can_edit_alerts,
    can_edit_patient,
    can_handle_privacy_requests,
    can_merge,
    can_register,
    can_see_clinical,
    can_use_registry,
    clinic_of,
    patient_or_404,
    require,
    visible_patients,
)
from navbat.accounts.audit import Actor
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients.errors import PatientErrorCode
from navbat.patients.forms import (
    AlertForm,
    AnonymiseForm,
    ComplaintForm,
    ConsentForm,
    EditForm,
    MergeForm,
    RegisterForm,
    SearchForm,
    VerifyForm,
)
from navbat.patients.models import Category, ConsentKind, MedicalAlert, Patient
from navbat.patients.privacy import anonymisation_refusal, anonymise_patient, export_patient, retention
from navbat.patients.selectors import card_appointments, categories_of, patient_category, search_patients
from navbat.patients.services import (
    EDITABLE_FIELDS,
    add_alert,
    add_complaint,
    merge_patients,
    record_consent,
    record_patient_view,
    record_search,
    register_patient,
    remove_alert,
    update_patient,
    verify_identity,
)

SEARCH_LIMIT = 20

# What each page shows, as the audit log names it.
SEARCH_FIELDS = ("number", "surname", "name", "patronymic", "birth_date", "phone")
CARD_FIELDS = (*sorted(EDITABLE_FIELDS), "number", "identifiers", "guardians", "consents", "complaints")
HEADER_FIELDS = ("number", "surname", "name", "patronymic", "birth_date")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class Row(NamedTuple):
    patient: Patient
    category: Category


def _staff_clinic(user: AnyUser) -> Clinic:
    """The registry pages are for clinic staff; a patient signed in to the site gets 403."""
    clinic = clinic_of(user)
    require(clinic is not None)
    assert clinic is not None
    return clinic


def _today(clinic: Clinic) -> date:
    return timezone.now().astimezone(clinic.tz).date()


def _viewed(request: HttpRequest, patient: Patient, fields: tuple[str, ...] = HEADER_FIELDS) -> None:
    record_patient_view(patient=patient, actor=Actor.of(request), fields=fields)


# Search and the card --------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def search(request: HtmxHttpRequest) -> HttpResponse:
    """One box for a number, a phone or a name; htmx asks again while the person types."""
    require(can_use_registry(request.user))
    clinic = _staff_clinic(request.user)
    form = SearchForm(request.GET)
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    template = "patients/search.html#results" if partial else "patients/search.html"
    if not form.is_valid():
        return render(request, template, {"form": form, "rows": []}, status=400)
    query, pick = form.cleaned_data["q"], form.cleaned_data["pick"]
    found = search_patients(
        patients=visible_patients(request.user), query=query, region=clinic.phone_region, limit=SEARCH_LIMIT
    )
    if query:
        record_search(actor=Actor.of(request), shown=len(found), fields=SEARCH_FIELDS)
    categories = categories_of(found)
    rows = [Row(patient, categories[patient.pk]) for patient in found]
    context = {
        "form": form,
        "query": query,
        "pick": pick,
        "rows": rows,
        "limit": SEARCH_LIMIT,
        "may_register": can_register(request.user),
    }
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@never_cache
@require_GET
def card(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_or_404(request.user, pk)
    _staff_clinic(request.user)
    clinical = can_see_clinical(request.user, patient)
    _viewed(request, patient, (*CARD_FIELDS, "alerts") if clinical else CARD_FIELDS)
    upcoming, past = card_appointments(patient, now=timezone.now())
    today = _today(patient.clinic)
    context = {
        "patient": patient,
        "age": patient.age_on(today),
        "category": patient_category(patient),
        "clinical": clinical,
        "has_alerts": patient.alerts.exists(),
        "upcoming": upcoming,
        "past": past,
        "may": {
            "edit": can_edit_patient(request.user, patient),
            "merge": can_merge(request.user),
            "privacy": can_handle_privacy_requests(request.user, patient),
            "complain": can_use_registry(request.user),
        },
    }
    return render(request, "patients/card.html", context)


# Registration and changes ---------------------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    require(can_register(request.user))
    clinic = _staff_clinic(request.user)
    patients = visible_patients(request.user)
    data = request.POST if request.method == "POST" else None
    form = RegisterForm(data, clinic=clinic, patients=patients, today=_today(clinic))
    if data is None:
        return render(request, "patients/register.html", {"form": form, "clinic": clinic})
    duplicates: list[Patient] = []
    status = 400
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            patient = register_patient(
                clinic=clinic,
                data=form.patient_data(),
                actor=Actor.of(request),
                guardian=cleaned["guardian_patient"],
                relation=cleaned["relation"],
                allow_duplicates=cleaned["allow_duplicates"],
                consent_version=cleaned["consent_version"].strip() if cleaned["consent"] else "",
            )
        except DomainError as error:
            if error.code == PatientErrorCode.POSSIBLE_DUPLICATE:
                duplicates = list(patients.filter(pk__in=error.details.get("candidates", [])))
                record_search(actor=Actor.of(request), shown=len(duplicates), fields=SEARCH_FIELDS)
                status = 409
            else:
                form.show_domain_error(error)
        else:
            return redirect("patients:card", pk=patient.pk)
    context = {"form": form, "clinic": clinic, "duplicates": duplicates}
    return render(request, "patients/register.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_or_404(request.user, pk)
    require(can_edit_patient(request.user, patient))
    today = _today(patient.clinic)
    if request.method != "POST":
        _viewed(request, patient, tuple(sorted(EDITABLE_FIELDS)))
        form = EditForm(initial=EditForm.initial_of(patient), today=today)
        return render(request, "patients/edit.html", {"patient": patient, "form": form})
    form = EditForm(request.POST, today=today)
    if form.is_valid():
        try:
            update_patient(patient=patient, actor=Actor.of(request), changes=form.cleaned_data)
        except DomainError as error:
            form.show_domain_error(error)
        else:
            return redirect("patients:card", pk=patient.pk)
    return render(request, "patients/edit.html", {"patient": patient, "form": form}, status=400)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    """A registrar has looked at a document: the 'unverified' mark goes."""
    patient = patient_or_404(request.user, pk)
    require(can_edit_patient(request.user, patient))
    if request.method != "POST":
        _viewed(request, patient)
        return render(request, "patients/verify.html", {"patient": patient, "form": VerifyForm()})
    form = VerifyForm(request.POST)
    if form.is_valid():
        verify_identity(patient=patient, actor=Actor.of(request), document=form.cleaned_data["document"])
        return redirect("patients:card", pk=patient.pk)
    return render(request, "patients/verify.html", {"patient": patient, "form": form}, status=400)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def alerts(request: HttpRequest, pk: int) -> HttpResponse:
    """Medical alerts: who may see them may also add and remove them (the treating dentist, reception)."""
    patient = patient_or_404(request.user, pk)
    _staff_clinic(request.user)
    require(can_see_clinical(request.user, patient))
    if request.method != "POST":
        _viewed(request, patient, (*HEADER_FIELDS, "alerts"))
        return render(request, "patients/alerts.html", {"patient": patient, "form": AlertForm()})
    require(can_edit_alerts(request.user, patient))
    form = AlertForm(request.POST)
    if form.is_valid():
        try:
            add_alert(patient=patient, actor=Actor.of(request), **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            return redirect("patients:alerts", pk=patient.pk)
    return render(request, "patients/alerts.html", {"patient": patient, "form": form}, status=400)


@login_required
@never_cache
@require_POST
def alert_remove(request: HttpRequest, pk: int, alert_pk: int) -> HttpResponse:
    patient = patient_or_404(request.user, pk)
    _staff_clinic(request.user)
    require(can_edit_alerts(request.user, patient))
    alert = get_object_or_404(MedicalAlert, pk=alert_pk, patient=patient)
    remove_alert(alert=alert, actor=Actor.of(request))
    return redirect("patients:alerts", pk=patient.pk)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def complaint(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_or_404(request.user, pk)
    require(can_use_registry(request.user))
    form = ComplaintForm(request.POST if request.method == "POST" else None)
    if request.method != "POST":
        _viewed(request, patient)
        return render(request, "patients/complaint.html", {"patient": patient, "form": form})
    if form.is_valid():
        try:
            add_complaint(patient=patient, actor=Actor.of(request), text=form.cleaned_data["text"])
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            return redirect("patients:card", pk=patient.pk)
    return render(request, "patients/complaint.html", {"patient": patient, "form": form}, status=400)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a consent given or withdrawn (a withdrawal is what allows an early anonymisation)."""
    patient = patient_or_404(request.user, pk)
    require(can_edit_patient(request.user, patient))
    if request.method != "POST":
        _viewed(request, patient, (*HEADER_FIELDS, "consents"))
        return render(request, "patients/consent.html", {"patient": patient, "form": ConsentForm()})
    form = ConsentForm(request.POST)
    if form.is_valid():
        record_consent(
            patient=patient,
            kind=ConsentKind(form.cleaned_data["kind"]),
            granted=form.cleaned_data["granted"],
            text_version=form.cleaned_data["text_version"],
            actor=Actor.of(request),
        )
        return redirect("patients:card", pk=patient.pk)
    return render(request, "patients/consent.html", {"patient": patient, "form": form}, status=400)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the duplicate by its number, compare the two side by side, give a reason, confirm."""
    require(can_merge(request.user))
    keep = patient_or_404(request.user, pk)
    chosen = request.method == "POST" or "number" in request.GET or "duplicate_pick" in request.GET
    data = request.POST if request.method == "POST" else request.GET if chosen else None
    form = MergeForm(data, patients=visible_patients(request.user), keep=keep)
    if data is None:
        _viewed(request, keep)
        return render(request, "patients/merge.html", {"keep": keep, "form": form})
    duplicate = form.cleaned_data.get("duplicate") if form.is_valid() else None
    if duplicate is not None and request.method == "POST":
        if not form.cleaned_data["confirm"]:
            form.add_error("confirm", _("Tick the box to confirm the merge."))
        else:
            try:
                merge_patients(
                    keep=keep,
                    duplicate=duplicate,
                    actor=Actor.of(request),
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                field = "reason" if error.code == PatientErrorCode.REASON_REQUIRED else None
                form.add_error(field, str(error.message))
            else:
                return redirect("patients:card", pk=keep.pk)
    for patient in (keep, duplicate):
        if patient is not None:
            _viewed(request, patient, (*SEARCH_FIELDS, "appointments"))
    status = 200 if request.method == "GET" and duplicate is not None else 400
    context = {"keep": keep, "duplicate": duplicate, "form": form}
    return render(request, "patients/merge.html", context, status=status)


# Privacy requests -----------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def export_json(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_handle_privacy_requests(request.user))
    patient = patient_or_404(request.user, pk)
    require(can_handle_privacy_requests(request.user, patient))
    data = export_patient(patient=patient, actor=Actor.of(request), medium="json")
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="patient-{patient.number or patient.pk}.json"'
    return response


@login_required
@never_cache
@require_GET
def export_html(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_handle_privacy_requests(request.user))
    patient = patient_or_404(request.user, pk)
    require(can_handle_privacy_requests(request.user, patient))
    data = export_patient(patient=patient, actor=Actor.of(request), medium="html")
    return render(request, "patients/export.html", {"patient": patient, "record": data})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def anonymise(request: HttpRequest, pk: int) -> HttpResponse:
    """Two steps: say on what request (and see what goes and what stays), then confirm."""
    require(can_handle_privacy_requests(request.user))
    patient = patient_or_404(request.user, pk)
    require(can_handle_privacy_requests(request.user, patient))
    now = timezone.now()
    refusal = anonymisation_refusal(patient=patient, now=now)
    form = AnonymiseForm(request.POST if request.method == "POST" else None)
    context = {"patient": patient, "form": form, "refusal": refusal, "retention": retention(patient)}
    if request.method != "POST":
        _viewed(request, patient)
        return render(request, "patients/anonymise.html", context)
    if refusal is not None or not form.is_valid():
        return render(request, "patients/anonymise.html", context, status=409 if refusal else 400)
    if not form.cleaned_data["confirm"]:
        if request.POST.get("step") == "confirm":
            form.add_error("confirm", _("Tick the box to confirm."))
            return render(request, "patients/anonymise.html", {**context, "confirming": True}, status=400)
        return render(request, "patients/anonymise.html", {**context, "confirming": True})
    try:
        anonymise_patient(
            patient=patient, actor=Actor.of(request), reason=form.cleaned_data["reason"], now=now
        )
    except DomainError as error:
        return render(request, "patients/anonymise.html", {**context, "refusal": error}, status=409)
    return render(request, "patients/anonymised.html", {"number": patient.number})
