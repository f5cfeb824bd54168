"""python manage.py rotate_issuer_key [--revoke-old --reason "…"]: a new signing key; old ones stay published."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from credentials import keys


class Command(BaseCommand):
    help = "Generate a new issuer key. The old key is retired (its credentials still verify) or, with --revoke-old, revoked."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--revoke-old", action="store_true", help="the old key leaked: what it signed stops verifying")
        parser.add_argument("--reason", default="", help="why the old key is revoked (shown to verifiers)")

    def handle(self, *args: Any, **options: Any) -> None:
        keys.keyring()  # make sure there is a key to rotate from
        new, old = keys.rotate(revoke_old=options["revoke_old"], reason=options["reason"])
        for entry in old:
            self.stdout.write(f"{'revoked' if entry.revoked else 'retired'}: {entry.kid}")
        self.stdout.write(f"active:  {new.kid}")
