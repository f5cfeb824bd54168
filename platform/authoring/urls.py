from django.urls import path

from . import labviews, views

app_name = "authoring"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.new_draft, name="new"),
    path("import/", views.import_zip, name="import"),
    path("drafts/<uuid:draft_id>/", views.draft_detail, name="draft"),
    path("drafts/<uuid:draft_id>/brief/", views.brief, name="brief"),
    path("drafts/<uuid:draft_id>/settings/", views.lab_settings, name="settings"),
    path("drafts/<uuid:draft_id>/files/new/", views.new_file, name="new_file"),
    path("drafts/<uuid:draft_id>/files/<str:area>/<path:path>/delete/", views.delete_file, name="delete_file"),
    path("drafts/<uuid:draft_id>/files/<str:area>/<path:path>", views.edit_file, name="edit_file"),
    path("drafts/<uuid:draft_id>/replace/", views.replace_zip, name="replace"),
    path("drafts/<uuid:draft_id>/export.zip", views.export, name="export"),
    path("drafts/<uuid:draft_id>/changes/", views.diff_draft, name="draft_diff"),
    path("drafts/<uuid:draft_id>/validate/", views.validate, name="validate"),
    path("drafts/<uuid:draft_id>/publish/", views.publish, name="publish"),
    path("drafts/<uuid:draft_id>/delete/", views.delete_draft, name="delete_draft"),
    path("validations/<int:run_id>/", views.validation, name="validation"),
    path("labs/<slug:slug>/", labviews.lab_detail, name="lab"),
    path("labs/<slug:slug>/edit/", views.edit_lab, name="edit_lab"),
    path("labs/<slug:slug>/diff/", labviews.version_diff, name="version_diff"),
    path("labs/<slug:slug>/version.zip", labviews.version_zip, name="version_zip"),
    path("labs/<slug:slug>/regrade/", labviews.regrade_new, name="regrade_new"),
    path("labs/<slug:slug>/analytics/", labviews.lab_analytics, name="analytics"),
    path("labs/<slug:slug>/analytics/<str:table>.csv", labviews.analytics_csv, name="analytics_csv"),
    path("labs/<slug:slug>/similarity/", labviews.lab_similarity, name="similarity"),
    path("labs/<slug:slug>/similarity/<uuid:a>/<uuid:b>/", labviews.similarity_pair, name="similarity_pair"),
    path("regrades/<int:job_id>/", labviews.regrade_job, name="regrade"),
    path("attempts/<sid:attempt_id>/override/", labviews.override, name="override"),
]
