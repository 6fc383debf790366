"""The registry pages, under /patients/ (the import pages are mounted before these, at /patients/import/)."""

from django.urls import URLPattern, URLResolver, path

from navbat.patients import views

app_name = "patients"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.search, name="search"),
    path("new/", views.register, name="register"),
    path("<int:pk>/", views.card, name="card"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/verify/", views.verify, name="verify"),
    path("<int:pk>/alerts/", views.alerts, name="alerts"),
    path("<int:pk>/alerts/<int:alert_pk>/remove/", views.alert_remove, name="alert_remove"),
    path("<int:pk>/complaints/new/", views.complaint, name="complaint"),
    path("<int:pk>/consents/new/", views.consent, name="consent"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("<int:pk>/export.json", views.export_json, name="export_json"),
    path("<int:pk>/export/", views.export_html, name="export_html"),
    path("<int:pk>/anonymise/", views.anonymise, name="anonymise"),
]
