"""The call-centre console, under /console/ (one page; htmx swaps its parts)."""

from django.urls import URLPattern, URLResolver, path

from navbat.booking import console_views as views
from navbat.notify import staff_views as messages_views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("callers/new/", views.register, name="register"),
    path("callers/<int:pk>/", views.card, name="card"),
    path("callers/<int:pk>/options/", views.options, name="options"),
    path("callers/<int:pk>/book/", views.book, name="book"),
    path("visits/<int:pk>/move/", views.move, name="move"),
    path("visits/<int:pk>/cancel/", views.cancel, name="cancel"),
    # ---- calls to make (notify.staff_views) ----
    path("calls/", messages_views.calls, name="calls"),
    path("calls/<int:pk>/", messages_views.call_outcome, name="call_outcome"),
]
