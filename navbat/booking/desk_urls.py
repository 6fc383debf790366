"""The reception desk and the dentist's day, under /desk/."""

from django.urls import path

from navbat.booking import desk_views

app_name = "desk"

urlpatterns = [
    path("", desk_views.board, name="board"),
    path("patients/", desk_views.find_patient, name="find_patient"),
    path("walk-in/", desk_views.walk_in, name="walk_in"),
    path("emergency/", desk_views.emergency, name="emergency"),
    path("overbook/", desk_views.overbook, name="overbook"),
    path("appointments/<int:pk>/move/", desk_views.move, name="move"),
    path("appointments/<int:pk>/arrive/", desk_views.arrive, name="arrive"),
    path("appointments/<int:pk>/noshow/", desk_views.noshow, name="noshow"),
    path("appointments/<int:pk>/cancel/", desk_views.cancel, name="cancel"),
    path("appointments/<int:pk>/fulfil/", desk_views.fulfil, name="fulfil"),
    path("appointments/<int:pk>/transfer/", desk_views.transfer, name="transfer"),
    path("my-day/", desk_views.my_day, name="my_day"),
    path("my-day/<int:pk>/fulfil/", desk_views.my_day_fulfil, name="my_day_fulfil"),
]
