"""python manage.py verify_credential <file|url|-> [--regrade] [--fetch] [--json]

Exit status 0 when the credential verifies (and, with --regrade, its re-grade matches), 1 otherwise.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from credentials import verification
from credentials.models import Credential
from credentials.regrade import Regrade, regrade

SYMBOLS = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}


def fetch(url: str) -> bytes:
    """GET a URL (http/https only), at most SKILLFORGE_VERIFY_MAX_BYTES + 1 bytes; this site's URLs are read locally."""
    local = verification._resolved(url)
    if local is not None:
        name, kwargs = local
        if name in ("credential_json", "credential_detail"):
            credential = Credential.objects.filter(pk=kwargs["credential_id"]).first()
            if credential is None:
                raise ValueError(f"no credential at {url}")
            return credential.document.encode()
        if name == "credential_jwt":
            credential = Credential.objects.filter(pk=kwargs["credential_id"]).first()
            if credential is None:
                raise ValueError(f"no credential at {url}")
            return credential.jwt.encode()
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"only http(s) URLs can be fetched: {url}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Accept": "application/vc+ld+json, application/json, */*"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - scheme checked above
        return response.read(settings.SKILLFORGE_VERIFY_MAX_BYTES + 1)


class Command(BaseCommand):
    help = "Verify an Open Badges 3.0 credential (JSON, VC-JWT or baked PNG/SVG) from a file, a URL or stdin (-)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="a file, an http(s) URL, or - for standard input")
        parser.add_argument("--regrade", action="store_true", help="also re-run the grading of its evidence")
        parser.add_argument("--fetch", action="store_true", help="fetch other issuers' status lists and evidence")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["source"]
        try:
            data = self._read(source)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {source}: {exc}") from None
        result = verification.verify_bytes(data, fetch=fetch if options["fetch"] else None)
        outcome = None
        if options["regrade"]:
            if result.verified and result.document is not None:
                outcome = regrade(result.document)
            else:
                outcome = Regrade("skip", "Only a credential that verifies is re-graded.", "not_verified")
        ok = result.verified and (outcome is None or outcome.status == "pass")
        if options["json"]:
            body = result.as_dict()
            if outcome is not None:
                body["regrade"] = {"status": outcome.status, "message": outcome.message, "code": outcome.code,
                                   "pinned": outcome.pinned, "new_digest": outcome.new_digest}
            self.stdout.write(json.dumps(body, indent=2))
        else:
            for check in result.checks:
                self.stdout.write(f"{SYMBOLS[check.status]}  {check.name}: {check.message}")
            if outcome is not None:
                self.stdout.write(f"{SYMBOLS[outcome.status]}  Re-grade: {outcome.message}")
            self.stdout.write("VERIFIED" if ok else "NOT VERIFIED")
        if not ok:
            sys.exit(1)

    def _read(self, source: str) -> bytes:
        limit = settings.SKILLFORGE_VERIFY_MAX_BYTES
        if source == "-":
            return sys.stdin.buffer.read(limit + 1)
        if source.startswith(("http://", "https://")):
            return fetch(source)
        path = Path(source)
        if not path.is_file():
            raise ValueError("no such file")
        with path.open("rb") as handle:
            return handle.read(limit + 1)
