"""Network: choose the follow graph (bundled, synthetic, uploaded) and look at its structure."""

from __future__ import annotations

import streamlit as st

from s3core.types import UserCategory, label
from ui import charts, netview, network_form
from ui.networks import MAX_SYNTHETIC_USERS, bundled, synthetic, synthetic_fields
from ui.session import ensure_defaults, show_flash
from ui.widgets import chart, md_escape, sample_controls, sample_layout, show_network

SOURCES = network_form.SOURCES


def _use_bundled(ws) -> None:
    ws.use_network(bundled())
    ws.notify("success", "Loaded the bundled Weibo sample.")


@st.fragment
def graph_view(ws, category) -> None:
    """The sample controls and the view: a fragment, so a new size or centre reruns only this part."""
    net = ws.net.network
    followers, followees = net.follower_count, net.followee_count
    network_form.restore_view(st.session_state, ws.net.key)
    mode, size, center = sample_controls(net, "net_view")
    lay = sample_layout(ws.net.key, mode, size, center, net)
    nodes = lay.nodes
    cats = category[nodes]
    titles = [
        f"{net.user_ids[a]} · {label(UserCategory(int(c)))} · {followers[a]:,} followers, {followees[a]:,} followees"
        for a, c in zip(nodes.tolist(), cats.tolist())
    ]
    labels = [str(net.user_ids[a])[:10] for a in nodes.tolist()] if len(nodes) <= 80 else None
    fig = netview.render(lay, netview.category_colors(cats), titles, netview.node_sizes(followers[nodes]), labels)
    st.caption(
        f"{len(nodes):,} users and {len(lay.src):,} follow edges among them. Colour: "
        "vermillion = influential, blue = regular, sky blue = low-impact; dot size grows with followers; "
        "darker edges are mutual follows, lighter ones one-way (direction is not drawn: hover a user for "
        "their follower and followee counts). Drag to pan, scroll to zoom, double-click to fit."
    )
    show_network(fig)
    network_form.remember(st.session_state, ws.net.key)  # also on the fragment's own reruns


ws = ensure_defaults()
network_form.restore(st.session_state, ws.net.spec, ws.net.key)  # widgets show the loaded network's settings
st.title("Network")
st.caption("The follow graph the agents live on: an edge means the first user follows the second and sees their posts.")
show_flash(ws)

with st.container(border=True):
    source = st.radio("Network source", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="net_source")
    if source == "bundled":
        st.write(
            "A real Weibo sample shipped with the tool: users who posted about a nuclear-energy rumour, "
            "their follow edges, follower counts and posting histories."
        )
        st.button(
            "Load bundled network",
            key="net_load_bundled",
            on_click=_use_bundled,
            args=(ws,),
            disabled=ws.net.key == "bundled",
            type="primary",
        )
    elif source == "synthetic":
        fields = synthetic_fields()
        network_form.restore_generator(st.session_state, ws.net.spec)
        with st.form("net_synthetic"):
            cols = st.columns(5)
            f = fields["n_users"]
            n_users = cols[0].number_input(
                "Users",
                min_value=10,
                max_value=MAX_SYNTHETIC_USERS,
                step=1000,
                help=f.metadata["help"] + f" The dashboard builds up to {MAX_SYNTHETIC_USERS:,}.",
                key="net_syn_n_users",
            )
            f = fields["mean_followees"]
            mean = cols[1].slider(
                "Density: mean followees",
                *network_form.MEAN_RANGE,
                step=0.5,
                help=f.metadata["help"],
                key="net_syn_mean",
            )
            f = fields["reciprocity"]
            recip = cols[2].slider(
                "Reciprocity",
                float(f.metadata["min"]),
                float(f.metadata["max"]),
                step=0.05,
                help=f.metadata["help"],
                key="net_syn_recip",
            )
            f = fields["tail_exponent"]
            tail = cols[3].slider(
                "Tail exponent",
                float(f.metadata["min"]),
                float(f.metadata["max"]),
                step=0.1,
                help=f.metadata["help"],
                key="net_syn_tail",
            )
            seed = cols[4].number_input(
                "Seed",
                min_value=0,
                max_value=2**31 - 1,
                key="net_syn_seed",
                help="The same settings and seed always give the same graph.",
            )
            submitted = st.form_submit_button("Generate synthetic network", type="primary")
        if submitted:
            try:
                ws.use_network(synthetic(int(n_users), float(mean), float(recip), float(tail), int(seed)))
                st.success(f"Generated {md_escape(ws.net.label)}.")
            except (ValueError, MemoryError) as exc:
                st.error(f"Could not generate the network: {md_escape(exc)}. The previous network is still loaded.")
    else:
        st.write(
            "An edge list CSV with a header `follower,followee` (one follow per line), optionally a users CSV "
            "(`user_id` plus any of age, gender, occupation, description, followers, friends) and a posts CSV "
            "(`user_id,text`); or one GraphML/GEXF file where an edge u → v means u follows v."
        )
        cols = st.columns(4)
        forget = {"on_change": st.session_state.pop, "args": ("net_upload_error", None)}  # new files, new verdict
        up = {
            "edges": cols[0].file_uploader("Edge list (CSV)", type=["csv", "txt"], key="net_up_edges", **forget),
            "users": cols[1].file_uploader("Users (CSV, optional)", type=["csv", "txt"], key="net_up_users", **forget),
            "posts": cols[2].file_uploader("Posts (CSV, optional)", type=["csv", "txt"], key="net_up_posts", **forget),
            "graph": cols[3].file_uploader(
                "or a graph (GraphML/GEXF)", type=["graphml", "gexf", "xml"], key="net_up_graph", **forget
            ),
        }
        if st.button(
            "Load uploaded files", key="net_load_upload", type="primary", disabled=all(v is None for v in up.values())
        ):
            files = {role: (f.name, f.getvalue()) for role, f in up.items() if f is not None}
            with st.spinner("Checking and loading the files..."):
                error = ws.load_upload(files)
            st.session_state["net_upload_error"] = error
            if not error:
                st.success(f"Loaded {md_escape(ws.net.label)}.")
        error = st.session_state.get("net_upload_error")
        if error:  # stays until the files change, so the fix can be read while editing them
            st.error(
                f"{md_escape(error)}\n\nThe previously loaded network ({md_escape(ws.net.label)}) is still in use.",
                icon=":material/error:",
            )

net = ws.net.network
pop = ws.population()
st.subheader(ws.net.label)
for text in getattr(ws.net, "warnings", ()):  # what the loader noticed in the files: shown as long as they are loaded
    st.warning(md_escape(text) + ".", icon=":material/warning:")
for text in getattr(ws.net, "notes", ()):
    st.caption(md_escape(text[:1].upper() + text[1:]) + ".")
followers, followees = net.follower_count, net.followee_count
cols = st.columns(6)
cols[0].metric("Users", f"{net.n_users:,}")
cols[1].metric("Follow edges", f"{net.n_edges:,}")
cols[2].metric("Mean followees", f"{net.n_edges / max(net.n_users, 1):.2f}")
cols[3].metric("Reciprocated edges", f"{net.follower_mutual.mean() if net.n_edges else 0:.1%}")
cols[4].metric("Isolated users", f"{int(((followers + followees) == 0).sum()):,}")
cols[5].metric("Posts in histories", f"{0 if net.posts is None else len(net.posts):,}")
if ws.pending_changes() and ws.live is not None and ws.live.has_trace:
    st.info(
        "The interactive run on the Simulate page still uses its own network until you press Reset there.",
        icon=":material/info:",
    )

tabs = st.tabs(["Degrees", "Categories", "Demographics", "Graph view"], key="net_tabs", on_change="rerun")
with tabs[0]:
    if tabs[0].open:
        chart(charts.degree_distribution(followers, followees), key="net_degrees")
        st.caption(
            "Followers = accounts that see a user's posts; followees = accounts a user follows. "
            "Users with zero of either are left out of the log-log plot."
        )
with tabs[1]:
    if tabs[1].open:
        chart(charts.categories(pop.category), key="net_categories")
        st.caption(
            "S3's user groups: influential (many more followers than followees), regular, and "
            "low-impact (few followers and no posting history, the ends of propagation chains)."
        )
with tabs[2]:
    if tabs[2].open:
        prov = pop.provenance  # the engine's own, profiles file included
        st.caption(
            "Colour shows where each value comes from: given in the users file, from the scenario's profiles file "
            "(profiled, e.g. by an LLM on the Agents page), inferred from the user's description or posts by the "
            "offline rules, or drawn from the population shares set on the Agents page."
        )
        c = st.columns(2)
        with c[0]:
            chart(charts.age_histogram(pop.age, prov[:, 0]), key="net_age")
        with c[1]:
            chart(charts.gender_bars(pop.gender, prov[:, 1]), key="net_gender")
        chart(charts.occupation_bars(pop.occupation, prov[:, 2]), key="net_occupation")
with tabs[3]:
    if tabs[3].open:
        graph_view(ws, pop.category)
network_form.remember(st.session_state, ws.net.key)  # the graph view's choices, for coming back
