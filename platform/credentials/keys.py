"""The issuer's Ed25519 keys: generated on first use, kept as files outside the database, rotatable.

Layout of SKILLFORGE_KEY_DIR (0700; files 0600):

    keyring.json       every public key ever used, newest last: {kid, publicKeyMultibase, created, retired, revoked}
    <kid>.pem          the private key of the active key only (PKCS#8); a rotation deletes the old one

A key id (`kid`) is the key's Multikey `publicKeyMultibase` (z6Mk…), and its verification
method is `<issuer id>#<kid>`, as in the W3C vc-di-eddsa examples. A retired key stays in
the keyring and on /issuer, so credentials it signed still verify; a revoked key (a key
that leaked) stays listed as revoked, and what it signed no longer verifies.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import base58
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub
ED25519_PRIV = b"\x80\x26"  # multicodec ed25519-priv


class IssuerKeyError(LookupError):
    """No usable key: a kid we never had, or the key directory is unusable."""


# --- Multikey / multibase -----------------------------------------------------------------------


def public_multibase(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58.b58encode(ED25519_PUB + raw).decode("ascii")


def public_from_multibase(value: str) -> Ed25519PublicKey:
    """An Ed25519 public key from a Multikey publicKeyMultibase (z + base58btc of 0xed01 + 32 bytes)."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise ValueError("publicKeyMultibase must be base58btc multibase (start with 'z')")
    try:
        raw = base58.b58decode(value[1:])
    except ValueError:
        raise ValueError("publicKeyMultibase is not valid base58") from None
    if len(raw) != 34 or raw[:2] != ED25519_PUB:
        raise ValueError("publicKeyMultibase is not an Ed25519 Multikey (0xed01 + 32 bytes)")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def private_from_multibase(value: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from secretKeyMultibase (z + base58btc of 0x8026 + 32-byte seed); for test vectors."""
    raw = base58.b58decode(value[1:]) if value.startswith("z") else b""
    if len(raw) != 34 or raw[:2] != ED25519_PRIV:
        raise ValueError("not an Ed25519 secretKeyMultibase")
    return Ed25519PrivateKey.from_private_bytes(raw[2:])


def did_key_public(did_url: str) -> Ed25519PublicKey | None:
    """did:key:z6Mk…(#z6Mk…) resolves to its own key, offline; anything else is None."""
    if not did_url.startswith("did:key:"):
        return None
    ident = did_url[len("did:key:"):].split("#", 1)[0]
    try:
        return public_from_multibase(ident)
    except ValueError:
        return None


# --- the keyring ------------------------------------------------------------------------------------


@dataclass
class PublicKey:
    kid: str
    created: str
    retired: str = ""
    revoked: str = ""
    revoked_reason: str = ""

    @property
    def key(self) -> Ed25519PublicKey:
        return public_from_multibase(self.kid)

    @property
    def status(self) -> str:
        return "revoked" if self.revoked else "retired" if self.retired else "active"


def key_dir() -> Path:
    return Path(settings.SKILLFORGE_KEY_DIR)


@contextmanager
def _locked() -> Iterator[Path]:
    """An exclusive lock on the key directory: a web process and a worker never both generate."""
    folder = key_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_ring(folder: Path) -> list[PublicKey]:
    path = folder / "keyring.json"
    if not path.exists():
        return []
    try:
        return [PublicKey(**entry) for entry in json.loads(path.read_text())["keys"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise IssuerKeyError(f"{path} is damaged ({exc}); restore it from a backup") from None


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _write_ring(folder: Path, ring: list[PublicKey]) -> None:
    body = json.dumps({"keys": [asdict(k) for k in ring]}, indent=2).encode()
    _write_private(folder / "keyring.json", body)


def _new_key(folder: Path, ring: list[PublicKey]) -> PublicKey:
    private = Ed25519PrivateKey.generate()
    entry = PublicKey(kid=public_multibase(private.public_key()), created=_now())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write_private(folder / f"{entry.kid}.pem", pem)
    ring.append(entry)
    return entry


def keyring() -> list[PublicKey]:
    """Every key, oldest first; generates the first key if there is none yet."""
    ring = _read_ring(key_dir())
    if any(k.status == "active" for k in ring):
        return ring
    with _locked() as folder:
        ring = _read_ring(folder)
        if not any(k.status == "active" for k in ring):
            _new_key(folder, ring)
            _write_ring(folder, ring)
        return ring


def active_key() -> tuple[PublicKey, Ed25519PrivateKey]:
    entry = next(k for k in reversed(keyring()) if k.status == "active")
    path = key_dir() / f"{entry.kid}.pem"
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise IssuerKeyError(f"the active issuer key {path} cannot be read ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey) or public_multibase(private.public_key()) != entry.kid:
        raise IssuerKeyError(f"{path} is not the Ed25519 key {entry.kid}")
    return entry, private


def find(kid: str) -> PublicKey | None:
    return next((k for k in keyring() if k.kid == kid), None)


def rotate(*, revoke_old: bool = False, reason: str = "") -> tuple[PublicKey, list[PublicKey]]:
    """A new active key; the old ones are retired (still verify) or, with revoke_old, revoked."""
    with _locked() as folder:
        ring = _read_ring(folder)
        old = [k for k in ring if k.status == "active"]
        stamp = _now()
        for entry in old:
            entry.retired = stamp
            if revoke_old:
                entry.revoked, entry.revoked_reason = stamp, reason or "revoked by the operator at rotation"
        new = _new_key(folder, ring)
        _write_ring(folder, ring)
        for entry in old:
            (folder / f"{entry.kid}.pem").unlink(missing_ok=True)
        return new, old
