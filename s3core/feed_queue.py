"""Followee posts that persist in feeds: each follower sees a post after a delay, or never.

When a post is made, every follower draws once whether they will ever see it (the attention
probability) and after how long (a log-normal delay in minutes, shorter for more active users);
the delivery then waits in this queue until its step. The visibility check is repeated at
delivery, with the same keyed uniform, so a later down-rank or removal still applies. With a
zero median delay every delivery is due at once, the engine's one-step feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .frontier import run_starts

COLUMNS = {"viewer": np.int64, "post": np.int32, "source": np.int8, "u": np.float64}


@dataclass
class FeedQueue:
    """Pending deliveries by due step: {step: [column dicts]}; columns viewer, post, source, u."""

    pending: dict[int, list[dict[str, np.ndarray]]] = field(default_factory=dict)

    def add(self, due: np.ndarray, **columns: np.ndarray) -> None:
        """Schedule deliveries; ``due`` (int, one per row) is the step each becomes visible."""
        if len(due) == 0:
            return
        if due[0] == due[-1] and (due == due[0]).all():  # the common case: no delay, one step
            self.pending.setdefault(int(due[0]), []).append({k: np.asarray(columns[k], COLUMNS[k]) for k in COLUMNS})
            return
        order = np.argsort(due, kind="stable")
        due = due[order]
        starts = run_starts(due)
        ends = np.append(starts[1:], len(due))
        for s, e in zip(starts, ends):
            rows = order[s:e]
            self.pending.setdefault(int(due[s]), []).append(
                {k: np.asarray(columns[k][rows], COLUMNS[k]) for k in COLUMNS}
            )

    def pop(self, step: int) -> dict[str, np.ndarray]:
        """All deliveries due at ``step`` (and any overdue ones), removed from the queue."""
        due = sorted(s for s in self.pending if s <= step)
        chunks = [c for s in due for c in self.pending.pop(s)]
        if not chunks:
            return {k: np.zeros(0, dt) for k, dt in COLUMNS.items()}
        if len(chunks) == 1:
            return chunks[0]
        return {k: np.concatenate([c[k] for c in chunks]) for k in COLUMNS}

    def __len__(self) -> int:
        return sum(len(c["viewer"]) for chunks in self.pending.values() for c in chunks)

    def arrays(self) -> dict[str, np.ndarray]:
        """The queue as flat arrays for checkpoints (``queue_due`` plus one array per column)."""
        steps = sorted(self.pending)
        chunks = [(s, c) for s in steps for c in self.pending[s]]
        out = {
            "queue_due": np.concatenate([np.full(len(c["viewer"]), s, np.int64) for s, c in chunks])
            if chunks
            else np.zeros(0, np.int64)
        }
        for k, dt in COLUMNS.items():
            out[f"queue_{k}"] = np.concatenate([c[k] for _, c in chunks]) if chunks else np.zeros(0, dt)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "FeedQueue":
        """Inverse of ``arrays``; a checkpoint without a queue gives an empty one."""
        queue = cls()
        if "queue_due" in arrays:
            queue.add(np.asarray(arrays["queue_due"], np.int64), **{k: arrays[f"queue_{k}"] for k in COLUMNS})
        return queue
