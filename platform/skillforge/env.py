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


def load_secret_files(names: tuple[str, ...], *, forbidden_root: Path,
                      environ: dict[str, str] | None = None) -> None:
    """NAME_FILE=/run/secrets/x fills NAME from that file (Docker and Kubernetes secrets).

    A secret comes from the environment or from a file outside the checkout, never from a
    file in it: a path under forbidden_root is refused, and so is setting both forms."""
    env = os.environ if environ is None else environ
    for name in names:
        path_value = env.get(f"{name}_FILE", "").strip()
        if not path_value:
            continue
        path = Path(path_value).expanduser().resolve()
        if path == forbidden_root.resolve() or forbidden_root.resolve() in path.parents:
            raise EnvError(f"{name}_FILE", f"points inside the repository ({path}); keep secrets outside the checkout")
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise EnvError(f"{name}_FILE", f"cannot be read: {exc.strerror or exc}") from None
        if not value:
            raise EnvError(f"{name}_FILE", f"{path} is empty")
        if env.get(name) and env[name] != value:  # equal: this process already read the file (settings re-imported)
            raise EnvError(f"{name}_FILE", f"is set together with {name}; set one of them")
        env[name] = value


def env_rate_limits(name: str, default: dict[str, dict[str, tuple[int, int]]], *,
                    environ: Mapping[str, str] | None = None) -> dict[str, dict[str, tuple[int, int]]]:
    """Rate limits: "off" (none), or changes to the defaults as "login.ip=30/300,api.user=1000/60"."""
    value = (_raw(name, environ) or "").strip()
    limits = {scope: dict(rules) for scope, rules in default.items()}
    if not value:
        return limits
    if value.lower() == "off":
        return {}
    for item in value.split(","):
        key, sep, rate = item.strip().partition("=")
        scope, dot, who = key.partition(".")
        count, slash, seconds = rate.partition("/")
        if not (sep and dot and slash and who in ("ip", "user") and count.isdigit() and seconds.isdigit()
                and int(seconds) > 0):
            raise EnvError(name, f"items look like login.ip=30/300 (scope.ip|user=requests/seconds); got {item!r}")
        limits.setdefault(scope, {})[who] = (int(count), int(seconds))
    return limits
