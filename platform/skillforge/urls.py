from django.contrib import admin
from django.urls import include, path

from .api import api

urlpatterns = [
    path("", include("catalog.urls")),
    path("", include("submissions.urls")),
    path("", include("credentials.urls")),
    path("", include("portfolios.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
