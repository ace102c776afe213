"""The simulated side of validation: replay a real cascade, or let a source post run free.

Replay (the OASIS protocol): the simulator is told only the source text, the author's
attributes and N, the number of users who took part within the 150-minute window. It
simulates exactly N users plus the author on a network synthesized from the model's network
statistics; the cascade's own edges and timings are never read. Free run: the source post
spreads on one synthesized network of ``network.n_users`` users for 36 hours, without N.

Simulated events pass through the same tree builder as real ones (``trees.build_trees``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import lexicon
from .. import scenario as S
from ..engine import Simulation
from ..interventions import SeedPost
from ..keyed_random import KeyedRandom, Purpose, content_key
from ..network import Network
from ..resources import TextResources
from ..synthetic import synthetic_network
from ..types import Action, Attitude, Emotion
from .metrics import WINDOW_MINUTES
from .trees import CascadeTree, build_trees

FREE_RUN_MINUTES = 36 * 60
AUTHOR_TOP_SHARE = 0.01  # free runs: the author is one of the most followed 1% of users


class ParamsError(ValueError):
    """A validation parameter file that cannot be used, naming the key at fault."""


@dataclass(frozen=True)
class ReplayParams:
    """What the replay protocol knows about its N users: every one of them took part.

    ``author_share``: the share of participants who follow the author directly (added to the
    synthesized graph; 0 adds none). ``engagement``: log-odds added to reposting and quoting in a
    replay, because the replayed users are exactly those who engaged (0 adds none).
    """

    author_share: float = 0.0
    engagement: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.author_share <= 1.0:
            raise ParamsError(f"replay.author_share = {self.author_share!r}: must lie in [0, 1]")
        if not 0.0 <= self.engagement <= 10.0:
            raise ParamsError(f"replay.engagement = {self.engagement!r}: must lie in [0, 10]")


@dataclass(frozen=True)
class Setup:
    """The model under validation: a scenario (parameters, network statistics, minutes per step),
    the replay knobs and a seed."""

    scenario: S.Scenario
    replay: ReplayParams = ReplayParams()

    @property
    def seed(self) -> int:
        return self.scenario.seed

    @property
    def minutes_per_step(self) -> float:
        return self.scenario.minutes_per_step


def setup_from_params(params: dict | None, seed: int) -> Setup:
    """The validated model from a parameter dict (scenario keys: minutes_per_step, network.mean_followees,
    network.reciprocity, network.tail_exponent, network.n_users, and the model groups platform,
    policy, emotion, attitude, memory); the project's defaults where a key is absent.

    Raises ParamsError naming the key, for unknown keys and out-of-range values alike.
    """
    params = dict(params or {})
    params.pop("calibration", None)  # the fit report of a calibrated parameter file
    replay_table = params.pop("replay", {}) or {}
    if not isinstance(replay_table, dict) or set(replay_table) - {"author_share", "engagement"}:
        bad = (
            sorted(set(replay_table) - {"author_share", "engagement"})
            if isinstance(replay_table, dict)
            else ["(not a table)"]
        )
        raise ParamsError(f"replay.{bad[0]}: expected author_share and engagement")
    replay_params = ReplayParams(**{k: float(v) for k, v in replay_table.items()})
    allowed = {
        "minutes_per_step",
        "network",
        "population",
        "emotion",
        "attitude",
        "memory",
        "platform",
        "policy",
        "replay",
        "calibration",
    }
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParamsError(f"unknown parameter group(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}")
    network = dict(params.pop("network", {}) or {})
    bad = sorted(set(network) - {"mean_followees", "reciprocity", "tail_exponent", "n_users"})
    if bad:
        raise ParamsError(
            f"network.{bad[0]}: not a network statistic; expected mean_followees, reciprocity, tail_exponent, n_users"
        )
    try:
        scenario = S.from_dict(
            {"name": "validate", "seed": seed, "network": {"source": "synthetic", **network}, **params}
        )
    except S.ScenarioError as exc:
        raise ParamsError(str(exc)) from None
    return Setup(scenario, replay_params)


def source_post(text: str) -> tuple[Attitude, Emotion]:
    """Stance and emotion of a source text, from the offline lexicon (the same rules label the pool)."""
    stance = Attitude(int(lexicon.stance([text])[0]))
    emotion = Emotion(int(np.clip(lexicon.emotion_level([text])[0], 0, 2)))
    return stance, emotion


def _network(setup: Setup, n_users: int, key: int) -> Network:
    spec = setup.scenario.network
    rng = np.random.default_rng([setup.seed, key])
    return synthetic_network(max(n_users, 2), spec.mean_followees, spec.reciprocity, spec.tail_exponent, rng=rng)


def _scenario(setup: Setup, text: str, author: str, minutes: float) -> S.Scenario:
    stance, emotion = source_post(text)
    seed = SeedPost(step=0, text=text or "(no text)", name="source", author=author, stance=stance, emotion=emotion)
    steps = max(1, math.ceil(minutes / setup.minutes_per_step))
    return setup.scenario.replace(steps=steps, interventions=(seed,))


def cascade_events(sim: Simulation, cascade_id: str, minutes: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The seed's cascade in a finished simulation as (sources row, events) in the dataset format.

    An event's time is its step's start plus a keyed uniform offset within the step.
    """
    posts = sim.posts
    source = sim.seed_ids["source"]
    forward = np.flatnonzero(
        (posts.root == source) & (posts.parent >= 0) & np.isin(posts.action, (Action.REPOST, Action.QUOTE))
    )
    offset = KeyedRandom(sim.scenario.seed).stream(Purpose.EVENT_TIME).uniform(posts.key[forward])
    t_min = (posts.step[forward] + offset) * sim.scenario.minutes_per_step
    keep = t_min <= minutes
    forward, t_min = forward[keep], t_min[keep]
    quote = posts.action[forward] == Action.QUOTE
    texts = np.array(sim.texts_of(posts.text_id[forward]), dtype=object)
    user = posts.author[forward].astype(str)
    parent_user = posts.author[posts.parent[forward]].astype(str)
    events = pd.DataFrame(
        {
            "cascade_id": cascade_id,
            "user_id": user,
            "parent_user_id": parent_user,
            "t_min": t_min,
            "text": np.where(quote, texts, ""),
            "quote": quote,
        }
    )
    sources = pd.DataFrame(
        {
            "cascade_id": [cascade_id],
            "user_id": [str(int(posts.author[source]))],
            "text": [sim.text_of(int(posts.text_id[source]))],
        }
    )
    return sources, events


def _tree(sim: Simulation, cascade_id: str, minutes: float) -> CascadeTree:
    sources, events = cascade_events(sim, cascade_id, minutes)
    return build_trees(events, sources)[cascade_id]


def replay_network(setup: Setup, cascade_id: str, n_users: int) -> tuple[Network, int]:
    """The network of ``n_users`` users plus the author for replaying a cascade, and the author's index.

    Synthesized from the model's network statistics and keyed by the cascade id; the author is
    its most followed user (the sources are posts that went on to spread).
    """
    network = _network(setup, n_users + 1, content_key("replay", cascade_id))
    author = int(np.argmax(network.follower_count))
    share = setup.replay.author_share
    if share > 0:
        others = np.delete(np.arange(network.n_users), author)
        draw = KeyedRandom(setup.seed).stream(Purpose.REPLAY_FOLLOW, -1, content_key(cascade_id)).uniform(others)
        new = others[draw < share]
        follower, followee = network.edges()
        grown = Network.from_edges(
            network.name,
            network.user_ids,
            np.concatenate([follower, new]),
            np.concatenate([followee, np.full(len(new), author)]),
        )
        users = network.users.assign(followers=grown.follower_count, friends=grown.followee_count)
        network = dataclasses.replace(grown, users=users)
    return network, author


def replay_run(
    setup: Setup,
    cascade_id: str,
    text: str,
    n_users: int,
    text_resources: TextResources,
    network: tuple[Network, int] | None = None,
    policy=None,
) -> tuple[Simulation, list]:
    """The finished replay simulation of a cascade and its step records (see ``replay``).

    ``policy``: the decision backend (a ``DecisionPolicy``, e.g. an LLM ``HybridPolicy``); None for the
    scenario's heuristic, exactly as without it.
    """
    network, author = network or replay_network(setup, cascade_id, n_users)
    scenario = _scenario(setup, text, str(network.user_ids[author]), WINDOW_MINUTES)
    if setup.replay.engagement > 0:
        policy_params, lift = scenario.policy, setup.replay.engagement
        scenario = scenario.replace(
            policy=dataclasses.replace(
                policy_params,
                base_repost=min(policy_params.base_repost + lift, 3.0),
                base_quote=min(policy_params.base_quote + lift, 3.0),
            )
        )
    sim = Simulation(scenario, network=network, text=text_resources, policy=policy)
    records = sim.run(scenario.steps)
    return sim, records


def replay(
    setup: Setup,
    cascade_id: str,
    text: str,
    n_users: int,
    text_resources: TextResources,
    network: tuple[Network, int] | None = None,
    policy=None,
) -> CascadeTree:
    """Simulate a cascade among exactly ``n_users`` users plus its author, for the 150-minute window.

    Only ``text`` and ``n_users`` come from the real cascade (see ``replay_network``); ``network``
    passes its result when the caller has already built it. ``policy`` decides instead of the
    heuristic (None: the heuristic).
    """
    sim, _ = replay_run(setup, cascade_id, text, n_users, text_resources, network=network, policy=policy)
    return _tree(sim, cascade_id, WINDOW_MINUTES)


@dataclass
class FreeRunWorld:
    """The one synthesized network (and its population) every free run of a validation shares."""

    network: Network
    population: object
    candidates: np.ndarray  # most followed users, from whom authors are drawn


def free_run_world(setup: Setup, text_resources: TextResources) -> FreeRunWorld:
    """Build the free-run network from the seed alone (the same in every worker)."""
    network = _network(setup, setup.scenario.network.n_users, content_key("free-run"))
    probe = Simulation(setup.scenario.replace(steps=1), network=network, text=text_resources)
    top = max(1, int(round(network.n_users * AUTHOR_TOP_SHARE)))
    candidates = np.argsort(-network.follower_count, kind="stable")[:top]
    return FreeRunWorld(network, probe.population, candidates)


def free_run(
    setup: Setup, world: FreeRunWorld, cascade_id: str, text: str, text_resources: TextResources
) -> CascadeTree:
    """Let a source post spread for 36 hours, by an author drawn (keyed by the cascade) among the most followed."""
    pick = KeyedRandom(setup.seed).stream(Purpose.VALIDATION_AUTHOR).uniform([content_key(cascade_id)])[0]
    author = int(world.candidates[int(pick * len(world.candidates))])
    scenario = _scenario(setup, text, str(world.network.user_ids[author]), FREE_RUN_MINUTES)
    sim = Simulation(scenario, network=world.network, text=text_resources, population=world.population)
    sim.run(scenario.steps)
    return _tree(sim, cascade_id, FREE_RUN_MINUTES)
