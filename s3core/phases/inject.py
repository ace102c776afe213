"""Phase 1 of a step: seed posts and moderation due now (interventions other than boosts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import interventions as iv
from .. import memory
from ..keyed_random import Purpose, content_key
from ..state import NO_POST, OFFICIAL
from ..types import Action

if TYPE_CHECKING:
    from ..engine import Simulation


def apply_interventions(sim: "Simulation", t: int) -> np.ndarray:
    """Inject seed posts and apply moderation due now; returns the seed post ids."""
    seeds = []
    for index, item in enumerate(sim.scenario.interventions):  # in schedule order, as ``iv.due``
        if item.step != t:
            continue
        if isinstance(item, iv.SeedPost):
            seeds.append(inject_seed(sim, item, t, label=item.name or f"#{index}"))
        elif isinstance(item, iv.Moderation):
            moderate(sim, item)
    return np.asarray(seeds, dtype=np.int64)


def inject_seed(sim: "Simulation", seed: iv.SeedPost, t: int, label: str | None = None) -> int:
    """Post a seed (by its author, or the official account) and return its post id; its author becomes aware.

    ``label`` names the seed in the per-seed awareness (``seed_awareness``; default: its name, or "#?")."""
    author = OFFICIAL
    if seed.author is not None:
        author = int(np.flatnonzero(sim.network.user_ids.astype(str) == seed.author)[0])
    text_id = sim.add_texts([seed.text])
    key = sim.random.stream(Purpose.SEED_POST_KEY, t, content_key(seed.name, seed.text, seed.author)).bits([0])
    pid = int(
        sim.posts.append(
            author=[author],
            parent=[NO_POST],
            root=[len(sim.posts)],
            step=[t],
            action=[Action.POST],
            stance=[int(seed.stance)],
            emotion=[int(seed.emotion)],
            depth=[0],
            text_id=text_id,
            key=key,
        )[0]
    )
    apply_stance_rules(sim, np.array([pid]))
    if seed.name:
        sim.seed_ids[seed.name] = pid
    bit = sim.seed_awareness.add_seed(label or seed.name or "#?", pid)
    if author != OFFICIAL:
        sim.seed_awareness.receive(np.array([author]), np.array([bit], np.uint64))
        sim.journal.note(sim.state, np.array([author]))
        sim.state.aware[author] = True
        sim.state.aware_step[author] = t if sim.state.aware_step[author] < 0 else sim.state.aware_step[author]
    return pid


def moderate(sim: "Simulation", item: iv.Moderation) -> None:
    """Apply a moderation to its post (and the post's reposts and quotes) or to every post of its stance."""
    if item.stance is not None:
        sim.stance_rules.append((int(item.stance), item.action, item.strength))
        targets = np.flatnonzero(sim.posts.stance == int(item.stance))
    else:
        targets = sim.resolve_posts(item.post)
    moderate_posts(sim, targets, item.action, item.strength, inherited=item.stance is None)


def moderate_posts(sim: "Simulation", targets: np.ndarray, action: str, strength: float, inherited: bool) -> None:
    """Apply one moderation to posts; an inherited down-rank also passes to their later forwards."""
    if action == "remove":
        sim.posts.column("removed")[targets] = True
        memory.forget(sim.state, targets)
    elif action == "downrank":
        sim.posts.column("visibility")[targets] *= strength
        if inherited:
            sim.posts.column("forwarded_visibility")[targets] *= strength
    else:
        sim.posts.column("labelled")[targets] = True


def apply_stance_rules(sim: "Simulation", new_ids: np.ndarray) -> None:
    """Stance-wide moderation stays in force for posts made after it, applied once per post."""
    for stance, action, strength in sim.stance_rules:
        moderate_posts(sim, new_ids[sim.posts.stance[new_ids] == stance], action, strength, inherited=False)
