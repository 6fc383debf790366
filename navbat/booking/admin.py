from django.contrib import admin

from navbat.booking.models import Appointment, AppointmentEvent, BookingPolicy


class AppointmentEventInline(admin.TabularInline[AppointmentEvent, Appointment]):
    """The history is written by the booking services only: read-only here."""

    model = AppointmentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "from_status", "to_status", "reason"]

    def has_add_permission(self, request: object, obj: Appointment | None = None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin[Appointment]):
    """Changes of status and time go through the booking services (the pages and the API), not this form."""

    list_display = ["starts_at", "ends_at", "patient", "service", "dentist", "chair", "status", "channel"]
    list_filter = ["status", "channel", "overbooked", "dentist", "chair", "service", "clinic"]
    search_fields = ["patient__surname", "patient__name", "patient__phone", "service__code"]
    date_hierarchy = "starts_at"
    list_select_related = ["patient", "service", "dentist__user", "chair"]
    readonly_fields = [
        "clinic",
        "patient",
        "service",
        "dentist",
        "chair",
        "starts_at",
        "ends_at",
        "status",
        "channel",
        "overbooked",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [AppointmentEventInline]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(BookingPolicy)
class BookingPolicyAdmin(admin.ModelAdmin[BookingPolicy]):
    """A clinic's limits against hoarding and the time new days open (booking.quotas, booking.release)."""

    list_display = [
        "clinic",
        "free_bookings_per_specialty",
        "max_reschedules",
        "release_time",
        "release_window_minutes",
    ]
