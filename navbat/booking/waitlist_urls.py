"""The waitlist's pages, under /waitlist/: a patient's offer by its link (no sign-in), the operators' list."""

from django.urls import URLPattern, URLResolver, path

from navbat.booking import waitlist_views as views

app_name = "waitlist"

urlpatterns: list[URLPattern | URLResolver] = [
    path("o/<str:token>/", views.offer, name="offer"),
    path("offers/", views.offers, name="offers"),
    path("join/", views.join, name="join"),
    path("join/<int:patient>/", views.join_for, name="join_for"),
    path("earlier/<int:pk>/", views.earlier, name="earlier"),
]
