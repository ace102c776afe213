"""Network views: sampling, layout (igraph), the plotly figure, and the Network page's remembered widgets."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from s3core.network import Network
from s3core.scenario import NetworkSpec
from s3core.synthetic import synthetic_network
from ui import netview, network_form
from ui.networks import MAX_SYNTHETIC_USERS, synthetic
from ui.session import STATE_KEY

ROOT = Path(__file__).resolve().parent.parent


def _reference_snowball(adj, seeds, size):
    """The sampler as first written (one node at a time, sorted by degree with Python's stable sort)."""
    degree = np.diff(adj.indptr)
    chosen, seen = [], np.zeros(adj.shape[0], dtype=bool)
    frontier = list(dict.fromkeys(int(s) for s in seeds))
    seen[frontier] = True
    while frontier and len(chosen) < size:
        chosen.extend(frontier[: size - len(chosen)])
        nxt = []
        for node in frontier:
            nb = adj.indices[adj.indptr[node] : adj.indptr[node + 1]]
            nb = nb[~seen[nb]]
            seen[nb] = True
            nxt.extend(nb.tolist())
        frontier = sorted(nxt, key=lambda v: -degree[v])
    return np.array(sorted(chosen), dtype=np.int64)


@pytest.mark.parametrize("size", [1, 25, 300, 1500])
def test_snowball_takes_whole_rings_best_connected_first_as_the_reference_does(small_network, size):
    adj = netview.undirected_adjacency(small_network)
    for seeds in ([0], [7, 3, 7], np.argsort(-np.diff(adj.indptr))[:5]):
        got = netview.snowball(adj, np.asarray(seeds), size)
        assert np.array_equal(got, _reference_snowball(adj, seeds, size))
    ego = netview.ego_sample(adj, 11, size)
    assert 11 in ego and len(ego) == min(size, len(ego)) and len(np.unique(ego)) == len(ego)
    assert len(netview.hub_sample(adj, size)) == size


def test_layout_keeps_exactly_the_sample_s_follow_edges(small_network):
    nodes = netview.hub_sample(netview.undirected_adjacency(small_network), 150)
    lay = netview.layout(small_network, nodes)
    got = set(zip(lay.nodes[lay.src].tolist(), lay.nodes[lay.dst].tolist()))
    follower, followee = small_network.edges()
    inside = np.isin(follower, nodes) & np.isin(followee, nodes)
    assert got == set(zip(follower[inside].tolist(), followee[inside].tolist()))
    want_mutual = {(a, b) for a, b in got if (b, a) in got}
    assert {e for e, m in zip(zip(lay.nodes[lay.src].tolist(), lay.nodes[lay.dst].tolist()), lay.mutual) if m} == (
        want_mutual
    )
    assert lay.x.shape == lay.y.shape == (150,) and np.isfinite(lay.x).all() and np.isfinite(lay.y).all()


def test_positions_are_reproducible_and_put_neighbours_close():
    # two dense groups joined by one edge: a force layout must keep each group together
    rng = np.random.default_rng(0)
    a = rng.integers(0, 40, (300, 2))
    b = rng.integers(40, 80, (300, 2))
    edges = np.vstack([a, b, [[0, 40]]])
    src, dst = edges[:, 0], edges[:, 1]
    xy = netview.spring_positions(80, src, dst, seed=3)
    assert xy.shape == (80, 2) and np.isfinite(xy).all()
    assert np.array_equal(xy, netview.spring_positions(80, src, dst, seed=3)), "same seed, same picture"
    assert not np.allclose(xy, netview.spring_positions(80, src, dst, seed=4))
    centre_a, centre_b = xy[:40].mean(axis=0), xy[40:].mean(axis=0)
    spread = max(np.linalg.norm(xy[:40] - centre_a, axis=1).mean(), np.linalg.norm(xy[40:] - centre_b, axis=1).mean())
    assert np.linalg.norm(centre_a - centre_b) > 1.5 * spread, "the two groups are drawn apart"
    assert netview.spring_positions(0, src[:0], dst[:0]).shape == (0, 2)
    assert np.array_equal(netview.spring_positions(1, src[:0], dst[:0]), np.zeros((1, 2)))


@pytest.mark.slow
def test_a_thousand_node_view_of_a_100k_network_is_built_in_well_under_two_seconds():
    net = synthetic_network(100_000, rng=np.random.default_rng(1))
    adj = netview.undirected_adjacency(net)
    started = time.perf_counter()
    lay = netview.layout(net, netview.hub_sample(adj, 1000))
    fig = netview.render(lay, ["#000000"] * 1000, ["x"] * 1000, np.full(1000, 5.0))
    payload = fig.to_json()
    took = time.perf_counter() - started
    # networkx's spring layout alone took 3.6 s here; sample + igraph layout + figure take about 0.3 s
    assert took < 1.5, f"sample, layout and figure of 1,000 nodes took {took:.2f} s"
    assert len(lay.src) > 5000 and len(payload) < 700_000


def _segments(path: str) -> set[tuple[float, float, float, float]]:
    """The (x0, y0, x1, y1) segments of an ``M x,y L x,y`` path."""
    found = re.findall(r"M(-?[\d.]+),(-?[\d.]+)L(-?[\d.]+),(-?[\d.]+)", path)
    assert "".join(f"M{a},{b}L{c},{d}" for a, b, c, d in found) == path, "nothing but M..L.. pairs"
    return {tuple(float(v) for v in seg) for seg in found}


def test_the_figure_draws_each_kind_of_edge_as_one_path_and_users_as_one_trace():
    # a -> b and b -> a (mutual), c -> a (one-way)
    net = Network.from_edges("t", np.array(["a", "b", "c"]), np.array([0, 1, 2]), np.array([1, 0, 0]))
    lay = netview.layout(net, np.arange(3))
    fig = netview.render(lay, ["#ff0000", "#00ff00", "#ff0000"], ["a", "b", "c"], np.array([5.0, 6, 7]))
    assert [t.name for t in fig.data] == ["users"] and fig.data[0].type == "scatter"
    one_way, mutual = fig.layout.shapes
    assert (one_way.name, mutual.name) == ("one-way follows", "mutual follows")
    assert one_way.type == mutual.type == "path" and one_way.layer == "below"
    xy = [(round(float(lay.x[i]), 1), round(float(lay.y[i]), 1)) for i in range(3)]
    assert _segments(one_way.path) == {(*xy[2], *xy[0])}
    assert _segments(mutual.path) == {(*xy[0], *xy[1])}, "a mutual pair is drawn once"
    assert one_way.line.color != mutual.line.color
    users = fig.data[0]
    assert list(users.marker.color) == ["#ff0000", "#00ff00", "#ff0000"] and users.mode == "markers"
    assert np.allclose(users.marker.size, [5, 6, 7]), "up to 100 users, the dot sizes as given"
    assert fig.layout.meta == {"network_nodes": 3, "network_edges": 3}
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.dragmode == "pan" and fig.layout.height == netview.VIEW_HEIGHT
    lonely = netview.render(netview.layout(net, np.array([0, 2])), ["#000"] * 2, ["", ""], np.array([5.0, 5]))
    assert [s.name for s in lonely.layout.shapes] == ["one-way follows"], "no empty path for a missing kind"


def test_hover_text_and_labels_show_user_text_literally():
    net = Network.from_edges("t", np.array(["a", "b"]), np.array([0]), np.array([1]))
    lay = netview.layout(net, np.arange(2))
    evil = "<b>bold?</b> <a href='javascript:alert(1)'>x</a> &amp; <br>"
    fig = netview.render(lay, ["#000"] * 2, [evil, "b"], np.array([5.0, 5.0]), [evil, "b"])
    users = fig.data[0]
    escaped = "&lt;b&gt;bold?&lt;/b&gt; &lt;a href='javascript:alert(1)'&gt;x&lt;/a&gt; &amp;amp; &lt;br&gt;"
    assert users.hovertext[0] == escaped and users.text[0] == escaped and users.mode == "markers+text"
    assert users.hoverinfo == "text"


def test_big_samples_get_smaller_dots_and_every_per_node_list_is_checked():
    sizes = np.full(1000, 10.0)
    assert np.allclose(netview.marker_sizes(sizes), 5.0) and np.allclose(netview.marker_sizes(sizes[:50]), 10.0)
    assert 5.0 < netview.marker_sizes(sizes[:300])[0] < 10.0
    lay = netview.layout(Network.from_edges("t", np.array(["a", "b"]), np.array([0]), np.array([1])), np.arange(2))
    with pytest.raises(ValueError, match="2 nodes and 1 edges, but titles has 1"):
        netview.render(lay, ["#000", "#000"], ["only one"], np.array([5.0, 5.0]))
    with pytest.raises(ValueError, match="colors has 3, sizes has 1, labels has 0"):
        netview.render(lay, ["#000"] * 3, ["", ""], np.array([5.0]), [])


@pytest.mark.slow
def test_the_view_draws_in_chromium_and_hover_shows_text_as_typed(browser):
    from browser_harness import wait_network_drawn

    net = synthetic_network(300, rng=np.random.default_rng(2))
    lay = netview.layout(net, np.arange(300))
    titles = [f"user {i}" for i in range(300)]
    far = int(np.argmax(np.hypot(lay.x, lay.y)))  # the outermost user: no other dot under the pointer
    titles[far] = "<b id=injected>bold?</b> & co"
    fig = netview.render(lay, ["#0072B2"] * 300, titles, np.full(300, 6.0))
    context = browser.new_context(viewport={"width": 900, "height": 700})
    try:
        pg = context.new_page()
        pg.set_content(fig.to_html(include_plotlyjs=True, div_id="nv"))  # plotly.js inlined: offline
        wait_network_drawn(pg, 300, timeout=20_000)
        with pytest.raises(Exception, match="Timeout"):
            wait_network_drawn(pg, 299, timeout=300)
        # hover that user: its screen position from plotly's own axes
        px, py = pg.evaluate(
            """i => { const el = document.getElementById('nv'), L = el._fullLayout, r = el.getBoundingClientRect();
              const t = el._fullData.find(t => t.name === 'users');
              return [r.left + L.xaxis._offset + L.xaxis.l2p(t.x[i]), r.top + L.yaxis._offset + L.yaxis.l2p(t.y[i])]; }""",
            far,
        )
        pg.mouse.move(px - 20, py - 20)
        pg.mouse.move(px, py)
        tip = pg.locator(".hoverlayer .hovertext")
        tip.wait_for(state="visible", timeout=5000)
        assert tip.locator("text").first.text_content() == titles[far] and pg.locator("#injected").count() == 0
    finally:
        context.close()


# -- the Network page remembers its widgets --------------------------------------------------------
def test_widget_values_come_from_the_loaded_network_clipped_to_the_widgets():
    spec = NetworkSpec(
        source="synthetic", n_users=2_000_000, mean_followees=120.0, reciprocity=0.4, tail_exponent=2.5, graph_seed=13
    )
    assert network_form.source_choice(spec) == "synthetic"
    assert network_form.synthetic_values(spec) == {
        "net_syn_n_users": MAX_SYNTHETIC_USERS,
        "net_syn_mean": 50.0,
        "net_syn_recip": 0.4,
        "net_syn_tail": 2.5,
        "net_syn_seed": 13,
    }
    bundled = NetworkSpec()
    assert network_form.source_choice(bundled) == "bundled"
    assert network_form.synthetic_values(bundled)["net_syn_n_users"] == network_form.DEFAULT_USERS
    assert network_form.source_choice(NetworkSpec(source="graph", graph="uploads/g.graphml")) == "upload"
    state = {}
    network_form.restore(state, bundled, "bundled")
    network_form.restore_generator(state, bundled)
    assert state["net_source"] == "bundled" and state["net_syn_seed"] == network_form.DEFAULT_SEED
    state["net_source"], state["net_syn_seed"] = "synthetic", 99  # chosen on the page: kept for this network
    network_form.restore(state, bundled, "bundled")
    network_form.restore_generator(state, bundled)
    assert state["net_source"] == "synthetic" and state["net_syn_seed"] == 99
    network_form.restore(state, spec, "k1")  # another network loaded: the widgets describe it
    network_form.restore_generator(state, spec)
    assert state["net_source"] == "synthetic" and state["net_syn_seed"] == 13 and state["net_syn_tail"] == 2.5
    state["net_view_size"] = 500
    network_form.remember(state, "k1")
    del state["net_view_size"]
    network_form.restore_view(state, "k2")
    assert "net_view_size" not in state, "a view choice belongs to the network it was made on"
    network_form.restore_view(state, "k1")
    assert state["net_view_size"] == 500


SETTINGS = {"net_syn_n_users": 2000, "net_syn_mean": 8.0, "net_syn_recip": 0.4, "net_syn_tail": 2.5, "net_syn_seed": 13}
SLIDERS = ("net_syn_mean", "net_syn_recip", "net_syn_tail")


def _app_on(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_network_page_shows_the_generated_network_s_settings_after_another_page(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    # the form on its own page: Generate loads the network the widgets describe
    at = AppTest.from_file(str(ROOT / "pages" / "1_Network.py"), default_timeout=120).run()
    at.radio(key="net_source").set_value("synthetic").run()
    for key, value in SETTINGS.items():
        (at.slider if key in SLIDERS else at.number_input)(key=key).set_value(value)
    next(b for b in at.button if b.label == "Generate synthetic network").click().run()
    assert not at.exception, [e.value for e in at.exception]
    spec = at.session_state[STATE_KEY].net.spec
    assert (spec.source, spec.n_users, spec.tail_exponent, spec.graph_seed) == ("synthetic", 2000, 2.5, 13)

    # the app with its navigation (AppTest does not submit forms there): the same network loaded,
    # the Network page visited, another page, then back
    at = _app_on("pages/1_Network.py")
    ws = at.session_state[STATE_KEY]
    ws.use_network(synthetic(2000, 8.0, 0.4, 2.5, 13))
    at.run()
    assert [m.value for m in at.metric if m.label == "Users"][-1] == "2,000"
    at.session_state["net_tabs"] = "Graph view"
    at.run()
    at.slider(key="net_view_size").set_value(500).run()
    at.switch_page("pages/2_Agents.py").run()
    at.switch_page("pages/1_Network.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="net_source").value == "synthetic"
    for key, value in SETTINGS.items():
        assert (at.slider if key in SLIDERS else at.number_input)(key=key).value == value, key
    assert at.slider(key="net_view_size").value == 500, "the graph view opens as it was left"
    views = [json.loads(c.proto.spec)["layout"].get("meta") for c in at.get("plotly_chart")]
    assert views == [{"network_nodes": 500, "network_edges": views[0]["network_edges"]}], "the view, 500 users"
