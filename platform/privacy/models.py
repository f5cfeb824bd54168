"""The audit trail of privacy actions: what happened and when, never who in words.

A row names its actor by foreign key only (SET NULL when the account is deleted) and its
details hold ids and counts, never a name, an email, an address or learner text, so what
deletion leaves behind is a dated count, not a person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AuditAction(models.TextChoices):
    EXPORT = "export", "Data exported"
    ACCOUNT_DELETED = "account_deleted", "Account deleted"


class AuditEvent(models.Model):
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text="Empty once the account is deleted.")
    at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True,
                               help_text="Ids and counts only: no names, emails, addresses or learner text.")

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(action__in=AuditAction.values), name="auditevent_action_known")]

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M}"
