"""Compiled (numba) followee fan-out, identical to ``feeds.fan_out``'s numpy reference."""

from __future__ import annotations

import numpy as np

from .compiled import jit
from .keyed_random import uniform_of_pair
from .types import Source


@jit
def followers_who_attend(follower_ptr, follower_idx, follower_mutual, authors, post_ids, post_keys, key, attention):
    """Every (follower, post) pair of the posts' authors whose keyed attention draw is under ``attention``.

    One pass over the authors' follower lists in CSR order, drawing as it goes (no array of every
    edge): returns viewer (int64), post (int64), source (int8, mutual or followee) and the draw u
    (float64), in the reference's order (posts in order, each author's followers in CSR order).
    """
    total = 0
    for i in range(len(authors)):
        total += follower_ptr[authors[i] + 1] - follower_ptr[authors[i]]
    viewer = np.empty(total, np.int64)
    post = np.empty(total, np.int64)
    source = np.empty(total, np.int8)
    u = np.empty(total, np.float64)
    kept = 0
    for i in range(len(authors)):
        for e in range(follower_ptr[authors[i]], follower_ptr[authors[i] + 1]):
            who = np.int64(follower_idx[e])
            draw = uniform_of_pair(key, who, post_keys[i])
            if draw < attention:
                viewer[kept] = who
                post[kept] = post_ids[i]
                source[kept] = Source.MUTUAL if follower_mutual[e] else Source.FOLLOWEE
                u[kept] = draw
                kept += 1
    return viewer[:kept], post[:kept], source[:kept], u[:kept]
