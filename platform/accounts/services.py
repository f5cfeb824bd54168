"""Account use-cases: create an account with its role, issue, check and revoke API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .models import ApiToken, Profile, Role

TOKEN_PREFIX = "sf_"  # noqa: S105 - a recognisable prefix, not a secret
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_account(*, username: str, password: str, email: str = "", role: str = Role.LEARNER) -> AbstractBaseUser:
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email, password=password)
        Profile.objects.create(user=user, role=role)
    return user


def ensure_account(*, username: str, password: str, role: str) -> AbstractBaseUser:
    """Create the account, or reset its password and role: for demo data, run any number of times."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    user.save()
    Profile.objects.update_or_create(user=user, defaults={"role": role})
    return user


def token_digest(raw: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (no password-style stretching).
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_token(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], digest=token_digest(raw))
    return token, raw


def user_for_token(*, raw: str) -> AbstractBaseUser | None:
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # One conditional UPDATE at most a minute: no write (nor query) per request, no race.
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(
            last_used_at=now
        )
    return token.user


def revoke_token(*, user: AbstractBaseUser, token_id: int) -> bool:
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)
