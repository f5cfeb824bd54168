"""JSON-LD with the contexts we ship, offline: expansion in "safe mode" and RDFC-1.0 canonical N-Quads.

pyld does the JSON-LD and the RDF Dataset Canonicalization (its URDNA2015 is the algorithm
W3C standardised as RDFC-1.0, same output). What we add:

- a document loader that serves the files in contexts/ and refuses every other URL, so
  nothing is ever fetched and an unknown context is a clear failure;
- "safe mode": a term the contexts do not define would silently vanish from the
  canonical form (and so from what the signature covers), so it is an error instead,
  as are relative IRIs in `type`/`id`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld
from pyld.jsonld import JsonLdError, JsonLdProcessor

CONTEXTS_DIR = Path(__file__).with_name("contexts")

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"

SHIPPED = {
    VC_V2: "credentials-v2.jsonld",
    OB_V3: "ob-context-3.0.3.json",
    MULTIKEY_V1: "multikey-v1.jsonld",
    DID_V1: "did-v1.jsonld",
}


class UnknownContext(ValueError):
    """A document names a context we do not ship (we never fetch one)."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(f"unknown JSON-LD context {url!r}: only these are accepted: {', '.join(sorted(SHIPPED))}")


class JsonLdProblem(ValueError):
    """The document is not JSON-LD we can canonicalize (an undefined term, a relative IRI, bad syntax)."""


@cache
def shipped_context(url: str) -> dict[str, Any]:
    return json.loads((CONTEXTS_DIR / SHIPPED[url]).read_text(encoding="utf-8"))


class OfflineLoader:
    """A pyld document loader over a fixed set of context documents (no network, ever)."""

    def __init__(self, extra: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.extra = dict(extra or {})

    def known(self) -> set[str]:
        return set(SHIPPED) | set(self.extra)

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        if url in self.extra:
            document = self.extra[url]
        elif url in SHIPPED:
            document = shipped_context(url)
        else:
            raise UnknownContext(url)
        return {"contextUrl": None, "documentUrl": url, "document": document}


DEFAULT_LOADER = OfflineLoader()


def context_urls(document: Any) -> list[str]:
    """The remote contexts a document names anywhere (top level and nested objects)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            ctx = value.get("@context")
            for item in ctx if isinstance(ctx, list) else [ctx]:
                if isinstance(item, str):
                    found.append(item)
            for key, child in value.items():
                if key != "@context":
                    walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(document)
    return found


def check_contexts(document: Any, loader: OfflineLoader = DEFAULT_LOADER) -> None:
    """Raise UnknownContext for the first context URL we do not ship."""
    known = loader.known()
    for url in context_urls(document):
        if url not in known:
            raise UnknownContext(url)


def _strict_processor() -> JsonLdProcessor:
    def dropped(iri: str | None) -> None:
        raise JsonLdProblem(
            f"the property {iri!r} is not defined by the document's contexts, so a signature could not cover it"
        )

    return JsonLdProcessor(on_property_dropped=dropped)


def _relative_iris(expanded: Iterable[Any]) -> list[str]:
    bad: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "@type" and "@value" not in value:
                    for t in child if isinstance(child, list) else [child]:
                        if isinstance(t, str) and ":" not in t:
                            bad.append(t)
                elif key == "@id" and isinstance(child, str) and ":" not in child:
                    bad.append(child)
                elif key != "@value":
                    walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(list(expanded))
    return bad


def expand(document: dict[str, Any], loader: OfflineLoader = DEFAULT_LOADER) -> list[Any]:
    """Expand in safe mode: undefined terms and relative type/id IRIs are JsonLdProblem."""
    check_contexts(document, loader)
    try:
        expanded = _strict_processor().expand(document, {"documentLoader": loader, "base": ""})
    except JsonLdError as exc:
        raise _problem(exc) from None
    relative = _relative_iris(expanded)
    if relative:
        raise JsonLdProblem(f"{relative[0]!r} is not defined by the document's contexts (a misspelt type or a relative IRI)")
    return expanded


def canonize(document: dict[str, Any], loader: OfflineLoader = DEFAULT_LOADER) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (safe mode)."""
    expanded = expand(document, loader)
    try:
        return jsonld.normalize(
            expanded,
            {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader, "base": ""},
        )
    except JsonLdError as exc:
        raise _problem(exc) from None


def _problem(exc: JsonLdError) -> Exception:
    """The most specific cause in a pyld error chain: our own exceptions pass through."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, UnknownContext | JsonLdProblem):
            return cause
        cause = cause.__cause__ or getattr(cause, "cause", None)
    detail = getattr(exc, "code", None) or getattr(exc, "type", None) or ""
    return JsonLdProblem(f"not valid JSON-LD: {exc.args[0] if exc.args else exc}{f' ({detail})' if detail else ''}")
