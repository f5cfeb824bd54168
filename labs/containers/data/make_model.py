"""Train the ticket-router model that ships as starter/model.json (and solution/model.json).

Run once by the lab's author (numpy only, no network): the training set is a few hundred
synthetic support tickets generated below from hand-written templates, written for this
lab and released under CC0. The model is a multinomial logistic regression over
lower-cased unigrams and bigrams; model.py in the submission runs it in pure Python.

    .venv/bin/python labs/containers/data/make_model.py labs/containers/starter/model.json

The output is deterministic (fixed seed, fixed iteration count, weights rounded).
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

LABELS = ["account", "billing", "bug", "feature"]
VERSION = "ticket-router-1.0.0"
TOKEN = re.compile(r"[a-z0-9']+")

SLOTS = {
    "product": ["the dashboard", "the mobile app", "the api", "the export", "the editor", "the search page",
                "the notebook view", "the lab runner", "the portfolio page", "the settings page"],
    "amount": ["$49", "$12.99", "twice the usual amount", "the annual fee", "49 euros", "an extra seat"],
    "when": ["yesterday", "this morning", "last week", "on monday", "since the update", "every time"],
    "thing": ["dark mode", "a csv export", "keyboard shortcuts", "single sign-on", "a slack integration",
              "team workspaces", "an offline mode", "custom reports", "webhooks", "two-factor login"],
}

TEMPLATES = {
    "billing": [
        "I was charged {amount} {when}, please refund me",
        "my invoice shows {amount} but I cancelled",
        "why did my card get billed {amount}",
        "please send a receipt for {amount}",
        "the payment for {amount} failed and my subscription is on hold",
        "can I change my billing plan to monthly",
        "I need a refund for the duplicate charge {when}",
        "the invoice is missing our company vat number",
        "how do I update the credit card on file",
        "you charged me {amount} after my trial ended",
        "please cancel my subscription and stop billing me",
        "the price on the invoice does not match the pricing page",
    ],
    "bug": [
        "{product} crashes {when}",
        "{product} shows a blank screen {when}",
        "error 500 when I open {product}",
        "{product} is very slow and times out",
        "the save button in {product} does nothing",
        "{product} freezes after I click submit",
        "I get an exception in {product} {when}",
        "{product} displays the wrong results",
        "images do not load in {product}",
        "{product} broke {when}, it keeps spinning",
        "the upload fails with an error in {product}",
        "{product} logs me out randomly and loses my work",
    ],
    "account": [
        "I cannot log in to my account {when}",
        "how do I reset my password",
        "please delete my account and all my data",
        "I want to change the email address on my account",
        "my account is locked after too many attempts",
        "the password reset email never arrives",
        "how do I add a teammate to my account",
        "I lost access to my two-factor device",
        "please merge my two accounts",
        "I want to change my username",
        "my login link expired {when}",
        "how can I export my personal data from my profile",
    ],
    "feature": [
        "please add {thing} to {product}",
        "it would be great to have {thing}",
        "do you plan to support {thing}",
        "feature request: {thing} in {product}",
        "could you build {thing} for teams",
        "we would pay more for {thing}",
        "any roadmap for {thing}",
        "suggestion: let us customise {product} with {thing}",
        "I wish {product} had {thing}",
        "is {thing} coming soon",
        "please consider adding {thing}",
        "our team needs {thing} before we can switch",
    ],
}


def tokens(text: str) -> list[str]:
    words = TOKEN.findall(text.lower())
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def examples(seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for label, templates in TEMPLATES.items():
        for template in templates:
            for _ in range(8):
                text = template.format(**{k: rng.choice(v) for k, v in SLOTS.items()})
                out.append((text, label))
    rng.shuffle(out)
    return out


def train(data: list[tuple[str, str]]) -> dict:
    counts: dict[str, int] = {}
    for text, _ in data:
        for tok in set(tokens(text)):
            counts[tok] = counts.get(tok, 0) + 1
    vocab = sorted(t for t, n in counts.items() if n >= 2)
    index = {t: i for i, t in enumerate(vocab)}
    x = np.zeros((len(data), len(vocab)))
    y = np.zeros((len(data), len(LABELS)))
    for row, (text, label) in enumerate(data):
        for tok in set(tokens(text)):
            if tok in index:
                x[row, index[tok]] = 1.0
        y[row, LABELS.index(label)] = 1.0
    w = np.zeros((len(vocab), len(LABELS)))
    b = np.zeros(len(LABELS))
    for _ in range(400):
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = p - y
        w -= 0.5 * (x.T @ grad / len(data) + 1e-3 * w)
        b -= 0.5 * grad.mean(axis=0)
    return {
        "version": VERSION,
        "labels": LABELS,
        "vocab": vocab,
        "weights": [[round(float(v), 4) for v in row] for row in w],
        "bias": [round(float(v), 4) for v in b],
    }


def main() -> None:
    model = train(examples())
    Path(sys.argv[1]).write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
