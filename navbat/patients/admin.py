from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.patients.models import Consent, Guardianship, MedicalAlert, NationalIdentifier, Patient


class ReadOnlyInline(admin.TabularInline[Any, Patient]):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IdentifierInline(ReadOnlyInline):
    model = NationalIdentifier
    # The number itself stays on the registry card.
    fields = ("kind", "country", "created_at")
    readonly_fields = ("kind", "country", "created_at")


class AlertInline(ReadOnlyInline):
    model = MedicalAlert
    fields = ("kind", "note", "created_at")
    readonly_fields = ("kind", "note", "created_at")


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ("kind", "granted", "text_version", "at", "recorded_by")
    readonly_fields = ("kind", "granted", "text_version", "at", "recorded_by")


class WardInline(ReadOnlyInline):
    model = Guardianship
    fk_name = "guardian"
    fields = ("child", "relation")
    readonly_fields = ("child", "relation")


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    """Read-only and audited: registry changes go through the registry services (pages, API, import)."""

    list_display = ["number", "surname", "name", "patronymic", "birth_date", "phone", "is_verified", "clinic"]
    list_filter = ["clinic", "is_verified", "self_registered", "treatment_status", "flagged", "sex"]
    search_fields = ["number", "surname", "name", "patronymic", "phone", "search_surname"]
    date_hierarchy = "created_at"
    inlines = [IdentifierInline, AlertInline, ConsentInline, WardInline]
    exclude = ["search_surname", "search_name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and object_id.isdigit():
            record(
                Actor.of(request),
                AuditAction.VIEW,
                object_type="patient",
                object_id=object_id,
                patient_id=int(object_id),
                note="admin",
            )
        return response
