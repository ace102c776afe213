"""Model parameters as frozen dataclasses whose fields describe themselves (range, help).

The dashboard builds its widgets from ``metadata``, the scenario file is their
serialization, and defaults are documented where they were fitted to the shipped data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def param(default, lo, hi, help_text: str, **extra):
    """A dataclass field carrying its valid range and help text for widgets and validation."""
    return field(default=default, metadata={"min": lo, "max": hi, "help": help_text, **extra})


@dataclass(frozen=True)
class EmotionParams:
    """Emotion as a Markov kernel over calm/moderate/intense, driven by the content received.

    On exposure the reader echoes the focal post's level (a jump, up or down) with a chance set by
    the post's relevance, not by how many posts arrived; otherwise its own reaction may set it
    moderate or intense, or it keeps its level and habituates. Quiet agents decay toward calm.
    Defaults: from the training half of Weibo CED, where a comment's lexicon level depends weakly
    on the level of the post it quotes (intense 6-7% under calm posts, 12-21% under intense ones;
    about 55% calm, 37% moderate, 9% intense overall), then checked by ``validate``: the intense
    share of simulated comments stays near 0.06-0.11 over 36 hours instead of climbing.
    """

    decay: float = param(
        0.25,
        0.0,
        1.0,
        "Chance per step that an aware agent's emotion falls one level toward calm when nothing new arrives (S3's decay coefficient).",
    )
    echo_bias: float = param(
        -2.6,
        -8.0,
        3.0,
        "Log-odds that a reader takes on the emotion level of the post it read (a jump, so a first intense post can make it intense), for a post of zero relevance.",
    )
    echo_relevance: float = param(
        2.0, 0.0, 8.0, "Added log-odds of taking on the post's level per unit of the post's relevance to the reader."
    )
    echo_volume: float = param(
        0.0,
        0.0,
        3.0,
        "Added log-odds times (1 - 1/posts received this step): a weak, saturating effect of volume (0 = none).",
    )
    react_moderate: float = param(
        0.27,
        0.0,
        0.5,
        "Chance that a reader who does not echo the post reacts moderately on its own (its level becomes moderate).",
    )
    react_intense: float = param(
        0.05,
        0.0,
        0.5,
        "Chance that a reader who does not echo the post reacts intensely on its own (its level becomes intense).",
    )
    fall_on_exposure: float = param(
        0.4,
        0.0,
        1.0,
        "Chance that a reader who neither echoes nor reacts falls one level (habituation), so repeated reading does not build up emotion.",
    )


@dataclass(frozen=True)
class AttitudeParams:
    """Attitude as a two-state Markov chain, started from profile and history."""

    initial_positive: float = param(
        0.55, 0.0, 1.0, "Share of agents positive toward the event before profile and history adjust it."
    )
    history_weight: float = param(
        1.5,
        0.0,
        5.0,
        "Log-odds added per unit of (positive - negative) stance share in the user's own posting history.",
    )
    persuasion: float = param(
        2.6,
        0.0,
        8.0,
        "Log-odds of switching per unit of opposing stance share in the memory pool, weighted by influence scores.",
    )
    inertia: float = param(
        -2.4, -8.0, 2.0, "Log-odds of switching when the memory pool is balanced; lower means stickier attitudes."
    )
    label_discount: float = param(
        0.5, 0.0, 1.0, "Weight of a moderator-labelled post in attitude updates, relative to an unlabelled one."
    )
    first_exposure: float = param(
        0.5,
        0.0,
        1.0,
        "Switching chance of an agent who learns of the event this step, relative to one who already knew (1 = the first message persuades as much as later ones).",
    )


@dataclass(frozen=True)
class MemoryParams:
    """S3's memory pool: each received message scored by time, relevance and source."""

    capacity: int = param(5, 1, 32, "Messages each agent keeps (top-k by influence score).")
    half_life: float = param(
        4.0, 0.25, 100.0, "Steps after which the temporal factor halves (the forgetting function)."
    )
    weight_time: float = param(1.0, 0.0, 5.0, "Weight of the temporal factor in the influence score.")
    weight_relevance: float = param(
        1.0, 0.0, 5.0, "Weight of content relevance (cosine of user and message representations)."
    )
    weight_source: float = param(1.0, 0.0, 5.0, "Weight of the source's authenticity score.")
    source_followee: float = param(0.5, 0.0, 1.0, "Authenticity of a post from a one-way followee.")
    source_mutual: float = param(1.0, 0.0, 1.0, "Authenticity of a post from a mutual follow (a real-life tie).")
    source_recommended: float = param(
        0.3, 0.0, 1.0, "Authenticity of a post pushed by the platform's recommender or a boost."
    )
    source_own: float = param(0.8, 0.0, 1.0, "Authenticity of the agent's own earlier post.")

    def source_scores(self) -> tuple[float, float, float, float]:
        """Scores indexed by ``Source``."""
        return (self.source_followee, self.source_mutual, self.source_recommended, self.source_own)


@dataclass(frozen=True)
class PlatformParams:
    """The platform: who sees what, besides followees' posts."""

    attention: float = param(
        0.35, 0.0, 1.0, "Chance that a follower sees a given followee post in the step after it is made."
    )
    recommender: str = param(
        "popularity",
        None,
        None,
        "Recommender: popularity (most reposted recent posts), similarity (most relevant among popular) or none.",
        choices=("popularity", "similarity", "none"),
    )
    recommend_rate: float = param(0.01, 0.0, 1.0, "Share of agents shown one recommended post each step.")
    recommend_window: int = param(3, 1, 50, "Only posts from the last this-many steps are recommended.")
    recommend_pool: int = param(20, 1, 500, "Number of top candidates the recommender draws from.")
    official_reach: float = param(
        0.05, 0.0, 1.0, "Share of agents who follow the official account that posts seed posts without a named author."
    )
    feed_delay_median: float = param(
        0.0,
        0.0,
        10_080.0,
        "Median minutes before a follower who will see a followee's post sees it (log-normal); 0 delivers every post in the step after it is made.",
    )
    feed_delay_sigma: float = param(
        1.0,
        0.0,
        4.0,
        "Spread (log-normal sigma) of the delay before a follower sees a post; larger means a longer tail of late readers.",
    )
    activity_delay: float = param(
        0.0,
        0.0,
        2.0,
        "How much sooner active users see posts: the delay is divided by (posts made / median posts) to this power; 0 ignores activity.",
    )
    recommend_half_life: float = param(
        0.0,
        0.0,
        1000.0,
        "Steps after which a post's weight in the recommender halves; 0 keeps it constant within the window.",
    )


DEFAULT_QUOTE_MODEL = "quote-model-weibo.json"


@dataclass(frozen=True)
class PolicyParams:
    """The offline action policy: a multinomial logit over ignore/repost/quote/post.

    Defaults: the quote/repost balance follows the shipped Weibo cascades, where 61% of
    reposts carry a comment, and the fitted ``quote_model`` splits each agent's engagement
    between the two; the rest set cascade sizes on the bundled network.
    """

    base_repost: float = param(-3.3, -10.0, 3.0, "Baseline log-odds of reposting unchanged versus ignoring.")
    base_quote: float = param(
        -2.85, -10.0, 3.0, "Baseline log-odds of quoting (repost with a comment) versus ignoring."
    )
    base_post: float = param(
        -4.6, -10.0, 3.0, "Baseline log-odds of writing a new post about the event versus ignoring."
    )
    exposure: float = param(0.6, 0.0, 3.0, "Added log-odds of any action per log(1 + posts received this step).")
    relevance: float = param(1.2, 0.0, 5.0, "Added log-odds of any action per unit of relevance of the focal post.")
    emotion: float = param(0.6, 0.0, 3.0, "Added log-odds of quoting or posting per emotion level.")
    agreement: float = param(
        0.9, 0.0, 3.0, "Added log-odds of reposting or quoting a post whose stance matches the agent's attitude."
    )
    mutual: float = param(0.6, 0.0, 3.0, "Added log-odds of any action when the focal post comes from a mutual follow.")
    influential: float = param(0.7, -3.0, 3.0, "Added log-odds of posting for influential users.")
    low_impact: float = param(-0.8, -3.0, 3.0, "Added log-odds of any action for low-impact users.")
    staleness: float = param(0.35, 0.0, 3.0, "Log-odds lost per log(1 + steps since the focal post was made).")
    label_penalty: float = param(
        1.5, 0.0, 5.0, "Log-odds of reposting or quoting lost when the focal post carries a moderation label."
    )
    fatigue: float = param(0.7, 0.0, 5.0, "Log-odds lost per log(1 + the agent's earlier actions on the event).")
    depth_decay: float = param(
        0.0,
        0.0,
        5.0,
        "Log-odds of reposting or quoting lost per hop of the focal post from its source (0 = none); real cascades put about 72% of forwards at depth 1.",
    )
    quote_shift: float = param(
        0.0,
        -3.0,
        3.0,
        "Log-odds added to the fitted quote model's choice of quoting over plain reposting, for calibration where simulated timing or event history differ from the data the model was fitted on; 0 keeps the fit.",
    )
    quote_model: str = param(
        DEFAULT_QUOTE_MODEL,
        None,
        None,
        "Fitted quote-versus-repost model (JSON from fit_quote_model; relative paths are under data/params) that splits engagement between quoting and plain reposting; empty: the emotion term splits it.",
        check="quote_model",
    )
    text_neighbours: int = param(
        10,
        0,
        500,
        "Quotes and new posts take a real text among this many of the pool's texts most similar to the post they quote or answer (within the author's emotion and stance); 0 draws from the whole emotion-and-stance bucket. The default 10 was chosen on Weibo CED's earlier cascades: a comment is then closer to the post it quotes than to another cascade's in 0.67 of cases (real comments 0.71; 0.50 without retrieval).",
    )


PARAM_GROUPS = {
    "emotion": EmotionParams,
    "attitude": AttitudeParams,
    "memory": MemoryParams,
    "platform": PlatformParams,
    "policy": PolicyParams,
}


def validate(instance) -> None:
    """Raise ValueError naming the field when a value lies outside its declared range or choices.

    NaN lies in no range, so it is refused too; true/false is not a number here.
    """
    for f in fields(instance):
        value = getattr(instance, f.name)
        meta = f.metadata
        choices = meta.get("choices")
        if choices is not None and value not in choices:
            raise ValueError(f"{type(instance).__name__}.{f.name} = {value!r}: must be one of {', '.join(choices)}")
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and isinstance(value, bool):
            raise ValueError(f"{type(instance).__name__}.{f.name} = {value!r}: expected a number, not true/false")
        if lo is not None and not (lo <= value <= hi):
            raise ValueError(f"{type(instance).__name__}.{f.name} = {value!r}: must lie in [{lo}, {hi}]")
        if meta.get("check") == "quote_model":
            from . import quote_model

            if not isinstance(value, str):
                raise ValueError(
                    f"{type(instance).__name__}.{f.name} = {value!r}: expected the path of a quote model (JSON) or ''"
                )
            try:
                quote_model.check(value)
            except ValueError as exc:
                raise ValueError(f"{type(instance).__name__}.{f.name} = {value!r}: {exc}") from None
