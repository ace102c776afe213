"""The landing page's one-click example: load a shipped scenario, start it, and show it running.

Loading it replaces the workspace's scenario and network, so when they differ from the example's it asks
first, and what it replaced is kept for the Interventions page's "Undo last apply".
"""

from __future__ import annotations

import streamlit as st

from s3core import scenario as S

from . import scenario_io
from .networks import bundled
from .session import SHIPPED_SCENARIOS, Workspace
from .widgets import md_escape

EXAMPLE = "default"  # a key of SHIPPED_SCENARIOS
SIMULATE_PAGE = "pages/4_Simulate.py"
UNDO_KEY = "iv_undo_snapshot"  # the Interventions page's undo point, as its own applies record it
CONFIRM_KEY = "try_example_confirming"


def _example_path(name: str = EXAMPLE):
    return S.DATA_DIR / "scenarios" / SHIPPED_SCENARIOS[name]


def replaced(ws: Workspace, name: str = EXAMPLE) -> list[str]:
    """What loading the example would replace or reset (empty when the workspace already is the example, unrun)."""
    example = S.load(_example_path(name))
    out = []
    if ws.scenario.replace(network=example.network) != example:
        out.append(f"your scenario '{ws.scenario.name}' ({len(ws.scenario.interventions)} interventions)")
    if ws.net.spec not in (example.network, bundled().spec):  # a new workspace's bundled network is no one's work
        out.append(f"your network ({ws.net.label})")
    if ws.live is not None and ws.live.steps_done > 0:
        out.append(f"the interactive run at step {ws.live.steps_done}")
    return out


def network_note(ws: Workspace, name: str = EXAMPLE) -> str | None:
    """Why the example's network counts differ from the loaded one's, when the scenario carries the example's
    name on another network (a new workspace starts on the plain bundled sample), else None."""
    example = S.load(_example_path(name))
    if ws.scenario.name != example.name or ws.net.spec == example.network:
        return None
    return (
        f"Scenario '{example.name}' runs here on the loaded network ({ws.net.label}, "
        f"{ws.net.network.n_edges:,} follow edges); the shipped file, which Try the example loads, "
        + (
            f"augments the follower graph to {example.network.augment_followees:g} followees each, "
            "so its counts differ."
            if example.network.augment_followees > 0
            else "names another network."
        )
    )


def start_example(ws: Workspace, name: str = EXAMPLE) -> scenario_io.Snapshot:
    """Apply the shipped scenario ``name`` as the Interventions page does, reset the interactive run and start
    all its steps in the background; returns the undo point (the network and scenario it replaced).

    Raises:
        S.ScenarioError: the scenario does not fit the loaded network (the workspace is left as it was).
        RuntimeError: a run of this workspace is already going.
    """
    if ws.live is not None and ws.live.running:
        raise RuntimeError("a run is in progress; stop it on Simulate first")
    path = _example_path(name)
    gone = replaced(ws, name)
    plan = scenario_io.preview(ws, S.load(path), f"the example {path.name}")
    snapshot = scenario_io.commit(ws, plan)
    message = f"Loaded the example {path.name} and started its {ws.scenario.steps} steps."
    if gone:
        message += (
            f" It replaced {'; '.join(gone)}: 'Undo last apply' on Interventions brings the scenario and "
            "network back; your runs stay on Runs."
        )
    ws.notify("success", message)
    for note in plan.notes:
        ws.notify("info", note)
    ws.reset()
    ws.live_run().start(ws.scenario.steps)
    return snapshot


def _start(ws: Workspace) -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        snapshot = start_example(ws)
    except (S.ScenarioError, RuntimeError, ValueError) as exc:
        st.error(md_escape(f"The example could not start: {exc}"))
        return
    st.session_state[UNDO_KEY] = snapshot  # "Undo last apply" on Interventions
    st.session_state.pop("iv_applied", None)
    st.switch_page(SIMULATE_PAGE)


def render_try_example(ws: Workspace) -> None:
    """A "Try the example" button: start the shipped default scenario and switch to Simulate to watch it;
    asks first when that would replace a scenario, network or run of the user's."""
    description = S.load(_example_path()).description
    if st.button(
        "Try the example",
        type="primary",
        key="try_example",
        icon=":material/play_arrow:",
        help=f"Loads the shipped scenario '{EXAMPLE}' and runs it: {description}",
    ):
        if ws.live is not None and ws.live.running:  # refused at once, before any question
            st.session_state.pop(CONFIRM_KEY, None)
            st.error("The example could not start: a run is in progress; stop it on Simulate first")
            return
        if replaced(ws):
            st.session_state[CONFIRM_KEY] = True
        else:
            _start(ws)
            return
    if not st.session_state.get(CONFIRM_KEY):
        return
    gone = replaced(ws)
    if not gone:  # nothing of the user's is left to replace (e.g. the example was loaded elsewhere)
        st.session_state.pop(CONFIRM_KEY, None)
        return
    st.warning(
        md_escape(
            f"This replaces {'; '.join(gone)} with the example '{EXAMPLE}'. Your runs stay on Runs, and "
            "'Undo last apply' on Interventions brings the scenario and network back."
        ),
        icon=":material/warning:",
    )
    c = st.columns([1, 1, 4])
    if c[0].button("Replace and run", key="try_example_confirm", type="primary"):
        _start(ws)
    elif c[1].button("Cancel", key="try_example_cancel"):
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()
