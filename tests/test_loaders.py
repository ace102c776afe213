"""Loaders: valid files load exactly; every malformed file fails with one LoadError that says where and how to fix."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from s3core.loaders import LoadError, load_cascades, load_edge_list, load_graph_file
from s3core.types import Gender, Occupation

HERE = Path(__file__).parent
VALID, MALFORMED = HERE / "valid", HERE / "malformed"
DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def edge_set(net) -> set[tuple[str, str]]:
    follower, followee = net.edges()
    return {(net.user_ids[a], net.user_ids[b]) for a, b in zip(follower, followee)}


def load(path: Path):
    """Load a corpus file the way its name says: edges_*, users_*, posts_* or a graph file."""
    role = path.name.split("_")[0]
    if role == "edges":
        return load_edge_list(path)
    if role == "users":
        return load_edge_list(VALID / "edges.csv", path)
    if role == "posts":
        return load_edge_list(VALID / "edges.csv", VALID / "users.csv", path)
    return load_graph_file(path)


# ---------------------------------------------------------------- valid input


def test_edge_list_with_users_and_posts():
    net = load_edge_list(VALID / "edges.csv", VALID / "users.csv", VALID / "posts.csv")
    assert net.name == "edges"
    assert list(net.user_ids) == ["alice", "007", "bob", "李雷", "dave", "carol"]  # users.csv order first
    assert net.n_users == 6 and net.n_edges == 6
    assert edge_set(net) == {
        ("007", "alice"),
        ("alice", "007"),
        ("bob", "alice"),
        ("carol", "bob"),
        ("李雷", "alice"),
        ("carol", "007"),
    }
    ids = list(net.user_ids)
    mutual = {(net.user_ids[a], net.user_ids[b]) for a, b, m in zip(*net.edges(), net.follower_mutual) if m}
    assert mutual == {("007", "alice"), ("alice", "007")}
    assert net.follower_count[ids.index("alice")] == 3 and net.followee_count[ids.index("carol")] == 2
    assert net.follower_count[ids.index("dave")] == 0 and net.followee_count[ids.index("dave")] == 0  # isolated

    users = net.users
    assert list(users.columns) == ["user_id", "age", "gender", "occupation", "description", "followers", "friends"]
    assert list(users.index) == list(range(6)) and list(users["user_id"]) == ids
    row = users.set_index("user_id")
    assert row.loc["alice", "age"] == 34 and row.loc["alice", "gender"] == Gender.FEMALE
    assert row.loc["alice", "occupation"] == Occupation.ENGINEER
    assert row.loc["alice", "description"] == "Writes code, drinks tea" and row.loc["alice", "followers"] == 1200
    assert row.loc["007", "occupation"] == Occupation.MEDIA and row.loc["bob", "occupation"] == 3
    assert row.loc["bob", "gender"] == Gender.MALE and row.loc["李雷", "gender"] == Gender.FEMALE
    assert row.loc["李雷", "occupation"] == Occupation.UNEMPLOYED_STUDENT
    assert np.isnan(row.loc["bob", "age"]) and row.loc["007", "description"] is None
    assert row.loc["carol", "gender"] == Gender.UNKNOWN and pd.isna(row.loc["carol", "occupation"])
    assert users["gender"].dtype == np.int8 and users["age"].dtype == np.float64

    posts = net.posts
    assert list(posts.columns) == ["user_index", "text", "time"] and posts["user_index"].dtype == np.int64
    assert [ids[i] for i in posts["user_index"]] == ["alice", "007", "dave", "李雷"]
    assert posts["text"].iloc[1] == "a post\nover two lines" and posts["text"].iloc[2] == 'quoted "word" inside'
    assert posts["time"].iloc[1] == pd.Timestamp("2024-05-01 13:30", tz="UTC") and pd.isna(posts["time"].iloc[3])
    assert net.activity()[ids.index("dave")] == 1


def test_edge_list_alone_keeps_string_ids():
    net = load_edge_list(VALID / "edges.csv", name="tiny")
    assert net.name == "tiny" and net.posts is None
    assert list(net.users.columns) == ["user_id"] and len(net.users) == net.n_users == 5
    assert "007" in set(net.user_ids) and "李雷" in set(net.user_ids)  # leading zeros kept, spaces trimmed


def test_edge_list_tolerates_bom_crlf_case_and_spaces(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes("\ufeffFollower , FOLLOWEE,weight\r\n 01 ,02,1\r\n\r\n02,01,2\r\n".encode())
    net = load_edge_list(path)
    assert edge_set(net) == {("01", "02"), ("02", "01")} and net.follower_mutual.all()


def test_graphml_directed_with_attributes():
    net = load_graph_file(VALID / "graph.graphml")
    assert list(net.user_ids) == ["u1", "u2", "u3", "0042"]
    assert edge_set(net) == {("u2", "u1"), ("u3", "u1"), ("u1", "u2"), ("0042", "u3")}
    assert net.follower_mutual.sum() == 2  # u1 <-> u2
    users = net.users.set_index("user_id")
    assert list(net.users.columns) == ["user_id", "age", "gender", "occupation", "followers"]  # nickname ignored
    assert users.loc["u1", "age"] == 29 and users.loc["u1", "gender"] == Gender.FEMALE
    assert users.loc["u1", "occupation"] == Occupation.MEDIA and users.loc["0042", "occupation"] == 9
    assert users.loc["u2", "gender"] == Gender.MALE and np.isnan(users.loc["u3", "age"])


def test_gexf_undirected_edges_become_mutual_follows():
    net = load_graph_file(VALID / "graph.gexf")
    assert list(net.user_ids) == ["a", "b", "c", "d"]
    assert edge_set(net) == {("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")}
    assert net.follower_mutual.all() and net.follower_count[3] == 0
    users = net.users.set_index("user_id")
    assert users.loc["a", "age"] == 31 and users.loc["a", "friends"] == 12 and users.loc["b", "gender"] == Gender.MALE


def test_large_edge_list_loads_vectorized(tmp_path):
    n = 200_000
    rng = np.random.default_rng(7)
    key = rng.choice(50_000 * 50_000, size=n, replace=False)
    follower, followee = np.divmod(key, 50_000)
    keep = follower != followee
    lines = "\n".join(f"{a:05d},{b:05d}" for a, b in zip(follower[keep], followee[keep]))
    path = tmp_path / "big.csv"
    path.write_text("follower,followee\n" + lines + "\n")
    net = load_edge_list(path)
    assert net.n_edges == keep.sum() and all(len(u) == 5 for u in net.user_ids[:10])


# ---------------------------------------------------------------- malformed input

# file -> (line, column, words the message must contain); line None only for whole-file problems
CASES = {
    "edges_misnamed_columns.csv": (
        1,
        "follower",
        ["found columns 'source', 'target'", "expected follower, followee", "'source' -> 'follower'"],
    ),
    "edges_missing_column.csv": (1, "followee", ["found columns 'follower'"]),
    "edges_no_header.csv": (1, "follower", ["found columns 'a', 'b'"]),
    "edges_duplicate_header.csv": (1, "follower", ["appears twice"]),
    "edges_self_loop.csv": (4, "followee", ["self-loop", "'a1'"]),
    "edges_duplicate_edge.csv": (6, None, ["duplicate edge", "line 2"]),
    "edges_empty.csv": (None, None, ["empty"]),
    "edges_header_only.csv": (1, None, ["no data rows"]),
    "edges_latin1.csv": (3, None, ["not UTF-8", "0xe9"]),
    "edges_gbk.csv": (2, None, ["not UTF-8", "GBK"]),
    "edges_ragged_row.csv": (4, None, ["3 fields", "header has 2"]),
    "edges_unclosed_quote.csv": (3, None, ["quote"]),
    "edges_empty_id.csv": (3, "follower", ["empty user id"]),
    "users_bad_age.csv": (7, "age", ["'abc'", "not a number"]),
    "users_age_out_of_range.csv": (3, "age", ["'130'"]),
    "users_bad_gender.csv": (3, "gender", ["'x'"]),
    "users_bad_occupation.csv": (3, "occupation", ["'astronaut'"]),
    "users_negative_followers.csv": (3, "followers", ["'-5'"]),
    "users_fractional_friends.csv": (3, "friends", ["'2.5'"]),
    "users_duplicate_id.csv": (4, "user_id", ["'alice'", "line 2"]),
    "users_misnamed_id.csv": (1, "user_id", ["found columns 'id', 'age'", "'id' -> 'user_id'"]),
    "users_header_only.csv": (1, None, ["no data rows"]),
    "posts_unknown_user.csv": (5, "user_id", ["'mallory'", "edges.csv", "users.csv"]),
    "posts_misnamed_text.csv": (1, "text", ["'content' -> 'text'"]),
    "posts_bad_time.csv": (3, "time", ["'yesterday'"]),
    "graph_malformed.graphml": (7, None, ["malformed XML"]),
    "graph_malformed.gexf": (7, None, ["malformed XML"]),
    "graph_not_graphml.graphml": (None, None, ["not a valid GraphML"]),
    "graph_bad_attr_type.graphml": (6, None, ["'abc'"]),
    "graph_bad_age.graphml": (6, "age", ["node 'b'", "'old'"]),
    "graph_bad_gender.gexf": (7, "gender", ["node 'b'", "'robot'"]),
    "graph_self_loop.graphml": (7, None, ["self-loop", "'b'"]),
    "graph_duplicate_edge.gexf": (11, None, ["duplicate edge"]),
    "graph_unknown_extension.txt": (None, None, ["'.txt'"]),
}


def check(err: LoadError, path: Path, line: int | None, column: str | None, words: list[str]) -> None:
    """The error names the file, the line/column where there is one, and a fix."""
    text = str(err)
    assert text.startswith(path.name) and err.path == str(path)
    assert err.line == line and (line is None or f"line {line}" in text)
    assert err.column == column and (column is None or f"column '{column}'" in text)
    assert "Fix: " in text and len(err.fix) > 10 and err.problem
    for word in words:
        assert word in text, (word, text)


def test_corpus_is_fully_covered():
    assert {p.name for p in MALFORMED.iterdir()} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_file_raises_one_clear_error(name):
    path = MALFORMED / name
    with pytest.raises(LoadError) as info:
        load(path)
    check(info.value, path, *CASES[name])


@pytest.mark.parametrize(
    ("name", "content", "line", "words"),
    [
        ("edges_png.csv", PNG, 1, ["PNG image"]),
        ("edges_zip.csv", b"PK\x03\x04\x14\x00\x06\x00", 1, ["ZIP archive", ".xlsx"]),
        ("edges_utf16.csv", "follower,followee\na,b\n".encode("utf-16"), 1, ["UTF-16"]),
        ("edges_nul.csv", b"follower,followee\na,b\nc,\x00\x00d\n", 3, ["NUL byte"]),
        ("graph_png.graphml", PNG, 1, ["PNG image", "GraphML"]),
        ("graph_png.gexf", PNG, 1, ["PNG image", "GEXF"]),
    ],
)
def test_binary_junk_is_refused_before_parsing(tmp_path, name, content, line, words):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError) as info:
        load(path)
    check(info.value, path, line, None, words)


def test_oversize_file_is_refused_by_stat_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "edges_huge.csv"
    with open(path, "wb") as handle:
        handle.truncate(300_000_000)  # sparse: nothing written
    import s3core.loaders.csvfile as csvfile

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened before its size was checked")

    monkeypatch.setattr(csvfile, "open", no_reading, raising=False)
    with pytest.raises(LoadError) as info:
        load_edge_list(path)
    check(info.value, path, None, None, ["300.0 MB", "200.0 MB limit"])
    graph = tmp_path / "g.graphml"
    graph.write_bytes(b"<graphml/>" + b" " * 100)
    with pytest.raises(LoadError, match="limit"):
        load_graph_file(graph, max_bytes=50)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(LoadError, match="file not found"):
        load_edge_list(tmp_path / "nope.csv")
    with pytest.raises(LoadError, match="folder"):
        load_edge_list(tmp_path)


def test_error_is_a_valueerror_and_pickles():
    err = LoadError(
        "/x/edges.csv",
        "self-loop (user 'a1' follows itself)",
        "remove the line or correct the id",
        line=14,
        column="followee",
    )
    assert isinstance(err, ValueError)
    assert str(err) == (
        "edges.csv, line 14, column 'followee': self-loop (user 'a1' follows itself). "
        "Fix: remove the line or correct the id."
    )
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.line == 14 and again.column == "followee"


def test_failed_load_leaves_previous_network_and_files_untouched():
    before = {p: p.read_bytes() for p in VALID.iterdir()}
    net = load_edge_list(VALID / "edges.csv", VALID / "users.csv", VALID / "posts.csv")
    snapshot = (net.user_ids.copy(), net.follower_idx.copy(), net.users.copy(), net.posts.copy())
    with pytest.raises(LoadError):
        load_edge_list(VALID / "edges.csv", MALFORMED / "users_bad_age.csv", VALID / "posts.csv")
    assert np.array_equal(net.user_ids, snapshot[0]) and np.array_equal(net.follower_idx, snapshot[1])
    pd.testing.assert_frame_equal(net.users, snapshot[2])
    pd.testing.assert_frame_equal(net.posts, snapshot[3])
    assert before == {p: p.read_bytes() for p in VALID.iterdir()}


# ---------------------------------------------------------------- datasets

needs_weibo = pytest.mark.skipif(not (DATASETS / "weibo-ced" / "reposts.parquet").exists(), reason="no weibo-ced data")
CASCADES = ["yBmepBtUB", "zeLnfwpTM"]


@needs_weibo
def test_weibo_cascades_build_the_repost_network():
    net = load_cascades(DATASETS / "weibo-ced", cascade_ids=CASCADES)
    reposts = pd.read_parquet(DATASETS / "weibo-ced" / "reposts.parquet", filters=[("cascade_id", "in", CASCADES)])
    sources = pd.read_parquet(DATASETS / "weibo-ced" / "sources.parquet", filters=[("cascade_id", "in", CASCADES)])
    pairs = {(u, p) for u, p in zip(reposts["user_id"], reposts["parent_user_id"]) if u != p}
    assert edge_set(net) == pairs  # follower = reposter, followee = reposted user; loops dropped, repeats merged
    assert set(net.user_ids) == {u for pair in pairs for u in pair} | set(sources["user_id"])
    assert list(net.user_ids) == sorted(net.user_ids)
    users = net.users.set_index("user_id")
    author = sources.iloc[0]
    assert users.loc[author["user_id"], "followers"] == author["user_followers"]
    assert users.loc[author["user_id"], "gender"] == {"m": Gender.MALE, "f": Gender.FEMALE}[author["user_gender"]]
    comments = (reposts["text"] != "").sum() + (sources["text"] != "").sum()
    assert len(net.posts) == comments and list(net.posts.columns) == ["user_index", "text", "time"]
    assert (net.posts["text"] != "").all()


@needs_weibo
def test_cascades_cap_and_errors(tmp_path):
    capped = load_cascades(DATASETS, "weibo-ced", cascade_ids=CASCADES, max_edges=20)
    assert capped.n_edges == 20
    with pytest.raises(LoadError, match="unknown cascade ids: 'nope'"):
        load_cascades(DATASETS, "weibo-ced", cascade_ids=["nope"])
    with pytest.raises(LoadError, match="dataset folder not found"):
        load_cascades(tmp_path, "weibo-ced")
    (tmp_path / "weibo-ced").mkdir()
    (tmp_path / "weibo-ced" / "sources.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(LoadError, match="missing"):
        load_cascades(tmp_path, "weibo-ced")


@pytest.mark.skipif(not (DATASETS / "twitter15" / "edges.parquet").exists(), reason="no twitter15 data")
def test_twitter15_cascade_loads_without_repost_texts():
    source = pd.read_parquet(DATASETS / "twitter15" / "sources.parquet").iloc[0]
    net = load_cascades(DATASETS, "twitter15", cascade_ids=[source["cascade_id"]])
    assert net.n_edges > 0 and source["user_id"] in set(net.user_ids)
    assert list(net.posts["text"]) == [source["text"]] and list(net.users.columns) == ["user_id"]


# ---------------------------------------------------------------- ids after pandas and spreadsheets


def test_id_rules_join_spellings_of_one_number_and_keep_text_ids():
    import pyarrow as pa

    from s3core.loaders.ids import normalize_ids

    ids = normalize_ids(
        pa.array(["1002", "1002.0", "1,002", "001002", "1002.00", "1002.5", "ab12e345", "12e345", "u7"])
    )
    assert ids.keys.to_pylist() == ["1002", "1002", "1002", "1002", "1002", "1002.5", "ab12e345", "12e345", "u7"]
    assert ids.spellings.to_pylist()[:5] == ["1002", "1002", "1002", "001002", "1002"]
    assert ids.rewritten == 3 and ids.example == ("1002.0", "1002")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1.00E+15", ["scientific notation"]),
        ("1.2345678901234568e+18", ["scientific notation"]),
        ("12345678901234567.0", ["more digits than a decimal (float) column keeps"]),
    ],
)
def test_id_rules_refuse_ids_whose_digits_were_lost(tmp_path, value, words):
    path = tmp_path / "edges.csv"
    path.write_text(f"follower,followee\na,b\nb,{value}\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(path)
    check(info.value, path, 3, "followee", words + ["format the column as Text", "dtype=str"])


def test_one_spreadsheet_cut_id_among_short_ones_is_kept(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("follower,followee\n1234567890123456780,2\n2,3\n")  # one zero after the 15th digit: plausible
    assert load_edge_list(path).n_users == 3


def test_users_file_listing_one_number_twice_names_both_spellings(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("user_id,age\n007,20\n7.0,30\n")
    edges = tmp_path / "edges.csv"
    edges.write_text("follower,followee\n7,8\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(edges, users)
    check(info.value, users, 3, "user_id", ["'007' is listed twice", "line 2", "as '7', the same number"])


def test_self_loop_through_a_float_spelling_is_caught(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("follower,followee\n1,2\n3,3.0\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(path)
    check(info.value, path, 3, "followee", ["self-loop", "'3'"])


def test_graph_node_ids_follow_the_id_rules(tmp_path):
    path = tmp_path / "g.graphml"
    path.write_text(
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">'
        '<node id="1.0"/><node id="1"/><edge source="1.0" target="1"/></graph></graphml>'
    )
    with pytest.raises(LoadError) as info:
        load_graph_file(path)
    assert "two nodes have the same user id: '1.0' and '1'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('<gexf xmlns="http://www.gexf.net/0.9" version="0.9"><graph/></gexf>', ["GEXF version '0.9'"]),
        ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns"/>', ["root element is <graphml>", "not <gexf>"]),
    ],
)
def test_gexf_files_that_are_not_readable_name_why(tmp_path, text, words):
    path = tmp_path / "g.gexf"
    path.write_text(text)
    with pytest.raises(LoadError) as info:
        load_graph_file(path)
    for word in words:
        assert word in str(info.value)


def test_graphml_without_namespace_and_with_mixed_directions_loads(tmp_path):
    path = tmp_path / "g.graphml"
    path.write_text(
        '<graphml><key id="a" for="node" attr.name="AGE" attr.type="integer"/>'
        '<graph edgedefault="undirected"><node id="x"><data key="a">30</data></node><node id="y"/>'
        '<node id="z"/><edge source="x" target="y"/><edge source="y" target="z" directed="true"/>'
        "</graph></graphml>"
    )
    net = load_graph_file(path)
    assert edge_set(net) == {("x", "y"), ("y", "x"), ("y", "z")}
    assert net.users.set_index("user_id").loc["x", "age"] == 30


def test_two_attributes_for_one_column_are_refused(tmp_path):
    path = tmp_path / "g.graphml"
    path.write_text(
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<key id="a" for="node" attr.name="age" attr.type="int"/>'
        '<key id="b" for="node" attr.name="Age" attr.type="int"/>'
        '<graph edgedefault="directed"><node id="x"><data key="a">30</data></node>'
        '<node id="y"><data key="b">31</data></node><edge source="x" target="y"/></graph></graphml>'
    )
    with pytest.raises(LoadError, match="node attributes 'Age' and 'age' both give the age"):
        load_graph_file(path)


# ---------------------------------------------------------------- separators, long echoes, many bad cells


def _as(path: Path, source: Path, delimiter: str) -> Path:
    """``source`` (a comma CSV) rewritten with another separator, quoting as a spreadsheet would."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"), newline="")))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.mark.parametrize("delimiter, name", [(";", "semicolon"), ("\t", "tab"), ("|", "vertical bar")])
def test_semicolon_tab_and_bar_separated_files_load_like_the_comma_ones(tmp_path, delimiter, name):
    from s3core.loaders import read_edge_list

    comma = load_edge_list(VALID / "edges.csv", VALID / "users.csv", VALID / "posts.csv")
    files = [_as(tmp_path / f"{role}.csv", VALID / f"{role}.csv", delimiter) for role in ("edges", "users", "posts")]
    assert all(b"," not in f.read_bytes().splitlines()[0] for f in files)
    result = read_edge_list(*files)
    net = result.network
    assert list(net.user_ids) == list(comma.user_ids) and edge_set(net) == edge_set(comma)
    pd.testing.assert_frame_equal(net.users, comma.users)
    pd.testing.assert_frame_equal(net.posts, comma.posts)  # a text with a comma and a line break survives
    said = [n.text for n in result.notes if n.level == "info"]
    for role in ("edges", "users", "posts"):
        assert f"Read {role}.csv as {name}-separated" in " | ".join(said), said


def test_the_separator_note_keeps_the_file_name_as_typed_when_its_sentence_is_capitalised(tmp_path):
    from s3core.loaders import read_edge_list

    edges = _as(tmp_path / "edges_semicolon.csv", VALID / "edges.csv", ";")
    (note,) = [n.text for n in read_edge_list(edges).notes if "separated" in n.text]
    shown = note[:1].upper() + note[1:]  # what the Network page shows
    assert "edges_semicolon.csv" in shown and "Edges_semicolon" not in shown


def test_a_semicolon_file_with_a_ragged_line_names_the_separator(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("follower;followee\na;b\nb;c;d\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(path)
    check(info.value, path, 3, None, ["3 fields but the header has 2", "semicolon-separated fields"])


def test_a_space_separated_header_is_named_as_such(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("follower followee\na b\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(path)
    check(info.value, path, 1, "follower", ["names are separated by spaces, which is not a CSV separator"])


def test_a_long_junk_header_is_cut_not_echoed(tmp_path):
    path = tmp_path / "edges.csv"
    junk = "<html><head><script>" + "var x = 'tracking';" * 125 + "</script>"
    assert len(junk) > 2_000
    path.write_text(junk + "\n1,2\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(path)
    text = str(info.value)
    assert f"… ({len(junk) + 2 - 120:,} more characters)" in text  # the quotes count: "'" + junk + "'"
    assert len(text) < 600 and text.count("tracking") < 10, len(text)
    assert "missing column 'follower'" in text and "Fix: " in text


def test_a_long_cell_value_is_cut_in_the_error(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("user_id,age\n007," + "9" * 5000 + "x\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(VALID / "edges.csv", users)
    assert "(4,881 more characters)" in str(info.value) and len(str(info.value)) < 600


def test_up_to_twenty_bad_cells_are_named_with_line_and_column_and_the_rest_counted(tmp_path):
    users = tmp_path / "users.csv"
    rows = [f"u{i},{'old' if i % 2 else 200},{'x' if i % 5 == 0 else 'f'}" for i in range(30)]
    users.write_text("user_id,age,gender\n" + "\n".join(rows) + "\n")
    edges = tmp_path / "edges.csv"
    edges.write_text("follower,followee\nu0,u1\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(edges, users)
    err, text = info.value, str(info.value)
    assert err.n_bad == 36 and len(err.cells) == 20 and err.more == 16  # 30 ages + 6 genders
    assert (err.line, err.column) == (2, "age") and text.startswith("users.csv, line 2, column 'age': age '200'")
    assert "36 bad values in all" in text and "and 16 more not listed" in text
    assert [c[:2] for c in err.cells[:4]] == [(2, "age"), (2, "gender"), (3, "age"), (4, "age")]
    assert "line 3, column 'age': age 'old' is not a number" in text
    assert "line 2, column 'gender': unknown gender 'x'" in text
    assert "age: write the age in years" in err.fix and "gender: write m, f" in err.fix
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == text and again.cells == err.cells and again.more == 16


def test_every_unknown_post_author_and_bad_time_is_named(tmp_path):
    posts = tmp_path / "posts.csv"
    posts.write_text("user_id,text,time\nalice,hi,1\nzed,a,2\nyan,b,3\nalice,c,4\nxu,d,5\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(VALID / "edges.csv", VALID / "users.csv", posts)
    assert [c[0] for c in info.value.cells] == [3, 4, 6] and "3 bad values in all" in str(info.value)
    posts.write_text("user_id,text,time\nalice,hi,2024-05-01\nalice,b,soon\nbob,c,later\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(VALID / "edges.csv", VALID / "users.csv", posts)
    assert [c[:2] for c in info.value.cells] == [(3, "time"), (4, "time")]


def test_every_self_loop_and_empty_id_is_named(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("follower,followee\na,a\na,b\nb,b\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(path)
    assert [c[0] for c in info.value.cells] == [2, 4]
    path.write_text("follower,followee\n,a\na,b\n,b\n")
    with pytest.raises(LoadError) as info:
        load_edge_list(path)
    assert [c[0] for c in info.value.cells] == [2, 4] and "empty user id" in str(info.value)


def test_every_bad_node_attribute_of_a_graph_is_named_with_its_line(tmp_path):
    path = tmp_path / "g.graphml"
    path.write_text(
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
        '<key id="a" for="node" attr.name="age" attr.type="string"/>\n'
        '<graph edgedefault="directed">\n'
        '<node id="x"><data key="a">old</data></node>\n'
        '<node id="y"><data key="a">30</data></node>\n'
        '<node id="z"><data key="a">999</data></node>\n'
        '<edge source="x" target="y"/></graph></graphml>\n'
    )
    with pytest.raises(LoadError) as info:
        load_graph_file(path)
    assert [c[:2] for c in info.value.cells] == [(4, "age"), (6, "age")]
    assert "node 'z': age '999' is not a number between 10 and 100" in str(info.value)


def test_the_dashboard_upload_takes_a_semicolon_file_and_lists_bad_cells_keeping_the_network(tmp_path):
    from s3core import scenario as S
    from ui.networks import bundled
    from ui.session import DEFAULT_SCENARIO, Workspace

    ws = Workspace(session_id="t", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    edges = ("edges.csv", b"follower;followee\r\na;b\r\nb;c\r\nc;a\r\n")
    assert ws.load_upload({"edges": edges}) is None
    assert ws.net.network.n_users == 3 and any("semicolon-separated" in n for n in ws.net.notes)
    loaded = ws.net
    users = ("users.csv", b"user_id;age;gender\r\na;old;f\r\nb;30;q\r\nc;300;m\r\n")
    message = ws.load_upload({"edges": edges, "users": users})
    assert ws.net is loaded, "a refused upload keeps the network in use"
    lines = message.split("  \n")
    assert lines[0] == "users.csv, line 2, column 'age': age 'old' is not a number. 3 bad values in all:"
    assert lines[1:3] == [
        "line 3, column 'gender': unknown gender 'q'",
        "line 4, column 'age': age '300' is not a number between 10 and 100",
    ]
    assert lines[-1].startswith("Fix: age: write the age in years")
