"""ListSecrets filters: parsing with AWS's errors, and matching name, description, tags, all."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.domain.filters import (
    FILTER_KEYS,
    Filter,
    Listable,
    matches,
    name_prefixes,
    parse_filters,
    split_words,
)
from strongroom.errors import InvalidParameter, Serialization, Validation


def item(
    name: str = "secret",
    description: str = "",
    tags: dict[str, str] | None = None,
    primary_region: str | None = None,
    owning_service: str | None = None,
) -> Listable:
    """A Listable with defaults for the fields a test does not care about."""
    return Listable(
        name=name,
        description=description,
        tags=tags or {},
        primary_region=primary_region,
        owning_service=owning_service,
    )


def only(key: str, *values: str) -> tuple[Filter, ...]:
    """One filter with the given key and values."""
    return (Filter(key, values),)


# --- parsing ---------------------------------------------------------------------------


def test_parse_none_is_no_filters() -> None:
    """No Filters parameter means no filters."""
    assert parse_filters(None) == ()
    assert parse_filters([]) == ()


def test_parse_keeps_keys_and_values() -> None:
    """Each wire filter becomes a Filter with its key and values in order."""
    raw = [{"Key": "name", "Values": ["a", "!b"]}, {"Key": "tag-key", "Values": ["env"]}]
    assert parse_filters(raw) == (Filter("name", ("a", "!b")), Filter("tag-key", ("env",)))


@pytest.mark.parametrize("key", FILTER_KEYS)
def test_every_documented_key_is_accepted(key: str) -> None:
    """All seven documented keys parse."""
    assert parse_filters([{"Key": key, "Values": ["x"]}])[0].key == key


def test_unknown_key_is_a_validation_error_naming_its_position() -> None:
    """A key outside the enum fails model validation with AWS's enum message."""
    with pytest.raises(Validation) as err:
        parse_filters([{"Key": "name", "Values": ["a"]}, {"Key": "Name", "Values": ["a"]}])
    assert err.value.message.startswith(
        "1 validation error detected: Value 'Name' at 'filters.2.member.key' failed to "
        "satisfy constraint: Member must satisfy enum value set: [all, name, tag-key, "
        "description, tag-value"
    )


def test_missing_key_is_invalid_parameter() -> None:
    """A filter without Key is refused as 'Invalid filter key'."""
    with pytest.raises(InvalidParameter) as err:
        parse_filters([{"Values": ["foo"]}])
    assert err.value.message == "Invalid filter key"


def test_missing_values_is_invalid_parameter() -> None:
    """A filter without Values names its key in the refusal."""
    with pytest.raises(InvalidParameter) as err:
        parse_filters([{"Key": "description"}])
    assert err.value.message == "Invalid filter values for key: description"


def test_value_count_limits() -> None:
    """A filter needs 1..10 values."""
    with pytest.raises(Validation):
        parse_filters([{"Key": "name", "Values": []}])
    assert len(parse_filters([{"Key": "name", "Values": ["v"] * 10}])[0].values) == 10
    with pytest.raises(Validation):
        parse_filters([{"Key": "name", "Values": ["v"] * 11}])


def test_filter_count_limit() -> None:
    """At most 10 filters are accepted."""
    assert len(parse_filters([{"Key": "name", "Values": ["v"]}] * 10)) == 10
    with pytest.raises(Validation):
        parse_filters([{"Key": "name", "Values": ["v"]}] * 11)


@pytest.mark.parametrize("value", ["a*b", "a#b", "caf\u00e9", "a?b"])
def test_value_outside_pattern_is_refused(value: str) -> None:
    """Values must match AWS's filter value pattern."""
    with pytest.raises(Validation) as err:
        parse_filters([{"Key": "all", "Values": [value]}])
    assert "regular expression pattern" in err.value.message


def test_value_length_limit() -> None:
    """A value may have up to 512 characters."""
    parse_filters([{"Key": "name", "Values": ["a" * 512]}])
    with pytest.raises(Validation):
        parse_filters([{"Key": "name", "Values": ["a" * 513]}])


@pytest.mark.parametrize(
    "raw",
    [
        "name",
        [["name"]],
        [{"Key": 1, "Values": ["a"]}],
        [{"Key": "name", "Values": "a"}],
        [{"Key": "name", "Values": [1]}],
    ],
)
def test_wrong_json_types_are_serialization_errors(raw: Any) -> None:
    """Wrong JSON types are refused as unreadable input."""
    with pytest.raises(Serialization):
        parse_filters(raw)


# --- words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("credsDatabase#892", ["creds", "Database", "892"]),
        ("MyTestPhrase", ["My", "Test", "Phrase"]),
        ("Mytest", ["Mytest"]),
        ("prod/AppBeta/x1", ["prod", "App", "Beta", "x", "1"]),
        ("COMPANYthings", ["COMPAN", "Ythings"]),
        ("uat/COMPANY/", ["uat", "COMPANY"]),
        ("+", []),
    ],
)
def test_split_words(text: str, words: list[str]) -> None:
    """Words break at case changes, letter/digit changes and punctuation, as AWS splits them."""
    assert split_words(text) == words


# --- matching ---------------------------------------------------------------------------


def test_no_filters_match_everything() -> None:
    """An empty filter list lets every secret through."""
    assert matches((), item())


def test_name_is_case_sensitive_prefix_of_whole_name() -> None:
    """name: 'Data' finds DatabaseSecret but not databaseSecret or MyData."""
    f = only("name", "Data")
    assert matches(f, item("DatabaseSecret"))
    assert not matches(f, item("databaseSecret"))
    assert not matches(f, item("MyData"))
    assert not matches(only("name", "db"), item("prod/db"))
    assert matches(only("name", "prod/d"), item("prod/db"))


def test_tag_key_and_value_are_case_sensitive_prefixes() -> None:
    """tag-key/tag-value: 'Prod' finds Production and Prod1, not prod or '1 Prod'."""
    for key in ("tag-key", "tag-value"):
        f = only(key, "Prod")
        for text, expected in [
            ("Production", True),
            ("Prod1", True),
            ("prod", False),
            ("1 Prod", False),
        ]:
            tags = {text: "v"} if key == "tag-key" else {"k": text}
            assert matches(f, item(tags=tags)) is expected
    assert not matches(only("tag-key", "Prod"), item(tags={}))


def test_description_matches_words_in_any_order_ignoring_case() -> None:
    """description: 'My Description' finds each documented example, and needs every word."""
    f = only("description", "My Description")
    for text in [
        "My Description",
        "my description",
        "My basic description",
        "Description of my secret",
    ]:
        assert matches(f, item(description=text))
    assert not matches(f, item(description="my secret"))


def test_description_words_are_prefixes() -> None:
    """'o t' finds 'one two' and 'one and two' but not 'one'; 't' finds any word with t."""
    f = only("description", "o t")
    assert matches(f, item(description="one two"))
    assert matches(f, item(description="one and two"))
    assert not matches(f, item(description="one"))
    assert not matches(only("description", "ne"), item(description="one"))


def test_all_searches_name_description_and_tags() -> None:
    """all: a word may be found in the name, the description, a tag key or a tag value."""
    f = only("all", "foo")
    assert matches(f, item(name="fooBar"))
    assert matches(f, item(description="the foo"))
    assert matches(f, item(tags={"Foo": "1"}))
    assert matches(f, item(tags={"1": "foo"}))
    assert not matches(f, item(name="barfoo"))


def test_all_is_case_insensitive_word_prefix() -> None:
    """all: 'sec' and 'secret' find SecretOne, 'ret' and 'SomeSecret' do not."""
    target = item(name="SecretOne1a2b3c")
    assert matches(only("all", "sec"), target)
    assert matches(only("all", "secret"), target)
    assert not matches(only("all", "ret"), target)
    assert not matches(only("all", "SomeSecret"), target)


def test_all_matches_camel_case_pieces() -> None:
    """all: COMPANY is found as 'company'; COMPANYthings as 'Ythings' but not 'things'."""
    assert matches(only("all", "company"), item(name="uat/COMPANY/x"))
    assert matches(only("all", "Ythings"), item(name="uat/COMPANYthings/x"))
    assert not matches(only("all", "things"), item(name="uat/COMPANYthings/x"))


def test_pattern_without_words_matches_nothing() -> None:
    """A value with no letters or digits (e.g. '+') finds nothing for word filters."""
    assert not matches(only("all", "+"), item(name="prod+AppBeta"))
    assert not matches(only("description", "+"), item(description="a+b"))


def test_region_and_service_prefixes() -> None:
    """primary-region is a case-sensitive prefix; owning-service ignores case; absent never
    matches."""
    assert matches(only("primary-region", "us-"), item(primary_region="us-east-1"))
    assert not matches(only("primary-region", "US-"), item(primary_region="us-east-1"))
    assert not matches(only("primary-region", "us"), item())
    assert matches(only("owning-service", "My-Ser"), item(owning_service="my-service"))
    assert not matches(only("owning-service", "rds"), item())


def test_values_in_one_filter_are_ored() -> None:
    """Several values of one filter: any may match."""
    f = only("name", "foo", "bar")
    assert matches(f, item("foo1"))
    assert matches(f, item("bar1"))
    assert not matches(f, item("baz"))


def test_filters_are_anded_even_with_the_same_key() -> None:
    """Two description filters 'one' and 'two' find only 'one two'."""
    f = (Filter("description", ("one",)), Filter("description", ("two",)))
    assert matches(f, item(description="one two"))
    assert not matches(f, item(description="one"))
    assert not matches(f, item(description="two"))


def test_negation_inverts_a_value() -> None:
    """'!' before a value matches secrets the value does not match."""
    assert matches(only("name", "!foo"), item("bar"))
    assert not matches(only("name", "!foo"), item("foobar"))
    assert matches(only("description", "!o"), item(description="two"))
    assert not matches(only("description", "!o"), item(description="one"))
    assert matches(only("tag-key", "!env"), item(tags={}))


def test_negated_and_plain_values_are_ored() -> None:
    """['one', '!two'] finds 'one two' (via one) and 'unrelated' (via !two), not 'two'."""
    f = only("description", "one", "!two")
    assert matches(f, item(description="one two"))
    assert matches(f, item(description="unrelated"))
    assert not matches(f, item(description="two"))


@settings(database=None, derandomize=True)
@given(
    name=st.text(alphabet="abAB/-_1", max_size=12),
    prefix=st.text(alphabet="abAB/-_1", max_size=4),
)
def test_negation_is_the_complement(name: str, prefix: str) -> None:
    """For any name and prefix, exactly one of the value and its negation matches."""
    target = item(name)
    assert matches(only("name", prefix), target) != matches(only("name", "!" + prefix), target)


def test_name_prefixes_from_a_plain_name_filter() -> None:
    """A name filter without negation gives its values as lookup prefixes."""
    filters = (Filter("tag-key", ("env",)), Filter("name", ("prod/", "dev/")))
    assert name_prefixes(filters) == ["prod/", "dev/"]


def test_name_prefixes_absent_when_negated_or_no_name_filter() -> None:
    """No prefixes when the only name filter negates, or when there is none."""
    assert name_prefixes((Filter("name", ("prod/", "!dev/")),)) is None
    assert name_prefixes((Filter("all", ("prod",)),)) is None
    assert name_prefixes(()) is None


@settings(database=None, derandomize=True)
@given(
    names=st.lists(st.text(alphabet="abc/", max_size=6), max_size=10),
    prefixes=st.lists(st.text(alphabet="abc/", max_size=3), min_size=1, max_size=3),
)
def test_name_prefixes_never_hide_a_match(names: list[str], prefixes: list[str]) -> None:
    """Every secret the filters match starts with one of the prefixes offered to storage."""
    filters = (Filter("name", tuple(prefixes)),)
    offered = name_prefixes(filters)
    assert offered is not None
    for name in names:
        if matches(filters, item(name)):
            assert any(name.startswith(p) for p in offered)
