"""Interventions: schedule seed posts, recommendation boosts and moderation; save and load scenario TOML."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from s3core import scenario as S
from s3core.interventions import MODERATION_ACTIONS, Audience, Boost, Moderation, SeedPost
from s3core.language import pool_mismatch
from s3core.types import Attitude, Emotion, Gender, Occupation, UserCategory, label
from ui import charts, scenario_io
from ui.session import SHIPPED_SCENARIOS, ensure_defaults, show_flash
from ui.widgets import chart, md_escape

ws = ensure_defaults()
st.title("Interventions")
st.caption(
    "What the platform or an official account does, and when: inject seed posts, push posts to an audience "
    "(boost), or remove, down-rank or label posts (moderation). Each intervention starts at a step."
)
show_flash(ws)

enum_label = lambda m: "any" if m is None else label(m)  # noqa: E731


def _target(prefix: str, seeds: list[str]) -> dict | None:
    """Widgets choosing what a boost or moderation acts on: a named seed, a post id, or a whole stance
    (None while a seed is asked for and there is none)."""
    kinds = ["seed post", "post id", "every post of a stance"]  # the same options always: a new seed shows at once
    kind = st.radio(
        "Target",
        kinds,
        horizontal=True,
        key=f"{prefix}_target_kind",
        help="A seed post by name (and all its reposts), any post by id (see the Simulate feed or Traces), "
        "or every post with a given stance, including later ones.",
    )
    if kind == "seed post":
        if not seeds:
            st.info("No named seed post yet: add one on the Seed post tab, and it is listed here.")
            return None
        return {"post": st.selectbox("Seed post", seeds, key=f"{prefix}_target_seed")}
    if kind == "post id":
        return {"post": int(st.number_input("Post id", min_value=0, value=0, step=1, key=f"{prefix}_target_post"))}
    return {"stance": st.selectbox("Stance", list(Attitude), key=f"{prefix}_target_stance", format_func=label)}


def _audience(prefix: str) -> Audience:
    kind = st.selectbox(
        "Audience",
        ["everyone", "fraction", "group", "category"],
        key=f"{prefix}_aud_kind",
        help="Who the boost reaches: everyone, a random share of agents, a demographic group, or an S3 user category.",
    )
    if kind == "fraction":
        return Audience(
            kind="fraction", fraction=st.slider("Share of agents", 0.0, 1.0, 0.2, 0.01, key=f"{prefix}_aud_fraction")
        )
    if kind == "group":
        c = st.columns(3)
        gender = c[0].selectbox("Gender", [None] + list(Gender), key=f"{prefix}_aud_gender", format_func=enum_label)
        occupation = c[1].selectbox(
            "Occupation", [None] + list(Occupation), key=f"{prefix}_aud_occupation", format_func=enum_label
        )
        age = c[2].slider("Age (years)", 0, 120, (0, 120), key=f"{prefix}_aud_age")
        return Audience(kind="group", gender=gender, occupation=occupation, age_min=age[0], age_max=age[1])
    if kind == "category":
        return Audience(
            kind="category",
            category=st.selectbox("Category", list(UserCategory), key=f"{prefix}_aud_category", format_func=label),
        )
    return Audience()


def _add(make) -> None:
    """Build an intervention from the form and add it; errors are shown, nothing changes."""
    try:
        item = make()
        scenario_io.add_intervention(ws, item)
    except (ValueError, TypeError) as exc:
        st.error(f"Not added: {md_escape(exc)}")
        return
    late = scenario_io.late_interventions(ws.scenario, only=[len(ws.scenario.interventions) - 1])
    if late:
        ws.notify("warning", f"Added {item.kind} at step {item.step}, but {late}")
    else:
        ws.notify("success", f"Added {item.kind} at step {item.step}.")
    st.rerun()  # so seed lists and the sidebar already include the new intervention


def _remove(ws) -> None:
    doomed = st.session_state.get("iv_remove_pick") or []
    try:
        scenario_io.remove_interventions(ws, doomed)
        st.session_state["iv_remove_pick"] = []
        ws.notify("success", f"Removed {len(doomed)} intervention(s).")
    except ValueError as exc:
        ws.notify("error", f"Not removed: {exc}. Remove the interventions that refer to it too.")


seed_names = [iv.name for iv in ws.scenario.interventions if isinstance(iv, SeedPost) and iv.name]

# -- schedule -----------------------------------------------------------------------------------------
st.subheader(f"Schedule of '{md_escape(ws.scenario.name)}'")
if mismatch := pool_mismatch(ws.scenario):  # the seed posts' language vs the text pool's
    st.warning(mismatch, icon=":material/translate:")
schedule_box, builder_box = st.container(), st.container()  # shown in this order, filled builder first

with builder_box:
    tabs = st.tabs(["Seed post", "Boost", "Moderation"], key="iv_builder_tabs")
    with tabs[0]:
        with st.form("iv_seed_form", clear_on_submit=False):
            c = st.columns([1, 1.4, 1.4])
            step = c[0].number_input("Step", min_value=0, max_value=100_000, value=0, key="iv_seed_step")
            name = c[1].text_input(
                "Name",
                value=f"seed-{len(seed_names) + 1}",
                key="iv_seed_name",
                help="Boosts and moderation refer to the seed by this name.",
            )
            author = c[2].text_input(
                "Author user id (empty = official account)",
                value="",
                key="iv_seed_author",
                help="Posted by this user to their followers, or by the official account, whom a share of agents follow.",
            )
            text = st.text_area("Text", key="iv_seed_text", placeholder="The post's text; it is treated as plain text.")
            c = st.columns(2)
            stance = c[0].selectbox("Stance", list(Attitude), key="iv_seed_stance", format_func=label)
            emotion = c[1].selectbox("Emotion", list(Emotion), index=1, key="iv_seed_emotion", format_func=label)
            if st.form_submit_button("Add seed post", type="primary"):
                if not text.strip():
                    st.error("Not added: the seed post needs a text.")
                elif name.strip() in seed_names:
                    st.error(f"Not added: a seed named '{md_escape(name.strip())}' exists; pick another name.")
                else:
                    _add(
                        lambda: SeedPost(
                            step=int(step),
                            text=text.strip(),
                            name=name.strip(),
                            author=author.strip() or None,
                            stance=stance,
                            emotion=emotion,
                        )
                    )
    with tabs[1]:
        c = st.columns(3)
        step = c[0].number_input("Start step", min_value=0, max_value=100_000, value=0, key="iv_boost_step")
        duration = c[1].number_input(
            "Duration (steps)", min_value=1, max_value=10_000, value=3, key="iv_boost_duration"
        )
        strength = c[2].slider(
            "Strength",
            0.001,
            1.0,
            0.05,
            0.001,
            key="iv_boost_strength",
            format="%.3f",
            help="Chance per step that each audience member is shown the boosted post.",
        )
        target = _target("iv_boost", seed_names)
        audience = _audience("iv_boost")
        if st.button("Add boost", key="iv_boost_add", type="primary", disabled=target is None):
            _add(
                lambda: Boost(
                    step=int(step), duration=int(duration), strength=float(strength), audience=audience, **target
                )
            )
    with tabs[2]:
        c = st.columns(3)
        step = c[0].number_input("Step", min_value=0, max_value=100_000, value=0, key="iv_mod_step")
        action = c[1].selectbox(
            "Action",
            list(MODERATION_ACTIONS),
            key="iv_mod_action",
            help="remove: gone from feeds and memory pools; downrank: seen less often; "
            "label: a warning label that lowers persuasion and reposting.",
        )
        strength = c[2].slider(
            "Visibility kept (down-rank only)",
            0.0,
            1.0,
            0.3,
            0.01,
            key="iv_mod_strength",
            disabled=action != "downrank",
        )
        target = _target("iv_mod", seed_names)
        if st.button("Add moderation", key="iv_mod_add", type="primary", disabled=target is None):
            _add(lambda: Moderation(step=int(step), action=action, strength=float(strength), **target))

with schedule_box:
    items = ws.scenario.interventions
    chart(charts.timeline(items, ws.scenario.steps, ws.scenario.minutes_per_step), key="iv_timeline")
    late = scenario_io.late_interventions(ws.scenario)
    if late:
        st.warning(md_escape(late), icon=":material/schedule:")
    if items:
        st.dataframe(scenario_io.schedule_frame(items), hide_index=True, width="stretch", key="iv_table")
        c = st.columns([3, 1], vertical_alignment="bottom")
        doomed = c[0].multiselect(
            "Remove interventions",
            list(range(len(items))),
            key="iv_remove_pick",
            format_func=lambda i: scenario_io.item_label(i, items[i]),
        )
        c[1].button("Remove selected", key="iv_remove", disabled=not doomed, on_click=_remove, args=(ws,))
    else:
        st.info("No interventions yet: the event spreads only if a seed post starts it. Add one below.")


def _commit(plan: scenario_io.Preview) -> None:
    """Make a previewed scenario current, keeping what it replaces for 'Undo last apply'."""
    st.session_state["iv_undo_snapshot"] = scenario_io.commit(ws, plan)
    ws.notify("success", f"Applied {plan.origin}.")
    for note in plan.notes:
        ws.notify("info", note)


def _undo() -> None:
    snapshot = st.session_state.pop("iv_undo_snapshot", None)
    if snapshot is not None:
        scenario_io.undo(ws, snapshot)
        st.session_state.pop("iv_applied", None)
        ws.notify("success", f"Undone: the network and scenario from before {snapshot.origin} are back.")


def _signature(upload) -> tuple:
    return (upload.name, hashlib.sha256(upload.getvalue()).hexdigest())


def _upload_preview(upload) -> scenario_io.Preview | None:
    """What applying the uploaded file would change (shown, not applied), or None after an error or once applied."""
    signature = _signature(upload)
    applied = st.session_state.get("iv_applied")
    if applied is not None and applied[0] == signature and applied[1] is ws.scenario:
        st.caption(f"{md_escape(upload.name)} is applied.")
        return None
    cached = st.session_state.get("iv_preview_cache")
    if cached is not None and cached[0] == signature and cached[1] is ws.scenario and cached[2] is ws.net:
        plan = cached[3]
    else:
        try:
            parsed = scenario_io.parse_upload(upload.name, upload.getvalue())
            plan = scenario_io.preview(ws, parsed.scenario, upload.name, parsed.network_given)
        except S.ScenarioError as exc:
            st.error(
                f"{md_escape(exc)}\n\nThe current scenario ('{md_escape(ws.scenario.name)}') is unchanged.",
                icon=":material/error:",
            )
            return None
        st.session_state["iv_preview_cache"] = (signature, ws.scenario, ws.net, plan)
    with st.container(key="iv_preview"):
        st.markdown(f"**Applying {md_escape(upload.name)} changes:**")
        rows = pd.DataFrame(list(plan.rows), columns=["setting", "now", "after applying"])
        st.table(rows.set_index("setting"))  # wraps long network labels, unlike a dataframe
        for note in plan.notes:
            st.info(md_escape(note), icon=":material/info:")
    return plan


SETTINGS_KEYS = ("iv_name", "iv_seed", "iv_steps", "iv_minutes", "iv_description")


def _settings_of(scenario: S.Scenario) -> tuple:
    """The settings form's values for ``scenario``, in SETTINGS_KEYS order."""
    return (scenario.name, scenario.seed, scenario.steps, float(scenario.minutes_per_step), scenario.description)


# -- scenario file --------------------------------------------------------------------------------------
st.subheader("Scenario")
left, right = st.columns(2)
with left:
    # The form shows the current scenario whichever way it changed (apply, undo, example, reload): its
    # widgets are refilled from ws.scenario before they are drawn, so Apply never writes stale values.
    shown = _settings_of(ws.scenario)
    refilled = st.session_state.get("iv_settings_of") != shown or any(k not in st.session_state for k in SETTINGS_KEYS)
    if refilled:
        st.session_state.update(zip(SETTINGS_KEYS, shown))
        st.session_state["iv_settings_of"] = shown
    with st.form("iv_settings"):
        c = st.columns(2)
        name = c[0].text_input("Name", key="iv_name")
        seed = c[1].number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            key="iv_seed",
            help="The same scenario and seed always reproduce the same run.",
        )
        steps = c[0].number_input(
            "Steps",
            min_value=1,
            max_value=100_000,
            key="iv_steps",
            help="Length of a full run (Compare's batch runs; Simulate's default N).",
        )
        minutes = c[1].number_input(
            "Minutes per step",
            min_value=1.0,
            max_value=10_080.0,
            key="iv_minutes",
            help="Simulated time per step; only labels axes.",
        )
        description = st.text_area("Description", key="iv_description", height=80)
        submitted = st.form_submit_button("Apply settings")
        if submitted and refilled:  # the scenario changed after the form was drawn: what was typed is not applied
            st.warning("The scenario changed since this form was shown; it now shows the current values. Apply again.")
        elif submitted:
            changed = ws.scenario.replace(
                name=name.strip() or "untitled",
                seed=int(seed),
                steps=int(steps),
                minutes_per_step=float(minutes),
                description=description,
            )
            try:
                if scenario_io.network_follows_seed(ws.scenario) and changed.seed != ws.scenario.seed:
                    scenario_io.apply(ws, changed, "the settings")  # a network drawn from the run seed is redrawn
                else:
                    ws.scenario = changed
                st.rerun()
            except S.ScenarioError as exc:
                st.error(f"Not applied: {md_escape(exc)}")
    shipped = st.selectbox("Shipped scenarios", list(SHIPPED_SCENARIOS), key="iv_shipped")
    if st.button("Load shipped scenario", key="iv_load_shipped"):
        path = S.DATA_DIR / "scenarios" / SHIPPED_SCENARIOS[shipped]
        try:
            plan = scenario_io.preview(ws, S.load(path), path.name)
            _commit(plan)
            st.rerun()
        except S.ScenarioError as exc:
            st.error(md_escape(exc))
with right:
    toml_text = S.dumps(ws.scenario)
    st.download_button(
        "Download scenario (TOML)",
        data=toml_text,
        file_name=f"{ws.scenario.name or 'scenario'}.toml",
        mime="application/toml",
        key="iv_download",
        icon=":material/download:",
        type="primary",
    )
    upload = st.file_uploader(
        "Upload scenario (TOML)",
        type=["toml", "txt"],
        key="iv_upload",
        help="Shows what would change; 'Apply uploaded scenario' makes it current. A bad file changes nothing.",
    )
    plan = _upload_preview(upload) if upload is not None else None
    if st.button("Apply uploaded scenario", key="iv_apply_upload", disabled=plan is None, type="primary"):
        _commit(plan)
        st.session_state["iv_applied"] = (_signature(upload), ws.scenario)
        st.rerun()
    undo = st.session_state.get("iv_undo_snapshot")
    if undo is not None:
        st.button(
            f"Undo last apply ({undo.origin})",
            key="iv_undo",
            icon=":material/undo:",
            on_click=_undo,
            help="Restores the network and scenario that were current before it, exactly.",
        )
    with st.expander("Scenario as TOML"):
        st.code(toml_text, language="toml")
