"""How a run's records and checkpoints become DuckDB rows (the tables of ``trace.SCHEMA``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .recording import StepRecord
from .state import PackedArrays, unpack_array
from .types import Action, Attitude, Emotion

# The latest checkpoint, one row per array: its bytes compressed with ``codec`` ('' for none), a large
# array in parts of CHECKPOINT_PART bytes, rows in ``seq`` order. Compressing (zstd, level 1: 105 MB
# to 33 MB at 1M agents, 0.35 s on the writer thread) costs less than writing the bytes to the WAL
# and the file. Traces written before it hold one numpy .npz blob in ``checkpoints (step, data)``.
CHECKPOINT_COLUMNS = "step INTEGER, seq INTEGER, name VARCHAR, dtype VARCHAR, shape VARCHAR, codec VARCHAR, data BLOB"
CHECKPOINT_PART = 64 * 2**20
CHECKPOINT_CODEC = "zstd"  # '' (or a codec this pyarrow lacks) stores the bytes as they are
NAMES = {  # the names behind the int8 codes of the closed sets
    "action": [a.name.lower() for a in Action],
    "stance": [a.name.lower() for a in Attitude],
    "emotion": [e.name.lower() for e in Emotion],
}


def step_tables(record: StepRecord) -> dict[str, pa.Table]:
    """A step's rows for the states, posts and breakdown tables, as Arrow (names of closed sets as dictionaries)."""
    c, p, b = record.changes, record.posts, record.breakdown
    states = pa.table(
        {
            "step": np.full(len(c["agent"]), record.step, np.int32),
            "agent": c["agent"].astype(np.int32),
            "aware": c["aware"],
            "emotion": c["emotion"],
            "attitude": c["attitude"],
        }
    )
    posts = pa.table(
        {
            "post_id": p["post_id"],
            "step": np.full(len(p["post_id"]), record.step, np.int32),
            "author": p["author"],
            "parent": p["parent"].astype(np.int64),
            "root": p["root"].astype(np.int64),
            **{
                col: pa.DictionaryArray.from_arrays(pa.array(p[col], pa.int8()), pa.array(NAMES[col]))
                for col in ("action", "stance", "emotion")
            },
            "depth": p["depth"],
            "text": pa.array(p["text"], pa.string()),
        }
    )
    breakdown = pa.table(
        {
            "step": np.full(len(b["group"]), record.step, np.int32),
            "dimension": b["dimension"],
            "grp": b["group"],
            "agents": b["agents"],
            "aware": b["aware"],
            "positive": b["positive"],
            "intense": b["intense"],
            "mean_emotion": b["mean_emotion"],
        }
    )
    return {"states": states, "posts": posts, "breakdown": breakdown}


SEED_METRIC_COLUMNS = ("step", "seed", "root", "aware", "new_aware", "posts")


def seed_metric_table(records: list[StepRecord]) -> pa.Table:
    """The ``seed_metrics`` rows of several steps (one per step and seed post injected by then)."""
    rows = [(rec.step, row) for rec in records for row in (rec.seed_metrics or ())]
    return pa.table(
        {
            "step": pa.array([step for step, _ in rows], pa.int32()),
            "seed": pa.array([row["seed"] for _, row in rows], pa.string()),
            **{name: pa.array([row[name] for _, row in rows], pa.int64()) for name in SEED_METRIC_COLUMNS[2:]},
        }
    )


def replace_checkpoint(con, step: int, packed: PackedArrays) -> None:
    """The new checkpoint replaces the table of the previous one (of either format): its storage is freed at once."""
    usable = CHECKPOINT_CODEC and pa.Codec.is_available(CHECKPOINT_CODEC)
    codec = pa.Codec(CHECKPOINT_CODEC, compression_level=1) if usable else None
    rows = {"name": [], "dtype": [], "shape": [], "codec": []}
    chunks = []
    for name, dtype, shape, raw in zip(packed.names, packed.dtypes, packed.shapes, packed.buffers()):
        squeeze = codec is not None and len(raw) > 0
        stored = np.frombuffer(codec.compress(pa.py_buffer(raw)), np.uint8) if squeeze else raw
        for start in range(0, max(len(stored), 1), CHECKPOINT_PART):  # an empty array still has its row
            chunks.append(stored[start : start + CHECKPOINT_PART])
            rows["name"].append(name)
            rows["dtype"].append(dtype)
            rows["shape"].append(",".join(map(str, shape)))
            rows["codec"].append(codec.name if squeeze else "")
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
    data = np.concatenate(chunks) if chunks else np.zeros(0, np.uint8)
    table = pa.table(
        {
            "step": np.full(len(chunks), step, np.int32),
            "seq": np.arange(len(chunks), dtype=np.int32),
            **rows,
            "data": pa.Array.from_buffers(
                pa.large_binary(), len(chunks), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
            ),
        }
    )
    con.execute(f"CREATE OR REPLACE TABLE checkpoint_arrays ({CHECKPOINT_COLUMNS})")
    insert(con, "checkpoint_arrays", table)
    con.execute("DROP TABLE IF EXISTS checkpoints")


def stored_array(dtype: str, shape: str, codec: str, *parts: bytes) -> np.ndarray:
    """One checkpoint array from its rows' dtype, shape, codec and data parts."""
    dims = tuple(int(n) for n in shape.split(",") if n)
    data = b"".join(parts)
    if codec:
        size = int(np.prod(dims, dtype=np.int64)) * np.dtype(dtype).itemsize
        data = pa.Codec(codec).decompress(data, decompressed_size=size)
    return unpack_array(data, dtype, dims)


def insert(con, table: str, data: pa.Table) -> None:
    """Append Arrow rows to a table, column by position (cast to the table's types)."""
    con.from_arrow(data).insert_into(table)
