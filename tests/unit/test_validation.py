"""Names and limits follow docs/contract.md section 2, and every refusal says what is wrong."""

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resource_registry.errors import InvalidInputError
from resource_registry.model import Limit
from resource_registry.validation import (
    MAX_LIMITS,
    MAX_PERIOD_SECONDS,
    MAX_TOKENS,
    parse_limit,
    parse_limits,
    validate_name,
    validate_resource_name,
)

BASE = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}


def test_defaults_fill_burst_and_refill_amount_from_capacity() -> None:
    assert parse_limit(BASE) == Limit("rpm", 100, 100, 100, 60)


def test_explicit_burst_and_refill_amount_are_kept() -> None:
    limit = parse_limit({**BASE, "burst": 150, "refill_amount": 10})
    assert (limit.burst, limit.refill_amount) == (150, 10)


@pytest.mark.parametrize("name", ["a", "gpt-4", "claude-3.5_sonnet", "A" + "b" * 63])
def test_valid_names_pass(name: str) -> None:
    assert validate_resource_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "4o", "-x", "a#b", "/ab", "a b", "modèle", "a" * 65, "a%2Fb", "a\x00", 42, None],
)
def test_invalid_names_are_refused_with_the_rule(name: Any) -> None:
    with pytest.raises(InvalidInputError, match="resource name"):
        validate_resource_name(name)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("capacity", True, "integer, not a boolean"),
        ("capacity", 1.5, "integer, not a float"),
        ("capacity", 5.0, "integer, not a float"),
        ("capacity", "10", "integer, not a string"),
        ("capacity", None, "integer, not null"),
        ("capacity", 0, "between 1 and"),
        ("capacity", -3, "between 1 and"),
        ("capacity", MAX_TOKENS + 1, "between 1 and"),
        ("refill_period_seconds", 0, "between 1 and"),
        ("refill_period_seconds", MAX_PERIOD_SECONDS + 1, "between 1 and"),
        ("refill_amount", 0, "between 1 and"),
        ("burst", 99, "at least capacity"),
    ],
)
def test_bad_numbers_are_refused(field: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as refused:
        parse_limit({**BASE, field: value})
    assert field in str(refused.value)


def test_unknown_fields_are_refused_by_name() -> None:
    with pytest.raises(InvalidInputError, match="'window'"):
        parse_limit({**BASE, "window": 60})


@pytest.mark.parametrize("missing", ["name", "capacity", "refill_period_seconds"])
def test_required_fields_are_named_when_missing(missing: str) -> None:
    limit = {key: value for key, value in BASE.items() if key != missing}
    with pytest.raises(InvalidInputError, match=f"missing '{missing}'"):
        parse_limit(limit)


@pytest.mark.parametrize("count", [0, MAX_LIMITS + 1])
def test_limit_count_is_at_least_1_and_at_most_the_largest_maximum(count: int) -> None:
    limits = [{**BASE, "name": f"l{index}"} for index in range(count)]
    with pytest.raises(InvalidInputError, match=f"1 to {MAX_LIMITS}"):
        parse_limits(limits)


def test_40_limits_are_accepted_and_sorted_by_name() -> None:
    limits = parse_limits([{**BASE, "name": f"l{index:02}"} for index in reversed(range(40))])
    assert [limit.name for limit in limits] == [f"l{index:02}" for index in range(40)]


def test_duplicate_limit_names_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="more than once"):
        parse_limits([BASE, BASE])


@pytest.mark.parametrize("value", [None, {}, "rpm", [1]])
def test_limits_must_be_a_list_of_objects(value: Any) -> None:
    with pytest.raises(InvalidInputError):
        parse_limits(value)


def contract_allows(name: str, also: str = "") -> bool:
    """The contract's name rule, written out without a regular expression."""
    allowed = string.ascii_letters + string.digits + "_.-" + also
    return 1 <= len(name) <= 64 and name[0] in string.ascii_letters and set(name) <= set(allowed)


@given(st.text(alphabet=string.printable + "éß#/:\n\x00", max_size=70))
def test_a_resource_name_is_accepted_exactly_when_the_contract_allows_it(name: str) -> None:
    if contract_allows(name, also="/:"):
        assert validate_resource_name(name) == name
    else:
        with pytest.raises(InvalidInputError):
            validate_resource_name(name)


@given(st.text(alphabet=string.printable + "éß#/:\n\x00", max_size=70))
def test_a_limit_name_is_accepted_exactly_when_the_contract_allows_it(name: str) -> None:
    if contract_allows(name):
        assert validate_name(name, "limit name") == name
    else:
        with pytest.raises(InvalidInputError):
            validate_name(name, "limit name")


@pytest.mark.parametrize("name", ["openai/gpt-4", "anthropic.claude-v2:1", "llama3:8b"])
def test_zae_limiter_resource_names_are_valid(name: str) -> None:
    assert validate_resource_name(name) == name


def test_the_limit_name_wcu_is_reserved() -> None:
    with pytest.raises(InvalidInputError, match="reserved"):
        parse_limit({"name": "wcu", "capacity": 1, "refill_period_seconds": 1})
