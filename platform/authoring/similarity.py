"""Flagging unusually similar submissions: winnowing (Schleimer, Wilkerson and Aiken,
"Winnowing: local algorithms for document fingerprinting", SIGMOD 2003), as MOSS does.

1. Normalise: Python's tokenize lexes the source (nothing is executed); comments, blank
   lines and docstring-free layout vanish, every identifier becomes `V`, every string `S`
   and every number `N`, so renaming variables or reformatting changes nothing.
2. Hash every k-gram of normalised tokens; in each window of w consecutive hashes keep
   the smallest (rightmost on ties): the fingerprints. Any shared run of at least
   w + k - 1 tokens is guaranteed to share a fingerprint.
3. Fingerprints that the starter code also has are dropped (everyone starts from it).
4. A pair's similarity is the Jaccard index of their fingerprint sets; pairs at or above
   the threshold are flagged.

Hand-written because it is ~100 lines and no maintained PyPI package does winnowing over
Python tokens (copydetect does it over its own lexer and pulls in pygments and numpy).
"""

from __future__ import annotations

import hashlib
import io
import keyword
import tokenize
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

K = 8  # tokens per k-gram
WINDOW = 4  # hashes per window: shared runs of WINDOW + K - 1 = 11 tokens are always caught
THRESHOLD = 0.6
MIN_FINGERPRINTS = 4  # below this a submission is too small (or too starter-like) to compare
SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}


@dataclass(frozen=True)
class Token:
    text: str
    file: str
    line: int


def normalise(source: str, file: str = "") -> list[Token]:
    """Normalised tokens of Python source; what cannot be lexed ends the list (partial code still counts)."""
    tokens: list[Token] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in SKIP:
                continue
            if tok.type == tokenize.NAME:
                text = tok.string if keyword.iskeyword(tok.string) or keyword.issoftkeyword(tok.string) else "V"
            elif tok.type == tokenize.STRING or tok.type in _FSTRING_TYPES:
                text = "S"
            elif tok.type == tokenize.NUMBER:
                text = "N"
            elif tok.type == tokenize.NEWLINE:
                text = ";"
            else:
                text = tok.string
            tokens.append(Token(text, file, tok.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return tokens


_FSTRING_TYPES = {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                  if hasattr(tokenize, name)}


def _hash(texts: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(texts).encode(), digest_size=8).digest(), "big")


def fingerprints(tokens: list[Token], k: int = K, window: int = WINDOW) -> dict[int, list[int]]:
    """Winnowed fingerprints: hash -> positions (index of the k-gram's first token)."""
    texts = [t.text for t in tokens]
    hashes = [_hash(texts[i:i + k]) for i in range(len(texts) - k + 1)]
    chosen: dict[int, list[int]] = defaultdict(list)
    if not hashes:
        return chosen
    if len(hashes) < window:
        h = min(hashes)
        chosen[h].append(len(hashes) - 1 - hashes[::-1].index(h))
        return chosen
    last = -1
    for start in range(len(hashes) - window + 1):
        win = hashes[start:start + window]
        smallest = min(win)
        pos = start + window - 1 - win[::-1].index(smallest)  # rightmost minimum
        if pos != last:
            chosen[hashes[pos]].append(pos)
            last = pos
    return chosen


@dataclass
class Document:
    key: Any  # e.g. the submission id
    label: str
    files: dict[str, str]
    tokens: list[Token] = field(default_factory=list)
    prints: dict[int, list[int]] = field(default_factory=dict)


def document(key: Any, label: str, files: dict[str, str], *, exclude: set[int] | None = None) -> Document:
    tokens: list[Token] = []
    for name in sorted(files):
        tokens.extend(normalise(files[name], name))
        tokens.append(Token("<eof>", name, 0))  # no k-gram spans two files meaningfully
    prints = fingerprints(tokens)
    if exclude:
        prints = {h: p for h, p in prints.items() if h not in exclude}
    return Document(key, label, files, tokens, prints)


def python_files(folder: Path, names: list[str] | None = None) -> dict[str, str]:
    """The .py files of a submission folder (or only the named ones) as text."""
    files = {}
    for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or (names and rel not in names):
            continue
        try:
            files[rel] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return files


@dataclass(frozen=True)
class Pair:
    a: Document
    b: Document
    score: float
    shared: int


def similarity(a: Document, b: Document) -> tuple[float, int]:
    sa, sb = set(a.prints), set(b.prints)
    if not sa or not sb:
        return 0.0, 0
    shared = len(sa & sb)
    return shared / len(sa | sb), shared


def flag(documents: list[Document], threshold: float = THRESHOLD) -> list[Pair]:
    """Pairs at or above the threshold, most similar first. An inverted index means only
    pairs sharing a fingerprint are compared."""
    usable = [d for d in documents if len(d.prints) >= MIN_FINGERPRINTS]
    index: dict[int, list[int]] = defaultdict(list)
    for i, doc in enumerate(usable):
        for h in doc.prints:
            index[h].append(i)
    candidates: set[tuple[int, int]] = set()
    for holders in index.values():
        for x in range(len(holders)):
            for y in range(x + 1, len(holders)):
                candidates.add((holders[x], holders[y]))
    pairs = []
    for i, j in candidates:
        score, shared = similarity(usable[i], usable[j])
        if score >= threshold:
            pairs.append(Pair(usable[i], usable[j], score, shared))
    return sorted(pairs, key=lambda p: (-p.score, str(p.a.key), str(p.b.key)))


def matching_lines(a: Document, b: Document, k: int = K) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """For the side-by-side view: the lines of each document covered by a shared fingerprint."""
    shared = set(a.prints) & set(b.prints)

    def lines(doc: Document) -> dict[str, set[int]]:
        marked: dict[str, set[int]] = defaultdict(set)
        for h in shared:
            for pos in doc.prints[h]:
                for tok in doc.tokens[pos:pos + k]:
                    if tok.line:
                        marked[tok.file].add(tok.line)
        return marked

    return lines(a), lines(b)
