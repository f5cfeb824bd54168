"""An issued Open Badges 3.0 credential: the signed document as issued, and what it pins.

The signed JSON is stored as the exact text we issued (not a JSONField, which would
re-serialise it), next to the exact bytes of the graded report it pins by digest, so the
evidence URL serves the bytes the signature covers even if the attempt row changes.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

# A Bitstring Status List of 131,072 entries (16 KiB), the spec's minimum for herd privacy.
STATUS_LIST_SIZE = 131072


class Credential(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Both empty once the holder deleted their account: the row stays, revoked and erased of what names
    # them, so the status list keeps its bit and a shared copy still verifies as revoked (privacy/services.py).
    attempt = models.OneToOneField("submissions.Attempt", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="credential")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="credentials")
    lab_version = models.ForeignKey("catalog.LabVersion", on_delete=models.PROTECT, related_name="credentials")
    issued_at = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    score = models.FloatField()
    report_digest = models.CharField(max_length=80, help_text="sha256:<hex> of report_bytes (the report's hashed part).")
    report_bytes = models.TextField(help_text="The exact bytes (UTF-8) of the graded report the credential pins.")
    submission_hash = models.CharField(max_length=80)
    document = models.TextField(help_text="The signed credential, exactly as issued (compact JSON).")
    jwt = models.TextField(blank=True, help_text="The same credential secured as a VC-JWT (EdDSA).")
    key_id = models.CharField(max_length=100, help_text="publicKeyMultibase of the key that signed it.")
    status_index = models.PositiveIntegerField(unique=True, help_text="Its bit in the revocation status list.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["learner", "-issued_at"], name="credential_learner_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(status_index__lt=STATUS_LIST_SIZE), name="credential_status_index_range"),
            models.CheckConstraint(condition=Q(report_digest__startswith="sha256:"), name="credential_report_digest_sha256"),
            models.CheckConstraint(condition=Q(revoked_at__isnull=True) | ~Q(revocation_reason=""),
                                   name="credential_revoked_has_reason"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=1), name="credential_score_in_range"),
        ]

    def __str__(self) -> str:
        return f"credential {self.id} ({self.lab_version})"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def urn(self) -> str:
        return f"urn:uuid:{self.id}"


class StatusList(models.Model):
    """The signed BitstringStatusListCredential, re-signed whenever the set of revoked indexes changes."""

    purpose = models.CharField(max_length=16, unique=True, default="revocation")
    revision = models.CharField(max_length=80, help_text="sha256 of the revoked indexes it encodes.")
    document = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"status list ({self.purpose})"
