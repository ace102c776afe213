"""AppTest smoke tests of the Validate page on tiny dataset folders written to tmp_path."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from s3core.validation.simulate import setup_from_params
from s3core.validation.store import write_results
from s3core.validation.validate import validate

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "7_Validate.py")
SMALL = {"network": {"n_users": 1500}, "minutes_per_step": 30}
COMMENTS = ["太愤怒了!!!", "谣言，假的", "支持，太好了", "", "真的吗？", "哈哈 赞", "", "辟谣了", "心疼 泪", ""]


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def _events(cascade: str, root: str, size: int, rng: np.random.Generator) -> list[dict]:
    """A tree of ``size`` participants: each forwards the root or an earlier participant; a few join after 150 min."""
    users, rows = [root], []
    times = np.sort(rng.uniform(0.5, 140.0, size))
    times[-2:] = [400.0, 900.0]
    for j, t in enumerate(times):
        user = f"{cascade}-u{j}"
        parent = users[int(rng.integers(0, len(users)))] if j else root
        rows.append({"cascade_id": cascade, "parent_user_id": parent, "user_id": user, "t_min": float(t)})
        users.append(user)
    return rows


def write_datasets(root: Path) -> Path:
    """``root/tw``: six cascades in the twitter15 format (sources + edges, no texts); ``root/wb``: six in the
    Weibo format (sources with times + reposts with comment texts)."""
    rng = np.random.default_rng(4)
    tw, wb = root / "tw", root / "wb"
    tw.mkdir(parents=True)
    wb.mkdir(parents=True)
    ids = [f"t{i}" for i in range(6)]
    pd.DataFrame(
        {
            "cascade_id": ids,
            "user_id": [f"root{i}" for i in range(6)],
            "text": [f"breaking news number {i}, is it true?" for i in range(6)],
        }
    ).to_parquet(tw / "sources.parquet")
    edges = pd.DataFrame([r for i, c in enumerate(ids) for r in _events(c, f"root{i}", 8 + 4 * i, rng)])
    edges["kind"] = "retweet"
    edges.to_parquet(tw / "edges.parquet")
    ids = [f"w{i}" for i in range(6)]
    pd.DataFrame(
        {
            "cascade_id": ids,
            "user_id": [f"author{i}" for i in range(6)],
            "time_utc": pd.date_range("2014-01-01", periods=6, freq="D", tz="UTC"),
            "text": [f"网传消息{i}，太可怕了!" for i in range(6)],
        }
    ).to_parquet(wb / "sources.parquet")
    reposts = pd.DataFrame([r for i, c in enumerate(ids) for r in _events(c, f"author{i}", 10 + 3 * i, rng)])
    reposts["text"] = [COMMENTS[k % len(COMMENTS)] for k in range(len(reposts))]
    reposts.to_parquet(wb / "reposts.parquet")
    return root


@pytest.fixture
def datasets(tmp_path) -> Path:
    return write_datasets(tmp_path / "datasets")


@pytest.fixture
def params_file(tmp_path) -> Path:
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL))
    return path


def open_page(root: Path, dataset: str, params: Path | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["val_root"] = str(root)
    at.session_state["val_dataset"] = dataset
    if params is not None:
        at.session_state["val_params_path"] = str(params)
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def unescaped(text: str) -> str:
    return text.replace("\\", "")


def table(at: AppTest, *columns: str, without: str | None = None) -> pd.DataFrame:
    """The first table with these columns (AppTest does not expose st.dataframe keys)."""
    for frame in (d.value for d in at.dataframe):
        if set(columns) <= set(frame.columns) and without not in frame.columns:
            return frame
    raise AssertionError(f"no table with columns {columns}")


def figures(at: AppTest) -> dict[str, dict]:
    return {
        json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec) for c in at.get("plotly_chart")
    }


def values(trace: dict, axis: str = "y") -> np.ndarray:
    v = trace[axis]
    if isinstance(v, dict):  # plotly's base64 encoding of numeric arrays
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).astype(float)
    return np.array([np.nan if x is None else x for x in v], dtype=float)


@pytest.mark.parametrize("dataset, has_text", [("wb", True), ("tw", False)])
def test_one_cascade_runs_and_renders_curves_and_nrmse(datasets, params_file, dataset, has_text):
    at = open_page(datasets, dataset, params_file)
    assert_clean(at)
    assert at.selectbox(key="val_dataset").options == ["tw", "wb"]
    box = at.selectbox(key="val_cascade")
    assert len(box.options) == 3, "the later half of six cascades is evaluated"
    box.set_value(box.options[-1]).run()
    at.button(key="val_run_one").click().run()
    assert_clean(at)
    figs = figures(at)
    for title in ("Scale", "Depth", "Max breadth"):
        fig = next(f for t, f in figs.items() if t.startswith(title))
        names = [tr["name"] for tr in fig["data"]]
        assert names == ["real", "simulator", "independent cascade", "mean curve"]
        for trace in fig["data"]:
            y = values(trace)
            assert len(y) == 150 and np.isfinite(y).all()
    scores = table(at, "model", "mean")
    assert scores["model"].tolist() == ["simulator", "independent cascade", "mean curve"]
    assert np.isfinite(scores[["scale", "depth", "max_breadth", "mean"]].to_numpy(float)).all()
    over_time = [t for t in figs if t.startswith(("Emotion density of comments", "Stance of comments"))]
    if has_text:
        assert len(over_time) == 2
        emotion = next(f for t, f in figs.items() if t.startswith("Emotion density of comments"))
        assert [tr["name"] for tr in emotion["data"]] == ["real comments", "simulated comments"]
        real = values(emotion["data"][0])
        assert np.isfinite(real).any() and (real[np.isfinite(real)] <= 1).all()
    else:
        assert not over_time
        assert any("no comment texts" in unescaped(i.value) for i in at.info)


def test_malformed_folder_names_the_table_and_column(datasets, params_file):
    bad = datasets / "bad"
    bad.mkdir()
    pd.read_parquet(datasets / "tw" / "sources.parquet").to_parquet(bad / "sources.parquet")
    pd.read_parquet(datasets / "tw" / "edges.parquet").drop(columns="t_min").to_parquet(bad / "edges.parquet")
    at = open_page(datasets, "bad", params_file)
    assert_clean(at)
    message = unescaped(at.error[0].value)
    assert "edges.parquet" in message and "missing column(s) t_min" in message
    assert not at.get("plotly_chart")


def test_bad_parameters_are_named(datasets, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"network": {"density": 3}}))
    at = open_page(datasets, "tw", path)
    assert_clean(at)
    assert "network.density" in unescaped(at.error[0].value)
    path.write_text("{not json")
    at = open_page(datasets, "tw", path)
    assert "not JSON" in unescaped(at.error[0].value)


def test_results_file_shows_aggregate_beside_baselines_and_published(datasets, tmp_path):
    result = validate(datasets / "wb", setup_from_params(SMALL, 0), limit=2, progress=False, individual=False)
    out = tmp_path / "wb.validation.duckdb"
    write_results(out, result)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["val_root"] = str(datasets)
    at.session_state["val_dataset"] = "wb"
    at.session_state["val_results_path"] = str(out)
    at.run()
    assert_clean(at)
    scores = table(at, "model", "max_breadth", without="mean")
    assert scores["model"].tolist() == ["simulator", "independent cascade", "mean curve"]
    assert np.isfinite(scores[["scale", "depth", "max_breadth"]].to_numpy(float)).all()
    published = table(at, "source", "reported")
    assert published["source"].str.startswith("S3").any() and published["source"].str.startswith("OASIS").any()
    assert len(table(at, "cascade_id", "model")) == 6  # 2 cascades x 3 models
    at.text_input(key="val_results_path").set_value(str(datasets / "wb" / "sources.parquet")).run()
    assert_clean(at)
    assert any(
        "cannot be read as DuckDB" in unescaped(e.value) or "not a validation results file" in unescaped(e.value)
        for e in at.error
    )


@pytest.mark.slow
def test_background_validation_writes_a_results_file_the_page_reads(datasets, params_file, runs_dir):
    at = open_page(datasets, "tw", params_file)
    at.number_input(key="val_limit").set_value(2).run()
    at.button(key="val_run_many").click().run()
    assert_clean(at)
    job = at.session_state["val_job"]
    deadline = time.monotonic() + 90
    while job.running and time.monotonic() < deadline:
        time.sleep(1.0)
    assert not job.running and job.error() is None, job.stderr()
    at.run()
    assert_clean(at)
    assert at.selectbox(key="val_results_file").value == str(job.out)
    assert str(job.out).startswith(str(runs_dir))
    scores = table(at, "model", "max_breadth", without="mean")
    assert np.isfinite(scores[["scale", "depth", "max_breadth"]].to_numpy(float)).all()


def test_page_opens_on_the_default_datasets_folder():
    """Beside the checkout's shared datasets (cascade datasets listed first), or a clear warning without them."""
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert_clean(at)
    default = ROOT.parent / "shared" / "datasets"
    assert at.text_input(key="val_root").value == str(default)
    if (default / "twitter15" / "sources.parquet").exists():
        assert at.selectbox(key="val_dataset").value == "twitter15"
        assert at.selectbox(key="val_cascade").options
    else:
        assert any("No dataset folders" in unescaped(w.value) for w in at.warning)
