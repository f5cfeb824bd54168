"""Baked badge images (Open Badges 3.0 "baking"): the signed credential inside a PNG or SVG.

PNG: an iTXt chunk with the keyword `openbadgecredential` holding the credential JSON.
SVG: an `<openbadges:credential>` element (namespace https://purl.imsglobal.org/ob/v3p0)
with the credential in CDATA. extract() reads either back for the verifier; it parses the
PNG chunk by chunk and finds the SVG element with a regular expression, never an XML parser
that would resolve entities of an uploaded file.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from html import escape

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = "openbadgecredential"
SVG_NS = "https://purl.imsglobal.org/ob/v3p0"
SVG_RE = re.compile(
    rb"<openbadges:credential(?:\s[^>]*)?>\s*(?:<!\[CDATA\[(?P<cdata>.*?)\]\]>|(?P<text>[^<]*))\s*</openbadges:credential>",
    re.DOTALL,
)
MAX_CHUNKS = 1000


class BakingError(ValueError):
    """The image holds no readable credential."""


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def badge_png(*, title: str, subtitle: str, credential_json: str | None) -> bytes:
    """A 400x400 badge; with credential_json, baked (iTXt openbadgecredential)."""
    image = Image.new("RGB", (400, 400), "#f7f8fb")
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, 380, 380), fill="#2456d6", outline="#1b3f9e", width=8)
    draw.ellipse((60, 60, 340, 340), outline="#ffffff", width=3)
    draw.text((200, 120), "SkillForge", fill="#ffffff", font=_font(30), anchor="mm")
    lines = _wrap(title, 18)[:3]
    for i, line in enumerate(lines):
        draw.text((200, 185 + i * 34), line, fill="#ffffff", font=_font(26), anchor="mm")
    draw.text((200, 300), subtitle[:32], fill="#dfe7ff", font=_font(18), anchor="mm")
    info = PngImagePlugin.PngInfo()
    if credential_json is not None:
        info.add_itxt(KEYWORD, credential_json, zip=False)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def badge_svg(*, title: str, subtitle: str, credential_json: str) -> str:
    """A baked SVG badge; every text is escaped and the JSON sits in CDATA (']]>' cannot occur in it)."""
    lines = _wrap(title, 18)[:3]
    texts = "".join(
        f'<text x="200" y="{185 + i * 34}" font-size="26" font-weight="bold" text-anchor="middle" fill="#fff">'
        f"{escape(line)}</text>"
        for i, line in enumerate(lines)
    )
    payload = credential_json.replace("]]>", "]]]]><![CDATA[>")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="{SVG_NS}" width="400" height="400" '
        'viewBox="0 0 400 400">'
        f"<openbadges:credential><![CDATA[{payload}]]></openbadges:credential>"
        '<circle cx="200" cy="200" r="180" fill="#2456d6" stroke="#1b3f9e" stroke-width="8"/>'
        '<circle cx="200" cy="200" r="140" fill="none" stroke="#fff" stroke-width="3"/>'
        '<text x="200" y="130" font-size="30" font-weight="bold" text-anchor="middle" fill="#fff">SkillForge</text>'
        f"{texts}"
        f'<text x="200" y="305" font-size="18" text-anchor="middle" fill="#dfe7ff">{escape(subtitle[:32])}</text>'
        "</svg>"
    )


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word[: width * 2])
    return lines or [""]


def extract(data: bytes) -> bytes:
    """The credential baked into a PNG or SVG; BakingError if there is none."""
    if data.startswith(PNG_SIGNATURE):
        return _extract_png(data)
    match = SVG_RE.search(data)
    if match is None:
        raise BakingError("This image holds no baked credential (no <openbadges:credential> element).")
    if match.group("cdata") is not None:
        return match.group("cdata").replace(b"]]]]><![CDATA[>", b"]]>")
    text = match.group("text").strip()
    for entity, char in ((b"&lt;", b"<"), (b"&gt;", b">"), (b"&quot;", b'"'), (b"&apos;", b"'"), (b"&amp;", b"&")):
        text = text.replace(entity, char)
    return text


def _extract_png(data: bytes) -> bytes:
    pos = len(PNG_SIGNATURE)
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise BakingError("The PNG is truncated.")
        if kind == b"iTXt":
            keyword, _, rest = body.partition(b"\x00")
            if keyword.decode("latin-1") == KEYWORD and len(rest) >= 2:
                compressed, _method = rest[0], rest[1]
                _lang, _, rest = rest[2:].partition(b"\x00")
                _translated, _, text = rest.partition(b"\x00")
                if compressed:
                    try:
                        return zlib.decompressobj().decompress(text, 1 << 22)
                    except zlib.error:
                        raise BakingError("The PNG's credential chunk is not valid zlib data.") from None
                return text
        if kind == b"IEND":
            break
        pos += 12 + length
    raise BakingError("This PNG holds no baked credential (no iTXt 'openbadgecredential' chunk).")
