"""Widgets built from a parameter dataclass's own field metadata (range, help, choices).

A new parameter in s3core appears on the page with its range and help without touching the UI.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st


def widget_key(prefix: str, name: str) -> str:
    return f"{prefix}_{name}"


def _step(lo: float, hi: float) -> float:
    """A slider step of about 1/200 of the range, rounded to a readable number."""
    span = float(hi) - float(lo)
    raw = span / 200 if span > 0 else 0.01
    for nice in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0):
        if raw <= nice:
            return nice
    return float(round(raw))


def field_widget(f: dataclasses.Field, value: Any, key: str, container=st) -> Any:
    """One widget for one field: a select box for choices, a slider for bounded numbers."""
    meta = f.metadata
    label = f.name.replace("_", " ")
    help_text = meta.get("help")
    choices = meta.get("choices")
    if choices is not None:
        return container.selectbox(label, list(choices), index=list(choices).index(value), help=help_text, key=key)
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, bool):
        return container.checkbox(label, value=value, help=help_text, key=key)
    if isinstance(value, int):
        if lo is not None and hi is not None and hi - lo <= 1000:
            return container.slider(label, int(lo), int(hi), int(value), help=help_text, key=key)
        return container.number_input(
            label, min_value=lo, max_value=hi, value=int(value), step=1, help=help_text, key=key
        )
    if isinstance(value, float) and lo is not None and hi is not None:
        return container.slider(label, float(lo), float(hi), float(value), step=_step(lo, hi), help=help_text, key=key)
    if isinstance(value, float):
        return container.number_input(label, value=float(value), help=help_text, key=key)
    return container.text_input(label, value=str(value), help=help_text, key=key)


def params_form(obj: Any, prefix: str, columns: int = 2) -> Any:
    """Widgets for every init field of a frozen parameter dataclass; returns the edited copy.

    Values come back through ``dataclasses.replace`` so the dataclass's own checks apply;
    the caller validates ranges with ``s3core.params.validate``.
    """
    fields = [f for f in dataclasses.fields(obj) if f.init and f.metadata]
    cols = st.columns(columns)
    values = {}
    for i, f in enumerate(fields):
        values[f.name] = field_widget(f, getattr(obj, f.name), widget_key(prefix, f.name), cols[i % columns])
    return dataclasses.replace(obj, **values)


def clear_widgets(prefix: str, obj_type: type) -> None:
    """Forget the widgets of one dataclass, so they show the object's values again on the next run."""
    for f in dataclasses.fields(obj_type):
        st.session_state.pop(widget_key(prefix, f.name), None)
