from django.urls import path

from . import views

urlpatterns = [
    path("issuer", views.issuer, name="issuer"),
    path("verify/", views.verify, name="verify"),
    path("credentials/", views.mine, name="my_credentials"),
    path("credentials/status/revocation", views.status_list, name="status_list"),
    path("credentials/achievements/<str:hexdigest>", views.achievement, name="achievement"),
    path("credentials/<uuid:credential_id>/", views.credential_detail, name="credential_detail"),
    path("credentials/<uuid:credential_id>.json", views.credential_json, name="credential_json"),
    path("credentials/<uuid:credential_id>.jwt", views.credential_jwt, name="credential_jwt"),
    path("credentials/<uuid:credential_id>.pdf", views.credential_pdf, name="credential_pdf"),
    path("credentials/<uuid:credential_id>.png", views.credential_png, name="credential_png"),
    path("credentials/<uuid:credential_id>.svg", views.credential_svg, name="credential_svg"),
    path("credentials/<uuid:credential_id>/report.json", views.credential_report, name="credential_report"),
]
