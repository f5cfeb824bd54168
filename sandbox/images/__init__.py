"""Lab images: where their root folders live and how they are identified.

An image is built once from Debian (build.py): the same root folder is bound as / by
the bubblewrap backend and imported into Docker under the image's name, so both
backends run the same Python with the same packages.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RECIPES = Path(__file__).resolve().parent


class ImageMissing(RuntimeError):
    """The image has not been built on this machine."""


def image_dir() -> Path:
    return Path(os.environ.get("SKILLFORGE_IMAGE_DIR") or REPO / "var" / "images")


def _folder(image: str) -> Path:
    return image_dir() / image.replace("/", "_").replace(":", "_")


def rootfs(image: str) -> Path:
    folder = _folder(image)
    if not (folder / "digest").is_file():
        raise ImageMissing(
            f"image {image!r} is not built here; run: python -m sandbox.images.build {image.split('/')[-1]}"
        )
    return folder / "rootfs"


def rootfs_digest(image: str) -> str:
    rootfs(image)
    return (_folder(image) / "digest").read_text().strip()


def recipe(name: str) -> Path:
    return RECIPES / name
