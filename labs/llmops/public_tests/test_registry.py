"""Public tests for registry.py: run them as often as you like.

    python -m pytest public_tests -q

The grader checks the same rules on other prompts. Passing these is a very good sign,
not a guarantee.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import registry

V1 = "You classify support tickets.\nAnswer with one word.\n"
V2 = "You classify support tickets.\nAnswer with one word: billing, bug or other.\n"
V3 = "You classify support tickets.\nThink step by step.\nAnswer with one word: billing, bug or other.\n"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_hash_is_the_sha256_of_the_content(tmp_path):
    root = str(tmp_path)
    first = registry.register(root, "tickets", V1)
    assert first["hash"] == sha(V1)
    assert first["created"] is True
    assert registry.register(root, "tickets", V2, bump="minor")["hash"] == sha(V2)
    # one byte more is another content
    assert registry.register(root, "tickets", V2 + " ", bump="patch")["hash"] == sha(V2 + " ")


def test_same_content_returns_the_existing_version(tmp_path):
    root = str(tmp_path)
    first = registry.register(root, "tickets", V1)
    again = registry.register(root, "tickets", V1, bump="major")
    assert (again["version"], again["hash"], again["created"]) == ("1.0.0", first["hash"], False)
    registry.register(root, "tickets", V2, bump="minor")
    older = registry.register(root, "tickets", V1, bump="minor")  # not the latest, still known
    assert (older["version"], older["created"]) == ("1.0.0", False)
    assert [v["version"] for v in registry.versions(root, "tickets")] == ["1.0.0", "1.1.0"]


def test_semantic_version_bumps(tmp_path):
    root = str(tmp_path)
    labels = [registry.register(root, "tickets", f"{V1}rule {i}\n", bump=bump)["version"]
              for i, bump in enumerate(["patch", "patch", "minor", "patch", "major", "minor"])]
    assert labels == ["1.0.0", "1.0.1", "1.1.0", "1.1.1", "2.0.0", "2.1.0"]
    assert [v["version"] for v in registry.versions(root, "tickets")] == labels
    # each name has its own history
    assert registry.register(root, "summaries", V1, bump="major")["version"] == "1.0.0"
    assert registry.versions(root, "nothing-here") == []


def test_get_by_label_hash_and_latest(tmp_path):
    root = str(tmp_path)
    registry.register(root, "tickets", V1)
    registry.register(root, "tickets", V2, bump="minor")
    registry.register(root, "tickets", V3, bump="major")
    assert registry.get(root, "tickets", "1.1.0")["content"] == V2
    by_hash = registry.get(root, "tickets", sha(V1))
    assert (by_hash["version"], by_hash["content"]) == ("1.0.0", V1)
    latest = registry.get(root, "tickets", "latest")
    assert (latest["version"], latest["hash"], latest["content"]) == ("2.0.0", sha(V3), V3)
    try:
        registry.get(root, "tickets", "9.9.9")
    except KeyError:
        pass
    else:
        raise AssertionError("get() of a version that does not exist must raise KeyError")


def test_diff_is_a_unified_diff(tmp_path):
    root = str(tmp_path)
    registry.register(root, "tickets", V2)
    registry.register(root, "tickets", V3, bump="minor")
    text = registry.diff(root, "tickets", "1.0.0", "1.1.0")
    lines = text.splitlines()
    assert any(line.startswith("@@") for line in lines), text
    assert "+Think step by step." in lines, text
    assert " You classify support tickets." in lines, text  # an unchanged line, as context
    changed = [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["+Think step by step."], text


def test_the_registry_lives_on_disk(tmp_path):
    """The gate runs in another process: what one process registered, another must see."""
    root = str(tmp_path)
    code = ("import registry, sys; r = registry.register(sys.argv[1], 'tickets', sys.argv[2]); "
            "registry.register(sys.argv[1], 'tickets', sys.argv[3], bump='minor')")
    subprocess.run([sys.executable, "-c", code, root, V1, V2], cwd=Path(registry.__file__).parent, check=True, timeout=60)
    assert registry.get(root, "tickets", "1.1.0")["content"] == V2
    assert registry.register(root, "tickets", V1)["created"] is False
