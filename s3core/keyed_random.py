"""Keyed random draws for common random numbers: every number is a function of what it decides.

A draw is ``f(run seed, purpose, step, entity keys)``, never of how many draws came before it,
so two arms of an experiment that differ by one intervention share every draw the intervention
does not touch: agent i's action uniform at step t is the same number in both arms whatever
happens to other agents (common random numbers; Law & Kelton, *Simulation Modeling and
Analysis*, ch. 11).

Generator: SplitMix64 (Steele, Lea and Flood 2014, "Fast splittable pseudorandom number
generators", OOPSLA) used as a counter-based generator. A stream is a 64-bit key derived with
BLAKE2b from (seed, purpose, step, extra ints); the draw for entity ``a`` is
``mix64(key + (a + 1) * 0x9E3779B97F4A7C15)``, exactly the (a+1)-th output of SplitMix64 seeded
with the key, and a (viewer, post) pair chains two such steps. ``mix64`` is Stafford's
"Mix13" finalizer. SplitMix64's output passes TestU01 BigCrush (Steele et al. 2014) and is the
seeding generator recommended for xoshiro; counter-based use of strong mixing finalizers is the
design of Random123's Philox/Threefry (Salmon et al. 2011, SC'11). Uniforms take the top 53
bits, so they lie on the grid k / 2**53 in [0, 1). Tests check chi-square uniformity and the
absence of correlation between adjacent keys and between purposes.

Kernels are compiled with numba (cached on disk, ``compiled.jit``); a draw costs about 2 ns, less than numpy's
own Generator.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .compiled import jit

GENERATOR = "splitmix64-keyed"
GENERATOR_VERSION = 1
MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
MIX_1 = 0xBF58476D1CE4E5B9
MIX_2 = 0x94D049BB133111EB
UNIT = 2.0**-53


class Purpose(IntEnum):
    """What a draw decides; each purpose is its own family of streams."""

    ATTENTION = 1  # does a follower see a followee's post (viewer, post)
    RECOMMEND_REACH = 2  # is an agent shown a recommended post this step (agent)
    RECOMMEND_PICK = 3  # which candidate the recommender shows (viewer, post): a keyed race
    BOOST_AUDIENCE = 4  # random-fraction audience of a boost (agent)
    BOOST_REACH = 5  # does an audience member see the boost this step (agent)
    BOOST_PICK = 6  # which boosted post an agent sees (viewer, post): a keyed race
    EMOTION = 7  # emotion transition of an exposed agent (agent)
    ATTITUDE = 8  # attitude transition of an exposed agent (agent)
    ACTION = 9  # ignore / repost / quote / post (agent)
    EMOTION_DECAY = 10  # emotion decay of a quiet agent (agent)
    TEXT_CHOICE = 11  # which pool text an agent's quote or post uses (agent)
    OFFICIAL_REACH = 12  # does an agent follow the official account (agent)
    INITIAL_ATTITUDE = 13  # the attitude an agent starts with (agent)
    POST_KEY = 14  # the arm-independent identity of a post (author, step)
    SEED_POST_KEY = 15  # the identity of a seed post (its content hash)
    EVENT_TIME = 16  # where within its step a simulated event falls, for per-minute curves (post)
    BASELINE_CASCADE = 17  # independent-cascade baseline: does a follower adopt (follower, adopter)
    VALIDATION_AUTHOR = 18  # which synthesized user authors a source post in a free run (cascade)
    FEED_DELAY = 19  # how long until a follower sees a followee's post (viewer, post)
    REPLAY_FOLLOW = 20  # does a replayed participant follow the author directly (agent)
    QUOTE_PROPENSITY = 21  # an agent's own quote-versus-repost propensity, drawn once (agent)
    LT_THRESHOLD = 22  # an agent's linear-threshold theta, drawn once (agent)


def _u64(x: int) -> np.uint64:
    return np.uint64(x & MASK64)


@jit(inline="always")
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX_1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX_2)
    return z ^ (z >> np.uint64(31))


@jit(inline="always")
def _counter(key, a):
    return _mix64(key + (np.uint64(a) + np.uint64(1)) * np.uint64(GOLDEN_GAMMA))


@jit(inline="always")
def uniform_of_pair(key, a, b):
    """The uniform ``Stream(key).uniform([a], [b])[0]``, for compiled kernels that draw inline."""
    return np.float64(_counter(_counter(key, np.uint64(a)), np.uint64(b)) >> np.uint64(11)) * UNIT


@jit
def _bits_1(key, a, out):
    for i in range(a.shape[0]):
        out[i] = _counter(key, a[i])


@jit
def _bits_2(key, a, b, out):
    for i in range(a.shape[0]):
        out[i] = _counter(_counter(key, a[i]), b[i])


@jit
def _uniform_1(key, a, out):
    for i in range(a.shape[0]):
        out[i] = np.float64(_counter(key, a[i]) >> np.uint64(11)) * UNIT


@jit
def _uniform_2(key, a, b, out):
    for i in range(a.shape[0]):
        out[i] = np.float64(_counter(_counter(key, a[i]), b[i]) >> np.uint64(11)) * UNIT


@jit
def _geometric_subset(key, n, p):
    """Indices in [0, n) each chosen with chance p, by keyed geometric gaps (the k-th gap uses counter k)."""
    out = np.empty(max(16, int(n * p * 1.2) + 64), dtype=np.int64)
    count, pos, k = 0, np.int64(-1), np.uint64(0)
    log_q = np.log1p(-p)
    while True:
        u = (np.float64(_counter(key, k) >> np.uint64(11)) + 0.5) * UNIT
        k += np.uint64(1)
        gap = np.floor(np.log(u) / log_q)
        if gap >= n:
            break
        pos += np.int64(gap) + 1
        if pos >= n:
            break
        if count == out.shape[0]:
            grown = np.empty(out.shape[0] * 2, dtype=np.int64)
            grown[:count] = out[:count]
            out = grown
        out[count] = pos
        count += 1
    return out[:count]


@jit(fastmath=True)
def _race(key, viewer, cand_key, weight, out):
    """Per viewer, the candidate with the largest log(u) / weight: an exponential race
    (Efraimidis and Spirakis 2006), the same law as Gumbel-max with one logarithm per pair."""
    for i in range(viewer.shape[0]):
        row = _counter(key, viewer[i])
        best, best_j = -np.inf, -1
        for j in range(cand_key.shape[0]):
            if weight[j] <= 0.0:
                continue
            u = (np.float64(_counter(row, cand_key[j]) >> np.uint64(11)) + 0.5) * UNIT
            score = np.log(u) / weight[j]
            if score > best:
                best, best_j = score, j
        out[i] = best_j


def _as_u64(keys) -> np.ndarray:
    arr = np.asarray(keys)
    if arr.dtype == np.uint64:
        return np.ascontiguousarray(arr)
    return np.ascontiguousarray(arr.astype(np.int64).view(np.uint64))


@dataclass(frozen=True)
class Stream:
    """One family of draws (a purpose at a step); indexed by entity keys, not by call order."""

    key: int  # 64-bit stream key

    def _draw(self, single, paired, dtype, a, b) -> np.ndarray:
        a = _as_u64(a)
        out = np.empty(a.shape[0], dtype=dtype)
        if b is None:
            single(_u64(self.key), a, out)
        else:
            paired(_u64(self.key), a, _as_u64(b), out)
        return out

    def bits(self, a, b=None) -> np.ndarray:
        """Raw 64-bit draws, shape of ``a``; with ``b``, one per (a, b) pair."""
        return self._draw(_bits_1, _bits_2, np.uint64, a, b)

    def uniform(self, a, b=None) -> np.ndarray:
        """Uniforms in [0, 1), float64, one per entity key in ``a`` (or per pair with ``b``)."""
        return self._draw(_uniform_1, _uniform_2, np.float64, a, b)

    def subset(self, n: int, p: float) -> np.ndarray:
        """Sorted indices of [0, n), each in with chance ``p`` independently, in O(n p) time.

        Keyed geometric gaps: the k-th gap is the stream's k-th draw, so the subset is a function
        of the key, ``n`` and ``p`` alone (the same in every arm).
        """
        if p <= 0.0 or n <= 0:
            return np.zeros(0, dtype=np.int64)
        if p >= 1.0:
            return np.arange(n, dtype=np.int64)
        return _geometric_subset(_u64(self.key), np.int64(n), float(p))

    def choose(self, viewer, candidate_keys, weights) -> np.ndarray:
        """For each viewer, a candidate index drawn with probability proportional to ``weights``.

        A keyed exponential race: each (viewer, candidate) pair has its own draw, so adding or
        removing a candidate changes a viewer's pick only where that candidate wins or had won.
        Zero-weight candidates never win. Returns int64 indices into the candidates, shape of
        ``viewer``; -1 where every weight is zero.
        """
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        out = np.empty(len(viewer), dtype=np.int64)
        _race(_u64(self.key), _as_u64(viewer), _as_u64(candidate_keys), weights, out)
        return out


@dataclass(frozen=True)
class KeyedRandom:
    """The random source of one run: streams keyed by (seed, purpose, step, extra ints)."""

    seed: int

    def stream(self, purpose: Purpose, step: int = -1, *extra: int) -> Stream:
        """The stream of draws for ``purpose`` at ``step`` (-1: not tied to a step)."""
        words = (self.seed, int(purpose), step, *extra)
        packed = struct.pack(f"<{len(words)}Q", *(w & MASK64 for w in words))
        digest = hashlib.blake2b(packed, digest_size=8, person=b"s3core-keyed").digest()
        return Stream(int.from_bytes(digest, "little"))

    def at(self, step: int) -> "StepDraws":
        """The draws of one step, for decision policies."""
        return StepDraws(self, step)


@dataclass(frozen=True)
class StepDraws:
    """The keyed draws of one step, handed to decision policies in place of a generator."""

    source: KeyedRandom
    step: int

    def uniform(self, purpose: Purpose, agents) -> np.ndarray:
        """One uniform in [0, 1) per agent index for ``purpose`` at this step."""
        return self.source.stream(purpose, self.step).uniform(agents)


def content_key(*parts) -> int:
    """A stable 63-bit key for content (a seed post's name and text), not Python's salted hash."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def splitmix64_reference(seed: int, count: int) -> list[int]:
    """The first ``count`` outputs of textbook SplitMix64, in Python ints (for known-answer tests)."""
    state, out = seed & MASK64, []
    for _ in range(count):
        state = (state + GOLDEN_GAMMA) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * MIX_1) & MASK64
        z = ((z ^ (z >> 27)) * MIX_2) & MASK64
        out.append(z ^ (z >> 31))
    return out
