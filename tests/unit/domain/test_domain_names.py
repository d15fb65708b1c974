"""Secret names, ARN suffixes, and resolving a SecretId by name, full ARN or partial ARN."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.domain.names import (
    NAME_MAX_LENGTH,
    SUFFIX_LENGTH,
    SecretIdKind,
    matches,
    parse_secret_id,
    random_suffix,
    secret_arn,
    validate_secret_name,
)
from strongroom.errors import Validation

NAME_ALPHABET = string.ascii_letters + string.digits + "/_+=.@-"
INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, "
    "or any of the following: -/_+=.@!"
)
REGION = "us-east-1"
ACCOUNT = "111122223333"

valid_names = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=NAME_MAX_LENGTH)


@settings(database=None, derandomize=True)
@given(name=valid_names)
def test_valid_names_are_accepted(name: str) -> None:
    """Any 1..512 characters from letters, digits and /_+=.@- form a valid name."""
    validate_secret_name(name)


@settings(database=None, derandomize=True)
@given(
    prefix=st.text(alphabet=NAME_ALPHABET, max_size=20),
    bad=st.characters(exclude_characters=NAME_ALPHABET),
    suffix=st.text(alphabet=NAME_ALPHABET, max_size=20),
)
def test_names_with_another_character_are_refused(prefix: str, bad: str, suffix: str) -> None:
    """A name holding any character outside the allowed set fails with AWS's message."""
    with pytest.raises(Validation) as err:
        validate_secret_name(prefix + bad + suffix)
    assert err.value.message == INVALID_NAME


@pytest.mark.parametrize("name", ["Inv Name", " Inv Name", " Inv*Name? ", "a!b", "a:b"])
def test_names_aws_refuses(name: str) -> None:
    """Names AWS refuses (spaces, *, ?, !, :) raise Validation with AWS's text."""
    with pytest.raises(Validation) as err:
        validate_secret_name(name)
    assert err.value.message == INVALID_NAME


def test_empty_and_too_long_names_are_refused() -> None:
    """Names must have 1..512 characters."""
    with pytest.raises(Validation) as empty:
        validate_secret_name("")
    assert "greater than or equal to 1" in empty.value.message
    validate_secret_name("a" * NAME_MAX_LENGTH)
    with pytest.raises(Validation) as long:
        validate_secret_name("a" * (NAME_MAX_LENGTH + 1))
    assert "less than or equal to 512" in long.value.message


def test_name_ending_like_a_suffix_is_accepted() -> None:
    """A name ending in a hyphen and six characters is only discouraged by AWS, not refused."""
    validate_secret_name("MySecret-abcdef")


def test_random_suffix_is_six_letters_or_digits() -> None:
    """The ARN suffix is six ASCII letters or digits, and varies between calls."""
    suffixes = {random_suffix() for _ in range(50)}
    assert len(suffixes) > 1
    for suffix in suffixes:
        assert len(suffix) == SUFFIX_LENGTH
        assert set(suffix) <= set(string.ascii_letters + string.digits)


def test_secret_arn_format() -> None:
    """The ARN is arn:aws:secretsmanager:region:account:secret:name-suffix."""
    assert (
        secret_arn(REGION, ACCOUNT, "prod/db", "AbC123")
        == "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbC123"
    )
    assert secret_arn("cn-north-1", ACCOUNT, "x", "abcdef", partition="aws-cn").startswith(
        "arn:aws-cn:secretsmanager:cn-north-1:"
    )


def test_parse_plain_name() -> None:
    """A plain name is a NAME ref carrying the name."""
    ref = parse_secret_id("prod/db")
    assert ref.kind is SecretIdKind.NAME
    assert ref.name == "prod/db"
    assert ref.region is None


def test_parse_invalid_plain_name_is_refused() -> None:
    """A SecretId that is neither an ARN nor a valid name fails like an invalid name."""
    with pytest.raises(Validation) as err:
        parse_secret_id("Inv Name")
    assert err.value.message == INVALID_NAME


def test_parse_full_arn() -> None:
    """An ARN ending in a hyphen and six characters is a full ARN: name, region, account, suffix."""
    arn = secret_arn(REGION, ACCOUNT, "prod/db", "AbC123")
    ref = parse_secret_id(arn)
    assert ref.kind is SecretIdKind.FULL_ARN
    assert (ref.name, ref.suffix, ref.region, ref.account, ref.partition) == (
        "prod/db",
        "AbC123",
        REGION,
        ACCOUNT,
        "aws",
    )


def test_parse_partial_arn() -> None:
    """An ARN without the random suffix is a partial ARN naming the whole resource part."""
    ref = parse_secret_id(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db")
    assert ref.kind is SecretIdKind.PARTIAL_ARN
    assert ref.name == "prod/db"
    assert ref.suffix is None


def test_other_arn_is_a_name_that_matches_nothing() -> None:
    """An ARN of another service is kept as a name, and no secret can have that name."""
    ref = parse_secret_id("arn:aws:s3:::bucket")
    assert ref.kind is SecretIdKind.NAME
    assert not matches(ref, "bucket", secret_arn(REGION, ACCOUNT, "bucket", "abcdef"))


def test_matches_by_name_exactly() -> None:
    """A name matches only the identical, case-sensitive name, never name plus suffix."""
    arn = secret_arn(REGION, ACCOUNT, "prod/db", "AbC123")
    assert matches(parse_secret_id("prod/db"), "prod/db", arn)
    assert not matches(parse_secret_id("Prod/db"), "prod/db", arn)
    assert not matches(parse_secret_id("prod/db-AbC123"), "prod/db", arn)


def test_matches_full_arn_exactly() -> None:
    """A full ARN matches only the secret with that exact ARN."""
    arn = secret_arn(REGION, ACCOUNT, "prod/db", "AbC123")
    assert matches(parse_secret_id(arn), "prod/db", arn)
    other = secret_arn(REGION, ACCOUNT, "prod/db", "XyZ789")
    assert not matches(parse_secret_id(other), "prod/db", arn)
    elsewhere = secret_arn("eu-west-1", ACCOUNT, "prod/db", "AbC123")
    assert not matches(parse_secret_id(elsewhere), "prod/db", arn)


def test_matches_partial_arn() -> None:
    """A partial ARN matches the secret whose ARN is it plus -suffix, in the same place."""
    arn = secret_arn(REGION, ACCOUNT, "prod/db", "AbC123")
    partial = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db"
    assert matches(parse_secret_id(partial), "prod/db", arn)
    wrong_account = f"arn:aws:secretsmanager:{REGION}:999999999999:secret:prod/db"
    assert not matches(parse_secret_id(wrong_account), "prod/db", arn)
    shorter = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod"
    assert not matches(parse_secret_id(shorter), "prod", arn)


def test_partial_arn_of_suffix_like_name_is_read_as_full() -> None:
    """For a secret named MySecret-abcdef, its partial ARN looks full and does not find it,
    as AWS's troubleshooting guide describes."""
    arn = secret_arn(REGION, ACCOUNT, "MySecret-abcdef", "nutBrk")
    ref = parse_secret_id(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:MySecret-abcdef")
    assert ref.kind is SecretIdKind.FULL_ARN
    assert not matches(ref, "MySecret-abcdef", arn)
    assert matches(parse_secret_id(arn), "MySecret-abcdef", arn)


@settings(database=None, derandomize=True)
@given(name=valid_names.filter(lambda n: len(n) <= 256))
def test_every_form_of_id_finds_its_secret(name: str) -> None:
    """A secret is found by its name and its full ARN, for any valid name."""
    suffix = random_suffix()
    arn = secret_arn(REGION, ACCOUNT, name, suffix)
    assert matches(parse_secret_id(name), name, arn)
    assert matches(parse_secret_id(arn), name, arn)
