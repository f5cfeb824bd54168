"""A learner's draft of a lab: the editor's files, saved on the server as they type."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Draft(models.Model):
    """One per learner and lab: the editable files as last typed (autosave, or "Save draft" without JS)."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts")
    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="+")
    lab_version = models.ForeignKey("catalog.LabVersion", on_delete=models.CASCADE, related_name="+",
                                    help_text="The version whose starter the draft was edited from.")
    files = models.JSONField(default=dict, help_text="{file name: text} for the lab's editable files.")
    size = models.PositiveIntegerField(default=0, help_text="UTF-8 bytes of all the files.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "lab"], name="draft_one_per_learner_and_lab"),
            models.CheckConstraint(condition=Q(size__lte=4 * 1024 * 1024), name="draft_size_bounded"),
        ]

    def __str__(self) -> str:
        return f"draft of {self.lab} by {self.learner}"
