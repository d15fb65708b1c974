"""The webhook service over real SQLite and a real receiver on loopback: registration rules,
the signed request, the role's credentials, failures and TLS."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from iam_helpers import LAMBDA_TRUST, trust
from strongroom.clock import SystemClock
from strongroom.crypto.rootring import FileRootStore
from strongroom.crypto.signing import verify
from strongroom.crypto.tls import self_signed
from strongroom.errors import AccessDenied, AlreadyExists, InvalidParameter, NotFound
from strongroom.http.app import Components, build
from strongroom.service.rootrotation import rotate_root
from strongroom.service.webhook_delivery import (
    WebhookRejected,
    WebhookTimeout,
    WebhookTlsError,
    WebhookUnreachable,
)
from strongroom.service.webhooks import WebhookService
from strongroom.settings import load_settings
from strongroom.storage.base import RoleRecord
from strongroom.storage.rootwrapped import SqliteRootWrapped
from webhook_receiver import Delivery, Receiver

EVENT = {"SecretId": "arn:aws:secretsmanager:us-east-1:1:secret:x", "ClientRequestToken": "t"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Components, WebhookService, str]]:
    components = build(load_settings(overrides={"data_dir": str(tmp_path)}), SystemClock())
    account = components.identity.create_account().principal.account_id
    assert components.webhooks is not None
    yield components, components.webhooks, account
    components.storage.close()


def _role(components: Components, account: str, name: str, trust: str) -> str:
    with components.storage.write() as tx:
        tx.insert_role(
            RoleRecord(account, name, "/", "AROA" + name.upper(), 1.0, trust, None, 3600, ())
        )
    return f"arn:aws:iam::{account}:role/{name}"


def _step(step: str) -> dict[str, str]:
    return {**EVENT, "Step": step}


def test_create_returns_the_key_once_and_stores_it_sealed(
    env: tuple[Components, WebhookService, str],
) -> None:
    """The key is shown at creation; the store holds only a root-wrapped blob, and listing
    shows the ARN in the server's region without any key."""
    components, hooks, account = env
    new = hooks.create(account_id=account, name="rot", url="https://hooks.example/x")
    assert new.webhook.arn == f"arn:aws:lambda:us-east-1:{account}:function:rot"
    assert new.signing_key not in repr(new)
    db = sqlite3.connect(components.settings.sqlite_path())
    (sealed,) = db.execute("SELECT sealed_key FROM webhooks").fetchone()
    db.close()
    assert new.signing_key.encode() not in sealed
    assert [w.name for w in hooks.list(account)] == ["rot"]
    with pytest.raises(AlreadyExists):
        hooks.create(account_id=account, name="rot", url="https://hooks.example/y")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": "bad name"}, InvalidParameter),
        ({"name": "x" * 65}, InvalidParameter),
        ({"name": "strongroom-builtin-mine"}, InvalidParameter),
        ({"url": "http://hooks.example/x"}, InvalidParameter),
        ({"url": "ftp://hooks.example/x"}, InvalidParameter),
        ({"url": "https://user:pw@hooks.example/x"}, InvalidParameter),
        ({"url": "https://hooks.example:99999/x"}, InvalidParameter),
        ({"verify_tls": False}, InvalidParameter),
        ({"timeout_seconds": 0.5}, InvalidParameter),
        ({"timeout_seconds": 901.0}, InvalidParameter),
        ({"account_id": "999999999999"}, NotFound),
        ({"role_arn": "arn:aws:iam::123456789012:role/elsewhere"}, InvalidParameter),
        ({"role_arn": "not-an-arn"}, InvalidParameter),
    ],
)
def test_create_refuses_bad_registrations(
    env: tuple[Components, WebhookService, str], kwargs: dict[str, object], error: type
) -> None:
    """Names, URLs (plain http off loopback), TLS, timeouts, accounts and roles are checked."""
    _, hooks, account = env
    args: dict[str, object] = {"account_id": account, "name": "n", "url": "https://h.example/"}
    with pytest.raises(error):
        hooks.create(**{**args, **kwargs})  # type: ignore[arg-type]


def test_insecure_urls_need_the_explicit_flag(env: tuple[Components, WebhookService, str]) -> None:
    """Plain http is fine to loopback, and elsewhere only with allow_insecure."""
    _, hooks, account = env
    hooks.create(account_id=account, name="a", url="http://127.0.0.1:9/x")
    hooks.create(account_id=account, name="b", url="http://localhost/x")
    hooks.create(account_id=account, name="c", url="http://[::1]:9/x")
    hooks.create(account_id=account, name="d", url="http://h.example/x", allow_insecure=True)
    hooks.create(
        account_id=account,
        name="e",
        url="https://h.example/x",
        verify_tls=False,
        allow_insecure=True,
    )


def test_a_role_must_exist_and_trust_lambda(env: tuple[Components, WebhookService, str]) -> None:
    """The role is in the same account and its trust policy allows lambda.amazonaws.com."""
    components, hooks, account = env
    other = trust(account)
    untrusting = _role(components, account, "users-only", other)
    with pytest.raises(AccessDenied):
        hooks.create(account_id=account, name="n", url="https://h.example/", role_arn=untrusting)
    with pytest.raises(NotFound):
        hooks.create(
            account_id=account,
            name="n",
            url="https://h.example/",
            role_arn=f"arn:aws:iam::{account}:role/missing",
        )
    trusting = _role(components, account, "rotator", LAMBDA_TRUST)
    hooks.create(account_id=account, name="n", url="https://h.example/", role_arn=trusting)


def test_delivery_is_signed_and_carries_the_step(
    env: tuple[Components, WebhookService, str],
) -> None:
    """The receiver gets {SecretId, ClientRequestToken, Step} signed over timestamp.body,
    and no credentials when no role is configured."""
    _, hooks, account = env
    with Receiver() as receiver:
        new = hooks.create(account_id=account, name="n", url=receiver.url)
        receiver.key = new.signing_key
        hooks.deliver(account, "n", _step("createSecret"))
    (got,) = receiver.deliveries
    assert got.signed and got.event == _step("createSecret")
    assert got.headers["content-type"] == "application/json"
    assert got.headers["strongroom-delivery"]
    stamp = int(got.headers["strongroom-timestamp"])
    assert abs(stamp - time.time()) < 60
    assert verify(new.signing_key, stamp, got.body, got.headers["strongroom-signature"][3:])


def test_a_role_adds_working_temporary_credentials(
    env: tuple[Components, WebhookService, str],
) -> None:
    """With a role, the body carries an assumed-role session of it (valid 15 minutes) and
    the endpoint and region to use it against."""
    components, hooks, account = env
    role = _role(components, account, "rotator", LAMBDA_TRUST)
    with Receiver() as receiver:
        new = hooks.create(account_id=account, name="hook", url=receiver.url, role_arn=role)
        receiver.key = new.signing_key
        hooks.deliver(account, "hook", _step("setSecret"))
    event = receiver.deliveries[0].event
    creds = event["Credentials"]
    assert set(creds) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert event["Endpoint"] == "http://127.0.0.1:8900" and event["Region"] == "us-east-1"
    key = components.identity.lookup(creds["AccessKeyId"])
    assert key is not None and key.secret_access_key == creds["SecretAccessKey"]
    assert key.principal.arn == f"arn:aws:sts::{account}:assumed-role/rotator/hook"
    assert key.expires_at is not None and 850 < key.expires_at - time.time() <= 900
    assert creds["Expiration"].endswith("Z")


def test_a_role_that_stops_trusting_fails_the_step(
    env: tuple[Components, WebhookService, str],
) -> None:
    """The trust policy is checked again at each step; a refusal sends nothing."""
    components, hooks, account = env
    role = _role(components, account, "rotator", LAMBDA_TRUST)
    with Receiver() as receiver:
        hooks.create(account_id=account, name="hook", url=receiver.url, role_arn=role)
        with components.storage.write() as tx:
            found = tx.role(account, "rotator")
            assert found is not None
            deny = LAMBDA_TRUST.replace('"Allow"', '"Deny"')
            tx.update_role(replace(found, trust_policy=deny))
        with pytest.raises(AccessDenied):
            hooks.deliver(account, "hook", _step("createSecret"))
    assert receiver.deliveries == []


def test_a_non_2xx_answer_fails_without_quoting_the_body(
    env: tuple[Components, WebhookService, str],
) -> None:
    """A 500 (or 302) fails the step; the error names the status, never the body."""
    _, hooks, account = env

    def answer(delivery: Delivery) -> tuple[int, bytes]:
        return (500 if delivery.event["Step"] == "setSecret" else 302), b"password=hunter2"

    with Receiver(handle=answer) as receiver:
        hooks.create(account_id=account, name="n", url=receiver.url)
        with pytest.raises(WebhookRejected) as failed:
            hooks.deliver(account, "n", _step("setSecret"))
        assert failed.value.status == 500 and "hunter2" not in str(failed.value)
        with pytest.raises(WebhookRejected):
            hooks.deliver(account, "n", _step("testSecret"))


def test_a_slow_receiver_times_out(env: tuple[Components, WebhookService, str]) -> None:
    """No status line within the timeout fails the step with WebhookTimeout."""
    _, hooks, account = env

    def slow(delivery: Delivery) -> tuple[int, bytes]:
        time.sleep(2.5)
        return 200, b""

    with Receiver(handle=slow) as receiver:
        hooks.create(account_id=account, name="n", url=receiver.url, timeout_seconds=1)
        started = time.monotonic()
        with pytest.raises(WebhookTimeout):
            hooks.deliver(account, "n", _step("createSecret"))
        assert time.monotonic() - started < 2.0


def test_an_unreachable_receiver_fails(env: tuple[Components, WebhookService, str]) -> None:
    """A refused connection fails the step with WebhookUnreachable."""
    _, hooks, account = env
    with Receiver() as receiver:
        url = receiver.url
    hooks.create(account_id=account, name="n", url=url)
    with pytest.raises(WebhookUnreachable):
        hooks.deliver(account, "n", _step("createSecret"))


def test_tls_is_verified_against_the_system_or_the_given_ca(
    env: tuple[Components, WebhookService, str], tmp_path: Path
) -> None:
    """A self-signed receiver fails verification unless its CA bundle was given, or
    verification was turned off explicitly."""
    _, hooks, account = env
    cert, key = self_signed(tmp_path / "receiver")
    with Receiver(tls=(cert, key)) as receiver:
        a = hooks.create(account_id=account, name="system-cas", url=receiver.url)
        with pytest.raises(WebhookTlsError):
            hooks.deliver(account, "system-cas", _step("createSecret"))
        b = hooks.create(
            account_id=account, name="pinned", url=receiver.url, ca_pem=cert.read_text()
        )
        receiver.key = b.signing_key
        hooks.deliver(account, "pinned", _step("createSecret"))
        c = hooks.create(
            account_id=account,
            name="unverified",
            url=receiver.url,
            verify_tls=False,
            allow_insecure=True,
        )
        receiver.key = c.signing_key
        hooks.deliver(account, "unverified", _step("createSecret"))
    assert a.signing_key != b.signing_key
    assert [d.signed for d in receiver.deliveries] == [True, True]


def test_rotate_key_replaces_the_key_at_once(env: tuple[Components, WebhookService, str]) -> None:
    """After rotate-key, requests are signed with the new key only."""
    _, hooks, account = env
    with Receiver() as receiver:
        old = hooks.create(account_id=account, name="n", url=receiver.url)
        new = hooks.rotate_key(account, "n")
        assert new.signing_key != old.signing_key
        receiver.key = old.signing_key
        with pytest.raises(WebhookRejected):  # the receiver answers 401 to a bad signature
            hooks.deliver(account, "n", _step("createSecret"))
        receiver.key = new.signing_key
        hooks.deliver(account, "n", _step("createSecret"))
    with pytest.raises(NotFound):
        hooks.rotate_key(account, "missing")


def test_resolve_finds_only_this_regions_registered_names(
    env: tuple[Components, WebhookService, str],
) -> None:
    """The registry finds a webhook by its exact ARN; other regions, accounts and names
    are not webhooks; a deleted webhook stops resolving."""
    components, hooks, account = env
    hooks.create(account_id=account, name="n", url="https://h.example/")
    arn = f"arn:aws:lambda:us-east-1:{account}:function:n"
    assert components.rotation is not None
    assert components.rotation.registry.lookup(arn) is not None
    assert hooks.resolve(arn.replace("us-east-1", "eu-west-1")) is None
    assert hooks.resolve(arn.replace(account, "999999999999")) is None
    assert hooks.resolve(arn + "x") is None
    hooks.delete(account, "n")
    assert components.rotation.registry.lookup(arn) is None
    with pytest.raises(NotFound):
        hooks.delete(account, "n")


def _sealed_key(path: Path) -> bytes:
    db = sqlite3.connect(path)
    (sealed,) = db.execute("SELECT sealed_key FROM webhooks").fetchone()
    db.close()
    return bytes(sealed)


def test_root_rotation_rewraps_signing_keys(tmp_path: Path) -> None:
    """After the root key is rotated and the old one retired, a webhook still signs with
    the key it was given."""
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    components = build(settings, SystemClock())
    account = components.identity.create_account().principal.account_id
    assert components.webhooks is not None
    with Receiver() as receiver:
        new = components.webhooks.create(account_id=account, name="n", url=receiver.url)
        components.storage.close()
        before = _sealed_key(settings.sqlite_path())
        rows = SqliteRootWrapped(settings.sqlite_path())
        report = rotate_root(
            FileRootStore(settings.path(settings.crypto.root_key_file)),
            rows,
            grace_seconds=0,
            sleep=lambda _: None,
        )
        rows.close()
        assert report.unreadable == 0
        assert _sealed_key(settings.sqlite_path()) != before
        again = build(settings, SystemClock())
        assert again.webhooks is not None
        receiver.key = new.signing_key
        again.webhooks.deliver(account, "n", _step("createSecret"))
        again.storage.close()
    assert [d.signed for d in receiver.deliveries] == [True]
