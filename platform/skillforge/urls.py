from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from . import ops
from .api import api

urlpatterns = [
    path("metrics", ops.metrics_view, name="metrics"),
    path("healthz", ops.healthz, name="healthz"),
    path("", include("catalog.urls")),
    path("", include("submissions.urls")),
    path("", include("credentials.urls")),
    path("", include("portfolios.urls")),
    path("", include("learning.urls")),
    path("lti/", include("lti.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("privacy.urls")),
    path("instructor/", include("authoring.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the public, cacheable ones).
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("skillforge/favicon.svg"))),
]
