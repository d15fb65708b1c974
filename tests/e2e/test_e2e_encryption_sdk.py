"""The AWS Encryption SDK for Python, a KMS client nobody here wrote, against the running
server: envelope encryption round-trips, tampering, key state and permissions."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError, DecryptKeyError
from botocore.config import Config
from cryptography.exceptions import InvalidTag

CONTEXT = {"purpose": "e2e", "tenant": "acme"}
PLAINTEXT = b"interoperability with a client we did not write" * 20


class Principal:
    """A botocore session the SDK builds its kms clients from, and the KMS calls they made.

    The SDK calls ``boto3.session.Session(botocore_session=...).client("kms", region_name=...)``
    with no endpoint_url, so the endpoint comes from the session's own shared config file
    (the ``endpoint_url`` profile setting, botocore >= 1.31), not from the process
    environment. ``calls`` records each KMS operation and its error code off the wire (None if ok).
    """

    def __init__(self, server: Any, tmp_path: Path, access_key_id: str, secret: str) -> None:
        config_file = tmp_path / f"aws-config-{uuid.uuid4().hex[:8]}"
        config_file.write_text(
            f"[profile strongroom]\nregion = {server.region}\nendpoint_url = {server.endpoint}\n"
        )
        self.session = botocore.session.Session(profile="strongroom")
        self.session.set_config_variable("config_file", str(config_file))
        self.session.set_credentials(access_key_id, secret)
        self.session.set_default_client_config(
            Config(retries={"total_max_attempts": 1, "mode": "standard"})
        )
        self.calls: list[tuple[str, str | None]] = []
        self.session.register("after-call.kms", self._record)

    def _record(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, parsed.get("Error", {}).get("Code")))

    def provider(self, key_id: str) -> aws_encryption_sdk.StrictAwsKmsMasterKeyProvider:
        return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
            key_ids=[key_id], botocore_session=self.session
        )


@pytest.fixture
def kms(server: Any) -> Any:
    return server.client("kms")


@pytest.fixture
def key(kms: Any) -> dict[str, Any]:
    meta: dict[str, Any] = kms.create_key(Description="encryption sdk")["KeyMetadata"]
    return meta


@pytest.fixture
def admin(server: Any, tmp_path: Path) -> Principal:
    return Principal(server, tmp_path, server.access_key_id, server.secret_access_key)


@pytest.fixture
def client() -> aws_encryption_sdk.EncryptionSDKClient:
    # The default and strictest policy: key-committing suites only, both ways.
    return aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=aws_encryption_sdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )


def _limited(server: Any, tmp_path: Path, actions: list[str]) -> Principal:
    iam = server.client("iam")
    name = f"esdk-{uuid.uuid4().hex[:10]}"
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
    access = iam.create_access_key(UserName=name)["AccessKey"]
    return Principal(server, tmp_path, access["AccessKeyId"], access["SecretAccessKey"])


def _encrypt(
    client: aws_encryption_sdk.EncryptionSDKClient,
    provider: aws_encryption_sdk.StrictAwsKmsMasterKeyProvider,
) -> bytes:
    ciphertext, header = client.encrypt(
        source=PLAINTEXT, key_provider=provider, encryption_context=CONTEXT
    )
    assert CONTEXT.items() <= header.encryption_context.items()
    return bytes(ciphertext)


def test_round_trip_with_context(client: Any, admin: Principal, key: dict[str, Any]) -> None:
    """Ciphertext made by the SDK through the server decrypts to the plaintext and context."""
    ciphertext = _encrypt(client, admin.provider(key["Arn"]))
    assert PLAINTEXT not in ciphertext
    assert key["Arn"].encode() in ciphertext  # the data key names its wrapping key
    plaintext, header = client.decrypt(source=ciphertext, key_provider=admin.provider(key["Arn"]))
    assert plaintext == PLAINTEXT
    # The SDK adds its own signing key to the context; ours is carried unchanged.
    assert CONTEXT.items() <= header.encryption_context.items()
    assert [k.key_provider.key_info for k in header.encrypted_data_keys] == [key["Arn"].encode()]
    assert admin.calls == [("GenerateDataKey", None), ("Decrypt", None)]


def test_alias_encrypts_and_key_arn_decrypts(
    client: Any, admin: Principal, kms: Any, key: dict[str, Any]
) -> None:
    """Encrypting through an alias ARN records the key ARN, which then decrypts."""
    alias = f"alias/esdk-{uuid.uuid4().hex[:10]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    alias_arn = key["Arn"].replace("key/" + key["KeyId"], alias)
    ciphertext = _encrypt(client, admin.provider(alias_arn))
    plaintext, header = client.decrypt(source=ciphertext, key_provider=admin.provider(key["Arn"]))
    assert plaintext == PLAINTEXT
    assert [k.key_provider.key_info for k in header.encrypted_data_keys] == [key["Arn"].encode()]


def test_tampered_ciphertext_fails(client: Any, admin: Principal, key: dict[str, Any]) -> None:
    """Flipping a byte of the body, or of the wrapped data key, makes decryption fail."""
    ciphertext = _encrypt(client, admin.provider(key["Arn"]))
    body = bytearray(ciphertext)
    body[-120] ^= 0x01  # inside the encrypted content, before the footer signature
    admin.calls.clear()
    # The SDK lets the AES-GCM tag failure through unwrapped, as cryptography's InvalidTag.
    with pytest.raises((AWSEncryptionSDKClientError, InvalidTag)):
        client.decrypt(source=bytes(body), key_provider=admin.provider(key["Arn"]))
    assert admin.calls == [("Decrypt", None)]  # the data key was fine; the content was not

    # The wrapped data key is the KMS ciphertext blob that follows the key ARN in the header.
    blob_at = ciphertext.index(key["Arn"].encode()) + len(key["Arn"]) + 2 + 10
    wrapped = bytearray(ciphertext)
    wrapped[blob_at] ^= 0x01
    admin.calls.clear()
    with pytest.raises(DecryptKeyError):
        client.decrypt(source=bytes(wrapped), key_provider=admin.provider(key["Arn"]))
    assert admin.calls == [("Decrypt", "InvalidCiphertextException")]


def test_disabled_key_refuses_until_enabled(
    client: Any, admin: Principal, kms: Any, key: dict[str, Any]
) -> None:
    """After DisableKey the SDK cannot unwrap the data key; after EnableKey it can."""
    ciphertext = _encrypt(client, admin.provider(key["Arn"]))
    kms.disable_key(KeyId=key["KeyId"])
    try:
        admin.calls.clear()
        with pytest.raises(DecryptKeyError):
            client.decrypt(source=ciphertext, key_provider=admin.provider(key["Arn"]))
        assert admin.calls == [("Decrypt", "DisabledException")]
        with pytest.raises(AWSEncryptionSDKClientError):
            _encrypt(client, admin.provider(key["Arn"]))
    finally:
        kms.enable_key(KeyId=key["KeyId"])
    plaintext, _ = client.decrypt(source=ciphertext, key_provider=admin.provider(key["Arn"]))
    assert plaintext == PLAINTEXT


def test_caller_without_decrypt_cannot_unwrap(
    client: Any, admin: Principal, server: Any, tmp_path: Path, key: dict[str, Any]
) -> None:
    """A user allowed only kms:GenerateDataKey encrypts, but cannot decrypt what it made."""
    limited = _limited(server, tmp_path, ["kms:GenerateDataKey"])
    ciphertext = _encrypt(client, limited.provider(key["Arn"]))
    with pytest.raises(DecryptKeyError):
        client.decrypt(source=ciphertext, key_provider=limited.provider(key["Arn"]))
    assert limited.calls == [("GenerateDataKey", None), ("Decrypt", "AccessDeniedException")]
    plaintext, _ = client.decrypt(source=ciphertext, key_provider=admin.provider(key["Arn"]))
    assert plaintext == PLAINTEXT
