from django.urls import URLPattern, URLResolver, path

from navbat.accounts import views

app_name = "accounts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("two-factor/", views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
]
