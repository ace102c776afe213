"""Prompt builders, one per S3 module, from each agent's profile and this step's situation.

Prompts are deterministic functions of the simulation state (no step number, no randomness),
so the same situation gives the same prompt, the same cache key and the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..state import NO_POST
from ..types import OCCUPATION_LABELS, Action, Attitude, Emotion, Gender, Occupation, Source, UserCategory

SNIPPET = 200  # characters of any quoted post
MEMORY_SHOWN = 3
_CATEGORY = {
    UserCategory.INFLUENTIAL: "an influential account: far more followers than followees, posts original content",
    UserCategory.REGULAR: "a regular user who mostly follows friends and acquaintances",
    UserCategory.LOW_IMPACT: "a low-impact user with few followers who rarely posts",
}
SOURCE_WORDS = {
    Source.FOLLOWEE: "an account you follow",
    Source.MUTUAL: "a friend (you follow each other)",
    Source.RECOMMENDED: "the platform's recommendations",
    Source.OWN: "your own earlier post",
}
_GENDER = {Gender.FEMALE: "woman", Gender.MALE: "man", Gender.UNKNOWN: "person"}
_MINOR = {Gender.FEMALE: "girl", Gender.MALE: "boy", Gender.UNKNOWN: "young person"}  # under 18
EMOTION_HELP = "calm (unmoved), moderate (somewhat stirred) or intense (strongly stirred)"
ACTION_HELP = (
    "ignore (do nothing), repost (forward the post unchanged), quote (forward it with your own comment) "
    "or post (write a new post of your own about the event)"
)
SYSTEM = (
    "You role-play one user of Weibo, a Chinese microblogging platform, during a trending event. "
    "Stay in character: decide as this person would, not as an assistant. Answer with one JSON object only."
)


def snip(text: str, n: int = SNIPPET) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(frozen=True)
class Profile:
    """Who the agent is: demographics, S3 category, self-description and some own posts."""

    age: int
    gender: int
    occupation: int
    category: int
    description: str = ""
    history: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [
            f"You are a {self.age}-year-old {(_MINOR if self.age < 18 else _GENDER)[Gender(self.gender)]}, occupation: "
            f"{OCCUPATION_LABELS[Occupation(self.occupation)]}; {_CATEGORY[UserCategory(self.category)]}."
        ]
        if self.description:
            lines.append(f"Your profile description: {snip(self.description)}")
        return "\n".join(lines)

    def examples(self) -> str:
        if not self.history:
            return ""
        return "Some of your own earlier posts:\n" + "\n".join(f"- {snip(p)}" for p in self.history)


@dataclass(frozen=True)
class Situation:
    """What the agent has in front of it this step."""

    emotion: int
    attitude: int
    received: int
    mean_intensity: float
    focal_text: str
    focal_source: int
    focal_stance: int
    focal_emotion: int
    focal_hours: float
    focal_labelled: bool
    memory: tuple[str, ...]
    actions_taken: int
    decay: float
    new_to_event: bool = False

    def text(self) -> str:
        lines = [
            "You had not heard of this event before this step." if self.new_to_event else "",
            f"Before this step your emotion about the event was {Emotion(self.emotion).name.lower()} and your attitude {Attitude(self.attitude).name.lower()}.",
            f"This step you received {self.received} post(s) about it (mean emotional intensity {self.mean_intensity:.1f} on a 0-2 scale).",
            f"The most prominent one, from {SOURCE_WORDS[Source(self.focal_source)]}, posted {self.focal_hours:.0f} hour(s) ago"
            + (", carries a platform warning label (disputed or misleading)" if self.focal_labelled else "")
            + ":",
            f"«{snip(self.focal_text)}»",
        ]
        if self.memory:
            lines.append("Other posts you still remember:\n" + "\n".join(f"- {snip(m)}" for m in self.memory))
        if self.actions_taken:
            lines.append(f"You have already reposted or posted about this event {self.actions_taken} time(s).")
        return "\n".join(line for line in lines if line)


def _messages(*parts: str) -> tuple:
    return ({"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(p for p in parts if p)})


def event_line(event: str) -> str:
    """The line every prompt opens with: what the event is (empty without one)."""
    return f"The event: {snip(event, 400)}" if event else ""


def decision(profile: Profile, situation: Situation, event: str) -> tuple:
    """Emotion, attitude and action in one call (the action first of Qiu et al.; the text comes after)."""
    return _messages(
        event_line(event),
        profile.text(),
        profile.examples(),
        situation.text(),
        f"Emotion fades when nothing new arrives: each quiet step it drops one level with probability {situation.decay:.2f}.",
        "Decide, in character:\n"
        f"1. emotion: your emotion after reading, one of {EMOTION_HELP};\n"
        "2. attitude: your attitude toward the event now, negative or positive;\n"
        f"3. action: what you do with the most prominent post: {ACTION_HELP}.\n"
        'Reply as {"emotion": ..., "attitude": ..., "action": ...}.',
    )


def emotion(profile: Profile, situation: Situation, event: str) -> tuple:
    """S3's emotion transition: current level, profile and received posts, with the decay coefficient."""
    return _messages(
        event_line(event),
        profile.text(),
        profile.examples(),
        situation.text(),
        f"Emotion is a Markov process: it depends on your current level and what you just read, and it fades: "
        f"each quiet step it drops one level toward calm with probability {situation.decay:.2f}.",
        f'What is your emotion now? One of {EMOTION_HELP}. Reply as {{"emotion": ...}}.',
    )


def attitude(profile: Profile, situation: Situation, event: str) -> tuple:
    """S3's attitude transition: current attitude, profile, history and the messages in memory."""
    return _messages(
        event_line(event),
        profile.text(),
        profile.examples(),
        situation.text(),
        "People rarely change their attitude, but a steady stream of convincing posts from trusted sources can move them. "
        "Posts with a warning label are less convincing.",
        'What is your attitude toward the event now, negative or positive? Reply as {"attitude": ...}.',
    )


def action(profile: Profile, situation: Situation, event: str, new_emotion: int, new_attitude: int) -> tuple:
    """The engagement action alone, given the updated emotion and attitude (modular mode)."""
    return _messages(
        event_line(event),
        profile.text(),
        profile.examples(),
        situation.text(),
        f"After reading, your emotion is {Emotion(new_emotion).name.lower()} and your attitude is {Attitude(new_attitude).name.lower()}.",
        f"What do you do with the most prominent post? One of {ACTION_HELP}. Most users ignore most posts. "
        'Reply as {"action": ...}.',
    )


def writing_task(profile: Profile, chosen: int) -> tuple[str, str]:
    """(what to write for the chosen quote or post, in whose style): Qiu et al. 2025's action-conditioned text."""
    task = (
        "You decided to quote the post above: forward it with a comment of your own (one to three sentences)."
        if chosen == Action.QUOTE
        else "You decided to write a new post of your own about the event (one to four sentences)."
    )
    style = (
        "Write in the language, tone and style of your own earlier posts above."
        if profile.history
        else "Write in the language of the post you read, as a typical Weibo user would."
    )
    return task, style


def text(profile: Profile, situation: Situation, event: str, chosen: int, new_emotion: int, new_attitude: int) -> tuple:
    """The words of a quote or post, conditioned on the chosen action, with the user's own posts as examples."""
    task, style = writing_task(profile, chosen)
    return _messages(
        event_line(event),
        profile.text(),
        profile.examples(),
        situation.text(),
        f"After reading, your emotion is {Emotion(new_emotion).name.lower()} and your attitude toward the event is {Attitude(new_attitude).name.lower()}.",
        f'{task} {style} No hashtags you would not use, no explanations. Reply as {{"text": ...}}.',
    )


def initial_attitude(profile: Profile, event: str) -> tuple:
    """S3's initial attitude from profile and posting history, before any message arrives."""
    return _messages(
        event_line(event),
        profile.text(),
        profile.examples(),
        "You have just heard of the event. Judging from who you are and what you usually post, is your first attitude "
        'toward it negative or positive? Reply as {"attitude": ...}.',
    )


def demographics(description: str, posts: list[str], examples: int = 10) -> tuple:
    """Age, gender and one of S3's ten occupations from a user's description and posts."""
    labels = "; ".join(OCCUPATION_LABELS[o] for o in Occupation)
    shown = "\n".join(f"- {snip(p)}" for p in posts[:examples]) or "(none)"
    return (
        {
            "role": "system",
            "content": "You infer the demographics of social-media users from what they write. Answer with one JSON object only.",
        },
        {
            "role": "user",
            "content": f"Profile description: {snip(description, 400) or '(empty)'}\n\nSome posts:\n{shown}\n\n"
            f"Estimate the author's age in years (null if there is no clue at all), gender (female, male or unknown) and occupation, "
            f'one of: {labels}; or unknown. Reply as {{"age": ..., "gender": ..., "occupation": ...}}.',
        },
    )


class HistoryIndex:
    """Each user's own posts and description, looked up by agent index without scanning the table."""

    def __init__(self, network, examples: int):
        self.examples = examples
        posts = network.posts
        self.texts: list[str] = []
        self.ptr = np.zeros(network.n_users + 1, dtype=np.int64)
        if posts is not None and len(posts) and examples:
            owner = posts["user_index"].to_numpy(dtype=np.int64)
            order = np.argsort(owner, kind="stable")
            self.texts = posts["text"].astype(str).to_numpy()[order].tolist()
            np.cumsum(np.bincount(owner, minlength=network.n_users), out=self.ptr[1:])
        users = network.users
        self.descriptions = (
            users["description"].astype(object).where(users["description"].notna(), "").astype(str).to_numpy()
            if users is not None and "description" in users
            else None
        )

    def history(self, agent: int) -> tuple[str, ...]:
        start, end = self.ptr[agent], self.ptr[agent + 1]
        return tuple(self.texts[start : min(end, start + self.examples)])

    def description(self, agent: int) -> str:
        return "" if self.descriptions is None else self.descriptions[agent]


def profiles(sim, agents: np.ndarray, index: HistoryIndex) -> list[Profile]:
    pop = sim.population
    return [
        Profile(
            int(pop.age[a]),
            int(pop.gender[a]),
            int(pop.occupation[a]),
            int(pop.category[a]),
            index.description(a),
            index.history(a),
        )
        for a in agents
    ]


def situations(batch, sim) -> list[Situation]:
    """Each batch row's situation: state, received posts, the focal post and what memory holds."""
    posts, state = sim.posts, sim.state
    hours = sim.scenario.minutes_per_step / 60.0
    was_aware = getattr(batch, "was_aware", None)
    out = []
    for i, agent in enumerate(batch.agent):
        focal = int(batch.focal_post[i])
        remembered = [int(p) for p in state.mem_post[agent] if p != NO_POST and p != focal][:MEMORY_SHOWN]
        out.append(
            Situation(
                emotion=int(batch.emotion[i]),
                attitude=int(batch.attitude[i]),
                received=int(batch.received[i]),
                mean_intensity=float(batch.mean_intensity[i]),
                focal_text=sim.text_of(int(posts.text_id[focal])),
                focal_source=int(batch.focal_source[i]),
                focal_stance=int(batch.focal_stance[i]),
                focal_emotion=int(batch.focal_emotion[i]),
                focal_hours=float(batch.focal_age[i] + 1) * hours,
                focal_labelled=bool(batch.focal_labelled[i]),
                memory=tuple(sim.text_of(int(posts.text_id[p])) for p in remembered),
                actions_taken=int(batch.actions_taken[i]),
                decay=float(sim.scenario.emotion.decay),
                new_to_event=was_aware is not None and not bool(was_aware[i]),
            )
        )
    return out


def event_summary(scenario) -> str:
    """What the event is, for every prompt: the first seed post as users saw it, else the scenario's description.

    The description is the modeller's view (it may say "rumour" or "correction"), so agents see it only
    when there is nothing else.
    """
    from ..interventions import SeedPost

    seeds = sorted((s for s in scenario.interventions if isinstance(s, SeedPost)), key=lambda s: s.step)
    return seeds[0].text if seeds else scenario.description
