"""Text resources shared by simulations: the text model, the pool of real texts and the pool's neighbour lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .scenario import DATA_DIR
from .text import TextModel, TextPool
from .text_neighbours import NeighbourCache


@dataclass(frozen=True, eq=False)
class TextResources:
    """The offline text representation and the real texts agents' posts are drawn from."""

    model: TextModel
    pool: TextPool
    # Nearest pool texts of each pool text, shared by every run on these resources (they depend on the pool alone).
    pool_neighbours: NeighbourCache = field(default_factory=NeighbourCache, compare=False, repr=False)

    @property
    def texts(self):
        return self.pool.texts

    @property
    def vectors(self) -> np.ndarray:
        return self.pool.vectors


def load_text_resources(data_dir: str | Path = DATA_DIR) -> TextResources:
    """Load the shipped text model and pool from ``data/``."""
    data_dir = Path(data_dir)
    return TextResources(model=TextModel.load(data_dir / "text_model.npz"), pool=TextPool.load(data_dir))
