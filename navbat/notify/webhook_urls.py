"""Gateways' calls: delivery reports and incoming SMS (mounted at /notify/hooks/)."""

from django.urls import path

from navbat.notify import webhooks

app_name = "notify_hooks"

urlpatterns = [
    path("sms/<slug:provider>/report/", webhooks.sms_report, name="sms-report"),
    path("sms/<slug:provider>/inbound/", webhooks.sms_inbound, name="sms-inbound"),
]
