from django.urls import path

from . import views

urlpatterns = [
    path("data/", views.data_page, name="privacy_data"),
    path("data/export.json", views.export_json, name="privacy_export_json"),
    path("data/export.zip", views.export_zip, name="privacy_export_zip"),
    path("delete/", views.delete_account, name="privacy_delete"),
]
