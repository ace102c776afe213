"""The simulation engine: one step is interventions -> feeds -> decisions -> transitions -> record."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import compiled, feeds, memory, quote_model
from . import interventions as iv
from .demographics import DemographicParams
from .feed_queue import FeedQueue
from .frontier import PopulationTally, StepJournal, excited_agents, sorted_unique
from .keyed_random import KeyedRandom, Purpose, content_key
from .network import Network
from .policy import DecisionBatch, DecisionPolicy, Decisions, HeuristicPolicy
from .population import Population, build_population
from .recording import StepRecord, record_step
from .resources import TextResources, load_text_resources
from .run_view import RunView
from .scenario import Scenario
from .sources import load_network
from .state import NO_POST, OFFICIAL, AgentState, PostStore
from .text_neighbours import NeighbourCache
from .transitions import emotion_decay, initial_attitude
from .types import Action, Source

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
        self._intervention_keys = iv.content_keys(scenario.interventions)
        self.text = text or load_text_resources()
        self.network = network if network is not None else load_network(scenario, self._rng("network"))
        self.population = population or build_population(
            self.network, DemographicParams(**scenario.population), self.text.model, self._rng("population")
        )
        self.policy = policy or HeuristicPolicy(scenario.emotion, scenario.attitude, scenario.policy)
        self.official_followers = self.random.stream(Purpose.OFFICIAL_REACH).subset(
            self.network.n_users, scenario.platform.official_reach
        )
        self._check_references()
        self.view = RunView(self)  # what decision backends may read (DecisionBatch.context)
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to step 0 with the initial attitudes; the network and population are kept."""
        u = self.random.stream(Purpose.INITIAL_ATTITUDE).uniform(np.arange(self.network.n_users))
        attitude = initial_attitude(self.scenario.attitude, self.population.history_stance, u)
        self.state = AgentState.empty(self.network.n_users, self.scenario.memory.capacity, attitude)
        self.posts = PostStore()
        self.extra_texts: list[str] = []
        self.extra_vectors = np.zeros((0, self.text.vectors.shape[1]), dtype=np.float32)
        self._texts_changed()
        self.seed_ids: dict[str, int] = {}
        self.stance_rules: list[tuple[int, str, float]] = []
        self.depth_counts = np.zeros(1, dtype=np.int64)
        self.fresh = np.zeros(0, dtype=np.int64)
        self.feed_queue = FeedQueue()
        self._neighbour_cache = NeighbourCache()
        self.step_index = 0
        self.journal = StepJournal(self.network.n_users)
        self.state_changed()

    def state_changed(self) -> None:
        """Rebuild what is derived from the state (tallies, the agents above calm, thread counts).

        Call after changing ``state`` or ``posts`` outside a step (``restore`` does)."""
        joint, dims = self.population.groups()
        self.tally = PopulationTally(joint, len(dims["category"][0]), self.state)
        self._excited = excited_agents(self.state)
        posts = self.posts
        forwards = np.flatnonzero((posts.action == Action.REPOST) | (posts.action == Action.QUOTE))
        self._thread_forwards = np.bincount(posts.root[forwards], minlength=len(posts)).astype(np.int64)
        self._thread_quotes = np.bincount(
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
        """Drop everything derived from the text list; rebuilt on next use, not on every step."""
        self._all_texts: np.ndarray | None = None
        self._all_vectors: np.ndarray | None = None
        self._profile_table: np.ndarray | None = None

    @property
    def text_vectors(self) -> np.ndarray:
        """Vectors of the pool texts followed by the texts added during the run."""
        if self._all_vectors is None:
            self._all_vectors = (
                np.concatenate([self.text.vectors, self.extra_vectors]) if len(self.extra_texts) else self.text.vectors
            )
        return self._all_vectors

    def text_of(self, text_id: int) -> str:
        pool = len(self.text.texts)
        return self.text.texts[text_id] if text_id < pool else self.extra_texts[text_id - pool]

    def texts_of(self, text_ids: np.ndarray) -> list[str]:
        """Texts of many text ids at once (vectorized lookup for records)."""
        if self._all_texts is None:
            self._all_texts = np.array(list(self.text.texts) + self.extra_texts, dtype=object)
        return self._all_texts[np.asarray(text_ids, dtype=np.int64)].tolist()

    def add_texts(self, texts: list[str]) -> np.ndarray:
        """Register new texts (seed posts, LLM-written posts) and return their text ids."""
        start = len(self.text.texts) + len(self.extra_texts)
        self.extra_texts.extend(texts)
        self.extra_vectors = np.concatenate([self.extra_vectors, self.text.model.embed(list(texts))])
        self._texts_changed()
        return np.arange(start, start + len(texts), dtype=np.int32)

    # -- the step --------------------------------------------------------------------------
    def step(self) -> StepRecord:
        """Advance one step and return its frozen record."""
        t = self.step_index
        self.journal.begin(t)
        # The reference scans every agent for the step's changes; the compiled path reads the journal.
        before = (
            None
            if compiled.compiled()
            else (self.state.aware.copy(), self.state.emotion.copy(), self.state.attitude.copy())
        )
        first_post = len(self.posts)
        fresh = np.concatenate([self.fresh, self._apply_interventions(t)])
        exposures = self._build_feeds(t, fresh)
        decisions, batch = self._decide(t, exposures)
        new_posts = self._apply(t, batch, decisions)
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

    # -- phase 1: interventions ------------------------------------------------------------
    def _apply_interventions(self, t: int) -> np.ndarray:
        """Inject seed posts and apply moderation due now; returns the seed post ids."""
        seeds = []
        for item in iv.due(self.scenario.interventions, t):
            if isinstance(item, iv.SeedPost):
                seeds.append(self._inject_seed(item, t))
            elif isinstance(item, iv.Moderation):
                self._moderate(item)
        return np.asarray(seeds, dtype=np.int64)

    def _inject_seed(self, seed: iv.SeedPost, t: int) -> int:
        author = OFFICIAL
        if seed.author is not None:
            author = int(np.flatnonzero(self.network.user_ids.astype(str) == seed.author)[0])
        text_id = self.add_texts([seed.text])
        key = self.random.stream(Purpose.SEED_POST_KEY, t, content_key(seed.name, seed.text, seed.author)).bits([0])
        pid = int(
            self.posts.append(
                author=[author],
                parent=[NO_POST],
                root=[len(self.posts)],
                step=[t],
                action=[Action.POST],
                stance=[int(seed.stance)],
                emotion=[int(seed.emotion)],
                depth=[0],
                text_id=text_id,
                key=key,
            )[0]
        )
        self._apply_stance_rules(np.array([pid]))
        if seed.name:
            self.seed_ids[seed.name] = pid
        if author != OFFICIAL:
            self.journal.note(self.state, np.array([author]))
            self.state.aware[author] = True
            self.state.aware_step[author] = t if self.state.aware_step[author] < 0 else self.state.aware_step[author]
        return pid

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

    def _moderate(self, item: iv.Moderation) -> None:
        if item.stance is not None:
            self.stance_rules.append((int(item.stance), item.action, item.strength))
            targets = np.flatnonzero(self.posts.stance == int(item.stance))
        else:
            targets = self.resolve_posts(item.post)
        self._moderate_posts(targets, item.action, item.strength, inherited=item.stance is None)

    def _moderate_posts(self, targets: np.ndarray, action: str, strength: float, inherited: bool) -> None:
        """Apply one moderation to posts; an inherited down-rank also passes to their later forwards."""
        if action == "remove":
            self.posts.column("removed")[targets] = True
            memory.forget(self.state, targets)
        elif action == "downrank":
            self.posts.column("visibility")[targets] *= strength
            if inherited:
                self.posts.column("forwarded_visibility")[targets] *= strength
        else:
            self.posts.column("labelled")[targets] = True

    def _apply_stance_rules(self, new_ids: np.ndarray) -> None:
        """Stance-wide moderation stays in force for posts made after it, applied once per post."""
        for stance, action, strength in self.stance_rules:
            self._moderate_posts(new_ids[self.posts.stance[new_ids] == stance], action, strength, inherited=False)

    # -- phase 2: feeds --------------------------------------------------------------------
    def _build_feeds(self, t: int, fresh: np.ndarray) -> feeds.Exposures:
        p = self.scenario.platform
        due, deliveries = feeds.fan_out(
            self.network,
            self.posts,
            fresh,
            self.official_followers,
            p,
            self.random,
            t,
            self.scenario.minutes_per_step,
            self._delay_scale(),
        )
        self.feed_queue.add(due, **deliveries)
        parts = [
            feeds.deliver(self.feed_queue.pop(t), self.posts, p),
            feeds.from_recommender(self.posts, self.population, self.text_vectors, t, p, self.random),
        ]
        for index, boost in iv.active_boosts(self.scenario.interventions, t):
            target = self.resolve_posts(boost.post) if boost.post is not None else np.zeros(0, np.int64)
            key = self._intervention_keys[index]
            parts.append(
                feeds.from_boost(
                    boost, key, target, self.posts, self.population, t, p, self.random, self.network.user_ids
                )
            )
        return feeds.Exposures.concat(parts)

    def _delay_scale(self) -> np.ndarray | None:
        """Per agent, how many times sooner than typical it reads its feed: (posts made / median) ** activity_delay."""
        exponent = self.scenario.platform.activity_delay
        if exponent <= 0:
            return None
        if getattr(self, "_delay_scale_cache", None) is None or self._delay_scale_cache[0] != exponent:
            users = self.network.users
            if users is not None and "messages" in users:
                activity = users["messages"].to_numpy(dtype=np.float64)
            else:
                activity = self.network.activity().astype(np.float64)
            activity = np.maximum(activity, 1.0)
            self._delay_scale_cache = (exponent, (activity / np.median(activity)) ** exponent)
        return self._delay_scale_cache[1]

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

    # -- phase 3: decisions ----------------------------------------------------------------
    def _decide(self, t: int, ex: feeds.Exposures) -> tuple[Decisions, DecisionBatch]:
        mem = self.scenario.memory
        relevance = self.relevance(ex.viewer, ex.post)
        static = memory.static_score(mem, relevance, ex.source)
        grouping = memory.group_by_receiver(ex.viewer, static)
        order, starts, agents = grouping
        focal_row = order[starts]
        received = np.diff(np.r_[starts, len(order)]).astype(np.float64)
        posts = self.posts
        intensity = (
            np.add.reduceat(posts.emotion[ex.post[order]].astype(np.float64), starts) / received
            if len(starts)
            else received
        )
        max_rel = np.maximum.reduceat(relevance[order], starts) if len(starts) else received
        memory.merge(self.state, mem, t, ex.viewer, ex.post, ex.source, static, posts.removed, grouping=grouping)
        self.journal.note(self.state, agents)
        was_aware = self.state.aware[agents].copy()
        newly = agents[~was_aware]
        self.state.aware[newly] = True
        self.state.aware_step[newly] = t
        pool_positive, pool_weight = memory.pool_stance(
            self.state, mem, agents, t, posts, self.scenario.attitude.label_discount
        )
        focal = ex.post[focal_row]
        batch = DecisionBatch(
            step=t,
            agent=agents,
            received=received,
            mean_intensity=intensity,
            max_relevance=max_rel,
            focal_post=focal,
            focal_source=ex.source[focal_row],
            focal_stance=posts.stance[focal],
            focal_emotion=posts.emotion[focal],
            focal_age=t - posts.step[focal],
            focal_relevance=relevance[focal_row],
            focal_labelled=posts.labelled[focal],
            emotion=self.state.emotion[agents],
            attitude=self.state.attitude[agents],
            pool_positive=pool_positive,
            pool_weight=pool_weight,
            category=self.population.category[agents],
            age=self.population.age[agents],
            gender=self.population.gender[agents],
            occupation=self.population.occupation[agents],
            actions_taken=self.state.actions_taken[agents],
            was_aware=was_aware,
            **self._quote_inputs(agents, focal),
            minutes_per_step=self.scenario.minutes_per_step,
            context=self.view,
        )
        return self.policy.decide(batch, self.random.at(t)), batch

    def _quote_inputs(self, agents: np.ndarray, focal: np.ndarray) -> dict:
        """What the quote model reads: the focal post's depth and kind, its event's forwards so far, and
        each agent's own quote propensity (a keyed draw from the model's Beta law; NaN without a model)."""
        posts = self.posts
        focal_root = posts.root[focal]
        return dict(
            focal_depth=posts.depth[focal],
            focal_quoted=posts.action[focal] == Action.QUOTE,
            thread_quotes=_padded(self._thread_quotes, len(posts))[focal_root].astype(np.float64),
            thread_forwards=_padded(self._thread_forwards, len(posts))[focal_root].astype(np.float64),
            quote_propensity=self.quote_propensity()[agents],
        )

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

    # -- phase 4: transitions and new posts ------------------------------------------------
    def _apply(self, t: int, batch: DecisionBatch, dec: Decisions) -> np.ndarray:
        agents = batch.agent
        state = self.state
        if compiled.compiled():  # the maintained set of agents above calm, less those exposed now
            excited = self._excited
            quiet_idx = excited[~_members(excited, agents)]
        else:
            quiet = state.aware.copy()
            quiet[agents] = False
            quiet_idx = np.flatnonzero(quiet & (state.emotion > 0))
        u = self.random.stream(Purpose.EMOTION_DECAY, t).uniform(quiet_idx)
        self.journal.note(state, quiet_idx)
        state.emotion[quiet_idx] = emotion_decay(self.scenario.emotion, state.emotion[quiet_idx], u)
        state.emotion[agents] = dec.emotion
        state.attitude[agents] = dec.attitude
        self._excited = sorted_unique(
            np.concatenate([quiet_idx[state.emotion[quiet_idx] > 0], agents[state.emotion[agents] > 0]])
        )
        state.last_action[agents] = dec.action
        acting = dec.action != Action.IGNORE
        state.actions_taken[agents[acting]] += 1
        return self._create_posts(t, batch, dec, acting)

    def _create_posts(self, t: int, batch: DecisionBatch, dec: Decisions, acting: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(acting)
        if len(idx) == 0:
            return np.zeros(0, dtype=np.int64)
        posts = self.posts
        action = dec.action[idx]
        author = batch.agent[idx]
        focal = batch.focal_post[idx].astype(np.int64)
        emotion, attitude = dec.emotion[idx], dec.attitude[idx]
        forward = action != Action.POST
        text_id = posts.text_id[focal].copy()
        quote, new = action == Action.QUOTE, action == Action.POST
        u = self.random.stream(Purpose.TEXT_CHOICE, t).uniform(author)
        for kind, rows in (("comment", quote), ("original", new)):
            text_id[rows] = self._choose_texts(kind, u[rows], emotion[rows], attitude[rows], posts.text_id[focal[rows]])
        if dec.text is not None:
            written = [(j, dec.text[i]) for j, i in enumerate(idx) if dec.text[i] and action[j] != Action.REPOST]
            if written:
                text_id[[j for j, _ in written]] = self.add_texts([w for _, w in written])
        start = len(posts)
        ids = np.arange(start, start + len(idx), dtype=np.int64)
        parent = np.where(forward, focal, NO_POST)
        depth = np.where(forward, posts.depth[focal] + 1, 0)
        ids = posts.append(
            author=author,
            parent=parent,
            root=np.where(forward, posts.root[focal], ids),
            step=np.full(len(idx), t),
            action=action,
            stance=np.where(action == Action.REPOST, posts.stance[focal], attitude),
            emotion=emotion,
            depth=depth,
            text_id=text_id,
            labelled=np.where(forward, posts.labelled[focal], False),
            visibility=np.where(forward, posts.forwarded_visibility[focal], 1.0),
            forwarded_visibility=np.where(forward, posts.forwarded_visibility[focal], 1.0),
            key=self.random.stream(Purpose.POST_KEY, t).bits(author),
        )
        _add_counts(posts.column("reposts"), focal[forward])
        self._count_forwards(posts.root[ids[forward]], action[forward] == Action.QUOTE)
        self._apply_stance_rules(ids)
        if depth.max() >= len(self.depth_counts):
            self.depth_counts = np.concatenate(
                [self.depth_counts, np.zeros(depth.max() + 1 - len(self.depth_counts), np.int64)]
            )
        self.depth_counts += np.bincount(depth, minlength=len(self.depth_counts))
        own_rel = self.relevance(author, ids.astype(np.int32))
        own_static = memory.static_score(self.scenario.memory, own_rel, np.full(len(ids), Source.OWN, np.int8))
        memory.merge(
            self.state,
            self.scenario.memory,
            t,
            author,
            ids.astype(np.int32),
            np.full(len(ids), Source.OWN, np.int8),
            own_static,
            posts.removed,
        )
        return ids

    def _count_forwards(self, roots: np.ndarray, quoted: np.ndarray) -> None:
        """Add this step's forwards to their events' counts of forwards and quotes."""
        size = len(self.posts)
        self._thread_forwards = _padded(self._thread_forwards, size)
        self._thread_quotes = _padded(self._thread_quotes, size)
        _add_counts(self._thread_forwards, roots)
        _add_counts(self._thread_quotes, roots[quoted])

    def _choose_texts(
        self, kind: str, u: np.ndarray, emotion: np.ndarray, attitude: np.ndarray, focal_text: np.ndarray
    ) -> np.ndarray:
        """Pool texts for quotes or new posts: near the focal post's text when ``text_neighbours`` > 0."""
        pool, k = self.text.pool, self.scenario.policy.text_neighbours
        if k <= 0 or len(u) == 0:
            return pool.sample(u, kind, emotion, attitude)
        candidates = self._neighbour_cache.lookup(
            kind, k, focal_text, lambda missing: pool.neighbours(kind, self.text_vectors[missing], k)
        )
        return pool.sample_near(u, kind, emotion, attitude, candidates)

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
        return arrays

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Continue from ``state_arrays`` output (a checkpoint or a snapshot)."""
        self.state = AgentState(**{k[6:]: np.array(v) for k, v in arrays.items() if k.startswith("state_")})
        self.posts = PostStore.from_arrays(arrays)
        self.step_index = int(arrays["step_index"][0])
        self.fresh = np.array(arrays["fresh"], dtype=np.int64)
        self.feed_queue = FeedQueue.from_arrays(arrays)
        self._neighbour_cache = NeighbourCache()
        self.extra_texts = [str(s) for s in arrays["extra_texts"]]
        self.extra_vectors = np.array(arrays["extra_vectors"], dtype=np.float32).reshape(-1, self.text.vectors.shape[1])
        self._texts_changed()
        self.seed_ids = {str(k): int(v) for k, v in zip(arrays["seed_names"], arrays["seed_post_ids"])}
        self.stance_rules = [
            (int(s), str(a), float(x))
            for s, a, x in zip(arrays["rule_stance"], arrays["rule_action"], arrays["rule_strength"])
        ]
        self.depth_counts = np.array(arrays["depth_counts"], dtype=np.int64)
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
        self._neighbour_cache.adopt(other._neighbour_cache, len(self.text.texts) + same)

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


def _members(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each entry of ``sorted_set``, whether it is in ``values`` (ascending, unique)."""
    if len(values) == 0:
        return np.zeros(len(sorted_set), bool)
    at = np.minimum(np.searchsorted(values, sorted_set), len(values) - 1)
    return values[at] == sorted_set


def _padded(counts: np.ndarray, size: int) -> np.ndarray:
    """``counts`` grown with zeros to at least ``size`` entries (doubling, so growth is amortized)."""
    if len(counts) >= size:
        return counts
    return np.concatenate([counts, np.zeros(max(size, 2 * len(counts)) - len(counts), counts.dtype)])


def _add_counts(counts: np.ndarray, index: np.ndarray) -> None:
    """``counts[i] += 1`` for every occurrence of i in ``index`` (``np.add.at`` by a sort, several times faster)."""
    if len(index) == 0:
        return
    ordered = np.sort(index)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts[ordered[starts]] += np.diff(np.r_[starts, len(ordered)]).astype(counts.dtype)
