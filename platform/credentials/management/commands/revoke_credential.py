"""python manage.py revoke_credential <credential id> --reason "…"."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from credentials import services
from credentials.models import Credential


class Command(BaseCommand):
    help = "Revoke a credential: its bit is set in the signed status list, and verifiers see the reason."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("credential_id")
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        ident = options["credential_id"].removeprefix("urn:uuid:")
        try:
            credential = Credential.objects.filter(pk=ident).first()
        except ValidationError:
            credential = None
        if credential is None:
            raise CommandError(f"no credential {options['credential_id']}")
        try:
            services.revoke(credential=credential, reason=options["reason"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"revoked {credential.id}: {credential.revocation_reason}")
