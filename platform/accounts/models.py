"""Who is who: a role per user (learner or instructor) and API tokens stored as hashes."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    LEARNER = "learner", "Learner"
    INSTRUCTOR = "instructor", "Instructor"


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LEARNER)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(role__in=Role.values), name="profile_role_known")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


def is_instructor(user: object) -> bool:
    """Instructors (and staff) may see every learner's submissions."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_staff", False):
        return True
    return Profile.objects.filter(user=user, role=Role.INSTRUCTOR).exists()


class ApiToken(models.Model):
    """A bearer token for the REST API. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to tell tokens apart.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(digest__regex=r"^[0-9a-f]{64}$"),
                                              name="apitoken_digest_is_sha256")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
