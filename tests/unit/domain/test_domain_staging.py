"""Staging-label moves keep AWS's invariants: one holder per label, AWSPREVIOUS follows
AWSCURRENT, AWSCURRENT is never simply removed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.domain import staging
from strongroom.errors import InvalidParameter, LimitExceeded

CUR, PREV, PEND = staging.AWSCURRENT, staging.AWSPREVIOUS, staging.AWSPENDING


def test_new_current_moves_previous() -> None:
    """Attaching AWSCURRENT to a new version gives the old current AWSPREVIOUS."""
    labels = {CUR: "v1"}
    labels = staging.attach(labels, "v2", [CUR])
    assert labels == {CUR: "v2", PREV: "v1"}
    labels = staging.attach(labels, "v3", [CUR])
    assert labels == {CUR: "v3", PREV: "v2"}
    assert staging.deprecated(labels, ["v1", "v2", "v3"]) == ["v1"]


def test_pending_does_not_touch_current() -> None:
    """A version staged AWSPENDING leaves AWSCURRENT and AWSPREVIOUS alone."""
    labels = staging.attach({CUR: "v1", PREV: "v0"}, "v2", [PEND])
    assert labels == {CUR: "v1", PREV: "v0", PEND: "v2"}


def test_move_requires_remove_from_when_label_is_attached() -> None:
    """Moving an attached label without naming its holder is InvalidParameter."""
    labels = {CUR: "v1"}
    with pytest.raises(InvalidParameter):
        staging.move_label(labels, CUR, "v2", None, ["v1", "v2"])
    with pytest.raises(InvalidParameter):
        staging.move_label(labels, CUR, "v2", "v9", ["v1", "v2"])
    assert staging.move_label(labels, CUR, "v2", "v1", ["v1", "v2"]) == {CUR: "v2", PREV: "v1"}


def test_current_cannot_be_removed_without_a_move() -> None:
    """Removing AWSCURRENT without MoveToVersionId is refused."""
    with pytest.raises(InvalidParameter):
        staging.move_label({CUR: "v1"}, CUR, None, "v1", ["v1"])


def test_custom_label_can_be_removed() -> None:
    """A custom label comes off its version with RemoveFromVersionId alone."""
    assert staging.move_label({CUR: "v1", "X": "v1"}, "X", None, "v1", ["v1"]) == {CUR: "v1"}


def test_move_to_unknown_version_is_refused() -> None:
    """MoveToVersionId must name an existing version."""
    with pytest.raises(InvalidParameter):
        staging.move_label({CUR: "v1"}, "X", "nope", None, ["v1"])


def test_label_limit_per_version() -> None:
    """A version can carry at most 20 labels."""
    labels = staging.attach({}, "v1", [f"L{i}" for i in range(20)])
    assert len(labels) == 20
    with pytest.raises(LimitExceeded):
        staging.attach(labels, "v1", ["one-more"])


def test_stages_by_version_inverts_sorted() -> None:
    """The inverse map lists each version's labels sorted."""
    assert staging.stages_by_version({CUR: "a", PREV: "b", "Z": "a"}) == {
        "a": [CUR, "Z"],
        "b": [PREV],
    }


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["v1", "v2", "v3", "v4"]), st.sampled_from([CUR, PEND, "A", "B"])
        ),
        max_size=30,
    )
)
def test_random_attaches_keep_one_current(ops: list[tuple[str, str]]) -> None:
    """Any sequence of attaches keeps AWSCURRENT and never puts AWSPREVIOUS on the same version."""
    labels: dict[str, str] = {CUR: "v0"}
    for version, label in ops:
        labels = staging.attach(labels, version, [label])
        assert labels[CUR]
        if PREV in labels:
            assert labels[PREV] != labels[CUR]
