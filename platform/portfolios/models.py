"""A learner's public portfolio: opt-in, a handle, per-lab visibility and code publishing.

Nothing is public until the learner turns the portfolio on; then only the labs they left
visible, and code only where they chose to publish it. `private_identity` asks that
credentials name them by a salted hash of their email instead of their name.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

HANDLE_RE = r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])?$"
RESERVED_HANDLES = {"admin", "api", "me", "settings", "static", "media", "new", "edit"}


def new_salt() -> str:
    return secrets.token_hex(16)


class Portfolio(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolio")
    handle = models.CharField(
        max_length=40, unique=True, null=True, blank=True,
        validators=[RegexValidator(HANDLE_RE, "3 to 40 lowercase letters, digits or hyphens; no hyphen at either end.")],
        help_text="Your public address: /u/<handle>/",
    )
    public = models.BooleanField(default=False, help_text="Publish my portfolio page.")
    display_name = models.CharField(max_length=100, blank=True, help_text="The name shown on your portfolio and credentials.")
    headline = models.CharField(max_length=160, blank=True, help_text="One line about you, shown under your name.")
    private_identity = models.BooleanField(
        default=False,
        help_text="Name me in new credentials by a salted hash of my email instead of my name.",
    )
    identity_salt = models.CharField(max_length=64, default=new_salt, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(public=False) | Q(handle__isnull=False), name="portfolio_public_has_handle"),
            models.CheckConstraint(condition=Q(handle__isnull=True) | Q(handle__regex=HANDLE_RE),
                                   name="portfolio_handle_format"),
        ]

    def __str__(self) -> str:
        return f"portfolio of {self.user} ({self.handle or 'no handle'})"

    @property
    def shown_name(self) -> str:
        return self.display_name or self.user.get_username()


class LabVisibility(models.Model):
    """Per lab: shown on the portfolio (default yes), and the code published (default no)."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="labs")
    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="+")
    visible = models.BooleanField(default=True)
    publish_code = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["portfolio", "lab"], name="labvisibility_one_per_lab")]

    def __str__(self) -> str:
        return f"{self.portfolio} / {self.lab}"
