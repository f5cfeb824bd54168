"""python manage.py issue_credentials: issue credentials for passed attempts that have none yet."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from credentials import services


class Command(BaseCommand):
    help = "Issue the missing credentials of passed attempts (graded before credentials existed, or the hook failed)."

    def handle(self, *args: Any, **options: Any) -> None:
        issued = services.issue_missing()
        for credential in issued:
            self.stdout.write(f"issued {credential.id} for attempt {credential.attempt_id}")
        self.stdout.write(f"{len(issued)} credential(s) issued")
