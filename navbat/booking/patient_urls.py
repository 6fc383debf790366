"""The patients' own booking pages, under /book/; the signed links under /book/a/<token>/."""

from django.urls import URLPattern, URLResolver, path

from navbat.booking import patient_views as views

app_name = "book"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.start, name="start"),
    path("what/", views.what, name="what"),
    path("pain/", views.pain, name="pain"),
    path("dentist/", views.dentist, name="dentist"),
    path("when/", views.when, name="when"),
    path("hold/", views.hold, name="hold"),
    path("hold/<int:pk>/", views.confirm, name="confirm"),
    path("hold/<int:pk>/release/", views.release, name="release"),
    path("mine/", views.mine, name="mine"),
    path("appointment/<int:pk>/", views.appointment, name="appointment"),
    path("appointment/<int:pk>/ics/", views.ics, name="ics"),
    path("appointment/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("appointment/<int:pk>/move/", views.move, name="move"),
    path("appointment/<int:pk>/move/<int:hold>/", views.move_confirm, name="move_confirm"),
    path("a/<str:token>/", views.link, name="link"),
    path("a/<str:token>/ics/", views.link_ics, name="link_ics"),
    path("a/<str:token>/cancel/", views.link_cancel, name="link_cancel"),
    path("a/<str:token>/move/", views.link_move, name="link_move"),
    path("a/<str:token>/move/<int:hold>/", views.link_move_confirm, name="link_move_confirm"),
]
