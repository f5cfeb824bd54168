from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("labs/<slug:slug>/", views.lab_detail, name="lab_detail"),
]
