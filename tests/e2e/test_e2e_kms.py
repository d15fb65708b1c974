"""The KMS-compatible key service with boto3's kms client: keys, aliases, state, crypto,
rotation, policies, tags, grants and their errors."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _alias() -> str:
    return f"alias/t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kms(server: Any) -> Any:
    return server.client("kms")


def test_create_describe_list_update_key(kms: Any) -> None:
    """A new key is an enabled, customer managed symmetric key listed by ListKeys."""
    meta = kms.create_key(Description="d1", Tags=[{"TagKey": "a", "TagValue": "b"}])["KeyMetadata"]
    assert meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] == "Enabled"
    assert meta["Enabled"] is True and meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT" and meta["Origin"] == "AWS_KMS"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"] and meta["MultiRegion"] is False
    assert meta["Arn"].endswith(":key/" + meta["KeyId"])
    described = kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]
    assert described["KeyId"] == meta["KeyId"] and described["Description"] == "d1"
    kms.update_key_description(KeyId=meta["KeyId"], Description="d2")
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Description"] == "d2"
    ids = [
        k["KeyId"] for k in kms.get_paginator("list_keys").paginate().build_full_result()["Keys"]
    ]
    assert meta["KeyId"] in ids
    assert kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"] == [{"TagKey": "a", "TagValue": "b"}]
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=str(uuid.uuid4()))
    assert _code(exc) == "NotFoundException"


def test_encrypt_decrypt_with_context_and_aliases(kms: Any) -> None:
    """Ciphertext decrypts without KeyId, only with the same context, via id/ARN/alias."""
    key = kms.create_key()["KeyMetadata"]
    alias = _alias()
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    ctx = {"purpose": "test"}
    for ref in (key["KeyId"], key["Arn"], alias, key["Arn"].replace("key/" + key["KeyId"], alias)):
        out = kms.encrypt(KeyId=ref, Plaintext=b"hello", EncryptionContext=ctx)
        assert out["KeyId"] == key["Arn"]
        plain = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=ctx)
        assert plain["Plaintext"] == b"hello" and plain["KeyId"] == key["Arn"]
    blob = out["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "other"})
    assert _code(exc) == "InvalidCiphertextException"
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=b"garbage-garbage-garbage")
    assert _code(exc) == "InvalidCiphertextException"
    other = kms.create_key()["KeyMetadata"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=other["KeyId"])
    assert _code(exc) == "IncorrectKeyException"
    re = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=ctx,
        DestinationKeyId=other["KeyId"],
    )
    assert re["SourceKeyId"] == key["Arn"] and re["KeyId"] == other["Arn"]
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"] == b"hello"


def test_data_keys_and_random(kms: Any) -> None:
    """GenerateDataKey gives a key of the asked size whose ciphertext decrypts to it."""
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    dk = kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"a": "b"})
    assert len(dk["Plaintext"]) == 32
    out = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"a": "b"})
    assert out["Plaintext"] == dk["Plaintext"]
    assert len(kms.generate_data_key(KeyId=key, NumberOfBytes=16)["Plaintext"]) == 16
    wp = kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_128")
    assert "Plaintext" not in wp
    assert len(kms.decrypt(CiphertextBlob=wp["CiphertextBlob"])["Plaintext"]) == 16
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key(KeyId=key)
    assert _code(exc) == "ValidationException"
    assert len(kms.generate_random(NumberOfBytes=64)["Plaintext"]) == 64


def test_disable_enable_schedule_cancel(kms: Any) -> None:
    """Disabled keys refuse crypto with DisabledException, pending deletion ones with
    KMSInvalidStateException; cancelling leaves the key Disabled."""
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _code(exc) == "DisabledException"
    assert key["Arn"] in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob)
    assert _code(exc) == "DisabledException"
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    with pytest.raises(ClientError) as exc:
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=3)
    assert _code(exc) == "ValidationException"
    out = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and "DeletionDate" in meta
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob)
    assert _code(exc) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as exc:
        kms.enable_key(KeyId=key["KeyId"])
    assert _code(exc) == "KMSInvalidStateException"
    assert kms.cancel_key_deletion(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


def test_alias_rules(kms: Any) -> None:
    """Aliases need the alias/ prefix, alias/aws/ is reserved, names are unique, and
    UpdateAlias/DeleteAlias/ListAliases behave as AWS."""
    k1 = kms.create_key()["KeyMetadata"]["KeyId"]
    k2 = kms.create_key()["KeyMetadata"]["KeyId"]
    alias = _alias()
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="noprefix", TargetKeyId=k1)
    assert _code(exc) == "InvalidAliasNameException"
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=k1)
    assert _code(exc) == "InvalidAliasNameException"
    kms.create_alias(AliasName=alias, TargetKeyId=k1)
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName=alias, TargetKeyId=k2)
    assert _code(exc) == "AlreadyExistsException"
    kms.update_alias(AliasName=alias, TargetKeyId=k2)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == k2
    listed = kms.list_aliases(KeyId=k2)["Aliases"]
    assert [a["AliasName"] for a in listed] == [alias]
    kms.delete_alias(AliasName=alias)
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=alias)
    assert _code(exc) == "NotFoundException"
    with pytest.raises(ClientError) as exc:
        kms.delete_alias(AliasName=alias)
    assert _code(exc) == "NotFoundException"


def test_aws_managed_key(kms: Any) -> None:
    """alias/aws/secretsmanager is an AWS managed key that refuses management."""
    meta = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    names = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert "alias/aws/secretsmanager" in names
    for call in (
        lambda: kms.disable_key(KeyId=meta["KeyId"]),
        lambda: kms.schedule_key_deletion(KeyId=meta["KeyId"]),
        lambda: kms.put_key_policy(KeyId=meta["KeyId"], Policy="{}", PolicyName="default"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "AccessDeniedException"
    out = kms.encrypt(KeyId="alias/aws/secretsmanager", Plaintext=b"m")
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"m"


def test_rotation(kms: Any) -> None:
    """On-demand rotation adds material: old ciphertexts still decrypt, new ones differ."""
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    old = kms.encrypt(KeyId=key, Plaintext=b"old")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=key)
    new = kms.encrypt(KeyId=key, Plaintext=b"new")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"old"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"new"
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]
    kms.disable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_policies_and_tags(kms: Any, server: Any) -> None:
    """The default policy grants the account root kms:*; tags add and remove."""
    key = kms.create_key()["KeyMetadata"]
    account = key["AWSAccountId"]
    pol = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert pol["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
    assert pol["Statement"][0]["Action"] == "kms:*"
    assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]
    with pytest.raises(ClientError) as exc:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy="not json")
    assert _code(exc) == "MalformedPolicyDocumentException"
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "t", "TagValue": "1"}])
    kms.untag_resource(KeyId=key["KeyId"], TagKeys=["t"])
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == []


def _limited_user(server: Any, actions: list[str]) -> tuple[Any, str]:
    iam = server.client("iam")
    name = f"k-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="p",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    account = server.client("sts").get_caller_identity()["Account"]
    client = server.client(
        "kms",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return client, f"arn:aws:iam::{account}:user/{name}"


def test_limited_user_is_refused_decrypt(kms: Any, server: Any) -> None:
    """A user allowed only kms:Encrypt can encrypt but not decrypt."""
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    limited, _ = _limited_user(server, ["kms:Encrypt"])
    blob = limited.encrypt(KeyId=key, Plaintext=b"s")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        limited.decrypt(CiphertextBlob=blob)
    assert _code(exc) == "AccessDeniedException"
    assert "kms:Decrypt" in exc.value.response["Error"]["Message"]


def test_key_policy_without_root_refuses_admin(kms: Any) -> None:
    """Without the root statement the key policy refuses even an IAM administrator; the
    lockout check refuses such a policy unless bypassed."""
    key = kms.create_key()["KeyMetadata"]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:user/nobody"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    with pytest.raises(ClientError) as exc:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
    assert _code(exc) == "MalformedPolicyDocumentException"
    kms.put_key_policy(
        KeyId=key["KeyId"],
        PolicyName="default",
        Policy=policy,
        BypassPolicyLockoutSafetyCheck=True,
    )
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _code(exc) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=key["KeyId"])
    assert _code(exc) == "AccessDeniedException"


def test_grants(kms: Any, server: Any) -> None:
    """A grant lets a user with no IAM permission use the key; revoking ends that."""
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    limited, arn = _limited_user(server, ["sts:GetCallerIdentity"])
    with pytest.raises(ClientError) as exc:
        limited.encrypt(KeyId=key, Plaintext=b"g")
    assert _code(exc) == "AccessDeniedException"
    grant = kms.create_grant(KeyId=key, GranteePrincipal=arn, Operations=["Encrypt"])
    assert limited.encrypt(KeyId=key, Plaintext=b"g")["KeyId"].endswith(key)
    grants = kms.list_grants(KeyId=key)["Grants"]
    assert [g["GrantId"] for g in grants] == [grant["GrantId"]]
    kms.revoke_grant(KeyId=key, GrantId=grant["GrantId"])
    with pytest.raises(ClientError) as exc:
        limited.encrypt(KeyId=key, Plaintext=b"g")
    assert _code(exc) == "AccessDeniedException"
