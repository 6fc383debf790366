"""Patients' own pages, under /me/."""

from django.urls import URLPattern, URLResolver, path

from navbat.accounts import otp_views

app_name = "me"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", otp_views.my_page, name="home"),
    path("login/", otp_views.sign_in_page, name="login"),
    path("register/", otp_views.register_page, name="register"),
    path("code/", otp_views.code_page, name="code"),
    path("who/", otp_views.who_page, name="who"),
    path("logout/", otp_views.sign_out, name="logout"),
]
