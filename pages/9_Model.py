"""Model: the assumptions, the equations with the current scenario's values, calibration, limitations, citing."""

from __future__ import annotations

import streamlit as st

from ui import model_page
from ui.session import ensure_defaults, show_flash

ws = ensure_defaults()
st.title("Model")
show_flash(ws)
model_page.render(ws.scenario)
