"""Accounts: sign up as a learner, log in and out, API tokens (hash only), the commands."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    PASSWORD,
    fixture_ada,
    fixture_alan,
)

from accounts.models import ApiToken, Profile, is_instructor
from accounts.services import token_digest

pytestmark = pytest.mark.django_db


def test_sign_up_makes_a_learner_and_logs_in(client):
    response = client.post("/accounts/signup/", {"username": "margaret", "email": "m@example.org",
                                                 "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(username="margaret")
    assert user.profile.role == "learner" and not is_instructor(user)
    assert "Log out margaret" in client.get("/").content.decode()


def test_sign_up_refuses_a_weak_password(client):
    response = client.post("/accounts/signup/", {"username": "weak", "password1": "123", "password2": "123"})
    assert response.status_code == 200 and "too short" in response.content.decode()
    assert not get_user_model().objects.filter(username="weak").exists()


def test_log_in_and_out(client, ada):
    response = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302
    assert client.post("/accounts/logout/").status_code == 302
    assert "Log in" in client.get("/").content.decode()


def test_roles(ada, alan):
    assert not is_instructor(ada) and is_instructor(alan)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.filter(user=ada).update(role="admin")  # the database refuses unknown roles


def test_a_token_made_on_the_page_is_shown_once_and_stored_as_a_hash(ada):
    client = Client()
    client.login(username="ada", password=PASSWORD)
    page = client.post("/accounts/tokens/", {"name": "laptop"}).content.decode()
    raw = re.search(r'<div class="token">(sf_[A-Za-z0-9_-]+)</div>', page).group(1)
    token = ApiToken.objects.get(user=ada)
    assert token.name == "laptop" and token.digest == token_digest(raw)
    assert raw not in client.get("/accounts/tokens/").content.decode()  # never shown again
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/submissions").status_code == 200
    client.post(reverse("revoke_token", args=[token.pk]))  # a signed id: /accounts/tokens/<pk>.<sig>/revoke/
    assert not ApiToken.objects.exists()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/submissions").status_code == 401


def test_create_token_command(ada):
    out = StringIO()
    call_command("create_token", "ada", "--name", "ci", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("sf_") and ApiToken.objects.get(name="ci").digest == token_digest(raw)
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("create_token", "nobody")


def test_seed_demo_is_repeatable_and_prints_the_accounts(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    text = out.getvalue()
    assert "demo-learner" in text and "demo-learner-pass" in text and "demo-instructor-pass" in text
    assert Client().login(username="demo-learner", password="demo-learner-pass")
    assert is_instructor(get_user_model().objects.get(username="demo-instructor"))
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
