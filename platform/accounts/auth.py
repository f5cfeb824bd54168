"""Authentication for the REST API: `Authorization: Bearer <token>`, or the browser session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from .services import user_for_token


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(raw=token)
        if user is not None:
            request.user = user
        return user


class BrowserSession(SessionAuth):
    """The session cookie, with CSRF checked for unsafe methods.

    Without a session cookie there is nothing to check: the client is anonymous and gets
    401, not a confusing CSRF 403.
    """

    def _get_key(self, request: HttpRequest) -> str | None:
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)


API_AUTH = [BearerToken(), BrowserSession()]
