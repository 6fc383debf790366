from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "navbat.booking"
    verbose_name = _("Booking")

    def ready(self) -> None:
        from navbat.booking import signals  # noqa: F401  (connects the receivers)
