"""The REST API: /api/, OpenAPI schema at /api/openapi.json, interactive docs at /api/docs."""

from __future__ import annotations

from ninja import NinjaAPI

from accounts.auth import API_AUTH
from catalog.api import router as catalog_router
from submissions.api import router as submissions_router

api = NinjaAPI(
    title="SkillForge API",
    version="1",
    description="Submit work to labs and read graded reports. Authenticate with `Authorization: Bearer <token>` "
    "(create one on the API tokens page or with `manage.py create_token`) or a browser session.",
    auth=API_AUTH,
    urls_namespace="api",
)
api.add_router("/", catalog_router)
api.add_router("/", submissions_router)
