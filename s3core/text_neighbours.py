"""A run's cache of nearest pool texts per focal text, as dense tables indexed by text id."""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from .frontier import sorted_unique


class NeighbourCache:
    """For each (kind, k), the ``k`` nearest pool rows of each of the 6 (emotion, attitude) buckets
    of every text looked up so far: a table of shape (texts, 6, k), int64, filled on first use.

    Lookups are vectorized (one gather per step) and grow the table as texts are added. Row
    ``i`` holds text id ``first_id + i`` (a run's own cache starts after the pool's texts). A
    cache may be shared by runs in several threads (the dashboard's sessions): lookups hold a lock.
    """

    def __init__(self, first_id: int = 0):
        self.first_id = first_id
        self._tables: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def lookup(self, kind: str, k: int, text_ids: np.ndarray, search: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Candidates of each text id (shape (len(text_ids), 6, k)); ``search(missing ids)`` fills the unknown ones."""
        rows = np.asarray(text_ids, dtype=np.int64) - self.first_id
        with self._lock:
            table, known = self._reserve(kind, k, int(rows.max()) + 1 if len(rows) else 0)
            missing = sorted_unique(rows[~known[rows]])
            if len(missing):
                table[missing] = search(missing + self.first_id)
                known[missing] = True
            return table[rows]

    def _reserve(self, kind: str, k: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        table, known = self._tables.get((kind, k), (np.zeros((0, 6, k), np.int64), np.zeros(0, bool)))
        if size > len(known):
            grown = max(size, 2 * len(known))
            table = np.concatenate([table, np.zeros((grown - len(known), 6, k), np.int64)])
            known = np.concatenate([known, np.zeros(grown - len(known), bool)])
            self._tables[(kind, k)] = (table, known)
        return table, known

    def adopt(self, other: "NeighbourCache", limit: int) -> None:
        """Take ``other``'s lookups of text ids below ``limit`` that this cache does not have yet
        (both caches must start at the same ``first_id``)."""
        if other.first_id != self.first_id:
            raise ValueError(f"caches start at text ids {self.first_id} and {other.first_id}: rows differ")
        with other._lock:
            theirs = dict(other._tables)
        for (kind, k), (their_table, their_known) in theirs.items():
            size = max(0, min(limit - self.first_id, len(their_known)))
            table, known = self._reserve(kind, k, size)
            take = np.flatnonzero(their_known[:size] & ~known[:size])
            table[take] = their_table[take]
            known[take] = True
