"""The authorization matrix in docs/security.md, request by request, against the real views.

Each (row, role) is one test: the role asks for the row's URL (filled with the world's
objects: the learner's submission, credential, token; the lab instructor's draft, run and
job) and the answer must be served for `yes`, refused for `no` (401/403/404 or a redirect
to log in) without any of the learner's markers in the body. Every URL pattern needs a row.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from test_credentials_support import fixture_key_dir  # noqa: F401 - fixture, requested by name
from test_security_support import (  # noqa: F401 - fixtures, requested by name
    ROLES,
    Row,
    World,
    assert_refused,
    assert_served,
    fixture_world,
    fixture_world_module,
    matrix,
    resolver_routes,
    route_params,
)

pytestmark = [pytest.mark.django_db]

ROWS = matrix()


def test_every_url_has_a_row():
    missing = [route for route, _ in resolver_routes() if not any(row.covers(route) for row in ROWS)]
    assert not missing, ("URL patterns without a row in the authorization matrix (docs/security.md): "
                         + ", ".join(missing))


def test_every_row_is_a_url():
    routes = [route for route, _ in resolver_routes()]
    stale = [row.route for row in ROWS if not any(row.covers(route) for route in routes)]
    assert not stale, f"rows in docs/security.md for URLs that no longer exist: {stale}"


def test_row_names_match_the_resolver():
    names = dict(resolver_routes())
    wrong = [(row.route, row.name, names[row.route]) for row in ROWS if row.route in names and names[row.route] != row.name]
    assert not wrong, f"(route, name in the matrix, name in urls.py): {wrong}"


def urls_for(row: Row, world: World) -> list[str]:
    if row.prefix == "admin/":
        from django.contrib import admin

        urls = [reverse("admin:index")]
        for model in admin.site._registry:
            urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        return urls
    samples = world.samples()
    params = route_params(row.route)
    unknown = [p for p in params if p not in samples]
    assert not unknown, f"{row.route}: add a sample value for {unknown} in World.samples (test_security_support.py)"
    if not row.name:
        return ["/" + row.route]
    return [reverse(row.name, kwargs={p: samples[p] for p in params}) + QUERIES.get(row.name, "").format(world=world)]


# Views that also read the query string (which version to show).
QUERIES = {
    "authoring:version_diff": "?to={world.version.content_hash}",
    "authoring:version_zip": "?version={world.version.content_hash}",
}


def request(world: World, row: Row, role: str, url: str):
    client = world.client(role, api=row.name.startswith("api:") and row.name not in ("api:openapi-json", "api:openapi-view"))
    if row.method == "POST":
        return client.post(url, {})
    return client.get(url)


@pytest.mark.parametrize("row", ROWS, ids=[row.route or "/" for row in ROWS])
@pytest.mark.parametrize("role", ROLES)
def test_cell(row: Row, role: str, world: World):
    for url in urls_for(row, world):
        response = request(world, row, role, url)
        what = f"{role} {row.method} {url}"
        if row.allowed[role]:
            assert_served(response, what)
        else:
            assert_refused(response, world, what)
