"""Read settings from the environment, failing loudly on a malformed value.

Each reader names the variable and what it expected, so a typo in a deployment
(DEBUG=ture, ALLOWED_HOSTS with a space, DATABASE_URL=postgres:/x) stops the
process at start-up instead of running with a surprising default. We write these few
functions by hand rather than add django-environ: they are small, and they raise one
exception type (EnvError) with the message we want.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}
_MISSING: Any = object()


class EnvError(ImproperlyConfigured):
    """An environment variable is missing or malformed; str() says which and why."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        super().__init__(f"environment variable {name}: {problem}")


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    return (os.environ if environ is None else environ).get(name)


def env_str(name: str, default: str = _MISSING, *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    if value is None or value == "":
        if default is _MISSING:
            raise EnvError(name, "is required and not set")
        return default
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise EnvError(name, f"must be one of 1/0, true/false, yes/no, on/off; got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None,
            environ: Mapping[str, str] | None = None) -> int:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise EnvError(name, f"must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise EnvError(name, f"must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    """Comma-separated values; blanks around commas are allowed, empty items are not."""
    value = _raw(name, environ)
    if value is None:
        return list(default)
    if value.strip() == "":
        return []
    items = [item.strip() for item in value.split(",")]
    for item in items:
        if not item:
            raise EnvError(name, f"has an empty item (a stray comma?): {value!r}")
        if any(ch.isspace() for ch in item):
            raise EnvError(name, f"item {item!r} contains whitespace; separate items with commas")
    return items


def env_path(name: str, default: Path, *, environ: Mapping[str, str] | None = None) -> Path:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    return Path(value).expanduser().resolve()


def env_choice(name: str, default: str, choices: tuple[str, ...], *,
               environ: Mapping[str, str] | None = None) -> str:
    value = env_str(name, default, environ=environ).strip()
    if value not in choices:
        raise EnvError(name, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_database(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A DATABASES entry from a URL (postgres://user@host:5432/db, sqlite:////abs/path)."""
    url = env_str(name, default, environ=environ)
    if "://" not in url:
        raise EnvError(name, f"must be a database URL such as postgres://user@host:5432/db or sqlite:////path; got {url!r}")
    try:
        config = dict(dj_database_url.parse(url))
    except ValueError as exc:  # UnknownSchemeError and ParseError are ValueErrors
        raise EnvError(name, f"is not a usable database URL ({exc!r}): {url!r}") from None
    if not config.get("NAME"):
        raise EnvError(name, f"names no database: {url!r}")
    return config


def env_url(name: str, default: str | None, *, schemes: tuple[str, ...],
            environ: Mapping[str, str] | None = None) -> str | None:
    """A URL whose scheme is one of `schemes` (redis://…), or the default when unset."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    scheme, sep, rest = value.strip().partition("://")
    if not sep or scheme not in schemes:
        raise EnvError(name, f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}; got {value!r}")
    return value.strip()
