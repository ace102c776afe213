"""The nearest pool texts of a query vector, computed the same way whatever else is queried with it."""

from __future__ import annotations

import numpy as np

from .compiled import jit


@jit
def nearest_in_buckets(queries, vectors, flat, start, size, k):
    """For each query and each of the 6 buckets, the ``k`` members with the highest dot product, best first.

    ``queries`` (m, d) and ``vectors`` (n, d) float32; bucket b's members are
    ``flat[start[b]:start[b] + size[b]]``. Each dot product is summed in float32, feature by
    feature, so a query's result never depends on the batch it comes in (a matrix product's
    rounding does); equal scores keep bucket order. A bucket smaller than ``k`` repeats its
    ranking; an empty bucket gives -1. Returns int64 pool rows, shape (m, 6, k).
    """
    m, d = queries.shape
    out = np.full((m, 6, k), -1, np.int64)
    best_score = np.empty(k, np.float32)
    best_row = np.empty(k, np.int64)
    for q in range(m):
        for b in range(6):
            found = 0
            for j in range(start[b], start[b] + size[b]):
                row = flat[j]
                score = np.float32(0.0)
                for f in range(d):
                    score += queries[q, f] * vectors[row, f]
                if found == k and not score > best_score[k - 1]:
                    continue
                at = min(found, k - 1)  # insert after every entry at least as good
                while at > 0 and best_score[at - 1] < score:
                    best_score[at] = best_score[at - 1]
                    best_row[at] = best_row[at - 1]
                    at -= 1
                best_score[at] = score
                best_row[at] = row
                found = min(found + 1, k)
            for i in range(k):
                if found:
                    out[q, b, i] = best_row[i % found]
    return out
