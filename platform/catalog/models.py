"""Labs and their published versions. A LabVersion is immutable: its files are a snapshot
under DATA_DIR/labversions/<hash>/ and its row is never updated once written."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from graders import LabSpec

from . import snapshots

TEXT_SUFFIXES = {".py", ".txt", ".md", ".toml", ".json", ".yaml", ".yml", ".cfg", ".ini", ".sh", ".ipynb", ".csv"}


class Queue(models.TextChoices):
    CPU = "cpu", "CPU"
    GPU = "gpu", "GPU"


class Lab(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    current_version = models.ForeignKey(
        "LabVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The version new submissions are graded against.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_labs",
        help_text="The instructor who authors it in the browser; empty for labs imported from labs/ (staff-owned).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.slug


class ImmutableVersion(Exception):
    """A published LabVersion was about to be changed; import a new version instead."""


class LabVersion(models.Model):
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="versions")
    content_hash = models.CharField(max_length=80, unique=True)
    version = models.CharField(max_length=64, help_text="The author's label from lab.toml.")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    queue = models.CharField(max_length=8, choices=Queue.choices, default=Queue.CPU)
    pass_bar = models.FloatField()
    editable = models.JSONField(default=list, blank=True)
    brief = models.TextField(blank=True, help_text="brief.md, as published (Markdown).")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(queue__in=Queue.values), name="labversion_queue_known"),
            models.CheckConstraint(condition=models.Q(pass_bar__gt=0, pass_bar__lte=1), name="labversion_pass_bar_range"),
            models.CheckConstraint(condition=models.Q(content_hash__startswith="sha256:"),
                                   name="labversion_content_hash_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.version} ({self.short_hash})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableVersion(f"lab version {self.content_hash} is published and cannot change")
        super().save(*args, **kwargs)

    @property
    def short_hash(self) -> str:
        return self.content_hash.split(":", 1)[-1][:12]

    @property
    def snapshot_dir(self) -> Path:
        return snapshots.snapshot_dir(self.content_hash)

    def load_spec(self) -> LabSpec:
        return snapshots.load_snapshot(self.content_hash)

    def starter_files(self) -> dict[str, bytes]:
        """Every file of the starter, by relative name."""
        root = self.snapshot_dir / "starter"
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        }

    def editable_texts(self) -> dict[str, str]:
        """The starter files a learner edits in the browser: lab.toml's `editable`, else its text files."""
        files = self.starter_files()
        names = self.editable or [name for name in files if Path(name).suffix in TEXT_SUFFIXES]
        texts = {}
        for name in names:
            try:
                texts[name] = files[name].decode("utf-8")
            except (KeyError, UnicodeDecodeError):
                continue
        return texts
