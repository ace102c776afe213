"""The landing page's one-click example: load a shipped scenario, start it, and show it running."""

from __future__ import annotations

import streamlit as st

from s3core import scenario as S

from . import scenario_io
from .session import SHIPPED_SCENARIOS, Workspace
from .widgets import md_escape

EXAMPLE = "default"  # a key of SHIPPED_SCENARIOS
SIMULATE_PAGE = "pages/4_Simulate.py"


def start_example(ws: Workspace, name: str = EXAMPLE) -> None:
    """Apply the shipped scenario ``name`` as the Interventions page does, reset the interactive run and start
    all its steps in the background.

    Raises:
        S.ScenarioError: the scenario does not fit the loaded network (the workspace is left as it was).
        RuntimeError: a run of this workspace is already going.
    """
    if ws.live is not None and ws.live.running:
        raise RuntimeError("a run is in progress; stop it on Simulate first")
    path = S.DATA_DIR / "scenarios" / SHIPPED_SCENARIOS[name]
    note = scenario_io.apply(ws, S.load(path), path.name)
    ws.notify("success", f"Loaded the example {path.name} and started its {ws.scenario.steps} steps.")
    if note:
        ws.notify("info", note)
    ws.reset()
    ws.live_run().start(ws.scenario.steps)


def render_try_example(ws: Workspace) -> None:
    """A "Try the example" button: start the shipped default scenario and switch to Simulate to watch it."""
    description = S.load(S.DATA_DIR / "scenarios" / SHIPPED_SCENARIOS[EXAMPLE]).description
    if st.button(
        "Try the example",
        type="primary",
        key="try_example",
        icon=":material/play_arrow:",
        help=f"Loads the shipped scenario '{EXAMPLE}' and runs it: {description}",
    ):
        try:
            start_example(ws)
        except (S.ScenarioError, RuntimeError, ValueError) as exc:
            st.error(md_escape(f"The example could not start: {exc}"))
            return
        st.switch_page(SIMULATE_PAGE)
