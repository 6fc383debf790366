"""Web push, from the site's root: /sw.js (the service worker's scope is its folder) and /notify/push/…"""

from django.urls import URLPattern, URLResolver, path

from navbat.notify import push_views as views

app_name = "push"

urlpatterns: list[URLPattern | URLResolver] = [
    path("sw.js", views.service_worker, name="service_worker"),
    path("notify/push/subscribe/", views.subscribe, name="subscribe"),
    path("notify/push/unsubscribe/", views.unsubscribe, name="unsubscribe"),
]
