# ruff: noqa: E501 - SPEC_SAMPLE is the specification's text, verbatim
"""The cryptosuite and the contexts against published test vectors, offline.

- W3C vc-di-eddsa, TestVectors/eddsa-rdfc-2022 (keyPair.json, signedDataInt.json, proofCanonDataInt.txt,
  combinedHashDataInt.txt, sigBTC58DataInt.txt): our hashes and signature are byte-identical. (The stored
  sigHexDataInt.txt is from an older revision of the vector and matches none of the others, so it is not used.)
- 1EdTech openbadges-specification, ob_v3p0/impl/test-vectors/obv3p0 (document-canon.txt, proof-canon.txt)
  and the key of ob_v3p0/impl/linked-data-proof-ob.md: our canonical N-Quads of an Open Badges 3.0
  credential with the shipped VC 2.0 and OB 3.0.3 contexts are the published ones.
- ob_v3p0/examples/basicOpenBadgeCredential.html: the specification's "Sample OpenBadgeCredential" parses.
"""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_credentials_support import dumps, fixture_key_dir  # noqa: F401

from credentials import jsonld, keys, proofs, verification

EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
# contexts/credentials/examples/v2 of w3c/vc-data-model (the test vector's second context; tests only).
EXAMPLES_LOADER = jsonld.OfflineLoader({EXAMPLES_V2: {"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}})

W3C_KEYS = {"publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
            "privateKeyMultibase": "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"}
W3C_SIGNED = {
    "@context": ["https://www.w3.org/ns/credentials/v2", EXAMPLES_V2],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "proofPurpose": "assertionMethod",
        "proofValue": "z21EVs3eXERqTn4acNHT9viboqgzUaQ3kTmhPT3eA8qrVPE7CrQq78WkzctnMX5W4CrzcKnHw8V6dvy5pgWYCU5e9",
    },
}
W3C_PROOF_CANON = (
    '_:c14n0 <http://purl.org/dc/terms/created> "2023-02-24T23:36:38Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
    "_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#DataIntegrityProof> .\n"
    '_:c14n0 <https://w3id.org/security#cryptosuite> "eddsa-rdfc-2022"^^<https://w3id.org/security#cryptosuiteString> .\n'
    "_:c14n0 <https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod> .\n"
    "_:c14n0 <https://w3id.org/security#verificationMethod> "
    "<https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2> .\n"
)
W3C_COMBINED_HASH = ("4c4d3890a157f8d611b13c265c2c22f39aa0a567c7c7dd9ba3e45cd579784eeb"
                     "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017")


def test_w3c_eddsa_rdfc_2022_vector_signs_byte_for_byte():
    private = keys.private_from_multibase(W3C_KEYS["privateKeyMultibase"])
    assert keys.public_multibase(private.public_key()) == W3C_KEYS["publicKeyMultibase"]
    unsecured = {k: v for k, v in W3C_SIGNED.items() if k != "proof"}
    config = {k: v for k, v in W3C_SIGNED["proof"].items() if k != "proofValue"}
    assert jsonld.canonize({**config, "@context": unsecured["@context"]}, EXAMPLES_LOADER) == W3C_PROOF_CANON
    data = proofs.hash_data(unsecured, config, EXAMPLES_LOADER)
    assert data.hex() == W3C_COMBINED_HASH
    assert proofs.decode_proof_value(W3C_SIGNED["proof"]["proofValue"]) == private.sign(data)  # Ed25519 is deterministic
    signed = proofs.sign(unsecured, private_key=private, verification_method=config["verificationMethod"],
                         created=config["created"], loader=EXAMPLES_LOADER)
    assert signed["proof"] == W3C_SIGNED["proof"]


def test_w3c_vector_verifies_and_a_changed_vector_does_not():
    public = keys.public_from_multibase(W3C_KEYS["publicKeyMultibase"])
    assert proofs.verify(W3C_SIGNED, resolve=lambda _m: public, loader=EXAMPLES_LOADER)
    changed = copy.deepcopy(W3C_SIGNED)
    changed["credentialSubject"]["alumniOf"] = "The School of Exampels"
    with pytest.raises(proofs.ProofError) as exc:
        proofs.verify(changed, resolve=lambda _m: public, loader=EXAMPLES_LOADER)
    assert exc.value.code == "signature"


# 1EdTech ob_v3p0/impl: the linked-data-proof-ob.md credential, in its VC 2.0 / context-3.0.3 form (validFrom).
OB_CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
    "id": "http://example.com/credentials/3527",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "https://example.edu/issuers/565049", "type": ["Profile"], "url": "https://www.imsglobal.org",
               "name": "Example Corp"},
    "validFrom": "2010-01-01T00:00:00Z",
    "name": "Teamwork Badge",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://example.com/achievements/21st-century-skills/teamwork",
            "type": ["Achievement"],
            "criteria": {"narrative": "Team members are nominated for this badge by their peers and recognized upon "
                                      "review by Example Corp management."},
            "description": "This badge recognizes the development of the capacity to collaborate within a group "
                           "environment.",
            "name": "Teamwork",
        },
    },
}
OB = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
OB_DOCUMENT_CANON = "".join(line + "\n" for line in [
    f"<did:example:ebfeb1f712ebc6f1c276e12ec21> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{OB}AchievementSubject> .",
    f"<did:example:ebfeb1f712ebc6f1c276e12ec21> <{OB}achievement> "
    "<https://example.com/achievements/21st-century-skills/teamwork> .",
    f"<http://example.com/credentials/3527> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{OB}OpenBadgeCredential> .",
    "<http://example.com/credentials/3527> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
    "<https://www.w3.org/2018/credentials#VerifiableCredential> .",
    '<http://example.com/credentials/3527> <https://schema.org/name> "Teamwork Badge" .',
    "<http://example.com/credentials/3527> <https://www.w3.org/2018/credentials#credentialSubject> "
    "<did:example:ebfeb1f712ebc6f1c276e12ec21> .",
    "<http://example.com/credentials/3527> <https://www.w3.org/2018/credentials#issuer> <https://example.edu/issuers/565049> .",
    '<http://example.com/credentials/3527> <https://www.w3.org/2018/credentials#validFrom> '
    '"2010-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .',
    f"<https://example.com/achievements/21st-century-skills/teamwork> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
    f"<{OB}Achievement> .",
    f"<https://example.com/achievements/21st-century-skills/teamwork> <{OB}Criteria> _:c14n0 .",
    '<https://example.com/achievements/21st-century-skills/teamwork> <https://schema.org/description> "This badge '
    'recognizes the development of the capacity to collaborate within a group environment." .',
    '<https://example.com/achievements/21st-century-skills/teamwork> <https://schema.org/name> "Teamwork" .',
    f"<https://example.edu/issuers/565049> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{OB}Profile> .",
    '<https://example.edu/issuers/565049> <https://schema.org/name> "Example Corp" .',
    '<https://example.edu/issuers/565049> <https://schema.org/url> '
    '"https://www.imsglobal.org"^^<https://www.w3.org/2001/XMLSchema#anyURI> .',
    f'_:c14n0 <{OB}narrative> "Team members are nominated for this badge by their peers and recognized upon review by '
    'Example Corp management." .',
])
OB_KEY_HEX = "6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"
OB_METHOD = "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
OB_PROOF_CANON = (
    '_:c14n0 <http://purl.org/dc/terms/created> "2010-01-01T19:23:24Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
    "_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#DataIntegrityProof> .\n"
    '_:c14n0 <https://w3id.org/security#cryptosuite> "eddsa-rdfc-2022"^^<https://w3id.org/security#cryptosuiteString> .\n'
    "_:c14n0 <https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod> .\n"
    f"_:c14n0 <https://w3id.org/security#verificationMethod> <{OB_METHOD}> .\n"
)


def test_open_badges_3_vector_canonicalizes_with_the_shipped_contexts():
    assert jsonld.canonize(OB_CREDENTIAL) == OB_DOCUMENT_CANON
    config = {"type": "DataIntegrityProof", "created": "2010-01-01T19:23:24Z", "verificationMethod": OB_METHOD,
              "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod", "@context": OB_CREDENTIAL["@context"]}
    assert jsonld.canonize(config) == OB_PROOF_CANON


def test_open_badges_3_vector_key_signs_and_verifies():
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(OB_KEY_HEX))
    assert keys.public_multibase(private.public_key()) == OB_METHOD.split("#")[1]
    signed = proofs.sign(OB_CREDENTIAL, private_key=private, verification_method=OB_METHOD, created="2010-01-01T19:23:24Z")
    data = hashlib.sha256(OB_PROOF_CANON.encode()).digest() + hashlib.sha256(OB_DOCUMENT_CANON.encode()).digest()
    private.public_key().verify(proofs.decode_proof_value(signed["proof"]["proofValue"]), data)
    assert proofs.verify(signed, resolve=lambda _m: private.public_key())


def test_a_third_party_credential_signed_with_a_did_key_verifies(key_dir, db):
    """Someone else's OB 3.0 credential: its did:key names its own key, so we can verify it offline."""
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(OB_KEY_HEX))
    did = "did:key:" + keys.public_multibase(private.public_key())
    document = copy.deepcopy(OB_CREDENTIAL)
    document["issuer"]["id"] = did
    signed = proofs.sign(document, private_key=private, verification_method=f"{did}#{did[8:]}", created="2024-01-01T00:00:00Z")
    result = verification.verify_bytes(dumps(signed))
    assert result.verified, result.as_dict()
    assert result.check("issuer_key").message.startswith("Signed with a did:key")
    assert result.check("status").status == "skip" and result.check("evidence").status == "skip"
    signed["name"] = "Teamwork Badgf"
    assert verification.verify_bytes(dumps(signed)).failure.code == "signature"


# ob_v3p0/examples/basicOpenBadgeCredential.html, "Sample OpenBadgeCredential" (unsigned in the specification),
# verbatim, its tabs and long line included.
SPEC_SAMPLE = """{
  "@context": [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
  ],
  "id": "http://example.com/credentials/3527",
  "type": ["VerifiableCredential", "OpenBadgeCredential"],
  "issuer": {
    "id": "https://example.com/issuers/876543",
    "type": ["Profile"],
    "name": "Example Corp"
  },
  "validFrom": "2010-01-01T00:00:00Z",
  "name": "Teamwork Badge",
  "credentialSubject": {
    "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
    "type": ["AchievementSubject"],
    "achievement": {
  \t\t\t"id": "https://example.com/achievements/21st-century-skills/teamwork",
  \t\t\t"type": ["Achievement"],
  \t\t\t"criteria": {
  \t\t\t\t"narrative": "Team members are nominated for this badge by their peers and recognized upon review by Example Corp management."
  \t\t\t},
  \t\t\t"description": "This badge recognizes the development of the capacity to collaborate within a group environment.",
  \t\t\t"name": "Teamwork"
  \t\t}
  }
}"""


def test_the_specification_sample_credential_parses(key_dir, db):
    result = verification.verify_bytes(SPEC_SAMPLE.encode())
    statuses = {c.key: (c.status, c.code) for c in result.checks}
    assert statuses["read"] == ("pass", "") and statuses["contexts"] == ("pass", "") and statuses["structure"] == ("pass", "")
    assert statuses["signature"] == ("fail", "no_proof")  # the specification shows it unsigned
    nquads = jsonld.canonize(json.loads(SPEC_SAMPLE))
    assert f"<{OB}achievement> <https://example.com/achievements/21st-century-skills/teamwork>" in nquads


def test_contexts_load_offline_and_nothing_else_loads(monkeypatch):
    import socket
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for url, filename in jsonld.SHIPPED.items():
        loaded = jsonld.DEFAULT_LOADER(url)
        assert loaded["documentUrl"] == url and "@context" in loaded["document"], filename
    with pytest.raises(jsonld.UnknownContext):
        jsonld.DEFAULT_LOADER("https://www.w3.org/2018/credentials/v1")
    with pytest.raises(jsonld.UnknownContext) as exc:
        jsonld.canonize({**OB_CREDENTIAL, "@context": [*OB_CREDENTIAL["@context"], "https://example.org/x.jsonld"]})
    assert "https://example.org/x.jsonld" in str(exc.value)
    assert jsonld.canonize(OB_CREDENTIAL) == OB_DOCUMENT_CANON
