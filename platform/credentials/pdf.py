"""A printable PDF certificate (WeasyPrint) with a QR code to the credential's verify page (segno)."""

from __future__ import annotations

import base64
import io
from typing import Any

import segno
from django.template.loader import render_to_string
from django.urls import reverse

from . import documents
from .models import Credential


def verify_url(credential: Credential) -> str:
    return documents.public_url(reverse("verify") + f"?credential={credential.id}")


def qr_svg(url: str) -> str:
    """An SVG QR code as a data: URI (the URL is the only thing encoded)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def certificate_context(credential: Credential, document: dict[str, Any]) -> dict[str, Any]:
    subject = document.get("credentialSubject", {})
    identity = (subject.get("identifier") or [{}])[0]
    url = verify_url(credential)
    return {
        "credential": credential,
        "document": document,
        "achievement": subject.get("achievement", {}),
        "learner": None if identity.get("hashed") else identity.get("identityHash"),
        "verify_url": url,
        "qr": qr_svg(url),
        "issuer": document.get("issuer", {}),
    }


def certificate_pdf(credential: Credential, document: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # imported on use: it loads Pango, which the rest of the site never needs
    from weasyprint.urls import URLFetcher

    html = render_to_string("credentials/certificate.html", certificate_context(credential, document))
    # Every resource is inline (data: URIs); nothing is fetched from a network or a file.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
