from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("labs/<slug:slug>/draft/", views.save_draft, name="save_draft"),
]
