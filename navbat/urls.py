from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from navbat.accounts import suspicious_views
from navbat.accounts.language import switch_language
from navbat.api import api
from navbat.booking import overtime_views
from navbat.booking import views as booking_views

admin.site.site_header = _("navbat administration")
admin.site.site_title = _("navbat administration")
admin.site.index_title = _("Clinic administration")

urlpatterns = [
    path("", booking_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("patients/import/", include("navbat.patients.import_urls")),
    path("patients/", include("navbat.patients.urls")),
    path("staff/", include("navbat.accounts.urls")),
    path("me/", include("navbat.accounts.otp_urls")),
    # ---- patient booking pages ----
    path("book/", include("navbat.booking.patient_urls")),
    # ---- call-centre console ----
    path("console/", include("navbat.booking.console_urls")),
    # ---- reception desk and dentist's day ----
    path("desk/", include("navbat.booking.desk_urls")),
    # ---- waitlist: offers by link, the operators' list ----
    path("waitlist/", include("navbat.booking.waitlist_urls")),
    # ---- calendars ----
    path("calendar/", include("navbat.clinic.urls")),
    # ---- staff pages of messages ----
    path("messages/", include("navbat.notify.staff_urls")),
    # ---- SMS gateways' delivery reports and incoming SMS ----
    path("notify/hooks/", include("navbat.notify.webhook_urls")),
    # ---- Telegram bot (webhook, linking) and web push (/sw.js, subscriptions) ----
    path("notify/telegram/", include("navbat.notify.telegram_urls")),
    path("", include("navbat.notify.push_urls")),
    # ---- reports for managers ----
    path("reports/suspicious/", suspicious_views.report, name="suspicious_report"),
    path("reports/overtime/", overtime_views.report, name="overtime_report"),
    path("language/", switch_language, name="language"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
