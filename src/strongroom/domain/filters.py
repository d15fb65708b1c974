"""ListSecrets / BatchGetSecretValue filters: reading them as AWS validates them, and deciding
whether a secret's listable fields match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strongroom.errors import InvalidParameter, Serialization, Validation

__all__ = [
    "FILTER_KEYS",
    "MAX_FILTERS",
    "MAX_VALUES",
    "Filter",
    "Listable",
    "matches",
    "name_prefixes",
    "parse_filters",
    "split_words",
]

# FilterNameStringType enum, in the order AWS's own enum error lists them (the first five as
# observed from AWS by moto's tests; the two keys added later are appended).
FILTER_KEYS = (
    "all",
    "name",
    "tag-key",
    "description",
    "tag-value",
    "primary-region",
    "owning-service",
)
MAX_FILTERS = 10  # FiltersListType max 10
MAX_VALUES = 10  # FilterValuesStringList 1..10
_MAX_VALUE_LENGTH = 512  # FilterValueStringType max 512
_VALUE_PATTERN_TEXT = r"^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$"
_VALUE_PATTERN = re.compile(r"!?[a-zA-Z0-9 :_@/+=.\-!]*")

# A "word" is a run of letters or digits; runs break at letter/digit changes, at lower->upper
# changes, and before the last capital of a capital run followed by lowercase
# ("credsDatabase#892" -> creds, Database, 892 per the user guide; "COMPANYthings" ->
# COMPAN, Ythings as observed on AWS by moto's AWS-verified tests). Anything else separates.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@dataclass(frozen=True)
class Filter:
    """One filter: a key from ``FILTER_KEYS`` and its 1..10 values (``!`` prefix negates)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Listable:
    """The fields of a secret that filters look at."""

    name: str
    description: str
    tags: Mapping[str, str]
    primary_region: str | None
    owning_service: str | None


def _constraint(value: object, where: str, constraint: str) -> Validation:
    return Validation(
        f"1 validation error detected: Value '{value}' at '{where}' "
        f"failed to satisfy constraint: {constraint}"
    )


def parse_filters(raw: Sequence[Mapping[str, Any]] | None) -> tuple[Filter, ...]:
    """Read the wire ``Filters`` list (``[{"Key": ..., "Values": [...]}, ...]``).

    Raises ``Validation`` for model constraints (more than 10 filters, a key outside the enum,
    0 or more than 10 values, a value longer than 512 or outside the value pattern),
    ``InvalidParameter`` for a filter without ``Key`` ("Invalid filter key") or without
    ``Values`` ("Invalid filter values for key: ..."), and ``Serialization`` for wrong JSON
    types. Messages follow AWS's (enum message observed from AWS; missing-member messages as
    moto reproduces them).
    """
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise Serialization()
    if len(raw) > MAX_FILTERS:
        raise _constraint(
            list(raw),
            "filters",
            f"Member must have length less than or equal to {MAX_FILTERS}",
        )
    parsed: list[Filter] = []
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise Serialization()
        key = item.get("Key")
        if key is None:
            raise InvalidParameter("Invalid filter key")
        if not isinstance(key, str):
            raise Serialization()
        if key not in FILTER_KEYS:
            raise _constraint(
                key,
                f"filters.{index}.member.key",
                f"Member must satisfy enum value set: [{', '.join(FILTER_KEYS)}]",
            )
        values = item.get("Values")
        if values is None:
            raise InvalidParameter(f"Invalid filter values for key: {key}")
        if not isinstance(values, Sequence) or isinstance(values, str):
            raise Serialization()
        where = f"filters.{index}.member.values"
        if len(values) < 1:
            raise _constraint(
                list(values), where, "Member must have length greater than or equal to 1"
            )
        if len(values) > MAX_VALUES:
            raise _constraint(
                list(values), where, f"Member must have length less than or equal to {MAX_VALUES}"
            )
        for value in values:
            if not isinstance(value, str):
                raise Serialization()
            if len(value) > _MAX_VALUE_LENGTH:
                raise _constraint(
                    value,
                    where,
                    f"Member must have length less than or equal to {_MAX_VALUE_LENGTH}",
                )
            if not _VALUE_PATTERN.fullmatch(value):
                raise _constraint(
                    value,
                    where,
                    f"Member must satisfy regular expression pattern: {_VALUE_PATTERN_TEXT}",
                )
        parsed.append(Filter(key=key, values=tuple(values)))
    return tuple(parsed)


def split_words(text: str) -> list[str]:
    """Break ``text`` into the words that ``description`` and ``all`` filters compare."""
    return _WORD.findall(text)


def _words_match(pattern: str, texts: Iterable[str]) -> bool:
    # Every word of the pattern must start some word of one and the same text, ignoring case
    # ("Description: My Description" matches "Description of my secret", user guide; the
    # filter "o t" matches "one two" but not "one", AWS-verified in moto's tests). A pattern
    # with no word (e.g. "+") matches nothing, as AWS answers.
    wanted = [word.lower() for word in split_words(pattern)]
    if not wanted:
        return False
    for text in texts:
        have = [word.lower() for word in split_words(text)]
        if all(any(word.startswith(w) for word in have) for w in wanted):
            return True
    return False


def _positive(key: str, pattern: str, item: Listable) -> bool:
    if key == "name":
        # Prefix of the whole name, case-sensitive: "Data" finds DatabaseSecret but not
        # databaseSecret or MyData (user guide, Find secrets). No splitting on "/".
        return item.name.startswith(pattern)
    if key == "tag-key":
        return any(k.startswith(pattern) for k in item.tags)
    if key == "tag-value":
        return any(v.startswith(pattern) for v in item.tags.values())
    if key == "primary-region":
        return item.primary_region is not None and item.primary_region.startswith(pattern)
    if key == "owning-service":
        # The API reference says case-sensitive, the user guide "not case-sensitive"; service
        # ids are lowercase, and we follow the user guide, which is the more specific page.
        return item.owning_service is not None and item.owning_service.lower().startswith(
            pattern.lower()
        )
    if key == "description":
        return _words_match(pattern, (item.description,))
    # "all": name, description, tag keys and tag values (user guide, Find secrets).
    return _words_match(
        pattern, (item.name, item.description, *item.tags.keys(), *item.tags.values())
    )


def _value_matches(key: str, value: str, item: Listable) -> bool:
    # A leading "!" negates the value: the secret matches when the unnegated value does not.
    if value.startswith("!"):
        return not _positive(key, value[1:], item)
    return _positive(key, value, item)


def matches(filters: Iterable[Filter], item: Listable) -> bool:
    """Say whether ``item`` passes every filter (filters are ANDed, even with the same key,
    as observed on AWS); within one filter any value may match (values are ORed)."""
    return all(any(_value_matches(f.key, v, item) for v in f.values) for f in filters)


def name_prefixes(filters: Iterable[Filter]) -> list[str] | None:
    """Prefixes a store may use to narrow a lookup by name, or ``None`` when it cannot.

    Returns the values of the first ``name`` filter that has no negated value: every match
    has a name starting with one of them. The caller must still apply ``matches``.
    """
    for f in filters:
        if f.key == "name" and not any(v.startswith("!") for v in f.values):
            return list(f.values)
    return None
