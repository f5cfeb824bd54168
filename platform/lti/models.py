"""Where a learner came from: a lab launched from an LMS, and where its grade goes back (AGS).

Registrations, deployments, tool keys and LMS users are django-lti's models (lti_tool);
this app adds the link from a SkillForge lab to the LMS's line item for that learner.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LaunchedLab(models.Model):
    """A learner opened this lab from a resource link in an LMS course: their best score goes to its line item."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_launches")
    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="+")
    lti_user = models.ForeignKey("lti_tool.LtiUser", on_delete=models.CASCADE, related_name="+",
                                 help_text="The LMS's user (sub): the userId of the scores we send.")
    registration = models.ForeignKey("lti_tool.LtiRegistration", on_delete=models.CASCADE, related_name="+")
    deployment_id = models.CharField(max_length=255)
    resource_link_id = models.CharField(max_length=255)
    lineitem = models.URLField(max_length=1000, blank=True, help_text="AGS line item URL; blank: the LMS takes no grade.")
    scopes = models.JSONField(default=list, blank=True, help_text="The AGS scopes the LMS granted.")
    last_score = models.FloatField(null=True, blank=True, help_text="The score last accepted by the LMS.")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lab", "registration", "resource_link_id"],
                                    name="launchedlab_one_per_resource_link"),
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.lab} from {self.registration}"

    @property
    def can_send_scores(self) -> bool:
        return bool(self.lineitem) and "https://purl.imsglobal.org/spec/lti-ags/scope/score" in (self.scopes or [])


class UsedNonce(models.Model):
    """Each id_token's nonce is accepted once: pylti1p3 checks that the nonce was issued but does not
    consume it, so a captured launch could be replayed until it expires. The database refuses the second."""

    issuer = models.CharField(max_length=255)
    nonce = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "nonce"], name="usednonce_once_per_issuer")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.nonce}"
