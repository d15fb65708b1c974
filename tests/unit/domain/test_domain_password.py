"""GetRandomPassword rules: length, excluded classes and characters, required types, refusals."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.domain import password
from strongroom.domain.password import PUNCTUATION, generate_password
from strongroom.errors import InvalidParameter, Validation

CLASSES = {
    "upper": string.ascii_uppercase,
    "lower": string.ascii_lowercase,
    "digit": string.digits,
    "punct": PUNCTUATION,
}
ALL_CHARS = "".join(CLASSES.values()) + " "


@st.composite
def requests(draw: st.DrawFn) -> dict[str, object]:
    """Random GetRandomPassword arguments (some of which AWS refuses)."""
    return {
        "length": draw(st.integers(min_value=1, max_value=128)),
        "exclude_characters": draw(st.text(alphabet=ALL_CHARS, max_size=40)),
        "exclude_uppercase": draw(st.booleans()),
        "exclude_lowercase": draw(st.booleans()),
        "exclude_numbers": draw(st.booleans()),
        "exclude_punctuation": draw(st.booleans()),
        "include_space": draw(st.booleans()),
        "require_each_included_type": draw(st.booleans()),
    }


def _included(req: dict[str, object]) -> list[str]:
    """The character classes left by the request, after ExcludeCharacters."""
    excluded = set(str(req["exclude_characters"]))
    switches = {
        "upper": req["exclude_uppercase"],
        "lower": req["exclude_lowercase"],
        "digit": req["exclude_numbers"],
        "punct": req["exclude_punctuation"],
    }
    classes = [chars for name, chars in CLASSES.items() if not switches[name]]
    if req["include_space"]:
        classes.append(" ")
    return ["".join(c for c in chars if c not in excluded) for chars in classes]


@settings(database=None, derandomize=True, max_examples=300)
@given(req=requests())
def test_password_obeys_every_rule_or_is_refused(req: dict[str, object]) -> None:
    """A password has the asked length, only allowed characters, and each required class;
    a request that cannot be met is refused with InvalidParameter."""
    classes = _included(req)
    pool = "".join(classes)
    length = int(str(req["length"]))
    require = bool(req["require_each_included_type"])
    feasible = bool(pool) and (not require or (all(classes) and length >= len(classes)))
    if not feasible:
        with pytest.raises(InvalidParameter):
            generate_password(**req)  # type: ignore[arg-type]
        return
    result = generate_password(**req)  # type: ignore[arg-type]
    assert len(result) == length
    assert set(result) <= set(pool)
    assert not set(result) & set(str(req["exclude_characters"]))
    if require:
        for chars in classes:
            assert set(result) & set(chars)


@settings(database=None, derandomize=True)
@given(length=st.integers(min_value=4, max_value=4096))
def test_default_password_has_every_default_class(length: int) -> None:
    """With defaults, a password of length >= 4 has upper, lower, digit and punctuation, and
    no space."""
    result = generate_password(length)
    assert len(result) == length
    for chars in CLASSES.values():
        assert set(result) & set(chars)
    assert " " not in result


def test_default_length_is_32() -> None:
    """Without a length the password has 32 characters, as AWS's default."""
    assert len(generate_password()) == 32


def test_punctuation_is_aws_set() -> None:
    """The punctuation class is exactly AWS's 32 documented characters."""
    assert len(PUNCTUATION) == 32
    assert set(PUNCTUATION) == set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    assert string.punctuation == PUNCTUATION


@pytest.mark.parametrize("length", [0, -1, 4097])
def test_length_outside_range_is_a_validation_error(length: int) -> None:
    """PasswordLength outside 1..4096 fails model validation."""
    with pytest.raises(Validation) as err:
        generate_password(length)
    assert "passwordLength" in err.value.message


def test_length_bounds_are_accepted() -> None:
    """Lengths 1 and 4096 are both accepted when one class is required."""
    assert (
        len(
            generate_password(
                1, exclude_numbers=True, exclude_punctuation=True, exclude_uppercase=True
            )
        )
        == 1
    )
    assert len(generate_password(4096)) == 4096


def test_too_short_for_required_types_uses_aws_message() -> None:
    """Three characters cannot hold four required classes: AWS's 'too short' refusal."""
    with pytest.raises(InvalidParameter) as err:
        generate_password(3)
    assert err.value.message == "Password length is too short based on the required types."


def test_too_short_is_allowed_without_required_types() -> None:
    """Without RequireEachIncludedType a 1-character password is fine."""
    assert len(generate_password(1, require_each_included_type=False)) == 1


def test_all_classes_excluded_is_refused() -> None:
    """Switching off every class leaves nothing to choose from."""
    with pytest.raises(InvalidParameter) as err:
        generate_password(
            8,
            exclude_numbers=True,
            exclude_punctuation=True,
            exclude_uppercase=True,
            exclude_lowercase=True,
        )
    assert err.value.message == "All characters have been excluded from selection"


def test_required_class_emptied_by_exclude_characters_is_refused() -> None:
    """Excluding every digit by hand while digits are required is refused."""
    with pytest.raises(InvalidParameter) as err:
        generate_password(16, exclude_characters=string.digits)
    assert err.value.message == "All characters of the desired type have been excluded"


def test_emptied_class_is_fine_when_not_required() -> None:
    """Excluding every digit by hand is fine when types are not required."""
    result = generate_password(
        64, exclude_characters=string.digits, require_each_included_type=False
    )
    assert not set(result) & set(string.digits)


def test_space_is_required_when_included() -> None:
    """IncludeSpace with RequireEachIncludedType always puts a space in the password."""
    for _ in range(50):
        assert " " in generate_password(5, include_space=True)


def test_space_only_password() -> None:
    """With only the space left, the password is all spaces."""
    result = generate_password(
        3,
        exclude_numbers=True,
        exclude_punctuation=True,
        exclude_uppercase=True,
        exclude_lowercase=True,
        include_space=True,
    )
    assert result == "   "


def test_passwords_differ() -> None:
    """Two default passwords are different (a CSPRNG, not a fixed seed)."""
    assert generate_password() != generate_password()


def test_module_exports_its_public_names() -> None:
    """__all__ lists the generator and its constants."""
    assert set(password.__all__) == {
        "DEFAULT_LENGTH",
        "MAX_LENGTH",
        "MIN_LENGTH",
        "PUNCTUATION",
        "generate_password",
    }
