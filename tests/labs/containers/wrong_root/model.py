"""The ticket-router model: routes a support ticket to account, billing, bug or feature.

Provided with the lab; you do not need to change it. A multinomial logistic regression
over lower-cased words and word pairs, with its weights in model.json, run in pure
Python (no numpy needed, loads in milliseconds).

    model = TicketRouter.load(Path(__file__).with_name("model.json"))
    model.predict(["I was charged twice"])  # [{"label": "billing", "score": 0.93}]
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

TOKEN = re.compile(r"[a-z0-9']+")


class TicketRouter:
    def __init__(self, doc: dict) -> None:
        self.version: str = doc["version"]
        self.labels: list[str] = list(doc["labels"])
        self.index = {token: i for i, token in enumerate(doc["vocab"])}
        self.weights: list[list[float]] = doc["weights"]
        self.bias: list[float] = doc["bias"]
        if len(self.weights) != len(self.index) or len(self.bias) != len(self.labels):
            raise ValueError("model.json is inconsistent")

    @classmethod
    def load(cls, path: Path) -> TicketRouter:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def features(self, text: str) -> list[int]:
        words = TOKEN.findall(text.lower())
        grams = set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}
        return sorted(self.index[g] for g in grams if g in self.index)

    def predict_one(self, text: str) -> dict:
        logits = list(self.bias)
        for i in self.features(text):
            for c, w in enumerate(self.weights[i]):
                logits[c] += w
        top = max(logits)
        exp = [math.exp(v - top) for v in logits]
        total = sum(exp)
        best = max(range(len(exp)), key=lambda c: (exp[c], -c))
        return {"label": self.labels[best], "score": round(exp[best] / total, 4)}

    def predict(self, texts: list[str]) -> list[dict]:
        return [self.predict_one(t) for t in texts]
