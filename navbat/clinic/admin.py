from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from navbat.accounts.audit import Actor
from navbat.clinic import models
from navbat.clinic.services import revoke_calendar_feed


@admin.register(models.Clinic)
class ClinicAdmin(admin.ModelAdmin[models.Clinic]):
    list_display = ["name", "country", "time_zone", "slot_step_minutes", "horizon_days"]
    list_filter = ["country"]
    search_fields = ["name", "address"]


@admin.register(models.Department)
class DepartmentAdmin(admin.ModelAdmin[models.Department]):
    list_display = ["name", "kind", "clinic"]
    list_filter = ["kind", "clinic"]
    search_fields = ["name"]


@admin.register(models.Specialty)
class SpecialtyAdmin(admin.ModelAdmin[models.Specialty]):
    list_display = ["code", "name_uz", "name_ru", "name_en"]
    search_fields = ["code", "name_uz", "name_ru", "name_en"]


@admin.register(models.StaffMember)
class StaffMemberAdmin(admin.ModelAdmin[models.StaffMember]):
    list_display = ["display_name", "role", "department", "languages", "is_active"]
    list_filter = ["role", "department", "specialties", "is_active", "clinic"]
    search_fields = ["user__last_name", "user__first_name", "user__username"]
    filter_horizontal = ["specialties"]
    list_select_related = ["user", "department"]

    @admin.display(description=_("full name"), ordering="user__last_name")
    def display_name(self, obj: models.StaffMember) -> str:
        return obj.display_name


@admin.register(models.Equipment)
class EquipmentAdmin(admin.ModelAdmin[models.Equipment]):
    list_display = ["code", "name_uz", "name_ru", "name_en", "clinic"]
    list_filter = ["clinic"]
    search_fields = ["code", "name_uz", "name_ru", "name_en"]


@admin.register(models.Chair)
class ChairAdmin(admin.ModelAdmin[models.Chair]):
    list_display = ["name", "department", "is_active"]
    list_filter = ["department", "equipment", "is_active"]
    search_fields = ["name"]
    filter_horizontal = ["equipment"]


@admin.register(models.Service)
class ServiceAdmin(admin.ModelAdmin[models.Service]):
    list_display = [
        "code",
        "name_uz",
        "name_ru",
        "name_en",
        "duration_minutes",
        "specialty",
        "price",
        "funding",
        "min_age",
        "max_age",
        "is_active",
    ]
    list_filter = ["funding", "specialty", "equipment", "is_active", "clinic"]
    search_fields = ["code", "name_uz", "name_ru", "name_en"]
    filter_horizontal = ["equipment"]


class PlanIntervalInline(admin.TabularInline[models.PlanInterval, models.WorkingPlan]):
    model = models.PlanInterval
    extra = 1


@admin.register(models.WorkingPlan)
class WorkingPlanAdmin(admin.ModelAdmin[models.WorkingPlan]):
    list_display = ["staff", "valid_from", "valid_until", "default_chair"]
    list_filter = ["staff__department", "valid_from"]
    search_fields = ["staff__user__last_name", "staff__user__first_name"]
    date_hierarchy = "valid_from"
    inlines = [PlanIntervalInline]
    list_select_related = ["staff__user", "default_chair"]


@admin.register(models.ScheduleException)
class ScheduleExceptionAdmin(admin.ModelAdmin[models.ScheduleException]):
    list_display = ["staff", "date", "kind", "start", "end", "note"]
    list_filter = ["kind", "date"]
    search_fields = ["staff__user__last_name", "note"]
    date_hierarchy = "date"
    list_select_related = ["staff__user"]


@admin.register(models.ClinicClosure)
class ClinicClosureAdmin(admin.ModelAdmin[models.ClinicClosure]):
    list_display = ["clinic", "date", "start", "end", "reason"]
    list_filter = ["clinic"]
    search_fields = ["reason"]
    date_hierarchy = "date"


@admin.register(models.CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin[models.CalendarFeed]):
    """The dentists' calendar feeds: who has one, when it was last fetched, and revoking it (a lost phone).
    Read-only otherwise: only the dentist himself makes one (its address is shown to him alone, once)."""

    list_display = ["staff", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "staff__clinic"]
    search_fields = ["staff__user__last_name", "staff__user__first_name", "staff__user__username"]
    list_select_related = ["staff__user"]
    readonly_fields = ["staff", "language", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a revoked feed stays on record

    @admin.action(description=_("Revoke the selected calendar links"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[models.CalendarFeed]) -> None:
        actor = Actor.of(request)
        live = list(queryset.filter(revoked_at__isnull=True))
        for feed in live:
            revoke_calendar_feed(feed=feed, actor=actor)
        self.message_user(
            request,
            ngettext("%(count)d calendar link revoked.", "%(count)d calendar links revoked.", len(live))
            % {"count": len(live)},
        )


@admin.register(models.CapacityPolicy)
class CapacityPolicyAdmin(admin.ModelAdmin[models.CapacityPolicy]):
    """No-show policy, emergency reserve and overbooking per clinic (booking.noshows, booking.reserve,
    booking.overbooking)."""

    list_display = [
        "clinic",
        "no_show_limit",
        "no_show_months",
        "no_show_mode",
        "reserve_percent",
        "overbooking_enabled",
        "overbooking_threshold",
        "overbooking_max_per_day",
        "overbooking_max_minutes",
    ]
    list_filter = ["overbooking_enabled"]
    list_select_related = ["clinic"]


@admin.register(models.ReserveBlock)
class ReserveBlockAdmin(admin.ModelAdmin[models.ReserveBlock]):
    list_display = ["name", "dentist", "weekday", "date", "start", "end"]
    list_filter = ["dentist__clinic", "weekday"]
    list_select_related = ["dentist__user"]
