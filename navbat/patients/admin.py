from django.contrib import admin

from navbat.patients.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    list_display = ["surname", "name", "patronymic", "birth_date", "phone", "clinic"]
    list_filter = ["clinic"]
    search_fields = ["surname", "name", "patronymic", "phone"]
    date_hierarchy = "created_at"
