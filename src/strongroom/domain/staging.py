"""Staging labels: AWSCURRENT / AWSPENDING / AWSPREVIOUS moves and their invariants.

Label maps are ``{label: version_id}``, so a label sits on at most one version by
construction. Every function returns a new map and never mutates its argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from strongroom.errors import InvalidParameter, InvalidRequest, LimitExceeded

__all__ = [
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "MAX_LABELS_PER_VERSION",
    "attach",
    "deprecated",
    "move_label",
    "stages_by_version",
]

AWSCURRENT = "AWSCURRENT"
AWSPENDING = "AWSPENDING"
AWSPREVIOUS = "AWSPREVIOUS"
MAX_LABELS_PER_VERSION = 20


def stages_by_version(labels: Mapping[str, str]) -> dict[str, list[str]]:
    """Invert a label map to ``{version_id: [labels...]}`` (labels sorted, AWS-style)."""
    out: dict[str, list[str]] = {}
    for label, vid in labels.items():
        out.setdefault(vid, []).append(label)
    for stages in out.values():
        stages.sort()
    return out


def _check_count(labels: Mapping[str, str], version_id: str) -> None:
    if sum(1 for v in labels.values() if v == version_id) > MAX_LABELS_PER_VERSION:
        raise LimitExceeded(
            f"A version can have at most {MAX_LABELS_PER_VERSION} staging labels attached."
        )


def attach(labels: Mapping[str, str], version_id: str, stages: Iterable[str]) -> dict[str, str]:
    """Attach ``stages`` to a new or existing version, moving each from wherever it was.

    Moving AWSCURRENT away from a version moves AWSPREVIOUS onto that version.
    """
    result = dict(labels)
    for stage in stages:
        previous_holder = result.get(stage)
        result[stage] = version_id
        if stage == AWSCURRENT and previous_holder is not None and previous_holder != version_id:
            result[AWSPREVIOUS] = previous_holder
    _check_count(result, version_id)
    return result


def move_label(
    labels: Mapping[str, str],
    label: str,
    move_to: str | None,
    remove_from: str | None,
    known_versions: Iterable[str],
) -> dict[str, str]:
    """UpdateSecretVersionStage: move ``label`` to ``move_to`` and/or off ``remove_from``."""
    versions = set(known_versions)
    holder = labels.get(label)
    if move_to is None and remove_from is None:
        raise InvalidParameter(
            "You must specify either MoveToVersionId or RemoveFromVersionId, or both."
        )
    if move_to is not None and move_to not in versions:
        raise InvalidParameter(f"The version {move_to} doesn't exist in the secret.")
    if remove_from is not None and holder != remove_from:
        raise InvalidParameter(
            f"The parameter RemoveFromVersionId can't be {remove_from} because the staging "
            f"label {label} isn't attached to that version."
        )
    if move_to is not None and holder is not None and holder != move_to and remove_from is None:
        raise InvalidParameter(
            f"The staging label {label} is currently attached to version {holder}, "
            "so you must explicitly reference that version in RemoveFromVersionId."
        )
    if move_to is None:
        if label == AWSCURRENT:
            raise InvalidParameter(
                "You can only move AWSCURRENT to another version; you can't remove it from "
                "the current version without a MoveToVersionId."
            )
        result = dict(labels)
        del result[label]
        return result
    if holder == move_to:
        return dict(labels)
    return attach(labels, move_to, [label])


def deprecated(labels: Mapping[str, str], version_ids: Iterable[str]) -> list[str]:
    """Versions with no label attached, in the order given."""
    labelled = set(labels.values())
    return [v for v in version_ids if v not in labelled]


def require_current(labels: Mapping[str, str]) -> None:
    """Guard the invariant: a secret with versions has exactly one AWSCURRENT."""
    if labels and AWSCURRENT not in labels:
        raise InvalidRequest("The secret has no version with the staging label AWSCURRENT.")
