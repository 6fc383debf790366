"""A dentist's calendar on his phone, under /calendar/: his page, and the private feed itself."""

from django.urls import URLPattern, URLResolver, path

from navbat.clinic import views

app_name = "calendar"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.mine, name="mine"),
    path("new/", views.create, name="create"),
    path("revoke/", views.revoke, name="revoke"),
    path("<str:token>.ics", views.feed, name="feed"),
]
