"""The simulation engine: the owner of a run's state and clock.

One step is four phases, each a function over the simulation in ``s3core.phases``:
interventions (``inject``) -> feeds (``expose``) -> decisions (``decide``) -> transitions and new
posts (``act``), then the step's frozen record (``recording``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import compiled, quote_model
from . import interventions as iv
from .demographics import DemographicParams
from .feed_queue import FeedQueue
from .frontier import PopulationTally, StepJournal, excited_agents
from .keyed_random import KeyedRandom, Purpose
from .network import Network
from .phases import act, decide, expose, inject
from .policy import DecisionPolicy, HeuristicPolicy
from .population import Population, build_population
from .profiles import for_scenario as load_profiles
from .recording import StepRecord, record_step
from .resources import TextResources, resources_for
from .run_texts import RunTexts
from .run_view import RunView
from .scenario import Scenario
from .seed_awareness import SeedAwareness
from .sources import load_network
from .state import AgentState, PostStore
from .text_neighbours import NeighbourCache
from .transitions import initial_attitude
from .types import Action

RELEVANCE_CHUNK = 262_144  # exposures per chunk when gathering vectors, to bound temporary memory


@dataclass(frozen=True)
class Snapshot:
    """A frozen copy of a running simulation's state, to branch counterfactuals from."""

    step: int
    arrays: dict


class Simulation:
    """Owns the network, the agents, the posts, the clock and the keyed random draws of one run.

    Every draw of a step is keyed by (seed, purpose, step, agent or post key), never by the
    number of draws before it (``keyed_random``), so runs that differ by an intervention share
    every draw it does not touch. The network and population are built once from named
    generator streams of the seed and are the same in every arm.
    """

    def __init__(
        self,
        scenario: Scenario,
        network: Network | None = None,
        policy: DecisionPolicy | None = None,
        text: TextResources | None = None,
        population: Population | None = None,
    ):
        self.scenario = scenario
        self.random = KeyedRandom(scenario.seed)
        self.intervention_keys = iv.content_keys(scenario.interventions)
        self.text = resources_for(scenario, text)  # the pool of the seed posts' language (s3core.resources)
        if population is not None and self.text.language != (text.language if text else "zh"):
            population = None  # built on the other pool's text representation
        self.network = network if network is not None else load_network(scenario, self._rng("network"))
        self.population = population or build_population(
            self.network,
            DemographicParams(**scenario.population),
            self.text.model,
            self._rng("population"),
            profiles=load_profiles(scenario, self.network),
        )
        self.policy = policy or HeuristicPolicy(scenario.emotion, scenario.attitude, scenario.policy)
        self.official_followers = self.random.stream(Purpose.OFFICIAL_REACH).subset(
            self.network.n_users, scenario.platform.official_reach
        )
        self._check_references()
        self.view = RunView(self)  # what decision backends may read (DecisionBatch.context)
        self.delay_scale_cache: tuple[float, np.ndarray] | None = None  # (exponent, per-agent feed-delay scale)
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to step 0 with the initial attitudes; the network and population are kept."""
        u = self.random.stream(Purpose.INITIAL_ATTITUDE).uniform(np.arange(self.network.n_users))
        attitude = initial_attitude(self.scenario.attitude, self.population.history_stance, u)
        profiled = self.population.profile_attitude
        if profiled is not None:  # a profiles file's initial attitudes win; the draws above are made either way
            attitude = np.where(profiled >= 0, profiled, attitude).astype(attitude.dtype)
        self.state = AgentState.empty(self.network.n_users, self.scenario.memory.capacity, attitude)
        self.posts = PostStore()
        self.texts = RunTexts(self.text.texts, self.text.vectors, self.text.model.embed)
        self._texts_changed()
        self.seed_ids: dict[str, int] = {}
        self.stance_rules: list[tuple[int, str, float]] = []
        self.depth_counts = np.zeros(1, dtype=np.int64)
        self.fresh = np.zeros(0, dtype=np.int64)
        self.feed_queue = FeedQueue()
        self.neighbour_cache = NeighbourCache(first_id=len(self.text.texts))
        self.step_index = 0
        self.journal = StepJournal(self.network.n_users)
        self.seed_awareness = SeedAwareness(self.network.n_users)
        self.state_changed()

    def state_changed(self) -> None:
        """Rebuild what is derived from the state (tallies, the agents above calm, thread counts).

        Call after changing ``state`` or ``posts`` outside a step (``restore`` does)."""
        joint, dims = self.population.groups()
        self.tally = PopulationTally(joint, len(dims["category"][0]), self.state)
        self.excited = excited_agents(self.state)
        posts = self.posts
        forwards = np.flatnonzero((posts.action == Action.REPOST) | (posts.action == Action.QUOTE))
        self.thread_forwards = np.bincount(posts.root[forwards], minlength=len(posts)).astype(np.int64)
        self.thread_quotes = np.bincount(
            posts.root[forwards], weights=posts.action[forwards] == Action.QUOTE, minlength=len(posts)
        ).astype(np.int64)

    def _rng(self, stream: str) -> np.random.Generator:
        """A generator for building the network or population, from the scenario seed and a stream name."""
        key = int.from_bytes(stream.encode()[:8].ljust(8, b"\0"), "little")
        return np.random.default_rng([self.scenario.seed, 2, key])

    def _check_references(self) -> None:
        """Every boost or moderation that names a seed must come at or after that seed."""
        seeds = {s.name: s.step for s in self.scenario.interventions if isinstance(s, iv.SeedPost) and s.name}
        users = None
        for item in self.scenario.interventions:
            if isinstance(item, (iv.Boost, iv.Moderation)) and isinstance(item.post, str):
                if item.post not in seeds:
                    raise ValueError(
                        f"{item.kind} at step {item.step} names post {item.post!r}, but no seed post has that name; seeds: {sorted(seeds) or 'none'}"
                    )
                if seeds[item.post] > item.step:
                    raise ValueError(
                        f"{item.kind} at step {item.step} names seed {item.post!r}, which is only posted at step {seeds[item.post]}"
                    )
            if isinstance(item, iv.SeedPost) and item.author is not None:
                users = users if users is not None else {u: i for i, u in enumerate(self.network.user_ids.astype(str))}
                if item.author not in users:
                    raise ValueError(
                        f"seed post {item.name or item.text[:20]!r} names author {item.author!r}, who is not in the network"
                    )
            if isinstance(item, iv.Boost) and item.audience.kind == "users":
                users = users if users is not None else {u: i for i, u in enumerate(self.network.user_ids.astype(str))}
                missing = [u for u in item.audience.users if u not in users]
                if missing:
                    raise ValueError(
                        f"boost at step {item.step} lists audience user {missing[0]!r}, who is not in the network"
                    )

    # -- texts -----------------------------------------------------------------------------
    def _texts_changed(self) -> None:
        """Drop the profile-by-text relevance table; rebuilt on next use, not on every step."""
        self._profile_table: np.ndarray | None = None

    @property
    def extra_texts(self) -> list[str]:
        """The texts added during the run (seed posts, LLM-written posts), each distinct string once, in id order."""
        return self.texts.added

    @property
    def extra_vectors(self) -> np.ndarray:
        """Float32 (added texts, dim): the vectors of ``extra_texts``."""
        return self.texts.added_vectors

    @property
    def text_vectors(self) -> np.ndarray:
        """Vectors of the pool texts followed by the texts added during the run."""
        return self.texts.vectors

    def text_of(self, text_id: int) -> str:
        return self.texts.text(text_id)

    def texts_of(self, text_ids: np.ndarray) -> list[str]:
        """Texts of many text ids at once (vectorized lookup for records)."""
        return self.texts.texts_of(text_ids)

    def add_texts(self, texts: list[str]) -> np.ndarray:
        """Text ids of texts (seed posts, LLM-written posts), one per string: identical strings share one id and
        one embedding, and only strings not seen before in the run are embedded and appended (``RunTexts``)."""
        before = len(self.texts)
        ids = self.texts.add(texts)
        if len(self.texts) > before:
            self._texts_changed()
        return ids

    # -- the step --------------------------------------------------------------------------
    def step(self) -> StepRecord:
        """Advance one step and return its frozen record."""
        t = self.step_index
        self.journal.begin(t)
        self.seed_awareness.begin()
        # The reference scans every agent for the step's changes; the compiled path reads the journal.
        before = (
            None
            if compiled.compiled()
            else (self.state.aware.copy(), self.state.emotion.copy(), self.state.attitude.copy())
        )
        first_post = len(self.posts)
        fresh = np.concatenate([self.fresh, inject.apply_interventions(self, t)])
        exposures = expose.build_feeds(self, t, fresh)
        decisions, batch = decide.decide(self, t, exposures)
        new_posts = act.apply(self, t, batch, decisions)
        self.fresh = new_posts
        self.step_index = t + 1
        return record_step(self, t, before, exposures, batch, decisions, first_post)

    def run(self, steps: int, on_step=None) -> list[StepRecord]:
        """Run several steps, calling ``on_step(record)`` after each (for progress and tracing)."""
        records = []
        for _ in range(steps):
            record = self.step()
            records.append(record)
            if on_step is not None and on_step(record) is False:
                break
        return records

    def resolve_posts(self, ref: str | int) -> np.ndarray:
        """A post reference (seed name or post id) as the post and all its reposts and quotes."""
        if isinstance(ref, str):
            target = self.seed_ids[ref]
        else:
            if not 0 <= ref < len(self.posts):
                raise ValueError(f"post id {ref} does not exist (posts so far: {len(self.posts)})")
            target = ref
        mask = np.zeros(len(self.posts), dtype=bool)
        mask[target] = True
        parent = self.posts.parent
        has_parent = parent >= 0
        while True:
            grown = mask | (has_parent & mask[np.where(has_parent, parent, 0)])
            if (grown == mask).all():
                return np.flatnonzero(mask)
            mask = grown

    def relevance(self, agents: np.ndarray, posts: np.ndarray) -> np.ndarray:
        """Cosine similarity of each agent's interests and each post's text.

        Agents without a history share one of a few occupation x age profiles, so their
        relevance is a lookup in a profile-by-text table; the others are computed in chunks.
        """
        text_id = self.posts.text_id[posts]
        key = self.population.profile_key[agents]
        out = np.empty(len(agents), dtype=np.float32)
        generic = key >= 0
        out[generic] = self._profile_relevance()[key[generic], text_id[generic]]
        own = np.flatnonzero(~generic)
        vectors = self.text_vectors
        for s in range(0, len(own), RELEVANCE_CHUNK):
            rows = own[s : s + RELEVANCE_CHUNK]
            out[rows] = np.einsum("ij,ij->i", self.population.user_vectors[agents[rows]], vectors[text_id[rows]])
        return out

    def _profile_relevance(self) -> np.ndarray:
        """Relevance of every text to every shared profile, rebuilt when texts are added."""
        vectors = self.text_vectors
        if self._profile_table is None:
            self._profile_table = self.population.profile_vectors @ vectors.T
        return self._profile_table

    def quote_propensity(self) -> np.ndarray:
        """Every agent's quote propensity, drawn once per quote model (keyed by agent id)."""
        name = self.scenario.policy.quote_model
        cached = getattr(self, "_propensity_cache", None)
        if cached is None or cached[0] != name:
            if name:
                values = quote_model.load(name).propensity(self.random, np.arange(self.network.n_users))
            else:
                values = np.full(self.network.n_users, np.nan)
            self._propensity_cache = cached = (name, values)
        return cached[1]

    # -- snapshots, checkpoints and branches -----------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to continue this run exactly, as named arrays (no pickle)."""
        arrays = {f"state_{k}": v for k, v in self.state.__dict__.items()}
        arrays.update(self.posts.arrays())
        arrays["step_index"] = np.array([self.step_index])
        arrays["fresh"] = self.fresh
        arrays.update(self.feed_queue.arrays())
        arrays["extra_texts"] = np.array(self.extra_texts, dtype=np.str_)
        arrays["extra_vectors"] = self.extra_vectors
        arrays["seed_names"] = np.array(list(self.seed_ids), dtype=np.str_)
        arrays["seed_post_ids"] = np.array(list(self.seed_ids.values()), dtype=np.int64)
        arrays["rule_stance"] = np.array([r[0] for r in self.stance_rules], dtype=np.int64)
        arrays["rule_action"] = np.array([r[1] for r in self.stance_rules], dtype=np.str_)
        arrays["rule_strength"] = np.array([r[2] for r in self.stance_rules], dtype=np.float64)
        arrays["depth_counts"] = self.depth_counts
        arrays.update(self.seed_awareness.arrays(len(self.posts)))
        return arrays

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Continue from ``state_arrays`` output (a checkpoint or a snapshot)."""
        self.state = AgentState(**{k[6:]: np.array(v) for k, v in arrays.items() if k.startswith("state_")})
        self.posts = PostStore.from_arrays(arrays)
        self.step_index = int(arrays["step_index"][0])
        self.fresh = np.array(arrays["fresh"], dtype=np.int64)
        self.feed_queue = FeedQueue.from_arrays(arrays)
        self.neighbour_cache = NeighbourCache(first_id=len(self.text.texts))
        self.texts = RunTexts(self.text.texts, self.text.vectors, self.text.model.embed)
        self.texts.restore(
            [str(s) for s in arrays["extra_texts"]],
            np.array(arrays["extra_vectors"], dtype=np.float32).reshape(-1, self.text.vectors.shape[1]),
        )
        self._texts_changed()
        self.seed_ids = {str(k): int(v) for k, v in zip(arrays["seed_names"], arrays["seed_post_ids"])}
        self.stance_rules = [
            (int(s), str(a), float(x))
            for s, a, x in zip(arrays["rule_stance"], arrays["rule_action"], arrays["rule_strength"])
        ]
        self.depth_counts = np.array(arrays["depth_counts"], dtype=np.int64)
        self.seed_awareness = SeedAwareness.from_arrays(arrays, self.network.n_users)
        self.state_changed()

    def adopt_text_neighbours(self, other: "Simulation") -> None:
        """Take ``other``'s nearest-pool-text lookups for the texts both runs number alike.

        A lookup depends only on its text, so it holds for the pool texts and for the added
        texts both runs have in the same order (those of a shared history, as for branches of
        one run); reusing it saves the repeated searches of many branches from one snapshot.
        """
        same = 0
        for mine, theirs in zip(self.extra_texts, other.extra_texts):
            if mine != theirs:
                break
            same += 1
        self.neighbour_cache.adopt(other.neighbour_cache, len(self.text.texts) + same)

    def snapshot(self) -> Snapshot:
        """A frozen copy of the current state."""
        return Snapshot(self.step_index, {k: np.array(v, copy=True) for k, v in self.state_arrays().items()})

    def branch(self, snapshot: Snapshot | None = None, **scenario_changes) -> "Simulation":
        """A new simulation that continues from a snapshot (default: now), optionally with a changed scenario.

        Branches share the keyed random draws, so a branch without changes replays this run
        exactly and differences between arms come from the change alone.
        """
        snapshot = snapshot or self.snapshot()
        scenario = replace(self.scenario, **scenario_changes) if scenario_changes else self.scenario
        rebuilt = isinstance(self.policy, HeuristicPolicy) and bool(
            scenario_changes.keys() & {"emotion", "attitude", "policy"}
        )
        policy = None if rebuilt else self.policy  # other backends read parameters from the scenario each step
        other = Simulation(scenario, network=self.network, policy=policy, text=self.text, population=self.population)
        other.restore({k: np.array(v, copy=True) for k, v in snapshot.arrays.items()})
        return other
