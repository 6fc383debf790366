"""/patients/import/: upload a patient list, read the dry-run report, confirm, see the result."""

from django.urls import URLPattern, URLResolver, path

from navbat.patients import import_views

app_name = "patient_import"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", import_views.upload, name="upload"),
    path("<str:token>/", import_views.report, name="report"),
    path("<str:token>/import/", import_views.commit, name="commit"),
    path("<str:token>/done/", import_views.result, name="result"),
    path("<str:token>/rejected-rows.csv", import_views.rejections_csv, name="rejections_csv"),
]
