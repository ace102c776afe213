"""Cells of similar agents for the archetype mode: agents who share a profile, a state and a thread decide together.

AgentTorch (Chopra et al. 2024, arXiv 2409.10568) asks the LLM once per group of agents alike in who they are and
where they stand, then samples each member's behaviour from the group's answer. A cell here is one value of
``CELL_FIELDS`` over the deciding agents; occupied cells are found with one ``np.unique`` on a packed int64 key
(about 0.1 s for a million agents). When the occupied cells exceed ``MAX_CELLS`` the key is coarsened
deterministically along ``COARSENINGS`` (occupation dropped first, then the age bracket); if even that leaves too
many, the threads with the fewest members are folded into one "other threads" value (``fold_threads``), which
bounds the cells by ``MAX_CELLS`` whatever the number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..population import AGE_BRACKETS
from ..types import Attitude, Emotion, Gender, Occupation, UserCategory

# The cell key, in packing order (the last field varies fastest). ``thread`` is the root post of the
# agent's focal post: the seed post it forwards, or an agent's own original post about the event. Original posts
# start threads of their own, thousands of them in a busy step, so threads holding fewer than MIN_THREAD_SHARE of
# the step's deciding agents share one "other threads" value (at most 1 / MIN_THREAD_SHARE threads stay apart).
CELL_FIELDS = ("category", "age_bracket", "gender", "occupation", "emotion", "attitude", "thread")
# Keys tried in turn while the occupied cells exceed MAX_CELLS: the full key, then without occupation,
# then without the age bracket as well. The last one is used whatever its count.
COARSENINGS: tuple[tuple[str, ...], ...] = (
    CELL_FIELDS,
    tuple(f for f in CELL_FIELDS if f != "occupation"),
    tuple(f for f in CELL_FIELDS if f not in ("occupation", "age_bracket")),
)
MIN_THREAD_SHARE = 0.01
MAX_CELLS = 4_000  # LLM requests per step at most (before the last coarsening); not a setting on purpose
AGE_LABELS = ("under 25", "25-39", "40-59", "60 or older")  # the brackets of population.AGE_BRACKETS
_LEVELS = {
    "category": len(UserCategory),
    "age_bracket": len(AGE_BRACKETS) + 1,
    "gender": len(Gender),
    "occupation": len(Occupation),
    "emotion": len(Emotion),
    "attitude": len(Attitude),
}


@dataclass(frozen=True)
class Cells:
    """The occupied cells of a batch.

    ``of_row[i]`` is the cell of batch row ``i`` (cells numbered 0..n-1 in the order of their packed key, so
    the numbering is a function of the batch alone); per cell, ``size``, the key's field values (``values``,
    one array per field of ``fields``), the representative row (a member holding the cell's most common focal
    post), the mean posts received and the mean positive share of the memory pool (NaN where no member has
    a pool).
    """

    fields: tuple[str, ...]
    of_row: np.ndarray  # int64, one per batch row
    size: np.ndarray  # int64, one per cell
    values: dict[str, np.ndarray]  # field -> int64 value per cell
    representative: np.ndarray  # int64 batch row per cell
    mean_received: np.ndarray  # float64 per cell
    pool_positive: np.ndarray  # float64 per cell, NaN when no member has anything in memory
    coarsened: int = 0  # COARSENINGS steps taken (0: the full key; len(COARSENINGS): small threads folded too)

    def __len__(self) -> int:
        return len(self.size)

    def key(self, c: int) -> dict:
        """The attributes cell ``c`` shares, in words (for the prompt and the trace)."""
        out = {}
        for f in self.fields:
            v = int(self.values[f][c])
            if f == "thread":
                out[f] = v - 1 if v >= 0 else "other"  # root post id; -1: no focal post
            elif f == "age_bracket":
                out["age"] = AGE_LABELS[v]
            elif f == "occupation":
                out[f] = Occupation(v).name.lower()
            else:
                enum = {"category": UserCategory, "gender": Gender, "emotion": Emotion, "attitude": Attitude}[f]
                out[f] = enum(v).name.lower()
        return out


def dense(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, distinct values ascending) for non-negative ints: a presence table when the values are small
    (no sort), else ``np.unique``."""
    values = np.asarray(values, dtype=np.int64)
    if not len(values):
        return values, values
    top = int(values.max()) + 1
    if top <= max(4 * len(values), 1 << 16):
        present = np.zeros(top, dtype=bool)
        present[values] = True
        distinct = np.flatnonzero(present)
        lookup = np.cumsum(present) - 1
        return lookup[values], distinct
    distinct, codes = np.unique(values, return_inverse=True)
    return codes.reshape(-1), distinct


def field_codes(batch, roots: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each ``CELL_FIELDS`` value per batch row as an int64 code, and the threads' root post ids.

    ``thread`` codes index the returned root ids (root post id + 1; 0: no focal post; -1: the threads with fewer than
    ``MIN_THREAD_SHARE`` of the rows, folded). ``roots`` is the run's ``posts.root`` column; None reads the batch's
    context.
    """
    if roots is None:
        roots = batch.context.posts.root
    focal = np.asarray(batch.focal_post, dtype=np.int64)
    has = (focal >= 0) & (focal < len(roots))
    thread = np.zeros(len(focal), dtype=np.int64)
    thread[has] = np.asarray(roots)[focal[has]].astype(np.int64) + 1
    thread, threads = dense(thread)
    members = np.bincount(thread, minlength=len(threads))
    thread, threads = fold_threads(thread, threads, int((members >= MIN_THREAD_SHARE * len(thread)).sum()))
    age = np.asarray(batch.age)
    codes = {
        "category": np.asarray(batch.category, dtype=np.int64),
        "age_bracket": np.searchsorted(np.asarray(AGE_BRACKETS), age, side="right").astype(np.int64),
        "gender": np.asarray(batch.gender, dtype=np.int64),
        "occupation": np.asarray(batch.occupation, dtype=np.int64),
        "emotion": np.asarray(batch.emotion, dtype=np.int64),
        "attitude": np.asarray(batch.attitude, dtype=np.int64),
        "thread": thread,
    }
    return codes, threads


def levels_of(codes: dict[str, np.ndarray], fields: tuple[str, ...]) -> tuple[int, ...]:
    """Each field's number of levels (its enum's size; for ``thread``, the threads present).

    Raises:
        ValueError: a code outside its field's range (names the field).
    """
    levels = []
    for f in fields:
        top = int(codes[f].max()) + 1 if len(codes[f]) else 1
        n = _LEVELS.get(f, top)
        if len(codes[f]) and (codes[f].min() < 0 or top > n):
            raise ValueError(f"archetype cells: {f} codes must lie in 0..{n - 1}, found {codes[f].min()}..{top - 1}")
        levels.append(n)
    return tuple(levels)


def pack(codes: dict[str, np.ndarray], fields: tuple[str, ...]) -> np.ndarray:
    """One int64 per row from the ``fields`` codes (mixed radix, ``ravel_multi_index``; the last field fastest)."""
    return np.ravel_multi_index(tuple(codes[f] for f in fields), levels_of(codes, fields)).astype(np.int64)


def cells_of(batch, roots: np.ndarray | None = None, max_cells: int = MAX_CELLS) -> Cells:
    """Group the batch's rows into cells, coarsening along ``COARSENINGS`` while more than ``max_cells`` are occupied."""
    codes, threads = field_codes(batch, roots)
    for level, fields in enumerate(COARSENINGS):
        of_row, occupied = dense(pack(codes, fields))
        if len(occupied) <= max_cells:
            break
    else:
        others = int(np.prod(levels_of(codes, fields[:-1])))
        codes["thread"], threads = fold_threads(codes["thread"], threads, max(max_cells // others - 1, 1))
        of_row, occupied = dense(pack(codes, fields))
        level = len(COARSENINGS)
    n_cells = len(occupied)
    size = np.bincount(of_row, minlength=n_cells)
    values = dict(zip(fields, (v.astype(np.int64) for v in np.unravel_index(occupied, levels_of(codes, fields)))))
    values["thread"] = threads[values["thread"]]
    received = np.bincount(of_row, weights=np.asarray(batch.received, np.float64), minlength=n_cells) / size
    weight = np.asarray(batch.pool_weight, np.float64)
    pooled = np.isfinite(weight) & (weight > 0)
    n_pooled = np.bincount(of_row[pooled], minlength=n_cells)
    positive_sum = np.bincount(
        of_row[pooled], weights=np.asarray(batch.pool_positive, np.float64)[pooled], minlength=n_cells
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        positive = np.where(n_pooled > 0, positive_sum / np.maximum(n_pooled, 1), np.nan)
    return Cells(
        fields=fields,
        of_row=of_row,
        size=size.astype(np.int64),
        values=values,
        representative=representatives(of_row, np.asarray(batch.focal_post, np.int64), n_cells),
        mean_received=received,
        pool_positive=positive,
        coarsened=level,
    )


def fold_threads(thread: np.ndarray, threads: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Thread codes with all but the ``keep`` threads of most members (ties: the earlier root) folded into one
    "other" code, and the root ids per new code (-1 marks "other"; kept threads keep their order)."""
    members = np.bincount(thread, minlength=len(threads))
    members[threads < 0] = -1  # an earlier "other" stays other
    if (members >= 0).sum() <= keep:
        return thread, threads
    kept = np.sort(np.lexsort((np.arange(len(threads)), -members))[:keep])
    recode = np.full(len(threads), keep, dtype=np.int64)
    recode[kept] = np.arange(keep)
    return recode[thread], np.r_[threads[kept], -1]


def representatives(of_row: np.ndarray, focal: np.ndarray, n_cells: int) -> np.ndarray:
    """Per cell, the first row (in batch order) whose focal post is the cell's most common one (ties: the lower post id)."""
    if not len(of_row):
        return np.zeros(0, dtype=np.int64)
    post, posts = dense(focal + 1)
    pair_of_row, pairs = dense(of_row * len(posts) + post)
    count = np.bincount(pair_of_row, minlength=len(pairs))
    cell, post_of_pair = pairs // len(posts), pairs % len(posts)
    # pairs ascend by cell, then post: per cell, the largest count, the lowest post on ties
    order = np.lexsort((post_of_pair, -count, cell))
    starts = np.r_[0, np.flatnonzero(np.diff(cell[order])) + 1]
    best = np.empty(n_cells, dtype=np.int64)
    best[cell[order][starts]] = post_of_pair[order][starts]
    rows = np.flatnonzero(post == best[of_row])
    out = np.full(n_cells, len(of_row), dtype=np.int64)
    np.minimum.at(out, of_row[rows], rows)
    return out
