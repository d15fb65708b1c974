"""Hypothesis strategies for request bodies of any operation in a botocore service model.

``input_for(model, operation, valid_bias)`` draws JSON-serializable bodies: each value is
valid with probability ``valid_bias`` and otherwise broken in a way that fits its shape
(wrong JSON type, length or range just outside the bounds, enum or pattern miss, bad
base64, missing or null required member, unknown member). With ``valid_bias=1.0`` every
body satisfies the model. ``minimal_input`` builds the smallest valid body, deterministically.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from strongroom.protocol.shapes import ServiceModel
from strongroom.protocol.shapes import _compile_pattern as compile_java_pattern

__all__ = ["input_for", "minimal_input"]

_MAX_DEPTH = 6  # recursive models stop growing here
_SPREAD = 8  # how far above a minimum size valid collections and strings may go
_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# Characters that stress encoders and comparisons without being invalid JSON text.
_AWKWARD = "\x00\t\n\"'\\\u00e9\u0301\u200b\u202e\u2028\ufeff\U0001f600\U00010348"
_UNKNOWN_NAMES = st.sampled_from(["Unknown", "secretId", "SECRETID", "__proto__", "X" * 80, ""])


def _document(model: ServiceModel | Path | str) -> Mapping[str, Any]:
    if isinstance(model, ServiceModel):
        return model.document
    return json.loads(Path(model).read_text("utf-8"))  # type: ignore[no-any-return]


def _pattern(shape: Mapping[str, Any]) -> re.Pattern[str] | None:
    # The validator's own translation, so "valid" means what the server means by it.
    return compile_java_pattern(shape["pattern"]) if "pattern" in shape else None


def _fits(shape: Mapping[str, Any], text: str) -> bool:
    pattern = _pattern(shape)
    if len(text) < shape.get("min", 0) or len(text) > shape.get("max", 1 << 62):
        return False
    if "enum" in shape and text not in shape["enum"]:
        return False
    return pattern is None or pattern.fullmatch(text) is not None


def _example_string(shape: Mapping[str, Any]) -> str:
    """The shortest plain string that satisfies ``shape`` (enum, pattern and length)."""
    if "enum" in shape:
        return str(shape["enum"][0])
    low = shape.get("min", 0)
    samples = ["us-east-1", "rate(1 days)", "arn:aws:secretsmanager:us-east-1:1:secret:x"]
    for size in range(low, low + 24):
        for text in ("a" * size, "0" * size, "0" * (size - 1) + "h", *samples):
            if _fits(shape, text):
                return text
    raise ValueError(f"no example string for {shape}")


def minimal_input(model: ServiceModel | Path | str, operation: str) -> dict[str, Any]:
    """The smallest body ``operation`` accepts: required members only, at their minimum."""
    document = _document(model)
    shapes = document["shapes"]
    reference = document["operations"][operation].get("input")
    if reference is None:
        return {}

    def build(name: str) -> Any:
        shape = shapes[name]
        kind = shape["type"]
        if kind == "structure":
            return {m: build(shape["members"][m]["shape"]) for m in shape.get("required", ())}
        if kind == "list":
            return [build(shape["member"]["shape"]) for _ in range(shape.get("min", 0))]
        if kind == "map":
            key = _example_string(shapes[shape["key"]["shape"]])
            value = build(shape["value"]["shape"])
            return {key: value} if shape.get("min", 0) else {}
        if kind == "string":
            return _example_string(shape)
        if kind == "blob":
            return base64.b64encode(b"\x00" * max(shape.get("min", 0), 1)).decode()
        if kind in ("integer", "long"):
            return min(int(shape.get("min", 0)), int(shape.get("max", 1 << 62)))
        if kind in ("float", "double", "timestamp"):
            return float(shape.get("min", 0))
        if kind == "boolean":
            return False
        raise ValueError(f"unsupported shape type {kind!r}")

    built: dict[str, Any] = build(reference["shape"])
    return built


class _Generator:
    """Builds (and caches) the valid and broken strategies for each shape of one model."""

    def __init__(self, document: Mapping[str, Any], valid_bias: float) -> None:
        self._shapes: Mapping[str, Any] = document["shapes"]
        self._threshold = round(max(0.0, min(1.0, valid_bias)) * 1000)
        self._cache: dict[tuple[str, int], st.SearchStrategy[Any]] = {}

    def value(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        """Valid with probability ``valid_bias``, broken otherwise."""
        key = (name, depth)
        if key not in self._cache:
            valid, broken = self.valid(name, depth), self.broken(name, depth)
            if self._threshold >= 1000:
                self._cache[key] = valid
            elif self._threshold <= 0:
                self._cache[key] = broken
            else:
                self._cache[key] = st.integers(0, 999).flatmap(
                    lambda roll: valid if roll < self._threshold else broken
                )
        return self._cache[key]

    # Valid values ------------------------------------------------------------------------

    def valid(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        shape = self._shapes[name]
        kind = shape["type"]
        low, high = shape.get("min"), shape.get("max")
        if kind == "string":
            return self._valid_string(shape)
        if kind == "blob":
            size = int(low or 0)
            top = min(int(high) if high is not None else size + 64, size + 64)
            return st.binary(min_size=size, max_size=top).map(
                lambda raw: base64.b64encode(raw).decode("ascii")
            )
        if kind in _INT_RANGES:
            lowest, highest = _INT_RANGES[kind]
            return st.integers(
                int(low) if low is not None else lowest, int(high) if high is not None else highest
            )
        if kind in ("float", "double", "timestamp"):
            return st.floats(
                float(low) if low is not None else 0.0,
                float(high) if high is not None else 4e9,
                allow_nan=False,
                allow_infinity=False,
            )
        if kind == "boolean":
            return st.booleans()
        if kind == "list":
            size = int(low or 0)
            top = min(int(high) if high is not None else size + 3, size + 3)
            element = self._element(shape["member"]["shape"], depth)
            return st.lists(element, min_size=size, max_size=top)
        if kind == "map":
            size = int(low or 0)
            top = min(int(high) if high is not None else size + 3, size + 3)
            keys = self._valid_string(self._shapes[shape["key"]["shape"]])
            values = self._element(shape["value"]["shape"], depth)
            return st.dictionaries(keys, values, min_size=size, max_size=top)
        if kind == "structure":
            return self._valid_structure(shape, depth)
        raise ValueError(f"unsupported shape type {kind!r}")

    def _element(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        if depth < _MAX_DEPTH:
            return self.value(name, depth + 1)
        if self._shapes[name]["type"] == "structure":
            return st.just({})  # deep enough: stop a recursive model here
        return self.valid(name, depth + 1)

    def _valid_string(self, shape: Mapping[str, Any]) -> st.SearchStrategy[str]:
        if "enum" in shape:
            return st.sampled_from(list(shape["enum"]))
        low = int(shape.get("min", 0))
        high = min(int(shape.get("max", low + _SPREAD * 4)), low + _SPREAD * 4)
        pattern = _pattern(shape)
        if pattern is None:
            return st.text(min_size=low, max_size=high) | st.text(
                alphabet=_AWKWARD, min_size=low, max_size=high
            )
        # A pattern that is one character class repeated: draw characters of that class, so
        # long minimums (RotationToken: 36) are reached without filtering.
        single = re.fullmatch(r"\^?(\[[^\]]+\])[+*]\$?", shape["pattern"])
        if single:
            alphabet = st.from_regex(compile_java_pattern(single.group(1)), fullmatch=True)
            return st.text(alphabet=alphabet, min_size=max(low, 1), max_size=max(high, 1))
        example = _example_string(shape)
        drawn = st.from_regex(pattern, fullmatch=True).filter(lambda t: _fits(shape, t))
        return st.just(example) | drawn

    def _valid_structure(self, shape: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
        required = set(shape.get("required", ()))
        members = shape["members"]
        if depth >= _MAX_DEPTH:
            return st.fixed_dictionaries(
                {m: self.valid(members[m]["shape"], depth + 1) for m in sorted(required)}
            )
        return st.fixed_dictionaries(
            {m: self.value(r["shape"], depth + 1) for m, r in members.items() if m in required},
            optional={
                m: self.value(r["shape"], depth + 1)
                for m, r in members.items()
                if m not in required
            },
        )

    # Broken values -----------------------------------------------------------------------

    def broken(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        shape = self._shapes[name]
        kind = shape["type"]
        low, high = shape.get("min"), shape.get("max")
        options: list[st.SearchStrategy[Any]] = [_wrong_types(kind)]
        if kind == "string":
            if high is not None:
                options.append(_longer_than(int(high)))
            if low:
                options.append(st.text(max_size=int(low) - 1))
            if "enum" in shape:
                options.append(st.text(max_size=12).filter(lambda t: t not in shape["enum"]))
            pattern = _pattern(shape)
            if pattern is not None:
                options.append(st.text(max_size=12).filter(lambda t: not pattern.fullmatch(t)))
        elif kind == "blob":
            options.append(st.sampled_from(["!!!!", "abc", "a=b=", "aGVsbG9=", "aGVsbG8", " YQ=="]))
            if low:
                options.append(st.just(""))
            if high is not None:
                options.append(st.just(base64.b64encode(b"\xff" * (int(high) + 1)).decode()))
        elif kind in _INT_RANGES:
            lowest, highest = _INT_RANGES[kind]
            options.append(st.sampled_from([lowest - 1, highest + 1, 2**70, 1.5, -0.5, 1e300]))
            if low is not None and int(low) > lowest:
                options.append(st.integers(lowest, int(low) - 1))
            if high is not None and int(high) < highest:
                options.append(st.integers(int(high) + 1, highest))
        elif kind == "list":
            element = self.valid(shape["member"]["shape"], depth + 1)
            if high is not None:
                size = int(high) + 1
                options.append(st.lists(element, min_size=size, max_size=size + 1))
            if low:
                options.append(st.lists(element, max_size=int(low) - 1))
            options.append(st.lists(_wrong_types("string") | _nested(), min_size=1, max_size=3))
        elif kind == "map":
            options.append(st.dictionaries(st.text(max_size=4), _wrong_types("string"), min_size=1))
        elif kind == "structure":
            options.append(self._broken_structure(shape, depth))
        return st.one_of(options)

    def _broken_structure(self, shape: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
        members = shape["members"]
        required = [m for m in members if m in shape.get("required", ())]
        base = self._valid_structure(shape, min(depth, _MAX_DEPTH))
        options: list[st.SearchStrategy[Any]] = [
            st.tuples(base, _UNKNOWN_NAMES, _nested() | st.integers()).map(
                lambda t: {**t[0], t[1]: t[2]} if t[1] not in members else t[0] | {"Zz": 1}
            )
        ]
        if required:
            options.append(
                st.tuples(base, st.sampled_from(required), st.booleans()).map(
                    lambda t: (
                        {k: v for k, v in t[0].items() if k != t[1]}
                        if t[2]
                        else {**t[0], t[1]: None}
                    )
                )
            )
        return st.one_of(options)


def _longer_than(limit: int) -> st.SearchStrategy[str]:
    # Built by repetition: hypothesis would take long to draw 65,537 characters one by one.
    return st.tuples(st.text(min_size=1, max_size=3), st.integers(1, 3)).map(
        lambda t: t[0] * (limit // len(t[0]) + 1) + "x" * t[1]
    )


def _nested() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=6,
    )


def _wrong_types(kind: str) -> st.SearchStrategy[Any]:
    """JSON values of every kind except ``kind`` (null excluded: it means absent)."""
    by_kind: dict[str, st.SearchStrategy[Any]] = {
        "string": st.text(alphabet=_AWKWARD, max_size=5),
        "boolean": st.booleans(),
        "integer": st.integers(-5, 5),
        "float": st.floats(allow_nan=False, allow_infinity=False),
        "list": st.lists(st.integers(), max_size=2),
        "structure": st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    }
    skip = {
        "string": {"string"},
        "blob": {"string"},
        "boolean": {"boolean"},
        "integer": {"integer"},
        "long": {"integer"},
        "float": {"integer", "float"},
        "double": {"integer", "float"},
        "timestamp": {"integer", "float"},
        "list": {"list"},
        "map": {"structure"},
        "structure": {"structure"},
    }[kind]
    return st.one_of([s for k, s in by_kind.items() if k not in skip])


def input_for(
    model: ServiceModel | Path | str, operation: str, valid_bias: float = 0.8
) -> st.SearchStrategy[dict[str, Any]]:
    """Request bodies for ``operation``, each value valid with probability ``valid_bias``.

    Every drawn body is a JSON object that ``json.dumps`` accepts; with ``valid_bias=1.0``
    every body satisfies the model's types and constraints.
    """
    document = _document(model)
    reference = document["operations"][operation].get("input")
    if reference is None:
        return st.just({})
    generator = _Generator(document, valid_bias)
    name = reference["shape"]
    valid = generator.valid(name, 0)
    if valid_bias >= 1.0:
        return valid
    # The body itself stays an object (json11 refuses anything else before shapes run).
    broken = generator._broken_structure(document["shapes"][name], 0)
    threshold = round(max(0.0, valid_bias) * 1000)
    return st.integers(0, 999).flatmap(lambda roll: valid if roll < threshold else broken)
