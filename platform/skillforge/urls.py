from django.contrib import admin
from django.urls import include, path

from . import ops
from .api import api

urlpatterns = [
    path("metrics", ops.metrics_view, name="metrics"),
    path("healthz", ops.healthz, name="healthz"),
    path("", include("catalog.urls")),
    path("", include("submissions.urls")),
    path("", include("credentials.urls")),
    path("", include("portfolios.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
