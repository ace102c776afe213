"""A run's cache of nearest pool texts per focal text, as dense tables indexed by text id."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .frontier import sorted_unique


class NeighbourCache:
    """For each (kind, k), the ``k`` nearest pool rows of each of the 6 (emotion, attitude) buckets
    of every text looked up so far: a table of shape (texts, 6, k), int64, filled on first use.

    Lookups are vectorized (one gather per step) and grow the table as texts are added.
    """

    def __init__(self):
        self._tables: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def lookup(self, kind: str, k: int, text_ids: np.ndarray, search: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Candidates of each text id (shape (len(text_ids), 6, k)); ``search(missing ids)`` fills the unknown ones."""
        text_ids = np.asarray(text_ids, dtype=np.int64)
        table, known = self._reserve(kind, k, int(text_ids.max()) + 1 if len(text_ids) else 0)
        missing = sorted_unique(text_ids[~known[text_ids]])
        if len(missing):
            table[missing] = search(missing)
            known[missing] = True
        return table[text_ids]

    def _reserve(self, kind: str, k: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        table, known = self._tables.get((kind, k), (np.zeros((0, 6, k), np.int64), np.zeros(0, bool)))
        if size > len(known):
            grown = max(size, 2 * len(known))
            table = np.concatenate([table, np.zeros((grown - len(known), 6, k), np.int64)])
            known = np.concatenate([known, np.zeros(grown - len(known), bool)])
            self._tables[(kind, k)] = (table, known)
        return table, known

    def adopt(self, other: "NeighbourCache", limit: int) -> None:
        """Take ``other``'s lookups of text ids below ``limit`` that this cache does not have yet."""
        for (kind, k), (their_table, their_known) in other._tables.items():
            size = min(limit, len(their_known))
            table, known = self._reserve(kind, k, size)
            take = np.flatnonzero(their_known[:size] & ~known[:size])
            table[take] = their_table[take]
            known[take] = True
