"""Webhook request signatures: HMAC-SHA256 over ``timestamp + "." + body`` with the key text."""

from __future__ import annotations

import hashlib
import hmac

from strongroom.crypto.signing import KEY_PREFIX, new_signing_key, signature, verify


def test_signature_is_standard_hmac_sha256_over_timestamp_dot_body() -> None:
    """Any language's HMAC-SHA256 with the key's UTF-8 bytes gives the same hex digest."""
    key = new_signing_key()
    body = b'{"Step":"createSecret"}'
    expected = hmac.new(key.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(key, 1_700_000_000, body) == expected


def test_verify_accepts_only_the_same_key_timestamp_and_body() -> None:
    """A changed key, timestamp or body, or a malformed signature, does not verify."""
    key = new_signing_key()
    sig = signature(key, 10, b"body")
    assert verify(key, 10, b"body", sig)
    assert not verify(new_signing_key(), 10, b"body", sig)
    assert not verify(key, 11, b"body", sig)
    assert not verify(key, 10, b"body!", sig)
    assert not verify(key, 10, b"body", "not hex")
    assert not verify(key, 10, b"body", sig[:-2])


def test_keys_are_prefixed_random_and_url_safe() -> None:
    """Each key is new, starts with the recognisable prefix and carries 256 random bits."""
    keys = {new_signing_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert key.startswith(KEY_PREFIX)
        body = key[len(KEY_PREFIX) :]
        assert len(body) == 43 and all(c.isalnum() or c in "-_" for c in body)
