"""The texts of one run: the pool's, then each distinct text added during the run (seed posts, LLM-written posts)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


class RunTexts:
    """Text ids ``0 .. pool_size - 1`` are the pool's rows; each distinct added string follows once, in the order
    first seen, with one id and one embedding.

    Adding looks each string up in a dict (text -> id), embeds only the strings not seen before and appends their
    vectors to a buffer that doubles when full, so a step's cost grows with its new distinct texts, not with all the
    texts of the run (an archetype step writes 300-500k texts from about 10k distinct strings). Views handed out by
    ``vectors`` stay valid after later adds (a regrown buffer is a new array; appended rows lie past a view's end).
    """

    def __init__(self, pool_texts: Sequence[str], pool_vectors: np.ndarray, embed: Callable[[list[str]], np.ndarray]):
        """``pool_vectors``: float32 (pool texts, dim); ``embed(texts)``: float32 (len(texts), dim) unit rows."""
        self.pool_size = len(pool_texts)
        self._pool_texts = pool_texts
        self._pool_vectors = pool_vectors
        self._embed = embed
        self._ids: dict[str, int] = {}  # added text -> its text id (the first, for old checkpoints with repeats)
        self._added: list[str] = []
        self._vectors: np.ndarray | None = None  # (capacity, dim) float32: pool rows then added rows; None until used
        self._texts: np.ndarray | None = None  # (capacity,) object: the texts of the same rows

    def __len__(self) -> int:
        return self.pool_size + len(self._added)

    @property
    def added(self) -> list[str]:
        """The added texts in text-id order (read only)."""
        return self._added

    @property
    def vectors(self) -> np.ndarray:
        """Float32 (texts, dim): the pool's vectors followed by those of the added texts."""
        if not self._added:
            return self._pool_vectors
        return self._vectors[: len(self)]

    @property
    def added_vectors(self) -> np.ndarray:
        """Float32 (added texts, dim)."""
        if not self._added:
            return np.zeros((0, self._pool_vectors.shape[1]), dtype=np.float32)
        return self._vectors[self.pool_size : len(self)]

    def text(self, text_id: int) -> str:
        """The text of one text id."""
        return self._pool_texts[text_id] if text_id < self.pool_size else self._added[text_id - self.pool_size]

    def texts_of(self, text_ids: np.ndarray) -> list[str]:
        """The texts of many text ids (one gather)."""
        if self._texts is None:
            self._reserve(0)
        return self._texts[np.asarray(text_ids, dtype=np.int64)].tolist()

    def add(self, texts: Sequence[str]) -> np.ndarray:
        """Text ids (int32, one per string of ``texts``) of the given strings, registering those not seen before.

        Only new distinct strings are embedded (in first-seen order); a string already added, in this call or an
        earlier one, gets its earlier id."""
        ids = self._ids
        fresh = [s for s in dict.fromkeys(texts) if s not in ids]
        if fresh:
            self._append(fresh, np.asarray(self._embed(fresh), dtype=np.float32))
        return np.fromiter((ids[s] for s in texts), dtype=np.int32, count=len(texts))

    def restore(self, added: Sequence[str], vectors: np.ndarray) -> None:
        """Replace the added texts by ``added`` with their ``vectors`` (float32 (len(added), dim)), as saved by a
        checkpoint; a string repeated there (checkpoints before deduplication) keeps the id of its first copy."""
        if len(added) != len(vectors):
            raise ValueError(f"restoring run texts: {len(added)} texts but {len(vectors)} vectors")
        self._ids, self._added, self._vectors, self._texts = {}, [], None, None
        if len(added):
            self._append([str(s) for s in added], np.asarray(vectors, dtype=np.float32))

    def _append(self, texts: list[str], vectors: np.ndarray) -> None:
        start = len(self)
        self._reserve(len(texts))
        self._vectors[start : start + len(texts)] = vectors
        self._texts[start : start + len(texts)] = texts
        for i, s in enumerate(texts, start):
            self._ids.setdefault(s, i)
        self._added.extend(texts)

    def _reserve(self, more: int) -> None:
        """Room for ``more`` rows after the current ones: the buffers double when full (amortised O(1) a row)."""
        size = len(self)
        capacity = 0 if self._vectors is None else len(self._vectors)
        if self._vectors is not None and size + more <= capacity:
            return
        capacity = max(size + more, 2 * capacity, self.pool_size + 1024)
        vectors = np.empty((capacity, self._pool_vectors.shape[1]), dtype=np.float32)
        texts = np.empty(capacity, dtype=object)
        if self._vectors is None:
            vectors[: self.pool_size] = self._pool_vectors
            texts[: self.pool_size] = list(self._pool_texts)
        else:
            vectors[:size] = self._vectors[:size]
            texts[:size] = self._texts[:size]
        self._vectors, self._texts = vectors, texts
