"""Charts that cannot mislead: confirmed turns, labels inside the plot, honest axes, time beside steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from s3core.interventions import Boost, SeedPost
from s3core.plotstyle import NICE_STEPS, clock, count_axis_spec, step_end_minutes, step_time, time_ticks
from s3core.turning_points import confirmed_peaks, confirmed_troughs, main_peaks, prominence
from ui import charts, run_charts

METRIC_COLUMNS = ["step", "minutes", "aware", "new_aware", "calm", "moderate", "intense", "positive"]


def frame(n: int, **columns) -> pd.DataFrame:
    """A metrics frame of ``n`` steps; unspecified shares are flat, counts zero."""
    base = {
        "step": np.arange(n),
        "minutes": (np.arange(n) + 1) * 30.0,
        "aware": np.zeros(n, dtype=int),
        "new_aware": np.zeros(n, dtype=int),
        "calm": np.full(n, 0.5),
        "moderate": np.full(n, 0.3),
        "intense": np.full(n, 0.2),
        "positive": np.full(n, 0.5),
        "repost": np.zeros(n, dtype=int),
        "quote": np.zeros(n, dtype=int),
        "post": np.zeros(n, dtype=int),
    }
    base.update({k: np.asarray(v) for k, v in columns.items()})
    return pd.DataFrame(base)


def valid(fig: go.Figure) -> go.Figure:
    """The live charts skip plotly's validation for speed: every property must still be a real one."""
    go.Figure(fig.to_dict())
    return fig


# -- the confirmation rule ------------------------------------------------------------------------
def test_the_newest_point_of_a_rising_curve_is_not_a_peak():
    assert confirmed_peaks([0.1, 0.2, 0.3, 0.4, 0.5]).tolist() == []
    assert confirmed_peaks([0.1, 0.3, 0.5, 0.45]).tolist() == [], "one point down is not yet a turn (k=2)"
    assert confirmed_peaks([0.1, 0.3, 0.5, 0.45, 0.40]).tolist() == [2]


def test_a_peak_needs_the_curve_to_come_down_by_the_tolerance():
    wiggle = [0.1, 0.5, 0.495, 0.497, 0.496, 0.498]  # within 0.01 of the top: no turn
    assert confirmed_peaks(wiggle, tolerance=0.01).tolist() == []
    slow = [0.1, 0.5, 0.498, 0.495, 0.489, 0.485, 0.48]  # a slow turn is confirmed once it is 0.01 down twice
    assert confirmed_peaks(slow, k=2, tolerance=0.01).tolist() == [1]
    assert confirmed_peaks(slow, k=3, tolerance=0.01).tolist() == [1]
    assert confirmed_peaks(slow, k=4, tolerance=0.01).tolist() == []


def test_a_higher_point_before_confirmation_cancels_the_candidate():
    assert confirmed_peaks([0.0, 0.5, 0.48, 0.6, 0.3, 0.2]).tolist() == [3]


def test_plateau_peak_is_its_first_point_and_start_is_no_peak():
    assert confirmed_peaks([0.0, 0.5, 0.5, 0.5, 0.2, 0.1]).tolist() == [1]
    assert confirmed_peaks([0.9, 0.5, 0.3, 0.2]).tolist() == [], "starting high is not a turn"


def test_two_peaks_need_a_dip_between():
    series = [0.0, 0.5, 0.3, 0.2, 0.6, 0.3, 0.2]
    assert confirmed_peaks(series).tolist() == [1, 4]
    assert confirmed_troughs(series).tolist() == [3]


def test_troughs_mirror_peaks_and_nan_is_never_a_turn():
    assert confirmed_troughs([0.5, 0.4, 0.3, 0.35, 0.4]).tolist() == [2]
    assert confirmed_troughs([0.5, 0.4, 0.3]).tolist() == [], "a falling curve has no trough yet"
    assert confirmed_peaks([np.nan, 0.1, 0.5, np.nan, 0.3, 0.2]).tolist() == [2]


@pytest.mark.parametrize("k,tol", [(0, 0.01), (2, -0.1)])
def test_bad_parameters_are_refused(k, tol):
    with pytest.raises(ValueError, match="k \\(points|tolerance"):
        confirmed_peaks([0, 1, 0], k=k, tolerance=tol)


# -- marks on the charts ----------------------------------------------------------------------------
def test_emotion_chart_marks_only_confirmed_peaks_with_labels_inside():
    rising = frame(8, moderate=np.linspace(0.1, 0.5, 8), intense=np.zeros(8))
    fig = valid(run_charts.emotion(rising, 30))
    assert "peak" not in [t.name for t in fig.data]
    assert any("no clear density peak yet" in a.text for a in fig.layout.annotations)

    turned = frame(10, moderate=[0.1, 0.2, 0.4, 0.6, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3], intense=np.zeros(10))
    fig = valid(run_charts.emotion(turned, 30))
    assert [t.name for t in fig.data].count("peak") == 1
    (label,) = [a for a in fig.layout.annotations if a.text.startswith("peak")]
    assert label.text == "peak 0.60 (step 3)" and label.ay < 0
    assert fig.layout.yaxis.range[1] > 1.15, "room above a share of 1 for the label"


def test_peak_label_near_the_right_edge_is_anchored_inward():
    df = frame(12, moderate=[0.1] * 8 + [0.6, 0.4, 0.3, 0.2], intense=np.zeros(12))
    (label,) = [a for a in run_charts.emotion(df, 30).layout.annotations if a.text.startswith("peak")]
    assert label.xanchor == "right"


def test_attitude_axis_zooms_to_a_small_movement_and_says_no_trough():
    df = frame(20, positive=np.linspace(0.45, 0.49, 20))
    fig = valid(run_charts.attitude(df, 30))
    low, high = fig.layout.yaxis.range
    assert 0.4 <= low < 0.45 and 0.49 < high <= 0.5, (low, high)
    note = " ".join(a.text for a in fig.layout.annotations)
    assert "no clear trough yet" in note and "zoomed" in note


def test_attitude_keeps_full_axis_for_a_large_movement_and_labels_troughs():
    df = frame(8, positive=[0.9, 0.5, 0.1, 0.3, 0.6, 0.8, 0.8, 0.8])
    fig = valid(run_charts.attitude(df, 30))
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.0)
    assert [a.text for a in fig.layout.annotations if a.text.startswith("trough")] == ["trough 0.10 (step 2)"]


# -- empty charts and counts ------------------------------------------------------------------------
@pytest.mark.parametrize("builder", [run_charts.spread, run_charts.actions, run_charts.emotion, run_charts.attitude])
def test_empty_chart_has_no_negative_axis_and_says_why(builder):
    fig = valid(builder(frame(0), 30))
    assert fig.layout.yaxis.range[0] == 0, "no count of -1 on an empty chart"
    assert fig.layout.xaxis.range[0] > -1 and all(float(v).is_integer() for v in fig.layout.xaxis.tickvals)
    assert any("No steps yet" in a.text for a in fig.layout.annotations)


def test_count_axes_have_whole_number_ticks():
    small = valid(run_charts.spread(frame(3, aware=[0, 1, 2], new_aware=[0, 1, 1]), 30))
    assert small.layout.yaxis.dtick == 1 and small.layout.yaxis.tickformat == ",d"
    assert small.layout.yaxis.range[0] == 0
    big = count_axis_spec(12_000)
    assert big["tickformat"] == ",d" and "dtick" not in big and big["range"][0] == 0
    x_ticks = small.layout.xaxis.tickvals
    assert list(x_ticks) == [0, 1, 2], "one step per tick, never half steps"


# -- time beside steps ------------------------------------------------------------------------------
def test_clock_reads_minutes_hours_and_days():
    assert [clock(m) for m in (30, 60, 90, 1440, 1800, 2880)] == [
        "30 min",
        "1 h",
        "1 h 30 min",
        "1 d",
        "1 d 6 h",
        "2 d",
    ]


def test_time_ticks_fall_on_round_step_numbers_and_name_both():
    steps, text = time_ticks(59, 30)  # 60 steps of 30 min = 30 h
    assert steps == [0, 10, 20, 30, 40, 50]
    assert text[1] == "10<br>5.5 h" and text[0] == "0<br>30 min"
    steps, _ = time_ticks(239, 10)  # the trial's 240 steps: not 35, 71, 107...
    assert steps == [0, 50, 100, 150, 200]
    steps, _ = time_ticks(99, 7)
    assert steps == [0, 20, 40, 60, 80]
    for last in (3, 9, 17, 59, 239, 499, 4999):
        steps, _ = time_ticks(last, 10)
        every = steps[1] - steps[0] if len(steps) > 1 else 1
        assert every in NICE_STEPS and all(s % every == 0 for s in steps)


def test_one_time_convention_step_ends_at_step_plus_one_periods():
    assert step_end_minutes(0, 10) == 10 and step_end_minutes(2, 10) == 30
    assert step_time(0, 10) == "step 0 (to 10 min)" and step_time(2, 10) == "step 2 (to 30 min)"


def test_live_chart_axes_name_time_and_hover_shows_it():
    fig = run_charts.spread(frame(30, aware=np.arange(30)), 30)
    assert fig.layout.xaxis.title.text == "step / simulated time (1 step = 30 min)"
    assert "<br>" in fig.layout.xaxis.ticktext[1]
    aware = next(t for t in fig.data if t.name == "aware (total)")
    assert aware.customdata[-1] == "15 h" and "customdata" in aware.hovertemplate


# -- per seed post --------------------------------------------------------------------------------
def test_spread_splits_into_one_curve_per_seed():
    df = frame(3, aware=[1, 5, 9])
    seeds = pd.DataFrame(
        {
            "step": [0, 1, 1, 2, 2],
            "seed": ["rumour", "rumour", "correction", "rumour", "correction"],
            "aware": [1, 4, 1, 6, 4],
        }
    )
    fig = valid(run_charts.spread(df, 30, seeds=seeds))
    names = [t.name for t in fig.data]
    assert names == ["rumour", "correction", "aware of any seed"]
    assert list(fig.data[1].x) == [1, 2] and list(fig.data[1].y) == [1, 4]
    assert fig.layout.title.text.startswith("Reach per seed post")


def test_reach_per_seed_legend_is_one_compact_row_of_short_names():
    names = ["rumour", "water-rumour", "water-correction-from-the-city", "correction", "late-post"]
    seeds = pd.DataFrame(
        [{"step": s, "seed": n, "aware": (i + 1) * 10 * s} for i, n in enumerate(names) for s in range(5)]
    )
    fig = valid(run_charts.spread(frame(5, aware=np.arange(5) * 200), 10, seeds=seeds))
    listed = [t.name for t in fig.data if t.showlegend is not False]
    assert len(listed) <= run_charts.MOST_SEEDS_LISTED + 1 and "rumour" not in listed, "the smallest seed on hover"
    assert all(len(n) <= run_charts.SHORT_NAME for n in listed if n != "aware of any seed")
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.font.size <= 10
    assert "water-correction-from-the-city" in fig.data[2].hovertemplate, "the full name on hover"
    width = sum(30 + 6 * len(n) for n in listed)  # symbol + text of each entry, in pixels
    assert width <= 2 * 300, "two rows at most on a narrow chart (was one row per seed)"


# -- the schedule -----------------------------------------------------------------------------------
def test_timeline_stops_at_the_run_and_flags_later_interventions():
    items = [
        SeedPost(step=0, text="t", name="a"),
        Boost(step=5, duration=20, post="a"),  # runs past the end: cut at the edge
        SeedPost(step=15, text="t", name="late"),
        SeedPost(step=40, text="t", name="later"),
    ]
    fig = valid(charts.timeline(items, steps=10, minutes_per_step=30))
    assert fig.layout.xaxis.range[1] < 10, f"the axis must stop at the last step (9): {fig.layout.xaxis.range}"
    late = [t for t in fig.data if t.type == "scatter" and t.marker.symbol == "triangle-right"]
    assert [t.text[0] for t in late] == ["late", "later"] and all(t.x[0] < 10 for t in late)
    assert "never happens" in late[0].hovertext
    (note,) = [a.text for a in fig.layout.annotations if "after the last step" in a.text]
    assert note == "2 after the last step →: late (step 15), later (step 40)"
    assert all(t.mode == "markers" for t in late), "named in the note, not over each other at the edge"
    boost = next(t for t in fig.data if t.type == "bar")
    assert boost.base[0] + boost.x[0] < 10
    assert len(fig.data) == len(items), "one trace per intervention"


def test_timeline_without_late_items_has_no_note():
    fig = charts.timeline([SeedPost(step=2, text="t", name="a")], steps=10, minutes_per_step=30)
    assert [a.text for a in fig.layout.annotations] == ["a"], "only the seed's name, no note"


def test_timeline_names_of_close_seeds_are_staggered_not_overlapping():
    names = ["rumour", "water-rumour", "water-correction", "correction"]
    items = [SeedPost(step=s, text="t", name=n) for s, n in zip((0, 2, 10, 12), names)]
    fig = valid(charts.timeline(items, steps=240, minutes_per_step=10))
    labels = [a for a in fig.layout.annotations if a.text in names]
    assert sorted(a.text for a in labels) == sorted(names), "every seed named (was 'waterumour' over each other)"
    boxes = []
    for a in labels:  # estimated boxes in pixels, on the plot width the layout assumes
        x = (a.x + 0.6) / (239 + 1.2) * charts.TIMELINE_PX
        half = charts.LABEL_CHAR_PX * len(a.text) / 2
        boxes.append((x - half, x + half, a.yshift))
    for i, (l1, r1, y1) in enumerate(boxes):
        for l2, r2, y2 in boxes[i + 1 :]:
            assert y1 != y2 or r1 <= l2 or r2 <= l1, f"labels overlap: {boxes}"
    assert {t.text[0] for t in fig.data} == set(names), "the marker traces keep their names"


def test_close_labels_are_staggered():
    series = [0.1, 0.6, 0.3, 0.2, 0.5, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
    fig = run_charts.emotion(frame(12, moderate=series, intense=np.zeros(12)), 30)
    lifts = [a.ay for a in fig.layout.annotations if a.text.startswith("peak")]
    assert len(lifts) == 2 and lifts[0] != lifts[1], lifts


def test_compare_difference_and_breakdown_show_time_beside_steps():
    a, b = frame(10, aware=np.arange(10)), frame(6, aware=np.arange(6))
    for fig in (
        charts.compare({"a": a, "b": b}, "aware", 60),
        charts.difference("a", a, {"b": b}, "aware", 60),
        charts.breakdown(
            pd.DataFrame({"step": [0, 9], "group_name": ["x", "x"], "aware_share": [0.1, 0.2]}), "aware_share", "x", 60
        ),
    ):
        assert fig.layout.xaxis.title.text == "step / simulated time (1 step = 60 min)"
        assert fig.layout.xaxis.range[1] < 10 and fig.layout.xaxis.ticktext[-1].endswith("9 h")


def test_long_runs_are_drawn_thinned_with_bars_as_means():
    n = 5000
    df = frame(
        n, aware=np.arange(n), new_aware=np.ones(n, dtype=int), repost=np.full(n, 4), quote=np.zeros(n, dtype=int)
    )
    spread = valid(run_charts.spread(df, 10))
    aware = next(t for t in spread.data if t.name == "aware (total)")
    assert len(aware.x) <= run_charts.MOST_POINTS + 1 and aware.x[-1] == n - 1 and aware.y[-1] == n - 1
    bars = valid(run_charts.actions(df, 10))
    repost = next(t for t in bars.data if t.name.startswith("repost"))
    assert len(repost.x) <= run_charts.MOST_POINTS and set(repost.y) == {4.0}, "a k-step mean keeps per-step units"
    assert "mean of 9 steps" in repost.name and repost.width == 9


def test_many_turns_mark_and_label_only_the_main_ones():
    wave = np.tile([0.1, 0.5, 0.1, 0.1], 20)
    wave[41] = 0.9
    fig = run_charts.emotion(frame(len(wave), moderate=wave, intense=np.zeros(len(wave))), 10)
    labels = [a.text for a in fig.layout.annotations if a.text.startswith("peak")]
    marks = next(t for t in fig.data if t.name == "peak")
    assert len(marks.x) == len(labels) == run_charts.MOST_LABELS == 2
    assert "peak 0.90 (step 41)" in labels, "the highest confirmed peak is always among them"


def test_noise_wiggles_are_not_turns_by_the_prominence_rule():
    rng = np.random.default_rng(0)
    x = np.r_[
        np.linspace(1, 0.35, 10), 0.35 + 0.15 * np.sin(np.linspace(0, np.pi, 40)), 0.35 - np.linspace(0, 0.1, 190)
    ]
    x = x + rng.normal(0, 0.015, 240)
    assert len(confirmed_peaks(x, tolerance=0.01)) > 10, "the noise makes many confirmed wiggles"
    (main,) = main_peaks(x, tolerance=0.01)
    assert 20 <= main <= 40, "only the hump stands out from the curve's range"
    assert prominence([0, 1, 0.5, 0.8, 0], 3) == pytest.approx(0.3)


def _boxes(fig, kind):
    """The labels' estimated boxes in pixels, as run_charts places them on a narrow chart."""
    x_span = tuple(fig.layout.xaxis.range)
    x_span = (x_span[0] + 0.6, x_span[1] - 0.6)
    y_span = tuple(fig.layout.yaxis.range)
    return [
        run_charts.label_box(a.x, a.y, a.ay, a.text, a.xanchor, x_span, y_span)
        for a in fig.layout.annotations
        if a.text.startswith(kind)
    ]


def test_long_noisy_run_has_few_readable_turn_labels_inside_the_plot():
    rng = np.random.default_rng(3)
    n = 240
    density = np.r_[np.linspace(1, 0.4, 8), 0.4 + 0.1 * np.sin(np.linspace(0, 3 * np.pi, n - 8))]
    density = np.clip(density + rng.normal(0, 0.02, n), 0, 1)
    positive = np.r_[1.0, 0.5 + 0.03 * np.sin(np.arange(30)), np.linspace(0.5, 0.97, n - 31)]
    positive = np.clip(positive + rng.normal(0, 0.01, n), 0, 1)
    df = frame(n, moderate=density * 0.8, intense=density * 0.2, positive=positive)
    w, h = run_charts.PLOT_PX
    for fig, kind in ((run_charts.emotion(df, 10), "peak"), (run_charts.attitude(df, 10), "trough")):
        valid(fig)
        boxes = _boxes(fig, kind)
        assert 1 <= len(boxes) <= 2 and len(fig.layout.annotations) <= 4, [a.text for a in fig.layout.annotations]
        assert len(next(t for t in fig.data if t.name == kind).x) == len(boxes), "a marker per label, no more"
        for i, (left, top, right, bottom) in enumerate(boxes):
            assert 0 <= top and bottom <= h, f"{kind} label inside the plot, clear of the tick labels"
            for other in boxes[i + 1 :]:
                assert not run_charts._overlap(boxes[i], other), "labels never overlap"


@pytest.mark.parametrize("n", [20, 240, 2000])
def test_action_bars_have_no_edges_or_gaps_so_their_colour_does_not_fade_with_many_steps(n):
    df = frame(n, repost=np.full(n, 5), quote=np.full(n, 3), post=np.ones(n, dtype=int), new_aware=np.ones(n))
    fig = valid(run_charts.actions(df, 10))
    assert fig.layout.bargap == 0
    bars = [t for t in fig.data if t.type == "bar"] + [t for t in run_charts.spread(df, 10).data if t.type == "bar"]
    assert bars and all(t.marker.line.width == 0 for t in bars), "the template's white bar edges pale thin bars"
