import csv
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from navbat.accounts.models import AuditEntry

EXPORT_COLUMNS = [
    "at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "fields",
    "ip_address",
    "path",
    "note",
]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """Read-only: the log is append-only. Administrators filter it and export what they filtered."""

    list_display = ["at", "actor", "action", "object_type", "object_id", "patient_id", "ip_address", "path"]
    list_filter = ["action", "object_type", "at", "actor"]
    search_fields = ["object_id", "=patient_id", "path", "note", "actor__username"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
    actions = ["export_csv"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Export the selected entries (CSV)"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        writer = csv.writer(response)
        writer.writerow(EXPORT_COLUMNS)
        for row in queryset.values_list(*EXPORT_COLUMNS):
            writer.writerow(row)
        return response
