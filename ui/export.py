"""Exports: tables as CSV and Parquet, charts as standalone HTML and PNG.

CSV is for spreadsheets, so ``csv_bytes`` writes UTF-8 with a byte-order mark (Excel on Windows
reads Chinese text right only with one) and neutralizes text that a spreadsheet would run as a
formula (OWASP's CSV-injection guidance). Parquet keeps every value verbatim.

PNG goes through kaleido, which drives a local Chromium (Debian's /usr/bin/chromium); one
renderer per process is kept warm, so the first PNG takes a few seconds and later ones well
under one. Without kaleido or Chromium, ``png_status`` says why and pages offer HTML and the
chart toolbar's own PNG button instead.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import warnings

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

PNG_SIZE = {"width": 1100, "height": 500, "scale": 2}
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# The toolbar of every chart: its camera button saves a PNG in the browser, with no server help.
CHART_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


# A text cell starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_ENCODING = "utf-8-sig"  # UTF-8 with a byte-order mark


def neutral_cell(value):
    """A text value that starts like a formula, with a leading single quote; anything else unchanged.

    The quote makes a spreadsheet show the text as typed instead of running it (``=1+1`` stays
    ``=1+1`` on screen, shown as text). Numbers are never changed: -3 in a numeric column stays -3.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names cannot run as spreadsheet formulas.

    Only text (object and string) columns are touched, so numeric columns keep their dtype and values.
    """
    out = df.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            out[column] = out[column].map(neutral_cell, na_action="ignore")
    out.columns = [neutral_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """``df`` as CSV for spreadsheets: UTF-8 with a BOM, formula-looking text neutralized, no index.

    Every CSV download of the dashboard goes through here (``ui.widgets.table_exports``).
    """
    return spreadsheet_safe(df).to_csv(index=False).encode(CSV_ENCODING)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def html_bytes(fig: go.Figure) -> bytes:
    """A standalone HTML file with plotly.js inlined: opens offline, stays interactive."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config=CHART_CONFIG).encode("utf-8")


def _browser() -> str | None:
    path = os.environ.get("BROWSER_PATH")
    if path and os.path.exists(path):
        return path
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def png_status() -> str | None:
    """None when PNG export works here, else the reason it does not."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return "PNG export needs the kaleido package (pip install -r requirements.txt)."
    if _browser() is None:
        return "PNG export needs Chromium (apt-get install chromium); kaleido found no browser."
    return None


class _PngRenderer:
    """One warm kaleido/Chromium renderer shared by all sessions; it holds no user data."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = False

    def render(self, fig: go.Figure) -> bytes:
        import kaleido

        with self.lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not self.started:
                try:
                    kaleido.start_sync_server(silence_warnings=True)
                except Exception:  # already running, or this kaleido has no server: render one-off
                    pass
                self.started = True
            return fig.to_image(format="png", **PNG_SIZE)


@st.cache_resource(show_spinner=False)
def _renderer() -> _PngRenderer:
    return _PngRenderer()


def png_bytes(fig: go.Figure) -> bytes:
    """The figure as a PNG image (raises RuntimeError with the reason when it cannot)."""
    reason = png_status()
    if reason is not None:
        raise RuntimeError(reason)
    return _renderer().render(fig)
