"""The REST API: /api/, OpenAPI schema at /api/openapi.json, interactive docs at /api/docs."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

from accounts.auth import API_AUTH
from catalog.api import router as catalog_router
from submissions.api import router as submissions_router

from .security import document_limits


class SkillForgeAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        # Every operation may answer 429 (rate limits) and, with a body, 413 (the size cap): say so.
        return document_limits(super().get_openapi_schema(*args, **kwargs))


api = SkillForgeAPI(
    title="SkillForge API",
    version="1",
    description="Submit work to labs and read graded reports. Authenticate with `Authorization: Bearer <token>` "
    "(create one on the API tokens page or with `manage.py create_token`) or a browser session.",
    auth=API_AUTH,
    urls_namespace="api",
)
api.add_router("/", catalog_router)
api.add_router("/", submissions_router)
