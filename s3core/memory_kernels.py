"""Compiled (numba) versions of the memory pool's per-step kernels, bit-identical to ``memory``'s numpy reference.

Each kernel walks one receiver at a time where the reference works a round of receivers at a
time; the arithmetic is the reference's, operation for operation, in the same float types:
the temporal factor comes from a table computed by the reference's own ``temporal_factor``, and
row sums follow numpy's pairwise summation (8 partial sums for rows of 8 or more entries), so
every score, share and weight equals the reference's to the last bit.
"""

from __future__ import annotations

import numpy as np

from .compiled import jit
from .state import NO_POST


@jit(inline="always")
def _row_sum(values, n):
    """Sum of ``values[:n]`` in numpy's pairwise order (``pairwise_sum`` for n <= 128, which pools are)."""
    if n < 8:
        total = 0.0
        for i in range(n):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[0], values[1], values[2], values[3]
    r4, r5, r6, r7 = values[4], values[5], values[6], values[7]
    i = 8
    while i < n - (n % 8):
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[i]
        i += 1
    return total


@jit
def merge_groups(
    mem_post,
    mem_step,
    mem_source,
    mem_static,
    order,
    starts,
    receivers,
    post,
    source,
    static,
    weight_time,
    temporal,
    step,
):
    """Insert each receiver's messages, best first, into its pool (``memory.merge``, one receiver at a time).

    ``weight_time``: float32; ``temporal[a]``: the reference's temporal factor at age a (float32).
    """
    capacity = mem_post.shape[1]
    fresh = weight_time  # the temporal factor of a message that arrives now is 1
    score = np.empty(capacity, np.float32)
    for g in range(len(starts)):
        row = receivers[g]
        end = starts[g + 1] if g + 1 < len(starts) else len(order)
        for j in range(starts[g], end):
            e = order[j]
            new_post = post[e]
            new_score = static[e] + fresh
            dup = -1
            empty = -1
            for s in range(capacity):
                held = mem_post[row, s]
                if held == new_post and dup < 0:
                    dup = s
                if held == NO_POST and empty < 0:
                    empty = s
            if dup < 0 and empty >= 0:
                slot = empty
            else:
                for s in range(capacity):
                    if mem_post[row, s] == NO_POST:
                        score[s] = -np.inf
                    else:
                        score[s] = mem_static[row, s] + weight_time * temporal[step - mem_step[row, s]]
                if dup >= 0:
                    slot = dup
                else:
                    slot = 0
                    for s in range(1, capacity):
                        if score[s] < score[slot]:
                            slot = s
                if not new_score > score[slot]:
                    if dup < 0:
                        break  # messages come best first: the rest would fail too
                    continue
            mem_post[row, slot] = new_post
            mem_step[row, slot] = step
            mem_source[row, slot] = source[e]
            mem_static[row, slot] = static[e]


@jit
def stance_share_rows(
    mem_post, mem_step, mem_static, agents, weight_time, temporal, step, post_stance, removed, labelled, label_discount
):
    """``memory.stance_share`` with the post weights (0 removed, ``label_discount`` labelled, else 1) read per post."""
    n = len(agents)
    capacity = mem_post.shape[1]
    share = np.empty(n, np.float64)
    total = np.empty(n, np.float64)
    weight = np.empty(capacity, np.float64)
    positive = np.empty(capacity, np.float64)
    for i in range(n):
        a = agents[i]
        for s in range(capacity):
            p = mem_post[a, s]
            if p == NO_POST:
                weight[s] = 0.0
                positive[s] = 0.0
                continue
            w = mem_static[a, s] + weight_time * temporal[step - mem_step[a, s]]
            if w < np.float32(0.0):
                w = np.float32(0.0)
            pull = 0.0 if removed[p] else (label_discount if labelled[p] else 1.0)
            weight[s] = np.float64(w) * pull
            positive[s] = weight[s] * np.float64(post_stance[p])
        total[i] = _row_sum(weight, capacity)
        share[i] = _row_sum(positive, capacity) / total[i] if total[i] > 0 else 0.5
    return share, total


@jit
def stable_argsort_keys(keys, key_bits):
    """``np.argsort(keys, kind="stable")`` of non-negative int64 keys below 2**key_bits, by LSD radix sort.

    Radix sorting is stable, so equal keys keep their input order and the permutation equals
    numpy's; it costs a few passes over the keys instead of a comparison sort.
    """
    n = len(keys)
    order = np.arange(n)
    spare = np.empty(n, np.int64)
    current = keys.copy()
    spare_keys = np.empty(n, np.int64)
    digit_bits = 11
    buckets = 1 << digit_bits
    mask = buckets - 1
    shift = 0
    while shift < key_bits:
        count = np.zeros(buckets + 1, np.int64)
        for i in range(n):
            count[((current[i] >> shift) & mask) + 1] += 1
        for b in range(buckets):
            count[b + 1] += count[b]
        for i in range(n):
            d = (current[i] >> shift) & mask
            spare[count[d]] = order[i]
            spare_keys[count[d]] = current[i]
            count[d] += 1
        order, spare = spare, order
        current, spare_keys = spare_keys, current
        shift += digit_bits
    return order
