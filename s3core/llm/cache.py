"""The LLM cache: one directory per machine mapping a hash of model, parameters and messages to the model's raw replies.

It is a ``diskcache`` directory (SQLite in WAL mode underneath, values as compressed JSON), so the
CLI, the dashboard and parallel workers share it safely: concurrent processes wait for each other's
short write transactions instead of failing, and no entry is lost. Entries hold the raw replies,
never a verdict on them, so they are validated when read and a better parser fixes old entries.
A size cap evicts the oldest entries first.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .settings import CACHE_ENV

log = logging.getLogger(__name__)

SIZE_ENV = "S3_LLM_CACHE_MAX_MB"  # the size cap in megabytes
DEFAULT_MAX_MB = 1024
FORMAT = 2  # entry layout; entries of another layout are misses
LOCK_TIMEOUT = 60.0  # seconds a process waits for another's write transaction before giving up on one batch


@dataclass(frozen=True)
class CachedReply:
    """What the model answered to one request: raw replies (the first, then the repair's), usage and timing.

    Each reply is ``{"content": str | None, "finish_reason": str | None, "refusal": str | None}``.
    """

    replies: tuple[dict, ...]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost: float | None = None
    model: str = ""
    kind: str = ""  # the schema name: decision, text, ...

    def encode(self) -> dict:
        # field by field: dataclasses.asdict deep-copies, a third of a batched step's cache writes
        return {
            "format": FORMAT,
            "replies": [dict(r) for r in self.replies],
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": self.latency_s,
            "cost": self.cost,
            "model": self.model,
            "kind": self.kind,
        }

    @classmethod
    def decode(cls, value) -> "CachedReply | None":
        """The entry, or None for a value of another layout."""
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            return None
        try:
            return cls(
                replies=tuple(value["replies"]),
                prompt_tokens=int(value["prompt_tokens"]),
                completion_tokens=int(value["completion_tokens"]),
                latency_s=float(value["latency_s"]),
                cost=value["cost"],
                model=str(value["model"]),
                kind=str(value["kind"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class CacheInfo:
    """Where the cache is and how full: ``size_bytes`` on disk against ``limit_bytes``."""

    path: str | None
    entries: int
    size_bytes: int
    limit_bytes: int | None

    def as_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        if self.path is None:
            return "LLM cache: none (in memory for each run)"
        limit = f"{self.limit_bytes / 2**20:,.0f} MB" if self.limit_bytes else "none"
        return (
            f"path     {self.path}\nentries  {self.entries:,}\nsize     {self.size_bytes / 2**20:,.1f} MB\n"
            f"cap      {limit} (oldest entries are evicted first; ${SIZE_ENV} sets it)"
        )


def default_cache_dir() -> Path | None:
    """``$S3_LLM_CACHE`` if set (``none``: no shared cache), else ``llm`` in the user's cache directory.

    The user's cache directory comes from platformdirs, e.g. ``~/.cache/s3core/llm`` on Linux.
    """
    value = os.environ.get(CACHE_ENV, "").strip()
    if value:
        return None if value.lower() == "none" else Path(value).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("s3core", appauthor=False)) / "llm"


def resolve_cache_dir(choice: str | os.PathLike | None) -> Path | None:
    """The cache directory for a ``--llm-cache`` value: None/empty for the default, ``none`` for none, else the path."""
    if choice is None or str(choice).strip() == "":
        return default_cache_dir()
    if str(choice).strip().lower() == "none":
        return None
    return Path(choice).expanduser()


def size_limit() -> int:
    """The cap in bytes, from ``$S3_LLM_CACHE_MAX_MB`` (default 1024 MB). Raises ValueError naming the variable."""
    raw = os.environ.get(SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 2**20
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if mb <= 0:
        raise ValueError(f"${SIZE_ENV}={raw!r}: must be a positive number of megabytes, e.g. {DEFAULT_MAX_MB}")
    return int(mb * 2**20)


class LLMCache:
    """Batched get/put over the shared cache directory, or a per-process dict when ``path`` is None.

    Raises ValueError naming the path when it is a file (e.g. an old DuckDB cache) or cannot be created.
    """

    def __init__(self, path: str | os.PathLike | None = None, limit_bytes: int | None = None):
        self.path = Path(path) if path is not None else None
        self._memory: dict[str, dict] | None = None
        self._disk = None
        if self.path is None:
            self._memory = {}
            return
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(
                f"LLM cache {self.path} is a file; the cache is a directory (an older version kept a DuckDB "
                "file here). Pass a directory to --llm-cache, or set $S3_LLM_CACHE to one"
            )
        import diskcache

        try:
            # cull_limit=0: no eviction inside a write transaction, where SQLite's file does not shrink until commit
            # and diskcache would evict everything, the new entries included; put_many culls after committing.
            self._disk = diskcache.Cache(
                str(self.path),
                size_limit=limit_bytes or size_limit(),
                timeout=LOCK_TIMEOUT,
                eviction_policy="least-recently-stored",
                cull_limit=0,
                disk=diskcache.JSONDisk,
            )
        except Exception as exc:  # OSError, sqlite3.Error, diskcache.Timeout: unwritable, damaged or held too long
            raise ValueError(
                f"LLM cache {self.path} cannot be opened ({type(exc).__name__}: {exc}); set $S3_LLM_CACHE "
                "to a writable directory, or use --llm-cache none"
            ) from exc

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None

    def __len__(self) -> int:
        return len(self._memory) if self._memory is not None else len(self._disk)

    def get_many(self, keys: list[str]) -> dict[str, CachedReply]:
        """The stored entries of ``keys`` (missing and unreadable ones left out)."""
        out = {}
        for key in keys:
            try:
                value = self._memory.get(key) if self._memory is not None else self._disk.get(key, retry=True)
            except Exception as exc:  # a busy or damaged cache costs calls, never the run
                log.warning("LLM cache %s: read failed (%s); asking the model", self.path, exc)
                return out
            entry = CachedReply.decode(value) if value is not None else None
            if entry is not None:
                out[key] = entry
        return out

    def put_many(self, entries: dict[str, CachedReply]) -> None:
        """Store entries in one transaction; keys already stored (by any process) are kept."""
        if not entries:
            return
        if self._memory is not None:
            for key, entry in entries.items():
                self._memory.setdefault(key, entry.encode())
            return
        try:
            with self._disk.transact(retry=True):
                for key, entry in entries.items():
                    self._disk.add(key, entry.encode(), retry=True)
            if self._disk.volume() > self._disk.size_limit:
                self._disk.cull(retry=True)
        except Exception as exc:
            log.warning("LLM cache %s: write of %d entries failed (%s)", self.path, len(entries), exc)

    def info(self) -> CacheInfo:
        if self._disk is None:
            return CacheInfo(None, len(self), 0, None)
        return CacheInfo(str(self.path), len(self._disk), int(self._disk.volume()), int(self._disk.size_limit))

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        if self._memory is not None:
            n = len(self._memory)
            self._memory.clear()
            return n
        n = len(self._disk)
        self._disk.clear()
        return n


class BorrowedCache:
    """Another owner's cache, lent to a gateway that must not close it (the gateway closes its cache on close)."""

    def __init__(self, cache: LLMCache):
        self.get_many, self.put_many = cache.get_many, cache.put_many

    def close(self) -> None:
        pass
