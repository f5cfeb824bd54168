"""python manage.py create_token <username> [--name NAME]: issue an API token and print it once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import issue_token


class Command(BaseCommand):
    help = "Issue an API token for a user and print it (it is stored only as a hash)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        _, raw = issue_token(user=user, name=name)
        self.stdout.write(raw)
