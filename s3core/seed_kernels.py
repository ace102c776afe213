"""Compiled (numba) per-seed awareness of a step's receivers, identical to ``SeedAwareness.receive_grouped``'s
numpy reference: one pass over the deliveries grouped by receiver, instead of four array passes."""

from __future__ import annotations

import numpy as np

from .compiled import jit


@jit
def receive_grouped(mask, bit_table, seed_of_post, order, starts, agents, post, aware, new):
    """For each receiver ``agents[g]`` (deliveries ``order[starts[g]:starts[g + 1]]`` of ``post``): the union of
    the seed bits of the posts it received, added to ``mask``; each bit gained is counted in ``aware`` and
    ``new`` (int64 per bit). ``bit_table[s + 1]`` is seed ``s``'s bit (0 for a post of no known seed)."""
    n_known = len(seed_of_post)
    end = len(order)
    for g in range(len(agents) - 1, -1, -1):
        acc = np.uint64(0)
        for j in range(starts[g], end):
            p = post[order[j]]
            s = seed_of_post[p] if p < n_known else -1
            acc |= bit_table[s + 1]
        end = starts[g]
        a = agents[g]
        gained = acc & ~mask[a]
        if gained:
            mask[a] |= gained
            b = 0
            while gained:
                if gained & np.uint64(1):
                    aware[b] += 1
                    new[b] += 1
                gained >>= np.uint64(1)
                b += 1
