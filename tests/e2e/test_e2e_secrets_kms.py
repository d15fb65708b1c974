"""Secrets under customer managed keys: KmsKeyId by id, ARN, alias or alias ARN; a disabled
or deleted key makes values unreadable and unwritable until enabled again; key policies and
IAM together gate kms:Decrypt / kms:GenerateDataKey through Secrets Manager, with the KMS
condition keys; a key change re-encrypts the labelled versions; other accounts read values
under a key whose policy lets them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import Server, make_clocked_server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _error(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    return str(exc.value.response["Error"]["Code"]), str(exc.value.response["Error"]["Message"])


def _name() -> str:
    return f"cmk/{uuid.uuid4().hex[:10]}"


class Account:
    def __init__(self, server: Server, akid: str | None = None, secret: str | None = None) -> None:
        creds = {
            "aws_access_key_id": akid or server.access_key_id,
            "aws_secret_access_key": secret or server.secret_access_key,
        }
        self.server = server
        self.sm: Any = server.client(**creds)
        self.kms: Any = server.client("kms", **creds)
        self.iam: Any = server.client("iam", **creds)
        self.id = str(server.client("sts", **creds).get_caller_identity()["Account"])

    def key(self, policy: str | None = None) -> tuple[str, str, str]:
        """A new key: (key id, key ARN, alias name)."""
        kwargs: dict[str, Any] = (
            {"Policy": policy, "BypassPolicyLockoutSafetyCheck": True} if policy else {}
        )
        meta = self.kms.create_key(**kwargs)["KeyMetadata"]
        alias = f"alias/cmk-{uuid.uuid4().hex[:10]}"
        self.kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        return meta["KeyId"], meta["Arn"], alias

    def user(self, *statements: dict[str, Any]) -> Any:
        name = f"cmk-{uuid.uuid4().hex[:10]}"
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(*statements))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return self.server.client(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
        )


@pytest.fixture
def admin(server: Server) -> Account:
    return Account(server)


def test_every_form_of_kms_key_id_works_and_describe_shows_it(admin: Account) -> None:
    key_id, arn, alias = admin.key()
    alias_arn = arn.replace(f"key/{key_id}", alias)
    for ref in (key_id, arn, alias, alias_arn):
        name = _name()
        admin.sm.create_secret(Name=name, SecretString="v", KmsKeyId=ref)
        assert admin.sm.describe_secret(SecretId=name)["KmsKeyId"] == ref
        assert admin.sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    plain = _name()
    admin.sm.create_secret(Name=plain, SecretString="v")
    assert "KmsKeyId" not in admin.sm.describe_secret(SecretId=plain)
    code, message = _error(
        lambda: admin.sm.create_secret(Name=_name(), SecretString="v", KmsKeyId="alias/nope-x")
    )
    assert code == "ResourceNotFoundException" and "KMS key" in message


def test_disabled_or_deleted_key_locks_the_secret_until_enabled(admin: Account) -> None:
    key_id, _, alias = admin.key()
    name = _name()
    admin.sm.create_secret(Name=name, SecretString="before", KmsKeyId=alias)
    admin.kms.disable_key(KeyId=key_id)
    code, message = _error(lambda: admin.sm.get_secret_value(SecretId=name))
    assert code == "DecryptionFailure" and "disabled" in message
    code, message = _error(lambda: admin.sm.put_secret_value(SecretId=name, SecretString="x"))
    assert code == "EncryptionFailure" and "disabled" in message
    code, _ = _error(lambda: admin.sm.create_secret(Name=_name(), SecretString="v", KmsKeyId=alias))
    assert code == "EncryptionFailure"
    admin.kms.enable_key(KeyId=key_id)
    assert admin.sm.get_secret_value(SecretId=name)["SecretString"] == "before"
    admin.sm.put_secret_value(SecretId=name, SecretString="after")
    admin.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    code, message = _error(lambda: admin.sm.get_secret_value(SecretId=name))
    assert code == "DecryptionFailure" and "pending deletion" in message
    admin.kms.cancel_key_deletion(KeyId=key_id)
    admin.kms.enable_key(KeyId=key_id)
    assert admin.sm.get_secret_value(SecretId=name)["SecretString"] == "after"


def test_kms_permissions_gate_reads_and_writes_with_condition_keys(admin: Account) -> None:
    """The default key policy delegates to IAM: a user allowed secretsmanager:* still needs
    kms:Decrypt / kms:GenerateDataKey, which kms:ViaService and the encryption context can
    narrow."""
    _, arn, alias = admin.key()
    name = _name()
    secret_arn = admin.sm.create_secret(Name=name, SecretString="v", KmsKeyId=alias)["ARN"]
    sm_all = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
    bare = admin.user(sm_all)
    assert _error(lambda: bare.get_secret_value(SecretId=name)) == (
        "AccessDeniedException",
        "Access to KMS is not allowed",
    )
    assert _error(lambda: bare.put_secret_value(SecretId=name, SecretString="x"))[0] == (
        "AccessDeniedException"
    )
    via = admin.user(
        sm_all,
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": arn,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                    "kms:CallerAccount": admin.id,
                    "kms:EncryptionContext:SecretARN": secret_arn,
                }
            },
        },
    )
    assert via.get_secret_value(SecretId=name)["SecretString"] == "v"
    via.put_secret_value(SecretId=name, SecretString="w")
    other = admin.sm.create_secret(Name=_name(), SecretString="o", KmsKeyId=alias)["ARN"]
    assert _error(lambda: via.get_secret_value(SecretId=other))[0] == "AccessDeniedException"


def test_changing_the_key_reencrypts_labelled_versions(admin: Account) -> None:
    """After UpdateSecret --kms-key-id, AWSCURRENT and AWSPREVIOUS read with the old key
    disabled; an unlabelled older version stays under the old key."""
    old_id, _, old_alias = admin.key()
    _, _, new_alias = admin.key()
    name = _name()
    first = admin.sm.create_secret(Name=name, SecretString="v1", KmsKeyId=old_alias)["VersionId"]
    admin.sm.put_secret_value(SecretId=name, SecretString="v2")
    admin.sm.put_secret_value(SecretId=name, SecretString="v3")  # v1 is now unlabelled
    admin.sm.update_secret(SecretId=name, KmsKeyId=new_alias)
    assert admin.sm.describe_secret(SecretId=name)["KmsKeyId"] == new_alias
    admin.kms.disable_key(KeyId=old_id)
    assert admin.sm.get_secret_value(SecretId=name)["SecretString"] == "v3"
    previous = admin.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "v2"
    assert _error(lambda: admin.sm.get_secret_value(SecretId=name, VersionId=first))[0] == (
        "DecryptionFailure"
    )
    admin.kms.enable_key(KeyId=old_id)
    assert admin.sm.get_secret_value(SecretId=name, VersionId=first)["SecretString"] == "v1"


def test_another_account_reads_a_value_under_a_key_it_may_use(server: Server) -> None:
    """Cross-account reads need the secret's resource policy, the caller's IAM policy and a
    customer managed key whose policy lets the caller's account decrypt."""
    owner = Account(server, *server.new_account())
    reader = Account(server)
    grant_key = _doc(
        {
            "Sid": "Owner",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{owner.id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "ReaderDecrypts",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{reader.id}:root"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        },
    )
    _, shared_arn, _ = owner.key(grant_key)
    _, private_arn, _ = owner.key()
    grant = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{reader.id}:root"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    )
    shared = owner.sm.create_secret(Name=_name(), SecretString="shared", KmsKeyId=shared_arn)["ARN"]
    private = owner.sm.create_secret(Name=_name(), SecretString="p", KmsKeyId=private_arn)["ARN"]
    for arn in (shared, private):
        owner.sm.put_resource_policy(SecretId=arn, ResourcePolicy=grant)
    user = reader.user(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
    )
    assert user.get_secret_value(SecretId=shared)["SecretString"] == "shared"
    assert _error(lambda: user.get_secret_value(SecretId=private)) == (
        "AccessDeniedException",
        "Access to KMS is not allowed",
    )


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server of its own whose background clock (purger, key rotation) can be moved."""
    srv, offset = make_clocked_server(tmp_path_factory.mktemp("kms-clocked"))
    srv.start()
    yield srv, offset
    srv.stop()


def _wait(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the background loop did not act in time")
        time.sleep(0.1)


def test_automatic_rotation_and_deletion_run_in_the_background(clocked: Any) -> None:
    """When a rotation period passes the key gets new material (old values still read, new
    ones use it); when a deletion date passes the key is gone and its secrets unreadable."""
    server, offset = clocked
    admin = Account(server)
    key_id, _, alias = admin.key()
    name = _name()
    admin.sm.create_secret(Name=name, SecretString="old", KmsKeyId=alias)
    admin.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    assert admin.kms.list_key_rotations(KeyId=key_id)["Rotations"] == []
    try:
        offset.write_text(str(91 * 86400))
        _wait(lambda: admin.kms.list_key_rotations(KeyId=key_id)["Rotations"] != [])
        rotations = admin.kms.list_key_rotations(KeyId=key_id)["Rotations"]
        assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]
        assert admin.sm.get_secret_value(SecretId=name)["SecretString"] == "old"
        admin.sm.put_secret_value(SecretId=name, SecretString="new")
        assert admin.sm.get_secret_value(SecretId=name)["SecretString"] == "new"
        admin.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        offset.write_text(str(99 * 86400))

        def gone() -> bool:
            try:
                admin.kms.describe_key(KeyId=key_id)
            except ClientError as exc:
                return exc.response["Error"]["Code"] == "NotFoundException"
            return False

        _wait(gone)
        assert _error(lambda: admin.sm.get_secret_value(SecretId=name))[0] == "DecryptionFailure"
    finally:
        offset.write_text("0")
