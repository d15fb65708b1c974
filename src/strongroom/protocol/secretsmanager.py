"""The Secrets Manager operations on the wire: which input members map to which keyword
arguments, and how each result becomes the response body botocore expects."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.domain.policy_findings import Finding, validation_passed
from strongroom.domain.secret import (
    BatchError,
    SecretMeta,
    SecretValue,
    VersionEntry,
    day_start,
)
from strongroom.protocol.faults import fault

__all__ = ["OPERATIONS", "Operation", "snake_case"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(member: str) -> str:
    """``SecretIdList`` -> ``secret_id_list``; ``CrossAccountPrimaryARN`` -> ``..._arn``."""
    return _CAMEL.sub("_", member).lower()


def _tags(tags: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


def _meta(meta: SecretMeta, stages_key: str) -> dict[str, Any]:
    out: dict[str, Any] = {"ARN": meta.arn, "Name": meta.name}
    if meta.description is not None:
        out["Description"] = meta.description
    if meta.kms_key_id is not None:
        out["KmsKeyId"] = meta.kms_key_id
    if meta.secret_type is not None:
        out["Type"] = meta.secret_type
    if meta.rotation_enabled is not None:
        out["RotationEnabled"] = meta.rotation_enabled
    if meta.rotation_lambda_arn is not None:
        out["RotationLambdaARN"] = meta.rotation_lambda_arn
    if meta.rotation_rules is not None:
        out["RotationRules"] = meta.rotation_rules
    if meta.last_rotated_at is not None:
        out["LastRotatedDate"] = meta.last_rotated_at
    if meta.next_rotation_at is not None:
        out["NextRotationDate"] = meta.next_rotation_at
    out["LastChangedDate"] = meta.last_changed_at
    if meta.last_accessed_day is not None:
        out["LastAccessedDate"] = day_start(meta.last_accessed_day)
    if meta.deleted_at is not None:
        out["DeletedDate"] = meta.deleted_at
    if meta.tags:
        out["Tags"] = _tags(meta.tags)
    out[stages_key] = meta.versions_to_stages
    if meta.owning_service is not None:
        out["OwningService"] = meta.owning_service
    out["CreatedDate"] = meta.created_at
    return out


def _value(v: SecretValue) -> dict[str, Any]:
    out: dict[str, Any] = {"ARN": v.arn, "Name": v.name, "VersionId": v.version_id}
    if v.string is not None:
        out["SecretString"] = v.string
    if v.binary is not None:
        out["SecretBinary"] = base64.b64encode(v.binary).decode()
    out["VersionStages"] = v.stages
    out["CreatedDate"] = v.created_at
    return out


def _version(e: VersionEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"VersionId": e.version_id, "VersionStages": e.stages}
    if e.last_accessed_day is not None:
        out["LastAccessedDate"] = day_start(e.last_accessed_day)
    out["CreatedDate"] = e.created_at
    out["KmsKeyIds"] = e.kms_key_ids
    return out


def _batch_error(e: BatchError) -> dict[str, Any]:
    return {"SecretId": e.secret_id, "ErrorCode": fault(e.error)[1], "Message": e.error.message}


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _arn_name_version(r: tuple[str, str, str | None]) -> dict[str, Any]:
    return _drop_none({"ARN": r[0], "Name": r[1], "VersionId": r[2]})


def _arn_name(r: tuple[str, str]) -> dict[str, Any]:
    return {"ARN": r[0], "Name": r[1]}


def _put_value(r: tuple[str, str, str, list[str]]) -> dict[str, Any]:
    return {"ARN": r[0], "Name": r[1], "VersionId": r[2], "VersionStages": r[3]}


def _list_secrets(r: tuple[list[SecretMeta], str | None]) -> dict[str, Any]:
    return _drop_none(
        {"SecretList": [_meta(m, "SecretVersionsToStages") for m in r[0]], "NextToken": r[1]}
    )


def _list_versions(r: tuple[str, str, list[VersionEntry], str | None]) -> dict[str, Any]:
    return _drop_none(
        {"Versions": [_version(e) for e in r[2]], "NextToken": r[3], "ARN": r[0], "Name": r[1]}
    )


def _batch(r: tuple[list[SecretValue], list[BatchError], str | None]) -> dict[str, Any]:
    return _drop_none(
        {
            "SecretValues": [_value(v) for v in r[0]],
            "NextToken": r[2],
            "Errors": [_batch_error(e) for e in r[1]],
        }
    )


def _delete(r: tuple[str | None, str, float]) -> dict[str, Any]:
    return _drop_none({"ARN": r[0], "Name": r[1], "DeletionDate": r[2]})


def _policy_put(r: tuple[str, str, str]) -> dict[str, Any]:
    # PolicyName is only echoed when it is not the default, as botocore models it optional.
    return {"ARN": r[0], "Name": r[1]}


def _policy_get(r: tuple[str, str, str | None, str]) -> dict[str, Any]:
    return _drop_none({"ARN": r[0], "Name": r[1], "ResourcePolicy": r[2]})


def _policy_list(r: tuple[list[str], str | None]) -> dict[str, Any]:
    return _drop_none({"ResourcePolicies": [{"PolicyName": n} for n in r[0]], "NextToken": r[1]})


def _validate(found: list[Finding]) -> dict[str, Any]:
    # Every finding is listed; only errors and security warnings fail validation.
    return {
        "PolicyValidationPassed": validation_passed(found),
        "ValidationErrors": [{"CheckName": f.check_name, "ErrorMessage": f.message} for f in found],
    }


def _empty(_: object) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class Operation:
    """How one operation is served: the service method, whether it writes, its output."""

    method: str
    writes: bool
    output: Callable[[Any], dict[str, Any]]
    needs_context: bool = True
    service: str = "secrets"  # which service object serves it: secrets, policies, rotation


OPERATIONS: Mapping[str, Operation] = {
    "CreateSecret": Operation("create_secret", True, _arn_name_version),
    "DescribeSecret": Operation("describe_secret", False, lambda m: _meta(m, "VersionIdsToStages")),
    "GetSecretValue": Operation("get_secret_value", False, _value),
    "BatchGetSecretValue": Operation("batch_get_secret_value", False, _batch),
    "PutSecretValue": Operation("put_secret_value", True, _put_value),
    "UpdateSecret": Operation("update_secret", True, _arn_name_version),
    "UpdateSecretVersionStage": Operation("update_secret_version_stage", True, _arn_name),
    "ListSecrets": Operation("list_secrets", False, _list_secrets),
    "ListSecretVersionIds": Operation("list_secret_version_ids", False, _list_versions),
    "DeleteSecret": Operation("delete_secret", True, _delete),
    "RestoreSecret": Operation("restore_secret", True, _arn_name),
    "GetRandomPassword": Operation("get_random_password", False, lambda p: {"RandomPassword": p}),
    "TagResource": Operation("tag_resource", True, _empty),
    "UntagResource": Operation("untag_resource", True, _empty),
    "PutResourcePolicy": Operation("put_resource_policy", True, _policy_put, service="policies"),
    "GetResourcePolicy": Operation("get_resource_policy", False, _policy_get, service="policies"),
    "DeleteResourcePolicy": Operation(
        "delete_resource_policy", True, _arn_name, service="policies"
    ),
    "ListResourcePolicies": Operation(
        "list_resource_policies", False, _policy_list, service="policies"
    ),
    "ValidateResourcePolicy": Operation(
        "validate_resource_policy", False, _validate, service="policies"
    ),
    "RotateSecret": Operation("rotate_secret", True, _arn_name_version, service="rotation"),
    "CancelRotateSecret": Operation(
        "cancel_rotate_secret", True, _arn_name_version, service="rotation"
    ),
}

# Served by later issues; until then they answer with a clear error, never a fake success.
_NO_REPLICATION = "Replication is not supported by this Strongroom server yet."
LATER: Mapping[str, str] = {
    "ReplicateSecretToRegions": _NO_REPLICATION,
    "RemoveRegionsFromReplication": _NO_REPLICATION,
    "StopReplicationToReplica": _NO_REPLICATION,
    "AssociateCrossAccountReplica": _NO_REPLICATION,
    "DisassociateCrossAccountReplica": _NO_REPLICATION,
}
