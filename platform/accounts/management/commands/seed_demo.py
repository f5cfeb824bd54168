"""python manage.py seed_demo: demo accounts for trying the site (never in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import ensure_account

DEMO_ACCOUNTS = (
    ("demo-learner", "demo-learner-pass", Role.LEARNER),
    ("demo-instructor", "demo-instructor-pass", Role.INSTRUCTOR),
)


class Command(BaseCommand):
    help = "Create (or reset) the demo learner and instructor accounts and print their passwords."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")

    def handle(self, *args, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo makes accounts with published passwords; use --force with DEBUG off")
        for username, password, role in DEMO_ACCOUNTS:
            ensure_account(username=username, password=password, role=role)
            self.stdout.write(f"{role:<10}  username: {username:<16}  password: {password}")
