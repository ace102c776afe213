"""Memory pool scoring and top-k retention."""

import numpy as np
import pytest

from s3core import memory
from s3core.params import MemoryParams
from s3core.state import NO_POST, AgentState
from s3core.types import Source


def _state(n=3, k=2):
    return AgentState.empty(n, k, np.zeros(n, dtype=np.int8))


def test_temporal_factor_halves_at_half_life():
    f = memory.temporal_factor(np.array([0, 4, 8]), 4.0)
    np.testing.assert_allclose(f, [1.0, 0.5, 0.25])


def test_static_score_weights_relevance_and_source():
    p = MemoryParams(weight_relevance=2.0, weight_source=1.0)
    s = memory.static_score(p, np.array([0.5, 0.5], np.float32), np.array([Source.MUTUAL, Source.RECOMMENDED], np.int8))
    np.testing.assert_allclose(s, [2 * 0.5 + p.source_mutual, 2 * 0.5 + p.source_recommended], rtol=1e-6)


def test_merge_keeps_top_k_by_score_and_dedupes():
    st = _state(n=2, k=2)
    p = MemoryParams()
    removed = np.zeros(10, dtype=bool)
    viewer = np.array([0, 0, 0, 0, 1])
    post = np.array([1, 2, 3, 2, 4], np.int32)
    static = np.array([0.1, 0.5, 0.9, 0.7, 0.2], np.float32)
    memory.merge(st, p, 0, viewer, post, np.zeros(5, np.int8), static, removed)
    held = dict(zip(st.mem_post[0].tolist(), st.mem_static[0].tolist()))
    assert set(held) == {3, 2} and held[2] == pytest.approx(0.7)  # post 2 kept once, at its best score
    assert sorted(st.mem_post[1].tolist()) == [NO_POST, 4]


def test_older_messages_lose_to_fresh_ones_of_equal_static_score():
    st = _state(n=1, k=1)
    p = MemoryParams(half_life=1.0)
    removed = np.zeros(5, dtype=bool)
    memory.merge(
        st, p, 0, np.array([0]), np.array([1], np.int32), np.zeros(1, np.int8), np.array([0.5], np.float32), removed
    )
    memory.merge(
        st, p, 3, np.array([0]), np.array([2], np.int32), np.zeros(1, np.int8), np.array([0.5], np.float32), removed
    )
    assert st.mem_post[0, 0] == 2


def test_forgotten_posts_leave_the_pool_and_free_their_slot():
    st = _state(n=1, k=2)
    p = MemoryParams()
    removed = np.zeros(5, dtype=bool)
    memory.merge(
        st,
        p,
        0,
        np.array([0, 0]),
        np.array([1, 2], np.int32),
        np.zeros(2, np.int8),
        np.array([0.5, 0.6], np.float32),
        removed,
    )
    memory.forget(st, np.array([2]))
    assert 2 not in st.mem_post[0]
    memory.merge(
        st, p, 1, np.array([0]), np.array([3], np.int32), np.zeros(1, np.int8), np.array([-5.0], np.float32), removed
    )
    assert set(st.mem_post[0]) == {1, 3}, "even a weak message takes a freed slot"


def test_stance_share_is_influence_weighted():
    st = _state(n=1, k=2)
    p = MemoryParams(weight_time=0.0)
    removed = np.zeros(3, dtype=bool)
    memory.merge(
        st,
        p,
        0,
        np.array([0, 0]),
        np.array([0, 1], np.int32),
        np.zeros(2, np.int8),
        np.array([3.0, 1.0], np.float32),
        removed,
    )
    stance = np.array([1.0, 0.0, 0.0])
    share, total = memory.stance_share(st, p, np.array([0]), 0, stance, np.ones(3))
    assert share[0] == pytest.approx(0.75) and total[0] == pytest.approx(4.0)
    share, _ = memory.stance_share(st, p, np.array([0]), 0, stance, np.array([0.0, 1.0, 1.0]))
    assert share[0] == pytest.approx(0.0)


def test_pool_rows_report_every_factor():
    st = _state(n=1, k=2)
    p = MemoryParams()
    memory.merge(
        st,
        p,
        2,
        np.array([0]),
        np.array([7], np.int32),
        np.array([Source.MUTUAL], np.int8),
        np.array([1.2], np.float32),
        np.zeros(8, bool),
    )
    rows = memory.pool_rows(st, p, 0, 6)
    assert len(rows) == 1 and rows[0]["post"] == 7 and rows[0]["source"] == Source.MUTUAL
    assert rows[0]["temporal"] == pytest.approx(0.5)
    assert rows[0]["score"] == pytest.approx(1.2 + 0.5)


def test_merge_equals_a_brute_force_bounded_pool():
    rng = np.random.default_rng(0)
    p = MemoryParams(capacity=3, half_life=2.0)
    st = AgentState.empty(50, 3, np.zeros(50, dtype=np.int8))
    removed = np.zeros(400, dtype=bool)
    pools = {a: {} for a in range(50)}  # reference: agent -> post -> (arrival, static), at most 3 entries
    for step in range(6):
        m = 150
        viewer, post = rng.integers(0, 50, m), rng.integers(0, 40, m).astype(np.int32)
        static = rng.random(m).astype(np.float32)
        memory.merge(st, p, step, viewer, post, np.zeros(m, np.int8), static, removed)

        def score(entry):
            return float(memory.influence(p, np.float32(entry[1]), np.int32(entry[0]), step))

        for a in range(50):
            candidates = dict(pools[a])
            for q, s_ in zip(post[viewer == a].tolist(), static[viewer == a].tolist()):
                if q not in candidates or score((step, s_)) > score(candidates[q]):
                    candidates[q] = (step, s_)
            pools[a] = dict(sorted(candidates.items(), key=lambda kv: -score(kv[1]))[:3])
            got = {r["post"]: r["score"] for r in memory.pool_rows(st, p, a, step)}
            assert set(got) == set(pools[a])
            assert [got[q] for q in pools[a]] == pytest.approx([score(v) for v in pools[a].values()], rel=1e-5)
