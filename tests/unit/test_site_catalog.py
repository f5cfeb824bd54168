"""import_labs: immutable versions keyed by content hash, all-or-nothing, clear messages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    REPO,
    TINY_LABS,
    fixture_data_dir,
    fixture_labs_copy,
    fixture_tiny_lab,
)

from catalog.briefs import render_markdown
from catalog.models import ImmutableVersion, Lab, LabVersion
from graders.hashing import tree_hash

pytestmark = pytest.mark.django_db


def run_import(path) -> str:
    out = StringIO()
    call_command("import_labs", "--path", str(path), stdout=out)
    return out.getvalue()


def test_import_publishes_a_version_with_a_snapshot(data_dir, labs_copy):
    out = run_import(labs_copy)
    assert "tiny-answer: new version 1 (sha256:" in out
    lab = Lab.objects.get(slug="tiny-answer")
    version = lab.current_version
    assert (lab.title, version.queue, version.pass_bar, version.editable) == ("Tiny answer", "cpu", 0.8, ["main.py"])
    assert version.snapshot_dir == data_dir / "labversions" / version.content_hash.removeprefix("sha256:")
    assert tree_hash(version.snapshot_dir) == version.content_hash
    assert version.load_spec().root == version.snapshot_dir.resolve()
    assert "Write `main.py`" in version.brief


def test_reimport_without_changes_makes_no_new_version(data_dir, labs_copy):
    run_import(labs_copy)
    out = run_import(labs_copy)
    assert "tiny-answer: unchanged 1" in out
    assert LabVersion.objects.count() == 1


def test_reimport_after_a_change_makes_a_new_version_and_keeps_the_old_snapshot(data_dir, labs_copy):
    run_import(labs_copy)
    first = Lab.objects.get().current_version
    (labs_copy / "tiny-answer" / "brief.md").write_text("# Tiny answer\n\nNow with a clearer brief.\n")
    out = run_import(labs_copy)
    assert "tiny-answer: new version" in out
    lab = Lab.objects.get()
    assert LabVersion.objects.count() == 2
    assert lab.current_version != first
    assert "clearer brief" in lab.current_version.brief
    # The published version never changed: its snapshot still hashes to its key.
    assert tree_hash(first.snapshot_dir) == first.content_hash
    assert "clearer" not in (first.snapshot_dir / "brief.md").read_text()


def test_reverting_makes_the_old_version_current_again(data_dir, labs_copy):
    brief = labs_copy / "tiny-answer" / "brief.md"
    original = brief.read_text()
    run_import(labs_copy)
    brief.write_text(original + "\nMore.\n")
    run_import(labs_copy)
    brief.write_text(original)
    out = run_import(labs_copy)
    assert "tiny-answer: current again" in out
    assert LabVersion.objects.count() == 2


def test_a_published_version_cannot_be_saved_again(tiny_lab):
    version = tiny_lab.current_version
    version.title = "Changed"
    with pytest.raises(ImmutableVersion):
        version.save()


def test_editing_the_lab_folder_does_not_change_the_published_snapshot(data_dir, labs_copy):
    run_import(labs_copy)
    version = Lab.objects.get().current_version
    (labs_copy / "tiny-answer" / "solution" / "main.py").write_text("print('changed')\n")
    assert (version.snapshot_dir / "solution" / "main.py").read_text() == "print(42)\n"
    assert version.load_spec().content_hash == version.content_hash


def test_a_malformed_lab_names_file_and_key_and_imports_nothing(data_dir, labs_copy):
    shutil.copytree(labs_copy / "tiny-answer", labs_copy / "zz-broken")
    toml = labs_copy / "zz-broken" / "lab.toml"
    toml.write_text(toml.read_text().replace('slug = "tiny-answer"', 'slug = "zz-broken"').replace(
        "pass_bar = 0.8", 'pass_bar = "high"'))
    with pytest.raises(CommandError) as exc:
        run_import(labs_copy)
    message = str(exc.value)
    assert str(toml) in message and "pass_bar" in message and "got str 'high'" in message
    assert "Nothing was imported" in message
    assert not Lab.objects.exists() and not LabVersion.objects.exists()  # not even the good lab


def test_a_malformed_check_file_is_named_too(data_dir, labs_copy):
    checks = labs_copy / "tiny-answer" / "checks" / "checks.toml"
    checks.write_text(checks.read_text().replace('op = "<="', 'op = "=<"'))
    with pytest.raises(CommandError, match=r"checks\.toml: check\[1\]\.op: must be one of"):
        run_import(labs_copy)


def test_the_command_exits_non_zero_on_a_malformed_lab(data_dir, labs_copy):
    (labs_copy / "tiny-answer" / "lab.toml").write_text('slug = "tiny-answer"\ntitel = "typo"\n')
    result = subprocess.run([sys.executable, "manage.py", "import_labs", "--path", str(labs_copy)], cwd=REPO,
                            capture_output=True, text=True,
                            env={**os.environ, "DATABASE_URL": f"sqlite:///{data_dir}/x.sqlite3"})
    assert result.returncode != 0
    assert "lab.toml: titel: is not a known key" in result.stderr


def test_two_labs_with_one_slug_are_refused(data_dir, labs_copy):
    shutil.copytree(labs_copy / "tiny-answer", labs_copy / "copy")
    (labs_copy / "copy" / "brief.md").write_text("# different content\n")
    with pytest.raises(CommandError, match="'tiny-answer' is also the slug of"):
        run_import(labs_copy)


def test_an_empty_labs_folder_is_an_error(data_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no labs under"):
        run_import(tmp_path / "empty")


def test_one_lab_folder_can_be_imported_alone(data_dir):
    assert "tiny-answer: new version" in run_import(TINY_LABS / "tiny-answer")


# --- briefs are rendered, then sanitised ---------------------------------------------------


def test_markdown_is_rendered_and_sanitised():
    html = render_markdown(
        "# Title\n\n**bold** `code`\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [ok](https://example.org)\n\n"
        '![img](https://example.org/a.png "t")\n\n| a |\n|---|\n| b |\n'
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html.replace("[x](javascript:alert(1))", "")
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<table>" in html


def test_the_lab_page_shows_the_sanitised_brief(client, tiny_lab):
    page = client.get("/labs/tiny-answer/").content.decode()
    assert "<strong>42</strong>" in page
    assert "<script>alert" not in page
    assert 'href="javascript:' not in page


def test_the_home_page_lists_published_labs(client, tiny_lab):
    page = client.get("/").content.decode()
    assert "Tiny answer" in page and "/labs/tiny-answer/" in page


def test_an_unknown_lab_page_is_404(client, db):
    assert client.get("/labs/nope/").status_code == 404
