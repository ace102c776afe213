"""Audience kind 'users': an explicit list of user ids, in TOML and in the feeds, checked against the network,
and keyed so that a listed user's draws do not depend on who else is listed (common random numbers)."""

import numpy as np
import pytest

from s3core import feeds
from s3core import scenario as S
from s3core.engine import Simulation
from s3core.interventions import Audience, Boost, content_keys
from s3core.keyed_random import KeyedRandom
from s3core.params import PlatformParams
from s3core.sources import load_network
from s3core.state import PostStore

HEAD = (
    "steps = 3\n[[interventions]]\nkind = 'seed'\nstep = 0\nname = 'a'\ntext = 'x'\n"
    "[[interventions]]\nkind = 'boost'\nstep = 1\npost = 'a'\n"
)


class _Pop:
    def __init__(self, n):
        self.size = n


def _posts(n=1):
    store = PostStore()
    store.append(
        author=np.zeros(n, np.int64),
        parent=np.full(n, -1),
        root=np.arange(n),
        step=np.zeros(n),
        action=np.full(n, 3),
        stance=np.ones(n),
        emotion=np.ones(n),
        depth=np.zeros(n),
        text_id=np.zeros(n),
        key=np.arange(n, dtype=np.uint64) + 7,
    )
    return store


def test_toml_form_reads_canonical_ids_and_writes_back_the_same_scenario():
    sc = S.loads(HEAD + "audience = { kind = 'users', users = ['12', 13, '1,004'] }\n")
    audience = sc.interventions[1].audience
    assert audience.kind == "users" and audience.users == ("12", "13", "1004")
    text = S.dumps(sc)
    assert "users = [" in text and "fraction" not in text.split("[interventions.audience]")[1]
    assert S.loads(text).interventions == sc.interventions


@pytest.mark.parametrize(
    "audience, message",
    [
        ("{ kind = 'users' }", "interventions[1].audience.users is missing"),
        ("{ kind = 'users', users = [] }", "interventions[1].audience.users = []: expected a non-empty list"),
        ("{ kind = 'users', users = '12' }", "interventions[1].audience.users = '12': expected a non-empty list"),
        (
            "{ kind = 'users', users = ['12', 12] }",
            "interventions[1].audience.users[1] = 12: already listed as interventions[1].audience.users[0]",
        ),
        ("{ kind = 'users', users = [1.5] }", "interventions[1].audience.users[0] = 1.5: expected a user id"),
        ("{ kind = 'users', users = ['1.2E+17'] }", "interventions[1].audience.users[0] = '1.2E+17': "),
        (
            "{ kind = 'everyone', users = ['12'] }",
            "interventions[1].audience.users = ['12'] is not used when kind = 'everyone'",
        ),
        (
            "{ kind = 'users', users = ['12'], fraction = 0.5 }",
            "interventions[1].audience.fraction = 0.5 is not used when kind = 'users'",
        ),
    ],
)
def test_bad_user_lists_are_refused_naming_file_and_key(audience, message):
    with pytest.raises(S.ScenarioError) as err:
        S.loads(HEAD + f"audience = {audience}\n", origin="f.toml")
    assert str(err.value).startswith("f.toml: ") and message in str(err.value)


def test_unknown_user_is_refused_when_the_network_loads_naming_file_and_key(tmp_path):
    (tmp_path / "e.csv").write_text("follower,followee\na,b\nb,c\n")
    (tmp_path / "s.toml").write_text(
        HEAD + "audience = { kind = 'users', users = ['b', 'zz'] }\n[network]\nsource = 'files'\nedges = 'e.csv'\n"
    )
    with pytest.raises(S.ScenarioError) as err:
        load_network(S.load(tmp_path / "s.toml"), np.random.default_rng(0))
    assert str(err.value).startswith(str(tmp_path / "s.toml")) and "interventions[1].audience.users[1] = 'zz'" in str(
        err.value
    )


def test_mask_and_boost_reach_exactly_the_listed_users():
    ids = np.array([f"u{i}" for i in range(500)], dtype=object)
    audience = Audience(kind="users", users=("u3", "u250", "u499"))
    mask = feeds.audience_mask(audience, _Pop(500), KeyedRandom(1), 5, ids)
    assert np.flatnonzero(mask).tolist() == [3, 250, 499]
    boost = Boost(step=0, strength=1.0, post=0, audience=audience)
    ex = feeds.from_boost(boost, 5, np.array([0]), _posts(), _Pop(500), 0, PlatformParams(), KeyedRandom(1), ids)
    assert sorted(ex.viewer.tolist()) == [3, 250, 499] and (ex.post == 0).all()
    with pytest.raises(ValueError, match="user_ids"):
        feeds.audience_mask(audience, _Pop(500), KeyedRandom(1), 5)


def test_a_listed_users_draws_do_not_depend_on_the_others_listed_and_other_keys_are_unchanged():
    one = Boost(step=1, strength=0.5, post="a", audience=Audience(kind="users", users=("1", "2")))
    other = Boost(step=1, strength=0.5, post="a", audience=Audience(kind="users", users=("1", "3")))
    assert one != other and content_keys((one,)) == content_keys((other,))
    everyone = Boost(step=1, post="a")
    assert "users" not in repr(everyone) and "users" not in repr(everyone.audience)
    ids = np.array([str(i) for i in range(4000)], dtype=object)
    seen = [
        feeds.from_boost(
            b, content_keys((b,))[0], np.array([0]), _posts(), _Pop(4000), 1, PlatformParams(), KeyedRandom(2), ids
        )
        for b in (one, other)
    ]
    assert ("1" in ids[seen[0].viewer]) == ("1" in ids[seen[1].viewer])


def test_a_simulation_refuses_a_listed_user_outside_its_network(small_network, text):
    sc = S.loads(HEAD + "audience = { kind = 'users', users = ['nobody-here'] }\n")
    with pytest.raises(ValueError, match="audience user 'nobody-here'"):
        Simulation(sc, network=small_network, text=text)
