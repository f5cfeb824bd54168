"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C vc-di-eddsa, section 3.3).

    proofConfig  = proof options (type, cryptosuite, created, verificationMethod, proofPurpose)
                   with the document's @context
    hashData     = SHA-256(RDFC-1.0(proofConfig)) || SHA-256(RDFC-1.0(document without proof))
    proofValue   = "z" + base58btc(Ed25519-sign(hashData))

Written here, on pyld's canonicalization and cryptography's Ed25519, because no maintained
Python library implements this cryptosuite; the W3C test vectors in
tests/unit/test_credentials_vectors.py pin it down byte for byte.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import jsonld

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PURPOSE = "assertionMethod"


class ProofError(ValueError):
    """The proof does not verify; `code` names the reason (for tests and the verify page)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def hash_data(document: dict[str, Any], proof_config: dict[str, Any], loader: jsonld.OfflineLoader) -> bytes:
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in proof_config.items() if k != "proofValue"}
    config["@context"] = unsecured.get("@context")
    proof_hash = hashlib.sha256(jsonld.canonize(config, loader).encode("utf-8")).digest()
    doc_hash = hashlib.sha256(jsonld.canonize(unsecured, loader).encode("utf-8")).digest()
    return proof_hash + doc_hash


def sign(document: dict[str, Any], *, private_key: Ed25519PrivateKey, verification_method: str, created: str,
         loader: jsonld.OfflineLoader = jsonld.DEFAULT_LOADER) -> dict[str, Any]:
    """A copy of the document with a DataIntegrityProof added."""
    unsecured = {k: copy.deepcopy(v) for k, v in document.items() if k != "proof"}
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": PURPOSE,
    }
    signature = private_key.sign(hash_data(unsecured, proof, loader))
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": proof}


def the_proof(document: dict[str, Any]) -> dict[str, Any]:
    """The one eddsa-rdfc-2022 proof of a document, checked for shape; ProofError says what is wrong."""
    proof = document.get("proof")
    if proof is None:
        raise ProofError("no_proof", "The credential has no proof: it was never signed.")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise ProofError("proof_shape", f"The credential has {len(proof)} proofs; we verify credentials with exactly one.")
        proof = proof[0]
    if not isinstance(proof, dict):
        raise ProofError("proof_shape", "The proof is not a JSON object.")
    if proof.get("type") != PROOF_TYPE:
        raise ProofError("proof_type", f"The proof type is {proof.get('type')!r}; only {PROOF_TYPE!r} is supported.")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError("cryptosuite", f"The cryptosuite is {proof.get('cryptosuite')!r}; only {CRYPTOSUITE!r} is supported.")
    if proof.get("proofPurpose") != PURPOSE:
        raise ProofError("proof_purpose", f"The proof purpose is {proof.get('proofPurpose')!r}, not {PURPOSE!r}.")
    if not isinstance(proof.get("verificationMethod"), str) or not proof["verificationMethod"]:
        raise ProofError("proof_shape", "The proof names no verificationMethod.")
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise ProofError("proof_shape", "The proof's @context differs from the credential's.")
    return proof


def decode_proof_value(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise ProofError("proof_value", "The proof has no proofValue.")
    if value[0] != "z":
        raise ProofError("proof_value", "The proofValue is not base58btc multibase (it must start with 'z').")
    try:
        signature = base58.b58decode(value[1:])
    except ValueError:
        raise ProofError("proof_value", "The proofValue is not valid base58.") from None
    if len(signature) != 64:
        raise ProofError("proof_value", f"The proofValue decodes to {len(signature)} bytes; an Ed25519 signature has 64.")
    return signature


def verify(document: dict[str, Any], *, resolve: Callable[[str], Ed25519PublicKey],
           loader: jsonld.OfflineLoader = jsonld.DEFAULT_LOADER) -> dict[str, Any]:
    """Check the proof; return it. `resolve(verificationMethod)` gives the key or raises ProofError."""
    proof = the_proof(document)
    signature = decode_proof_value(proof.get("proofValue"))
    public_key = resolve(proof["verificationMethod"])
    config = {k: v for k, v in proof.items() if k not in ("proofValue", "@context")}
    data = hash_data(document, config, loader)
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise ProofError("signature", "The signature does not match: the credential was changed after it was signed, "
                                      "or it was signed with another key.") from None
    return proof
