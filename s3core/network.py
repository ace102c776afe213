"""The follower graph as CSR arrays, plus S3's user categories."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .types import UserCategory


@dataclass(frozen=True)
class CategoryRule:
    """Thresholds that split users into influential / regular / low-impact (S3 section 3)."""

    influential_quantile: float = field(
        default=0.95,
        metadata={"min": 0.5, "max": 0.999, "help": "Follower-count quantile above which a user can be influential."},
    )
    influential_ratio: float = field(
        default=3.0,
        metadata={"min": 1.0, "max": 100.0, "help": "Minimum followers/followees ratio for an influential user."},
    )
    low_impact_followers: int = field(
        default=1,
        metadata={
            "min": 0,
            "max": 1000,
            "help": "Users with at most this many followers and no posting history are low-impact.",
        },
    )


@dataclass(frozen=True, eq=False)
class Network:
    """A directed follow graph: edge follower -> followee, stored as CSR over followees.

    ``follower_ptr``/``follower_idx`` list, for each user, the followers who see that
    user's posts; ``follower_mutual`` marks entries whose edge is reciprocated.
    """

    name: str
    user_ids: np.ndarray
    follower_ptr: np.ndarray
    follower_idx: np.ndarray
    follower_mutual: np.ndarray
    followee_count: np.ndarray
    users: pd.DataFrame | None = None
    posts: pd.DataFrame | None = None

    @property
    def n_users(self) -> int:
        return int(len(self.user_ids))

    @property
    def n_edges(self) -> int:
        return int(len(self.follower_idx))

    @property
    def follower_count(self) -> np.ndarray:
        """Number of followers of each user in the graph."""
        return np.diff(self.follower_ptr)

    def followers_of(self, user: int) -> np.ndarray:
        return self.follower_idx[self.follower_ptr[user] : self.follower_ptr[user + 1]]

    def followees_of(self, user: int) -> np.ndarray:
        """Followees of one user (a scan; used by inspectors, not by the engine)."""
        owner = np.repeat(np.arange(self.n_users), np.diff(self.follower_ptr))
        return owner[self.follower_idx == user]

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(follower, followee) index arrays of every edge."""
        followee = np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(self.follower_ptr))
        return self.follower_idx.astype(np.int64), followee

    @classmethod
    def from_edges(
        cls,
        name: str,
        user_ids: np.ndarray,
        follower: np.ndarray,
        followee: np.ndarray,
        users: pd.DataFrame | None = None,
        posts: pd.DataFrame | None = None,
        dedupe: bool = True,
    ) -> "Network":
        """Build the CSR arrays from index edge lists; self-loops are dropped, duplicates merged."""
        n = len(user_ids)
        follower = np.asarray(follower, dtype=np.int64)
        followee = np.asarray(followee, dtype=np.int64)
        if len(follower) != len(followee):
            raise ValueError("follower and followee arrays differ in length")
        if len(follower) and (min(follower.min(), followee.min()) < 0 or max(follower.max(), followee.max()) >= n):
            raise ValueError("edge index out of range of user_ids")
        keep = follower != followee
        key = np.sort(followee[keep] * n + follower[keep])  # sort-based: numpy's hash unique is slow here
        if dedupe and len(key):
            key = key[np.r_[True, key[1:] != key[:-1]]]
        followee_s, follower_s = np.divmod(key, n)
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(followee_s, minlength=n), out=ptr[1:])
        reverse = follower_s * n + followee_s  # the edge followee -> follower, if present
        order = np.argsort(reverse)  # sorted queries make searchsorted cache-friendly
        pos = np.empty_like(order)
        pos[order] = np.searchsorted(key, reverse[order])
        pos[pos >= len(key)] = 0
        mutual = key[pos] == reverse if len(key) else np.zeros(0, dtype=bool)
        idx_dtype = np.int32 if n < 2**31 else np.int64
        return cls(
            name=name,
            user_ids=np.asarray(user_ids),
            follower_ptr=ptr,
            follower_idx=follower_s.astype(idx_dtype),
            follower_mutual=mutual,
            followee_count=np.bincount(follower_s, minlength=n).astype(np.int64),
            users=users,
            posts=posts,
        )

    def activity(self) -> np.ndarray:
        """Posts in each user's history (from the posts table), zero when there is none."""
        if self.posts is None or len(self.posts) == 0:
            return np.zeros(self.n_users, dtype=np.int64)
        return np.bincount(self.posts["user_index"].to_numpy(), minlength=self.n_users)

    def categories(self, rule: CategoryRule = CategoryRule()) -> np.ndarray:
        """S3 user categories: influential, regular or low-impact, as a uint8 array."""
        followers = self._column_or("followers", self.follower_count)
        followees = self._column_or("friends", self.followee_count)
        threshold = max(np.quantile(followers, rule.influential_quantile), 1.0) if len(followers) else 1.0
        ratio = (followers + 1.0) / (followees + 1.0)
        cat = np.full(self.n_users, UserCategory.REGULAR, dtype=np.uint8)
        low = (followers <= rule.low_impact_followers) & (self.activity() == 0)
        cat[low] = UserCategory.LOW_IMPACT
        cat[(followers >= threshold) & (ratio >= rule.influential_ratio)] = UserCategory.INFLUENTIAL
        return cat

    def _column_or(self, column: str, fallback: np.ndarray) -> np.ndarray:
        """A numeric users column where known, the graph's own count elsewhere."""
        if self.users is None or column not in self.users:
            return fallback.astype(np.float64)
        values = pd.to_numeric(self.users[column], errors="coerce").to_numpy(dtype=np.float64)
        return np.where(np.isnan(values), fallback, values)
