"""Telegram, under /notify/telegram/: the bot's webhook and the patient's link and unlink."""

from django.urls import URLPattern, URLResolver, path

from navbat.notify import telegram_views as views

app_name = "telegram"

urlpatterns: list[URLPattern | URLResolver] = [
    path("link/", views.link, name="link"),
    path("unlink/", views.unlink, name="unlink"),
    path("<str:secret>/", views.webhook, name="webhook"),
]
