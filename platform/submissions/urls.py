from django.urls import path

from . import views

urlpatterns = [
    path("labs/<slug:slug>/submit/", views.submit, name="submit"),
    path("submissions/", views.mine, name="my_submissions"),
    path("submissions/<uuid:submission_id>/", views.detail, name="submission_detail"),
    path("submissions/<uuid:submission_id>/status/", views.attempt_status, name="submission_status"),
]
