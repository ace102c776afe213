"""The Network page's widget values, kept across page switches: from the loaded network, or remembered.

Streamlit forgets a widget's value when a run does not draw it (any run of another page), so the
Network page would come back as "Bundled, 5,000 users". The page fills its dropped widgets just
before drawing them: the source choice and the synthetic generator's settings from the loaded
network's scenario section (so they describe the network in use, however it was loaded), and the
tab and graph view choices (sample kind, size, centre) from copies that ``remember`` keeps in
session state under a key no widget owns, as long as the same network is loaded.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from s3core.scenario import NetworkSpec

from .networks import MAX_SYNTHETIC_USERS, synthetic_fields

SOURCES = {"bundled": "Bundled Weibo sample", "synthetic": "Synthetic graph", "upload": "Upload files"}
SOURCE_KEY = "net_source"
# widget key -> (NetworkSpec field, default shown when the loaded network is not synthetic)
SYNTHETIC_KEYS = {
    "net_syn_n_users": "n_users",
    "net_syn_mean": "mean_followees",
    "net_syn_recip": "reciprocity",
    "net_syn_tail": "tail_exponent",
    "net_syn_seed": "graph_seed",
}
DEFAULT_USERS = 5000
DEFAULT_SEED = 1
MEAN_RANGE = (1.0, 50.0)  # the density slider's range (the generator itself takes 0 to 200)
VIEW_KEYS = ("net_tabs", "net_view_mode", "net_view_size", "net_view_center")
_KEPT = "_net_kept"  # {"network": key, "values": {widget key: value}}
_FILLED_FOR = "_net_form_network"  # the network the widgets were last filled for
_REFRESH = "_net_form_refresh"  # the generator's values must be refilled from the loaded network


def source_choice(spec: NetworkSpec) -> str:
    """The source option that made this network: synthetic, bundled, or upload (files, graph, cascades)."""
    if spec.source in ("bundled", "synthetic"):
        return spec.source
    return "upload"


def synthetic_values(spec: NetworkSpec) -> dict[str, float | int]:
    """The generator widgets' values for a network: its own settings when synthetic, else the defaults.

    Values are clipped to the widgets' ranges (a scenario file may ask for more users than the
    dashboard builds, or a density beyond the slider), so the widgets can always be drawn.
    """
    fields = synthetic_fields()
    meta = {name: fields[name].metadata for name in ("reciprocity", "tail_exponent")}
    if spec.source == "synthetic":
        raw = {field: getattr(spec, field) for field in SYNTHETIC_KEYS.values()}
        if raw["graph_seed"] < 0:  # drawn from the run seed: no graph seed to show
            raw["graph_seed"] = DEFAULT_SEED
    else:
        raw = {name: fields[name].default for name in ("mean_followees", "reciprocity", "tail_exponent")}
        raw.update(n_users=DEFAULT_USERS, graph_seed=DEFAULT_SEED)

    def clip(value, lo, hi):
        return min(max(value, lo), hi)

    return {
        "net_syn_n_users": int(clip(raw["n_users"], 10, MAX_SYNTHETIC_USERS)),
        "net_syn_mean": float(clip(raw["mean_followees"], *MEAN_RANGE)),
        "net_syn_recip": float(clip(raw["reciprocity"], meta["reciprocity"]["min"], meta["reciprocity"]["max"])),
        "net_syn_tail": float(clip(raw["tail_exponent"], meta["tail_exponent"]["min"], meta["tail_exponent"]["max"])),
        "net_syn_seed": int(clip(raw["graph_seed"], 0, 2**31 - 1)),
    }


def restore(state: MutableMapping, spec: NetworkSpec, network_key: str) -> None:
    """At the top of the page: the source choice and the tab, when Streamlit dropped them.

    When another network has been loaded since the last call (on this page or elsewhere, e.g. by
    applying a scenario file), the source choice is set to that network's and the generator's
    values are marked for a refresh; a choice made on the page for the same network is kept.

    Args:
        state: ``st.session_state`` (any mutable mapping in tests).
        spec: the loaded network's scenario section.
        network_key: the loaded network's cache key; remembered view choices apply only to it.
    """
    changed = state.get(_FILLED_FOR) != network_key
    state[_FILLED_FOR] = network_key
    if changed:
        state[_REFRESH] = True
    if changed or SOURCE_KEY not in state:
        state[SOURCE_KEY] = source_choice(spec)
    _fill(state, network_key, ("net_tabs",))


def restore_generator(state: MutableMapping, spec: NetworkSpec) -> None:
    """Right before the generator's form: its values, from the loaded network when they were dropped or stale.

    Called only in runs that draw the form: a value set for a widget that is not drawn would stay
    in session state as a plain value and come back, stale, after the widget's own state is dropped.
    """
    refresh = state.pop(_REFRESH, False)
    for key, value in synthetic_values(spec).items():
        if refresh or key not in state:
            state[key] = value


def restore_view(state: MutableMapping, network_key: str) -> None:
    """Right before the graph view's controls: the sample kind, size and centre last used on this network."""
    _fill(state, network_key, ("net_view_mode", "net_view_size", "net_view_center"))


def _fill(state: MutableMapping, network_key: str, keys: tuple[str, ...]) -> None:
    kept = state.get(_KEPT) or {}
    if kept.get("network") == network_key:
        for key in keys:
            if key not in state and key in kept.get("values", {}):
                state[key] = kept["values"][key]


def remember(state: MutableMapping, network_key: str) -> None:
    """At the end of the page: copy the tab and graph view choices where Streamlit keeps them across pages."""
    kept = state.get(_KEPT) or {}
    values = dict(kept.get("values", {})) if kept.get("network") == network_key else {}
    values.update({key: state[key] for key in VIEW_KEYS if key in state})
    state[_KEPT] = {"network": network_key, "values": values}
