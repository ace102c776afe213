"""Awareness per seed post: which agents received a post of each seed's cascade, counted as it changes.

The population's ``aware`` metric counts agents who received any post. A rumour and its
correction are two seed posts with two cascades, and their reaches differ; this module keeps
them apart. Every post belongs to one seed's cascade: a seed to its own, a repost or quote to
its parent's (so to its ``root``'s), and an agent's original post (action ``post``, which opens
a thread of its own) to the cascade of the focal post the agent was reacting to. So each aware
agent is aware of at least one seed, and the seeds' reaches together cover ``aware`` exactly.

Each agent has a 64-bit mask: bit ``b`` is set once the agent receives a post of the ``b``-th
seed injected (seeds from the 64th on share bit 63, so their ``aware`` counts are those of the
shared bit; their post counts stay exact). A seed's author is aware of it when it is posted, as
for ``aware``. Counts move only for the agents a step touches, so an idle step costs nothing here.
"""

from __future__ import annotations

import numpy as np

from . import compiled, seed_kernels

BITS = 64
SHARED_BIT = BITS - 1  # the bit of every seed from the 64th on
NONE = -1  # the seed index of a post of no known seed


class SeedAwareness:
    """Per-agent seed masks (uint64, one bit per seed), the seed of every post, and per-seed counts."""

    def __init__(self, n_agents: int):
        self.mask = np.zeros(n_agents, np.uint64)
        self.labels: list[str] = []  # per seed in injection order: its name, or "#<index in interventions>"
        self.roots: list[int] = []  # per seed: its post id
        self.aware = np.zeros(BITS, np.int64)  # per bit: agents with that bit set
        self.new = np.zeros(BITS, np.int64)  # per bit: agents who gained it this step
        self.seed_of_post = np.full(0, NONE, np.int32)  # per post id: its seed's index, NONE before it is known
        self._bit = np.zeros(1, np.uint64)  # per seed index + 1: its bit (0 for NONE)

    def begin(self) -> None:
        """Start a step: this step's gains go back to zero."""
        self.new[:] = 0

    def add_seed(self, label: str, post: int) -> np.uint64:
        """Register a seed post just injected (``post``: its id); returns its bit."""
        index = len(self.labels)
        bit = np.uint64(1) << np.uint64(min(index, SHARED_BIT))
        self.labels.append(label)
        self.roots.append(int(post))
        self._bit = np.append(self._bit, bit)
        self._set(np.array([post], np.int64), np.array([index], np.int32))
        return bit

    def add_posts(self, ids: np.ndarray, prompted_by: np.ndarray) -> None:
        """Posts made by agents (``ids``) join the cascade of the post each one reacts to (``prompted_by``:
        the parent of a repost or quote, the focal post of an original post)."""
        if len(ids):
            self._set(np.asarray(ids, np.int64), self.seed_of(np.asarray(prompted_by, np.int64)))

    def _set(self, ids: np.ndarray, seeds: np.ndarray) -> None:
        if int(ids.max()) >= len(self.seed_of_post):
            size = max(int(ids.max()) + 1, 2 * len(self.seed_of_post))
            self.seed_of_post = np.concatenate(
                [self.seed_of_post, np.full(size - len(self.seed_of_post), NONE, np.int32)]
            )
        self.seed_of_post[ids] = seeds

    def seed_of(self, posts: np.ndarray) -> np.ndarray:
        """The seed index of each post (int32; NONE for a post made before per-seed awareness was kept)."""
        known = posts < len(self.seed_of_post)
        if known.all():
            return self.seed_of_post[posts]
        if len(self.seed_of_post) == 0:
            return np.full(len(posts), NONE, np.int32)
        return np.where(known, self.seed_of_post[np.where(known, posts, 0)], NONE).astype(np.int32)

    def bits_of(self, posts: np.ndarray) -> np.ndarray:
        """The seed bit of each post (uint64; 0 for a post of no known seed)."""
        return self._bit[self.seed_of(posts) + 1]

    def receive_grouped(self, agents: np.ndarray, post: np.ndarray, order: np.ndarray, starts: np.ndarray) -> None:
        """The step's receivers (``agents``, distinct, ascending) received the deliveries ``post[order]``, grouped
        by receiver, each group starting at ``starts``: each agent becomes aware of those posts' seeds."""
        if not self.labels or len(agents) == 0:
            return
        if compiled.compiled():
            seed_kernels.receive_grouped(
                self.mask, self._bit, self.seed_of_post, order, starts, agents, post, self.aware, self.new
            )
            return
        self.receive(agents, np.bitwise_or.reduceat(self.bits_of(post[order]), starts))

    def receive(self, agents: np.ndarray, bits: np.ndarray) -> None:
        """``agents`` (distinct indices) received posts of the seeds in ``bits`` (uint64 per agent)."""
        if not self.labels or len(agents) == 0:
            return
        old = self.mask[agents]
        gained = bits & ~old
        hit = np.flatnonzero(gained)
        if len(hit) == 0:
            return
        self.mask[agents[hit]] = old[hit] | bits[hit]
        gained = gained[hit]
        for b in range(min(len(self.labels), BITS)):
            n = int(np.count_nonzero(gained & (np.uint64(1) << np.uint64(b))))
            self.new[b] += n
            self.aware[b] += n

    def rows(self, new_posts: np.ndarray) -> list[dict]:
        """One dict per seed injected so far: seed, root, aware, new_aware, and posts (of its cascade, among
        ``new_posts``: the ids of the step's new posts)."""
        if not self.labels:
            return []
        seeds = self.seed_of(np.asarray(new_posts, np.int64))
        made = np.bincount(seeds[seeds >= 0], minlength=len(self.labels))
        return [
            {
                "seed": label,
                "root": root,
                "aware": int(self.aware[min(i, SHARED_BIT)]),
                "new_aware": int(self.new[min(i, SHARED_BIT)]),
                "posts": int(made[i]),
            }
            for i, (label, root) in enumerate(zip(self.labels, self.roots))
        ]

    # -- checkpoints -----------------------------------------------------------------------
    def arrays(self, n_posts: int) -> dict[str, np.ndarray]:
        """The masks, the seeds and the seed of each of the run's ``n_posts`` posts, for ``state_arrays``."""
        return {
            "seed_aware_mask": self.mask,
            "seed_aware_labels": np.array(self.labels, dtype=np.str_),
            "seed_aware_roots": np.array(self.roots, dtype=np.int64),
            "seed_aware_post_seed": self.seed_of(np.arange(n_posts, dtype=np.int64)),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_agents: int) -> "SeedAwareness":
        """Back from ``arrays``; the counts are recounted from the masks. A checkpoint written before
        per-seed awareness gives no seeds (the reach of seeds posted later is counted from the resume on)."""
        out = cls(n_agents)
        if "seed_aware_mask" not in arrays:
            return out
        out.mask = np.array(arrays["seed_aware_mask"], dtype=np.uint64)
        out.labels = [str(label) for label in arrays["seed_aware_labels"]]
        out.roots = [int(root) for root in arrays["seed_aware_roots"]]
        out._bit = np.concatenate(
            [[0], np.uint64(1) << np.minimum(np.arange(len(out.labels)), SHARED_BIT).astype(np.uint64)]
        ).astype(np.uint64)
        out.seed_of_post = np.array(arrays["seed_aware_post_seed"], dtype=np.int32)
        for b in range(min(len(out.labels), BITS)):
            out.aware[b] = int(np.count_nonzero(out.mask & (np.uint64(1) << np.uint64(b))))
        return out
