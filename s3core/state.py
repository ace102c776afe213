"""The mutable state of a running simulation as struct-of-arrays, and its byte serialization."""

from __future__ import annotations

import io
from dataclasses import dataclass, fields

import numpy as np

NO_POST = -1
OFFICIAL = -1  # author index of the official account


@dataclass
class AgentState:
    """Per-agent state: awareness, emotion, attitude, action history and the memory pool."""

    aware: np.ndarray  # bool
    aware_step: np.ndarray  # int32, -1 until aware
    emotion: np.ndarray  # int8 Emotion
    attitude: np.ndarray  # int8 Attitude
    last_action: np.ndarray  # int8 Action of the latest step the agent was exposed
    actions_taken: np.ndarray  # int32, non-ignore actions so far
    mem_post: np.ndarray  # int32 (n, k), NO_POST where empty
    mem_step: np.ndarray  # int32 (n, k), step the message arrived
    mem_source: np.ndarray  # int8 (n, k) Source
    mem_static: np.ndarray  # float32 (n, k), relevance and source part of the score

    @classmethod
    def empty(cls, n: int, capacity: int, attitude: np.ndarray) -> "AgentState":
        return cls(
            aware=np.zeros(n, dtype=bool),
            aware_step=np.full(n, -1, dtype=np.int32),
            emotion=np.zeros(n, dtype=np.int8),
            attitude=attitude.astype(np.int8),
            last_action=np.zeros(n, dtype=np.int8),
            actions_taken=np.zeros(n, dtype=np.int32),
            mem_post=np.full((n, capacity), NO_POST, dtype=np.int32),
            mem_step=np.zeros((n, capacity), dtype=np.int32),
            mem_source=np.zeros((n, capacity), dtype=np.int8),
            mem_static=np.zeros((n, capacity), dtype=np.float32),
        )

    def copy(self) -> "AgentState":
        return AgentState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


_POST_COLUMNS = {
    "author": np.int32,
    "parent": np.int32,
    "root": np.int32,
    "step": np.int32,
    "action": np.int8,
    "stance": np.int8,
    "emotion": np.int8,
    "depth": np.int16,
    "text_id": np.int32,
    "reposts": np.int32,
    "removed": bool,
    "labelled": bool,
    "visibility": np.float32,
    "forwarded_visibility": np.float32,
    "key": np.uint64,
}


class PostStore:
    """All posts of a run in growable column arrays; a post's id is its row number.

    ``key`` is a post's arm-independent identity (from its author and step, or a seed post's
    content), used to key random draws about it: ids shift between arms, keys do not.
    ``visibility`` is the share of deliveries a post keeps after every down-rank that applies to
    it; ``forwarded_visibility`` is the part from down-ranks of the post or of a post it
    forwards, which its own reposts and quotes inherit. Stance-wide down-ranks apply to each
    post of the stance once, and are not inherited.
    """

    def __init__(self, capacity: int = 1024):
        self._cols = {name: np.zeros(capacity, dtype=dt) for name, dt in _POST_COLUMNS.items()}
        self.size = 0

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("_cols")
        if cols is not None and name in cols:
            return cols[name][: self.size]
        raise AttributeError(name)

    def __len__(self) -> int:
        return self.size

    def append(self, **columns: np.ndarray) -> np.ndarray:
        """Add posts given as equal-length column arrays (missing columns take defaults); returns their ids."""
        m = len(next(iter(columns.values())))
        self._reserve(self.size + m)
        start = self.size
        for name, arr in self._cols.items():
            if name in columns:
                arr[start : start + m] = columns[name]
            else:
                arr[start : start + m] = 1.0 if name.endswith("visibility") else (NO_POST if name in ("parent",) else 0)
        self.size += m
        return np.arange(start, start + m, dtype=np.int64)

    def _reserve(self, needed: int) -> None:
        cap = len(self._cols["author"])
        if needed <= cap:
            return
        new_cap = max(needed, cap * 2)
        for name, arr in self._cols.items():
            grown = np.zeros(new_cap, dtype=arr.dtype)
            grown[: self.size] = arr[: self.size]
            self._cols[name] = grown

    def column(self, name: str) -> np.ndarray:
        """A writable view of one column over the stored posts."""
        return self._cols[name][: self.size]

    def copy(self) -> "PostStore":
        other = PostStore(max(self.size, 1))
        for name in self._cols:
            other._cols[name][: self.size] = self._cols[name][: self.size]
        other.size = self.size
        return other

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"post_{name}": self.column(name) for name in self._cols}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "PostStore":
        size = len(arrays["post_author"])
        store = cls(max(size, 1))
        if "post_key" not in arrays:
            raise ValueError(
                "this checkpoint has no post keys: it was written by an earlier engine whose random "
                "draws differ; start the run again instead of resuming it"
            )
        for name in store._cols:
            store._cols[name][:size] = arrays[f"post_{name}"]
        store.size = size
        return store


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays to bytes with numpy's own format (no pickle): the checkpoint blob of traces before ``PackedArrays``."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def unpack(blob: bytes) -> dict[str, np.ndarray]:
    """Inverse of ``pack``; refuses pickled objects."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


@dataclass(frozen=True)
class PackedArrays:
    """Named arrays copied into one read-only byte buffer, with each one's dtype and shape (no pickle).

    A checkpoint packed now stays as it was while the engine mutates its live arrays in place,
    so another thread may write it later.
    """

    names: tuple[str, ...]
    dtypes: tuple[str, ...]  # numpy dtype strings, byte order included ("<i4", "|b1", "<U33")
    shapes: tuple[tuple[int, ...], ...]
    ends: np.ndarray  # int64, where each array's bytes end in ``data``
    data: np.ndarray  # uint8, read-only

    @classmethod
    def of(cls, arrays: dict[str, np.ndarray]) -> "PackedArrays":
        """One copy of every array, in one buffer.

        Raises:
            TypeError: an array of Python objects (not storable without pickle).
        """
        flat = []
        for name, a in arrays.items():
            a = np.asarray(a)
            if a.dtype.hasobject:
                raise TypeError(f"{name}: arrays of Python objects cannot be packed")
            flat.append(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
        data = np.concatenate(flat) if flat else np.zeros(0, np.uint8)
        data.flags.writeable = False
        return cls(
            names=tuple(arrays),
            dtypes=tuple(np.asarray(a).dtype.str for a in arrays.values()),
            shapes=tuple(np.shape(a) for a in arrays.values()),
            ends=np.cumsum([len(f) for f in flat], dtype=np.int64),
            data=data,
        )

    def buffers(self) -> list[np.ndarray]:
        """Each array's bytes (read-only uint8 views of ``data``), in order."""
        starts = [0, *self.ends[:-1].tolist()]
        return [self.data[s:e] for s, e in zip(starts, self.ends.tolist())]

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays back, as writable copies."""
        return {
            name: unpack_array(raw, dtype, shape)
            for name, dtype, shape, raw in zip(self.names, self.dtypes, self.shapes, self.buffers())
        }


def unpack_array(data, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """One array from its raw bytes (any bytes-like object; a writable copy), as ``PackedArrays`` holds it."""
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()
