"""What an LLM run will cost before it starts: a heuristic dry run counts the prompts the LLM agents would get,
and what the same run would cost in each agent mode (per-agent, batched, archetype), with the expected wall time."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from ..types import Action
from . import prompts as P
from .archetype_cells import MAX_CELLS, cells_of
from .archetypes import MAX_TEXTS, cell_prompt
from .batching import ENVELOPE_TOKENS, batch_settings, per_request
from .client import cost_of, count_tokens
from .settings import LLMSettings
from .subset import SubsetSpec, select_agents

REPLY_TOKENS = {"decision": 24, "emotion": 10, "attitude": 10, "action": 10, "initial_attitude": 10}
TEXT_TOKENS = 90  # a short Weibo post or comment
ENTRY_LABEL_TOKENS = 8  # a batched entry's {"agent": "A3", ...} around the single answer
ARCHETYPE_TOKENS = 60  # an archetype answer's three distributions; each of its texts adds TEXT_TOKENS
TOKEN_SAMPLE = 64  # prompts counted exactly; the rest by characters per token
# Expected wall time: each call costs the client CLIENT_SECONDS of CPU (litellm, measured on this 2-core machine),
# and the provider ASSUMED_LATENCY_S plus the reply's tokens at ASSUMED_TOKENS_PER_S; calls overlap up to the
# concurrency. Assumptions for a hosted model: measure yours with benchmarks/llm_bench.py.
CLIENT_SECONDS = 0.010
ASSUMED_LATENCY_S = 0.5
ASSUMED_TOKENS_PER_S = 60.0


@dataclass(frozen=True)
class ModeEstimate:
    """One agent mode's calls, tokens, price (None: unpriced) and expected wall seconds for the whole run."""

    mode: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    wall_s: float


def expected_wall_s(rounds: list[int], completion_tokens: int, concurrency: int) -> float:
    """Seconds for rounds of concurrent calls (a step sends its decisions, then its texts; rounds follow each other).

    A round of n calls takes the client's CPU (n x ``CLIENT_SECONDS``) or the provider's latency for
    ceil(n / concurrency) waves of calls, whichever is longer.
    """
    calls = sum(rounds)
    if not calls:
        return 0.0
    per_call = ASSUMED_LATENCY_S + completion_tokens / calls / ASSUMED_TOKENS_PER_S
    return float(sum(max(n * CLIENT_SECONDS, -(-n // concurrency) * per_call) for n in rounds if n))


@dataclass(frozen=True)
class CostEstimate:
    """Calls, tokens and (where litellm knows the model's price) dollars, for an empty cache, in the chosen agent
    mode (``agent_mode``); ``modes`` holds the same run in every mode."""

    model: str
    steps: int
    llm_agents: int
    decisions: int
    texts: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    agent_mode: str = "per_agent"
    wall_s: float = 0.0  # expected, see expected_wall_s
    modes: tuple[ModeEstimate, ...] = ()  # the same run in every agent mode, for comparison

    def as_dict(self) -> dict:
        return asdict(self)

    def modes_table(self) -> str:
        """One line per agent mode: calls, tokens, cost and expected wall time; the chosen mode marked."""
        lines = [f"{'agent mode':<12} {'calls':>10} {'prompt tok':>12} {'reply tok':>10} {'cost':>10} {'wall':>9}"]
        for m in self.modes:
            cost = "unknown" if m.cost_usd is None else f"${m.cost_usd:.4f}"
            mark = " <" if m.mode == self.agent_mode else ""
            lines.append(
                f"{m.mode:<12} {m.calls:>10,} {m.prompt_tokens:>12,} {m.completion_tokens:>10,} {cost:>10} "
                f"{duration(m.wall_s):>9}{mark}"
            )
        return "\n".join(lines)

    def table(self) -> str:
        cost = "unknown (litellm has no price for this model)" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        rows = [
            ("model", self.model),
            ("steps", self.steps),
            ("LLM agents", self.llm_agents),
            ("decisions", self.decisions),
            ("texts (quote/post)", self.texts),
            ("calls", self.calls),
            ("prompt tokens", self.prompt_tokens),
            ("completion tokens", self.completion_tokens),
            ("cost", cost),
            ("expected wall time", f"{duration(self.wall_s)} ({self.agent_mode})"),
        ]
        table = "\n".join(f"{k:<20} {v}" for k, v in rows)
        return table + ("\n\n" + self.modes_table() if self.modes else "")

    def json(self) -> str:
        return json.dumps(self.as_dict())


def duration(seconds: float, digits: int = 1) -> str:
    """Seconds as "12.3 s", "4.5 min" or "1.2 h" (``digits`` decimals for seconds)."""
    if seconds < 120:
        return f"{seconds:.{digits}f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class _Counter:
    """A heuristic policy that also builds the prompts the LLM rows would be sent, and keeps their sizes."""

    def __init__(self, heuristic, mask, settings: LLMSettings, event: str):
        self.heuristic, self.mask, self.settings, self.event = heuristic, mask, settings, event
        self.index = None
        self.decisions = self.texts = 0
        self.rounds: dict[str, list[int]] = {"per_agent": [], "batched": [], "archetype": []}  # calls per round
        self.shared_chars = 0  # characters every prompt repeats (system message, event): sent once per batch
        self.cells = self.cell_chars = self.cell_texts = 0  # archetype mode: requests, their characters, writers
        self.chars: list[int] = []
        self.sample: list[tuple] = []
        self.reply_tokens = 0

    def decide(self, batch, rng):
        dec = self.heuristic.decide(batch, rng)
        rows = np.flatnonzero(self.mask[batch.agent])
        if not len(rows):
            return dec
        sim = batch.context
        self.index = self.index or P.HistoryIndex(sim.network, self.settings.history_examples)
        sub = batch.subset(rows)
        self._archetype(sub, sim, dec.action[rows])
        who, where = P.profiles(sim, sub.agent, self.index), P.situations(sub, sim)
        kinds = ("decision",) if self.settings.mode == "combined" else ("emotion", "attitude", "action")
        for j, i in enumerate(rows):
            e, a, act = dec.emotion[i], dec.attitude[i], dec.action[i]
            messages = (
                [P.decision(who[j], where[j], self.event)]
                if len(kinds) == 1
                else [
                    P.emotion(who[j], where[j], self.event),
                    P.attitude(who[j], where[j], self.event),
                    P.action(who[j], where[j], self.event, e, a),
                ]
            )
            self.reply_tokens += sum(REPLY_TOKENS[k] for k in kinds)
            if act in (Action.QUOTE, Action.POST):
                messages.append(P.text(who[j], where[j], self.event, act, e, a))
                self.texts += 1
                self.reply_tokens += min(TEXT_TOKENS, self.settings.max_tokens)
            for m in messages:
                self.chars.append(sum(len(x["content"]) for x in m))
                if len(self.sample) < TOKEN_SAMPLE:
                    self.sample.append(m)
        self.decisions += len(rows)
        writers = int(np.isin(dec.action[rows], (Action.QUOTE, Action.POST)).sum())
        wide = batch_settings(self.settings)
        k_decide, k_write = per_request(wide, "decision_batch"), per_request(wide, "text_batch")
        rounds = [len(rows)] * len(kinds) if len(kinds) == 1 else [2 * len(rows), len(rows)]  # modular: 2 rounds
        self.rounds["per_agent"] += [*rounds, writers]
        self.rounds["batched"] += [-(-len(rows) // k_decide), -(-writers // k_write)]
        if not self.shared_chars:
            first = P.decision(who[0], where[0], self.event)
            self.shared_chars = len(first[0]["content"]) + len(P.event_line(self.event))
        return dec

    def _archetype(self, sub, sim, actions) -> None:
        """The step's occupied cells and their prompts' characters, as archetype mode would ask them."""
        cells = cells_of(sub, sim.posts.root, MAX_CELLS)
        focal = np.asarray(sub.focal_post, np.int64)[cells.representative]
        for c in range(len(cells)):
            text = sim.text_of(int(sim.posts.text_id[focal[c]]))
            self.cell_chars += sum(len(m["content"]) for m in cell_prompt(cells, c, text, self.event))
        self.cells += len(cells)
        self.rounds["archetype"].append(len(cells))
        writing = np.bincount(cells.of_row, weights=np.isin(actions, (Action.QUOTE, Action.POST)), minlength=len(cells))
        self.cell_texts += int((writing > 0).sum())


def estimate_run(
    scenario, settings: LLMSettings, subset: SubsetSpec | None = None, sim=None, initial_attitude: bool = False
) -> CostEstimate:
    """Run the scenario with the heuristic (seconds) and count what the LLM agents would be asked."""
    from ..engine import Simulation
    from .policy import heuristic_for

    base = sim or Simulation(scenario)
    mask = select_agents(subset or SubsetSpec(), base.network, base.population, scenario.seed)
    counter = _Counter(None, mask, settings, P.event_summary(scenario))
    dry = Simulation(scenario, network=base.network, text=base.text, population=base.population, policy=counter)
    counter.heuristic = heuristic_for(dry)
    dry.run(scenario.steps)
    chars = list(counter.chars)
    if initial_attitude:
        index = P.HistoryIndex(base.network, settings.history_examples)
        for p in P.profiles(base, np.flatnonzero(mask), index):
            m = P.initial_attitude(p, counter.event)
            chars.append(sum(len(x["content"]) for x in m))
            counter.sample.append(m)
            counter.reply_tokens += REPLY_TOKENS["initial_attitude"]
    sample = counter.sample[:TOKEN_SAMPLE] + counter.sample[-8:]
    sample_tokens = sum(count_tokens(settings.model, list(m)) for m in sample)
    sample_chars = sum(sum(len(x["content"]) for x in m) for m in sample)
    per_char = sample_tokens / sample_chars if sample_chars else 0.0
    prompt_tokens = int(round(sum(chars) * per_char))
    cost = cost_of(settings.model, prompt_tokens, counter.reply_tokens)
    modes = _modes(counter, settings, per_char, len(chars), prompt_tokens, counter.reply_tokens, cost)
    chosen = next(m for m in modes if m.mode == settings.agent_mode)
    return CostEstimate(
        model=settings.model,
        steps=scenario.steps,
        llm_agents=int(mask.sum()),
        decisions=counter.decisions,
        texts=counter.texts,
        calls=chosen.calls,
        prompt_tokens=chosen.prompt_tokens,
        completion_tokens=chosen.completion_tokens,
        cost_usd=chosen.cost_usd,
        agent_mode=settings.agent_mode,
        wall_s=chosen.wall_s,
        modes=modes,
    )


def _modes(counter: _Counter, settings: LLMSettings, per_char: float, calls, prompt, reply, cost) -> tuple:
    """The dry run's counts in every agent mode (per-agent counts as sent; batched and archetype derived).

    Batched: the prompts' shared part (system message and event) goes once per request; each entry's reply is
    the single answer plus its label (``batching.ENTRY_TOKENS`` is only the room a request asks for). Archetype: the cells' own prompts; texts are asked only of cells with writers.
    """
    rounds, concurrency = counter.rounds, settings.concurrency
    initial = calls - sum(rounds["per_agent"])  # initial-attitude calls, one round before the run
    out = [
        ModeEstimate(
            "per_agent",
            calls,
            prompt,
            reply,
            cost,
            expected_wall_s([initial, *rounds["per_agent"]], reply, concurrency),
        )
    ]
    n_batched = sum(rounds["batched"])
    saved = max(counter.decisions - n_batched, 0) * counter.shared_chars
    b_prompt = max(int(round((sum(counter.chars) - saved) * per_char)), 0)
    # an entry is the single answer plus its agent label
    b_reply = counter.decisions * (REPLY_TOKENS["decision"] + ENTRY_LABEL_TOKENS)
    b_reply += counter.texts * (TEXT_TOKENS + ENTRY_LABEL_TOKENS) + n_batched * ENVELOPE_TOKENS
    out.append(
        ModeEstimate(
            "batched",
            n_batched,
            b_prompt,
            b_reply,
            cost_of(settings.model, b_prompt, b_reply),
            expected_wall_s(rounds["batched"], b_reply, concurrency),
        )
    )
    a_prompt = int(round(counter.cell_chars * per_char))
    a_reply = counter.cells * ARCHETYPE_TOKENS + counter.cell_texts * MAX_TEXTS * TEXT_TOKENS
    out.append(
        ModeEstimate(
            "archetype",
            counter.cells,
            a_prompt,
            a_reply,
            cost_of(settings.model, a_prompt, a_reply),
            expected_wall_s(rounds["archetype"], a_reply, concurrency),
        )
    )
    return tuple(out)
