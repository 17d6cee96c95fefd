"""The compact limit syntax and the declarative file: what they accept, what they refuse (with
the line), and that writing then reading gives back the same state."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resource_registry_client.desired import (
    DesiredFileError,
    DesiredState,
    dump_desired,
    load_desired,
)
from resource_registry_client.limits import (
    Limit,
    LimitSyntaxError,
    format_period,
    parse_compact,
    parse_named,
)


def test_the_compact_form_with_its_defaults() -> None:
    assert parse_named("rpm=500/1m") == Limit("rpm", 500, 60, burst=500, refill_amount=500)
    assert parse_named("tpm=100000/60s,burst=150000,refill=1000") == Limit(
        "tpm", 100000, 60, burst=150000, refill_amount=1000
    )
    assert parse_compact("daily", "10/1d").refill_period_seconds == 86400
    assert parse_compact("h", "10 / 2h , refill=1").refill_period_seconds == 7200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rpm", "is not NAME=CAPACITY/PERIOD"),
        ("rpm=500", "is not CAPACITY/PERIOD"),
        ("rpm=500/60", "needs a unit"),
        ("rpm=500/60w", "unit 'w' is not s, m, h or d"),
        ("rpm=0/1m", "capacity must be a whole number above 0"),
        ("rpm=5/0s", "refill_period_seconds must be a whole number above 0"),
        ("rpm=5/1m,burst=4", "burst (4) must be at least capacity (5)"),
        ("rpm=5/1m,ceiling=9", "is not an option"),
        ("rpm=5/1m,burst=6,burst=7", "burst is given twice"),
        ("rpm=-5/1m", "is not CAPACITY/PERIOD"),
        ("rpm=5.5/1m", "is not CAPACITY/PERIOD"),
        ("wcu=5/1m", "reserved"),
        ("9rpm=5/1m", "limit name '9rpm' is not valid"),
        (f"rpm={2**53}/1s", "is over"),
    ],
)
def test_bad_limits_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(LimitSyntaxError) as raised:
        parse_named(text)
    assert message in str(raised.value)


def test_periods_are_written_in_their_largest_whole_unit() -> None:
    assert [format_period(s) for s in (1, 59, 60, 90, 3600, 7200, 86400, 90000)] == [
        "1s",
        "59s",
        "1m",
        "90s",
        "1h",
        "2h",
        "1d",
        "25h",
    ]


limits = st.builds(
    lambda name, capacity, extra, refill, period: Limit.of(
        name, capacity, period, burst=capacity + extra, refill_amount=refill
    ),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,10}", fullmatch=True).filter(lambda n: n != "wcu"),
    st.integers(1, 10**9),
    st.integers(0, 10**9),
    st.integers(1, 10**9),
    st.integers(1, 10**7),
)


@given(limits)
def test_the_compact_form_reads_back_as_the_same_limit(limit: Limit) -> None:
    assert parse_compact(limit.name, limit.compact) == limit


resource_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-/:]{0,20}", fullmatch=True)


@given(
    st.dictionaries(
        st.sampled_from(["default", "prod", "team-a"]),
        st.dictionaries(
            resource_names,
            st.lists(limits, min_size=1, max_size=4, unique_by=lambda limit: limit.name).map(
                lambda found: tuple(sorted(found))
            ),
            max_size=4,
        ),
        max_size=3,
    )
)
def test_a_dumped_state_loads_back_unchanged(namespaces) -> None:
    state = DesiredState(namespaces)
    assert load_desired(dump_desired(state)) == state


GOOD = """\
namespaces:
  default:
    gpt-4:
      rpm: 500/1m
      tpm: 100000/1m,burst=150000
    openai/gpt-4:
      rpm: 60/1m,refill=1
    llama3:8b:
      rpd: 1000/1d
  empty: {}
  also-empty:
"""


def test_a_good_file() -> None:
    state = load_desired(GOOD)
    assert set(state.namespaces) == {"default", "empty", "also-empty"}
    assert state.namespaces["empty"] == {} and state.namespaces["also-empty"] == {}
    default = state.namespaces["default"]
    assert [limit.name for limit in default["gpt-4"]] == ["rpm", "tpm"]
    assert default["openai/gpt-4"][0].refill_amount == 1
    assert default["llama3:8b"][0].refill_period_seconds == 86400


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(DesiredFileError) as raised:
        load_desired(text, "limits.yaml")
    lines = str(raised.value).splitlines()
    assert all(line.startswith("limits.yaml:") for line in lines)
    return [(line, message) for line, _, message in raised.value.problems]


def test_every_mistake_is_reported_with_its_line() -> None:
    found = problems(
        """\
namespaces:
  default:
    gpt-4:
      rpm: 500/1m
      rpm: 600/1m
    claude:
      rpm: 60
      "x y": 5/1s
    9bad:
      rpm: 1/1s
    nothing: {}
    listed:
      - rpm: 5/1m
    gpt-4:
      tpm: 1/1s
extra: true
"""
    )
    assert [line for line, _ in found] == [5, 7, 8, 9, 11, 13, 14, 16]
    messages = dict(found)
    assert "'rpm' appears twice in resource 'gpt-4' (first on line 4)" in messages[5]
    assert "is not CAPACITY/PERIOD" in messages[7]
    assert "limit name 'x y' is not valid" in messages[8]
    assert "resource name '9bad' is not valid" in messages[9]
    assert "has no limits" in messages[11]
    assert "must map limit names to limits" in messages[13]
    assert "'gpt-4' appears twice in namespace 'default'" in messages[14]
    assert "unknown key 'extra'" in messages[16]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "the file is empty"),
        ("- a\n- b\n", 1, "must be a mapping"),
        ("limits:\n  a: 1\n", 1, "unknown key 'limits'"),
        ("namespaces:\n  default:\n    gpt-4: {rpm: 5/1m\n", 4, "not valid YAML"),
        ("namespaces:\n  default:\n    gpt-4:\n\trpm: 5/1m\n", 4, "not valid YAML"),
        ("namespaces:\n  default:\n    gpt-4:\n      rpm:\n", 4, "must be CAPACITY/PERIOD"),
        ("namespaces:\n  default:\n    gpt-4:\n      rpm: 5/1m,burst=1\n", 4, "burst (1)"),
    ],
)
def test_bad_files_are_refused_with_a_line(text: str, line: int, message: str) -> None:
    found = problems(text)
    assert any(at == line and message in said for at, said in found), found


def test_more_than_forty_limits_is_refused() -> None:
    body = "".join(f"      l{index}: 1/1s\n" for index in range(41))
    found = problems(f"namespaces:\n  default:\n    gpt-4:\n{body}")
    assert found == [(4, "resource 'gpt-4': a resource has 1 to 40 limits, not 41")]


@pytest.mark.parametrize(
    "text",
    [
        "namespaces: !!python/object/apply:os.system [echo hi]\n",
        "namespaces:\n  default:\n    gpt-4:\n      rpm: !custom 5/1m\n",
        "!!python/name:os.system\n",
    ],
)
def test_tags_are_refused_and_nothing_is_constructed(text: str) -> None:
    assert any("YAML tag" in said for _, said in problems(text))
