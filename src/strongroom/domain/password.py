"""GetRandomPassword character rules: which characters may appear, which must, and the refusals.

Randomness comes from the operating system CSPRNG (`secrets`); nothing here is seeded or logged.
"""

from __future__ import annotations

import secrets
import string

from strongroom.errors import InvalidParameter, Validation

__all__ = [
    "DEFAULT_LENGTH",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "PUNCTUATION",
    "generate_password",
]

DEFAULT_LENGTH = 32
MIN_LENGTH = 1
MAX_LENGTH = 4096  # PasswordLengthType: min 1, max 4096 (service model)

# AWS's punctuation set, from the ExcludePunctuation documentation:
# ! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \ ] ^ _ ` { | } ~  (32 characters, the same
# as string.punctuation; spelled out so a change in either is noticed by the tests).
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

# Refusal texts. The "too short" message is the one AWS returns (InvalidParameterException);
# the two "excluded" messages are AWS's wording as recorded by a CloudFormation measurement,
# not by the API reference, which documents no refusal at all.
_TOO_SHORT = "Password length is too short based on the required types."
_TYPE_EMPTIED = "All characters of the desired type have been excluded"
_ALL_EXCLUDED = "All characters have been excluded from selection"


def _length_error(length: int) -> Validation:
    bound = (
        f"greater than or equal to {MIN_LENGTH}"
        if length < MIN_LENGTH
        else f"less than or equal to {MAX_LENGTH}"
    )
    return Validation(
        f"1 validation error detected: Value '{length}' at 'passwordLength' "
        f"failed to satisfy constraint: Member must have value {bound}"
    )


def generate_password(
    length: int = DEFAULT_LENGTH,
    exclude_characters: str = "",
    *,
    exclude_numbers: bool = False,
    exclude_punctuation: bool = False,
    exclude_uppercase: bool = False,
    exclude_lowercase: bool = False,
    include_space: bool = False,
    require_each_included_type: bool = True,
) -> str:
    """Return a random password of exactly ``length`` characters, as GetRandomPassword does.

    The switches are keyword-only, so a call reads like the request it serves.

    The candidate characters are the classes not switched off (uppercase, lowercase, digits,
    AWS's punctuation, and the space when ``include_space``), minus every character in
    ``exclude_characters``. With ``require_each_included_type`` the password holds at least
    one character of each included class; the space counts as a class when included (AWS's
    own example describes IncludeSpace with RequireEachIncludedType as "require spaces").

    Raises ``Validation`` when ``length`` is outside 1..4096, and ``InvalidParameter`` when no
    character is left, when a required class has been emptied by ``exclude_characters``, or
    when ``length`` is smaller than the number of required classes.
    """
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise _length_error(length)

    excluded = set(exclude_characters)
    classes: list[str] = []
    for switched_off, chars in (
        (exclude_uppercase, string.ascii_uppercase),
        (exclude_lowercase, string.ascii_lowercase),
        (exclude_numbers, string.digits),
        (exclude_punctuation, PUNCTUATION),
        (not include_space, " "),
    ):
        if not switched_off:
            classes.append("".join(c for c in chars if c not in excluded))

    pool = "".join(classes)
    if not pool:
        raise InvalidParameter(_ALL_EXCLUDED)

    required: list[str] = []
    if require_each_included_type:
        if any(not chars for chars in classes):
            raise InvalidParameter(_TYPE_EMPTIED)
        required = classes
    if length < len(required):
        raise InvalidParameter(_TOO_SHORT)

    # One uniform draw from each required class, the rest uniform from the whole pool, then a
    # CSPRNG shuffle so the required characters sit at no predictable position.
    chosen = [secrets.choice(chars) for chars in required]
    chosen.extend(secrets.choice(pool) for _ in range(length - len(required)))
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)
