"""The staff's pages of messages, under /messages/: the inbox of replies, the templates, the deliveries.

The calls to make live in the call-centre console (console:calls, console:call_outcome)."""

from django.urls import URLPattern, URLResolver, path

from navbat.notify import staff_views as views

app_name = "messages"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.reply, name="reply"),
    path("templates/", views.templates, name="templates"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path("templates/<str:kind>/<str:channel>/<str:language>/", views.template_edit, name="template_edit"),
    path(
        "templates/<str:kind>/<str:channel>/<str:language>/reset/",
        views.template_reset,
        name="template_reset",
    ),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<int:pk>/resend/", views.resend, name="resend"),
]
