"""The KMS operations on the wire (X-Amz-Target TrentService.*): which service method
serves each and how its result becomes the response body botocore expects."""

from __future__ import annotations

import base64
import importlib.resources
import json
from collections.abc import Callable, Mapping
from typing import Any

from strongroom.protocol.secretsmanager import Operation
from strongroom.protocol.shapes import ServiceModel

__all__ = ["MODEL_FILE", "OPERATIONS", "load_model"]

MODEL_FILE = "kms-2014-11-01.json"
_ALG = "SYMMETRIC_DEFAULT"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _page(items: list[dict[str, Any]], key: str, marker: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {key: items, "Truncated": marker is not None}
    if marker is not None:
        out["NextMarker"] = marker
    return out


def _metadata(info: Any) -> dict[str, Any]:
    rec = info.record
    out: dict[str, Any] = {
        "AWSAccountId": rec.account_id,
        "KeyId": rec.key_id,
        "Arn": info.arn,
        "CreationDate": rec.created_at,
        "Enabled": rec.key_state == "Enabled",
        "Description": rec.description,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": rec.key_state,
        "Origin": "AWS_KMS",
        "KeyManager": rec.key_manager,
        "CustomerMasterKeySpec": _ALG,
        "KeySpec": _ALG,
        "EncryptionAlgorithms": [_ALG],
        "MultiRegion": False,
    }
    if rec.deletion_date is not None:
        out["DeletionDate"] = rec.deletion_date
    return out


def _key_metadata(info: Any) -> dict[str, Any]:
    return {"KeyMetadata": _metadata(info)}


def _list_keys(r: tuple[list[Any], str | None]) -> dict[str, Any]:
    return _page([{"KeyId": i.record.key_id, "KeyArn": i.arn} for i in r[0]], "Keys", r[1])


def _alias(e: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"AliasName": e.name, "AliasArn": e.arn}
    if e.key_id is not None:
        out["TargetKeyId"] = e.key_id
    if e.created_at is not None:
        out["CreationDate"] = e.created_at
    if e.updated_at is not None:
        out["LastUpdatedDate"] = e.updated_at
    return out


def _schedule(r: tuple[str, float, int]) -> dict[str, Any]:
    return {
        "KeyId": r[0],
        "DeletionDate": r[1],
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": r[2],
    }


def _rotation_status(s: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"KeyRotationEnabled": s.enabled, "KeyId": s.key_id}
    if s.enabled and s.period_days is not None:
        out["RotationPeriodInDays"] = s.period_days
    if s.enabled and s.next_rotation is not None:
        out["NextRotationDate"] = s.next_rotation
    return out


def _rotations(r: tuple[str, list[Any], str | None]) -> dict[str, Any]:
    items = [
        {"KeyId": r[0], "RotationDate": x.rotated_at, "RotationType": x.rotation_type} for x in r[1]
    ]
    return _page(items, "Rotations", r[2])


def _grant(g: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "KeyId": g.key_id,
        "GrantId": g.grant_id,
        "CreationDate": g.created_at,
        "GranteePrincipal": g.grantee,
        "IssuingAccount": f"arn:aws:iam::{g.account_id}:root",
        "Operations": list(g.operations),
    }
    if g.name is not None:
        out["Name"] = g.name
    if g.retiring is not None:
        out["RetiringPrincipal"] = g.retiring
    return out


def _empty(_: object) -> dict[str, Any]:
    return {}


def _op(method: str, writes: bool, output: Callable[[Any], dict[str, Any]]) -> Operation:
    return Operation(method, writes, output, service="kms")


OPERATIONS: Mapping[str, Operation] = {
    "CreateKey": _op("create_key", True, _key_metadata),
    "DescribeKey": _op("describe_key", False, _key_metadata),
    "ListKeys": _op("list_keys", False, _list_keys),
    "UpdateKeyDescription": _op("update_key_description", True, _empty),
    "EnableKey": _op("enable_key", True, _empty),
    "DisableKey": _op("disable_key", True, _empty),
    "ScheduleKeyDeletion": _op("schedule_key_deletion", True, _schedule),
    "CancelKeyDeletion": _op("cancel_key_deletion", True, lambda arn: {"KeyId": arn}),
    "CreateAlias": _op("create_alias", True, _empty),
    "UpdateAlias": _op("update_alias", True, _empty),
    "DeleteAlias": _op("delete_alias", True, _empty),
    "ListAliases": _op(
        "list_aliases", False, lambda r: _page([_alias(e) for e in r[0]], "Aliases", r[1])
    ),
    "Encrypt": _op(
        "encrypt",
        False,
        lambda r: {"CiphertextBlob": _b64(r[0]), "KeyId": r[1], "EncryptionAlgorithm": _ALG},
    ),
    "Decrypt": _op(
        "decrypt",
        False,
        lambda r: {"KeyId": r[1], "Plaintext": _b64(r[0]), "EncryptionAlgorithm": _ALG},
    ),
    "ReEncrypt": _op(
        "re_encrypt",
        False,
        lambda r: {
            "CiphertextBlob": _b64(r[0]),
            "SourceKeyId": r[1],
            "KeyId": r[2],
            "SourceEncryptionAlgorithm": _ALG,
            "DestinationEncryptionAlgorithm": _ALG,
        },
    ),
    "GenerateDataKey": _op(
        "generate_data_key",
        False,
        lambda r: {"CiphertextBlob": _b64(r[1]), "Plaintext": _b64(r[0]), "KeyId": r[2]},
    ),
    "GenerateDataKeyWithoutPlaintext": _op(
        "generate_data_key_without_plaintext",
        False,
        lambda r: {"CiphertextBlob": _b64(r[0]), "KeyId": r[1]},
    ),
    "GenerateRandom": _op("generate_random", False, lambda b: {"Plaintext": _b64(b)}),
    "EnableKeyRotation": _op("enable_key_rotation", True, _empty),
    "DisableKeyRotation": _op("disable_key_rotation", True, _empty),
    "GetKeyRotationStatus": _op("get_key_rotation_status", False, _rotation_status),
    "RotateKeyOnDemand": _op("rotate_key_on_demand", True, lambda arn: {"KeyId": arn}),
    "ListKeyRotations": _op("list_key_rotations", False, _rotations),
    "GetKeyPolicy": _op("get_key_policy", False, lambda r: {"Policy": r[0], "PolicyName": r[1]}),
    "PutKeyPolicy": _op("put_key_policy", True, _empty),
    "ListKeyPolicies": _op(
        "list_key_policies", False, lambda names: {"PolicyNames": names, "Truncated": False}
    ),
    "TagResource": _op("tag_resource", True, _empty),
    "UntagResource": _op("untag_resource", True, _empty),
    "ListResourceTags": _op(
        "list_resource_tags",
        False,
        lambda r: _page([{"TagKey": k, "TagValue": v} for k, v in r[0]], "Tags", r[1]),
    ),
    "CreateGrant": _op("create_grant", True, lambda r: {"GrantToken": r[0], "GrantId": r[1]}),
    "ListGrants": _op(
        "list_grants", False, lambda r: _page([_grant(g) for g in r[0]], "Grants", r[1])
    ),
    "RetireGrant": _op("retire_grant", True, _empty),
    "RevokeGrant": _op("revoke_grant", True, _empty),
}


def load_model() -> ServiceModel:
    """The vendored botocore KMS model, compiled (no Secrets Manager constraint overrides)."""
    text = importlib.resources.files(__package__).joinpath(MODEL_FILE).read_text("utf-8")
    return ServiceModel(json.loads(text), overrides={})
