"""Finding a lab for the command line: a lab folder, a published slug, or labs/<slug>/."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from catalog.models import Lab
from graders import LabSpec, load_lab


class LabNotFound(LookupError):
    """No lab folder, published lab or labs/<slug>/ by that name."""


def resolve_lab(name: str) -> LabSpec:
    """A path to a lab folder, else the published version of a slug, else labs/<slug>/ (LabSpecError if malformed)."""
    path = Path(name)
    if (path / "lab.toml").is_file():
        return load_lab(path)
    lab = Lab.objects.select_related("current_version").filter(slug=name, current_version__isnull=False).first()
    if lab is not None:
        return lab.current_version.load_spec()
    folder = Path(settings.SKILLFORGE_LABS_DIR) / name
    if (folder / "lab.toml").is_file():
        return load_lab(folder)
    raise LabNotFound(f"no lab {name!r}: not a lab folder, not a published lab, not in {settings.SKILLFORGE_LABS_DIR}")
