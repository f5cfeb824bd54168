"""Hostile uploads at the door: zips and file sets sent through the REST API.

Each must end as a recorded, rejected submission (400, with a message the learner can
act on) and nothing written anywhere: no stored files, no staging folder left, no file
outside the data folder (host_guard looks for the sf-security-pwned names these aim at).
"""

from __future__ import annotations

import io
import json
import stat
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from security_support import API_URL, PWNED

pytestmark = pytest.mark.django_db

MAIN = b"print('hello')\n"


def zip_of(*entries: tuple[str | zipfile.ZipInfo, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def special(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


def patch_headers(data: bytes, *, flag: int = 0, size: int | None = None) -> bytes:
    """Set flag bits (and optionally the uncompressed size) in every local and central header."""
    out = bytearray(data)
    for sig, flag_at, size_at in ((b"PK\x03\x04", 6, 22), (b"PK\x01\x02", 8, 24)):
        at = out.find(sig)
        while at != -1:
            out[at + flag_at: at + flag_at + 2] = (int.from_bytes(out[at + flag_at: at + flag_at + 2], "little")
                                                   | flag).to_bytes(2, "little")
            if size is not None:
                out[at + size_at: at + size_at + 4] = size.to_bytes(4, "little")
            at = out.find(sig, at + 4)
    return bytes(out)


def rejected(api, mallory, data_dir, response, *needles: str) -> str:
    """The response is a 400 whose detail names the problem, recorded as one rejected
    submission with no attempt and no files."""
    from submissions.models import Attempt, Submission

    assert response.status_code == 400, (response.status_code, response.content[:500])
    body = response.json()
    detail = body["detail"]
    for needle in needles:
        assert needle in detail, (needle, detail)
    submission = Submission.objects.get(learner=mallory)
    assert (submission.status, submission.message) == ("rejected", detail)
    assert body["status"] == "rejected" and body["id"] == str(submission.id)
    assert not Attempt.objects.exists()
    stored = data_dir / "submissions"
    assert not (stored / str(submission.id)).exists()
    assert not list(stored.glob(".incoming-*")) if stored.is_dir() else True
    return detail


def post_zip(api, data: bytes):
    return api.post(API_URL, {"zip": SimpleUploadedFile("work.zip", data, content_type="application/zip")})


def post_files(api, files):
    return api.post(API_URL, data=json.dumps({"files": files}), content_type="application/json")


@pytest.fixture
def door(api, mallory, attack_lab, data_dir):
    """post a zip (bytes) or files (dict) and check it was turned away with these words."""

    def check(payload, *needles: str) -> str:
        response = post_zip(api, payload) if isinstance(payload, bytes) else post_files(api, payload)
        return rejected(api, mallory, data_dir, response, *needles)

    return check


# --- escaping the folder ------------------------------------------------------------------


@pytest.mark.parametrize("name", [f"../{PWNED}.py", f"work/../../{PWNED}.py", f"a/../../../../tmp/{PWNED}.py"])
def test_zip_slip_is_refused(door, name):
    door(zip_of(("main.py", MAIN), (name, b"escaped = True\n")), "points outside the submission folder")


def test_absolute_path_is_refused(door):
    door(zip_of(("main.py", MAIN), (f"/tmp/{PWNED}.py", b"x = 1\n")), "is an absolute path")


def test_backslash_traversal_is_refused(door):
    door(zip_of(("main.py", MAIN), (f"..\\..\\{PWNED}.py", b"x = 1\n")), "backslashes")


def test_symlink_in_zip_is_refused(door):
    door(zip_of((special("main.py", stat.S_IFLNK | 0o777), b"/etc/passwd")), "is a symbolic link")


@pytest.mark.parametrize("mode", [stat.S_IFIFO | 0o644, stat.S_IFCHR | 0o644, stat.S_IFBLK | 0o644])
def test_device_and_fifo_entries_are_refused(door, mode):
    door(zip_of(("main.py", MAIN), (special("dev", mode), b"")), "is not a regular file")


# --- bombs --------------------------------------------------------------------------------


def test_zip_bomb_by_ratio_is_refused_without_inflating_it(door):
    bomb = zip_of(("main.py", MAIN), ("zeros.txt", b"\0" * (64 << 20)))  # 64 MiB in ~64 KiB: ratio ~1000
    assert len(bomb) < 100_000
    started = time.monotonic()
    door(bomb, "unpacks to more than the limit")
    assert time.monotonic() - started < 2


def test_zip_bomb_lying_about_its_size_is_refused(door):
    bomb = patch_headers(zip_of(("main.py", b"\0" * (16 << 20))), size=16)  # says 16 bytes, inflates to 16 MiB
    detail = door(bomb)
    assert "could not be read" in detail or "the limit per file" in detail


def test_many_files_adding_up_over_the_total_are_refused(door):
    door(zip_of(*[(f"part{i}.txt", b"x" * 60_000) for i in range(10)]), "unpacks to more than the limit")


def test_ten_thousand_files_in_a_zip_are_refused(door):
    door(zip_of(*[(f"f{i}.py", b"") for i in range(10_000)], compression=zipfile.ZIP_STORED),
         "The zip has 10000 files; the limit is 20.")


def test_ten_thousand_files_as_json_are_refused(door):
    door({f"f{i}.py": "" for i in range(10_000)}, "The submission has 10000 files; the limit is 20.")


def test_an_upload_over_the_size_limit_is_refused(door):
    door(b"PK" + b"\xff" * (3 << 20), "the limit is 2097152")


# --- names and encodings --------------------------------------------------------------------


def test_a_very_long_name_is_refused(door):
    door({"a" * 300 + ".py": "x = 1\n", "main.py": "print(1)\n"}, "the limit is 255")


@pytest.mark.parametrize("via", ["zip", "json"])
def test_a_name_too_long_in_bytes_is_refused(door, via):
    name = "é" * 200 + ".py"
    door(zip_of(("main.py", MAIN), (name, b"x = 1\n")) if via == "zip" else {"main.py": "print(1)\n", name: "x = 1\n"},
         "255")


@pytest.mark.parametrize("via", ["zip", "json"])
def test_a_name_that_is_both_file_and_folder_is_refused(door, via):
    entries = {"main.py": "print(1)\n", "lib": "x = 1\n", "lib/x.py": "y = 2\n"}
    door(zip_of(*[(k, v.encode()) for k, v in entries.items()]) if via == "zip" else entries, "lib")


def test_invalid_utf8_name_flagged_as_utf8_is_refused(door):
    data = zip_of(("main.py", MAIN), ("éééé.py", b"x = 1\n"))  # non-ASCII: zipfile sets the UTF-8 flag
    data = data.replace("éééé".encode(), b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8")
    door(data, "is not valid UTF-8; rename it")


def test_non_utf8_name_without_the_flag_is_read_as_cp437_and_stays_inside(api, mallory, attack_lab, data_dir,
                                                                         django_capture_on_commit_callbacks):
    """Zip names without the UTF-8 flag are CP437 by the zip spec: any bytes decode. The odd
    name is stored as text, inside the submission's own folder."""
    from submissions.models import Submission

    data = zip_of(("main.py", MAIN), ("AAAA.py", b"x = 1\n")).replace(b"AAAA", b"\xff\xfe\x2e\x2e")
    with django_capture_on_commit_callbacks(execute=False):
        response = post_zip(api, data)
    assert response.status_code == 201, response.content
    submission = Submission.objects.get(learner=mallory)
    names = sorted(p.name for p in submission.files_dir.iterdir())
    assert names == ["main.py", "\xa0■...py"]  # 0xff 0xfe '..' in CP437, one file name, not a path


def test_lone_surrogate_name_is_refused(door):
    door({"main.py": "print(1)\n", "\ud800.py": "x = 1\n"}, "is not valid UTF-8 text")


def test_nul_in_a_name_is_refused(door):
    door({"main.py": "print(1)\n", "evil\0.py": "x = 1\n"}, "NUL")


def test_non_utf8_source_is_refused(door):
    door(zip_of(("main.py", b"print('caf\xe9')\n")), "main.py is not UTF-8 text", "save it as UTF-8")


# --- not zips at all ------------------------------------------------------------------------


def test_garbage_instead_of_a_zip_is_refused(door):
    door(b"this is not a zip \x00\x01\x02", "not a valid zip file")


def test_encrypted_entry_is_refused(door):
    door(patch_headers(zip_of(("main.py", MAIN)), flag=0x1), "is encrypted; submit a zip without a password")


def test_an_empty_zip_is_refused(door):
    door(zip_of(), "The submission is empty.")
