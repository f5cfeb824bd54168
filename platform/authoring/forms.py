"""Forms for authoring. The settings form validates lab.toml values before anything is
written (platform ceilings, weights, registered inspectors only)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from django import forms

from graders.inspectors import INSPECTORS

from . import labtoml
from .drafts import LIMIT_KEYS, AuthoringError, platform_images
from .models import Selection

LIMIT_LABELS = {
    "wall_seconds": "Wall clock (s)", "cpu_seconds": "CPU time (s)", "memory_mb": "Memory (MiB)", "pids": "Processes",
    "disk_mb": "Writable disk (MiB)", "files": "Files in writable space", "output_kb": "Output (KiB)",
    "return_kb": "Returned data (KiB)",
}
SUBMISSION_LABELS = {"max_files": "Files per submission", "max_bytes": "Bytes per submission (all files)",
                     "max_file_bytes": "Bytes per file", "max_upload_bytes": "Bytes per uploaded zip"}


def image_choices() -> list[tuple[str, str]]:
    """The lab images this platform builds (sandbox/images/<name>/); no other image can be named."""
    return [(n, n) for n in platform_images()]


class NewDraftForm(forms.Form):
    slug = forms.SlugField(max_length=63, help_text="Lowercase letters, digits and '-'; part of the lab's address.")
    title = forms.CharField(max_length=200)


class UploadForm(forms.Form):
    zip = forms.FileField(help_text="labs/<slug>/… (and tests/labs/<slug>/wrong_*/…), or the lab folder itself.")


class BriefForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"class": "code", "data-lang": "markdown", "rows": 24}),
                           required=False, strip=False)


class FileForm(forms.Form):
    content = forms.CharField(widget=forms.Textarea(attrs={"class": "code", "rows": 28}), required=False, strip=False)

    def __init__(self, *args: Any, lang: str = "text", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["content"].widget.attrs["data-lang"] = lang


class NewFileForm(forms.Form):
    area = forms.ChoiceField(choices=[("lab", "Lab file"), ("wrong", "Wrong solution")], initial="lab")
    path = forms.CharField(max_length=255, help_text="e.g. starter/utils.py, data/rows.csv, or wrong_empty/main.py")
    upload = forms.FileField(required=False, help_text="Optional: upload the file (binary data too) instead of typing.")
    content = forms.CharField(widget=forms.Textarea(attrs={"class": "code", "data-lang": "python", "rows": 10}),
                              required=False, strip=False)


class SettingsForm(forms.Form):
    """lab.toml (and each check's weight in checks.toml) as a form."""

    title = forms.CharField(max_length=200)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.CharField(max_length=64, help_text="Your label for this version, e.g. 1.1.0.")
    pass_bar = forms.FloatField(min_value=0.01, max_value=1.0, help_text="Score needed to pass, 0.01 – 1.")
    image = forms.ChoiceField()
    gpu = forms.BooleanField(required=False, label="Needs a GPU (graded on the gpu queue)")
    editable = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                         help_text="Starter files a learner edits in the browser.")
    tags = forms.CharField(required=False, help_text="Comma-separated.")
    driver_command = forms.CharField(max_length=500, help_text="Runs in the sandbox as the trusted driver.")
    inspector = forms.ChoiceField(required=False, label="Host inspector",
                                  help_text="Platform code that reads submissions as data; only registered ones.")

    def __init__(self, *args: Any, lab_dir: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = labtoml.read_settings(lab_dir)
        self.fields["image"].choices = image_choices()
        self.fields["inspector"].choices = [("", "none")] + [(n, n) for n in sorted(INSPECTORS)]
        starter = lab_dir / "starter"
        names = sorted(p.relative_to(starter).as_posix() for p in starter.rglob("*") if p.is_file()) \
            if starter.is_dir() else []
        self.fields["editable"].choices = [(n, n) for n in names]
        for key in LIMIT_KEYS:
            ceiling = labtoml.limit_ceiling(key)
            self.fields[f"limit_{key}"] = forms.FloatField(
                label=LIMIT_LABELS[key], min_value=0.001, max_value=ceiling,
                help_text=f"Platform ceiling {ceiling:g}.")
        for key in labtoml.SUBMISSION_KEYS:
            self.fields[f"submission_{key}"] = forms.IntegerField(label=SUBMISSION_LABELS[key], min_value=1)
        self.checks = labtoml.read_checks(lab_dir)
        for check in self.checks:
            self.fields[f"weight_{check.get('id')}"] = forms.FloatField(
                label=f"Weight of {check.get('id')}: {check.get('name', '')}", min_value=0.0)
        if not self.is_bound:
            self.initial = {**current, **{f"weight_{c.get('id')}": c.get("weight", 1) for c in self.checks}}

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("title", "summary", "version", "pass_bar", "image", "gpu", "editable", "tags",
                                        "driver_command", "inspector")]

    def limit_fields(self) -> list[forms.BoundField]:
        return [self[f"limit_{key}"] for key in LIMIT_KEYS]

    def submission_fields(self) -> list[forms.BoundField]:
        return [self[f"submission_{key}"] for key in labtoml.SUBMISSION_KEYS]

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[f"weight_{c.get('id')}"] for c in self.checks]

    def clean_driver_command(self) -> list[str]:
        try:
            return labtoml.parse_command(self.cleaned_data["driver_command"])
        except AuthoringError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        weights = {str(c.get("id")): data.get(f"weight_{c.get('id')}") for c in self.checks}
        if weights and all(w is not None for w in weights.values()):
            values = [float(w) for w in weights.values() if w is not None]
            if any(w <= 0 or math.isinf(w) for w in values):
                self.add_error(None, "checks/checks.toml: every check's weight must be greater than 0.")
            elif all(w < 1 for w in values) and abs(sum(values) - 1) > 1e-6:
                self.add_error(None, f"checks/checks.toml: the weights look like fractions of 1 but sum to "
                                     f"{sum(values):g}; make them sum to 1, or use whole numbers (weights are relative).")
            data["weights"] = weights
        return data


class RegradeForm(forms.Form):
    target = forms.ChoiceField(label="Re-grade on version")
    selection = forms.ChoiceField(choices=Selection.choices, initial=Selection.ALL, widget=forms.RadioSelect)
    since = forms.DateTimeField(required=False, help_text="For 'since a date': YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC).")
    latest_only = forms.BooleanField(required=False, initial=True, label="Only each learner's latest submission")

    def __init__(self, *args: Any, versions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [(v.content_hash, f"{v.version} ({v.short_hash})") for v in versions]
        if versions and not self.is_bound:
            self.initial["target"] = versions[0].content_hash

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("selection") == Selection.SINCE and not data.get("since"):
            self.add_error("since", "Give the date to re-grade submissions since.")
        return data


class OverrideForm(forms.Form):
    score = forms.FloatField(min_value=0.0, max_value=1.0, help_text="0 – 1; passing follows the lab's bar.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             help_text="Shown to the learner and kept in the audit log.")
