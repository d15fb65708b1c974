"""The secrets service over real SQLite and real envelope encryption, with a FixedClock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.clock import FixedClock
from strongroom.domain.secret import VersionEntry
from strongroom.errors import DecryptionFailed, InvalidRequest, NotFound
from strongroom.http.app import Components, build
from strongroom.service.context import RequestContext
from strongroom.settings import load_settings

DAY = 86_400.0


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Components, RequestContext, FixedClock]]:
    clock = FixedClock(1_800_000_000.0)
    components = build(load_settings(overrides={"data_dir": str(tmp_path)}), clock)
    key = components.identity.create_account()
    ctx = RequestContext(key.principal, "us-east-1", "test")
    yield components, ctx, clock
    components.storage.close()


def _all_versions(c: Components, ctx: RequestContext, secret_id: str) -> list[VersionEntry]:
    out: list[VersionEntry] = []
    token = None
    while True:
        _, _, page, token = c.secrets.list_secret_version_ids(
            ctx, secret_id=secret_id, include_deprecated=True, max_results=30, next_token=token
        )
        out += page
        if token is None:
            return out


def test_deprecated_versions_pruned_above_100_only_after_24_hours(
    env: tuple[Components, RequestContext, FixedClock],
) -> None:
    """Above 100 versions, deprecated ones are removed only once older than 24 hours."""
    c, ctx, clock = env
    c.secrets.create_secret(ctx, name="many", secret_string="v0")
    for i in range(1, 110):
        c.secrets.put_secret_value(ctx, secret_id="many", secret_string=f"v{i}")
    young = _all_versions(c, ctx, "many")
    assert len(young) == 110  # all younger than a day: nothing may go
    clock.advance(DAY + 1)
    c.secrets.put_secret_value(ctx, secret_id="many", secret_string="latest")
    kept = _all_versions(c, ctx, "many")
    assert len(kept) == 100
    stages = {e.version_id: e.stages for e in kept}
    assert sum("AWSCURRENT" in s for s in stages.values()) == 1
    assert sum("AWSPREVIOUS" in s for s in stages.values()) == 1
    assert c.secrets.get_secret_value(ctx, secret_id="many").string == "latest"
    previous = c.secrets.get_secret_value(ctx, secret_id="many", version_stage="AWSPREVIOUS")
    assert previous.string == "v109"


def test_purge_respects_window_and_clock(
    env: tuple[Components, RequestContext, FixedClock],
) -> None:
    """The purger removes a deleted secret only after its recovery window has passed."""
    c, ctx, clock = env
    c.secrets.create_secret(ctx, name="gone", secret_string="x")
    _, _, deletion = c.secrets.delete_secret(ctx, secret_id="gone", recovery_window_in_days=7)
    assert deletion == clock.now() + 7 * DAY
    assert c.secrets.purge_due(clock.now() + 7 * DAY - 1) == 0
    with pytest.raises(InvalidRequest):
        c.secrets.get_secret_value(ctx, secret_id="gone")
    assert c.secrets.purge_due(clock.now() + 7 * DAY) == 1
    with pytest.raises(NotFound):
        c.secrets.describe_secret(ctx, secret_id="gone")


def test_last_accessed_is_recorded_by_day(
    env: tuple[Components, RequestContext, FixedClock],
) -> None:
    """Reads queue a day-granular LastAccessedDate that a flush writes once per day."""
    c, ctx, clock = env
    c.secrets.create_secret(ctx, name="read", secret_string="x")
    assert c.secrets.describe_secret(ctx, secret_id="read").last_accessed_day is None
    for _ in range(5):
        c.secrets.get_secret_value(ctx, secret_id="read")
    assert c.secrets.flush_access_days() == 1
    assert c.secrets.describe_secret(ctx, secret_id="read").last_accessed_day == int(
        clock.now() // DAY
    )
    c.secrets.get_secret_value(ctx, secret_id="read")
    assert c.secrets.flush_access_days() == 0  # same day: nothing to write
    clock.advance(DAY)
    c.secrets.get_secret_value(ctx, secret_id="read")
    assert c.secrets.flush_access_days() == 1


def test_ciphertext_moved_between_versions_fails(
    env: tuple[Components, RequestContext, FixedClock],
) -> None:
    """A version's stored ciphertext copied onto another version does not decrypt."""
    c, ctx, _ = env
    c.secrets.create_secret(ctx, name="a", secret_string="alpha")
    c.secrets.put_secret_value(ctx, secret_id="a", secret_string="beta")
    with c.storage.write() as tx:
        rec = tx.find_secret_by_name(ctx.account_id, "a")
        assert rec is not None
        labels = tx.labels(rec.pk)
        current, previous = labels["AWSCURRENT"], labels["AWSPREVIOUS"]
        sealed_prev = tx.version(rec.pk, previous)
        assert sealed_prev is not None
        tx._c.execute(  # type: ignore[attr-defined]
            "UPDATE versions SET sealed = ? WHERE secret_pk = ? AND version_id = ?",
            (sealed_prev.sealed, rec.pk, current),
        )
    with pytest.raises(DecryptionFailed) as exc:
        c.secrets.get_secret_value(ctx, secret_id="a")
    assert "alpha" not in str(exc.value)


def test_values_survive_reopen_with_same_root_key(tmp_path: Path) -> None:
    """A new process on the same data directory reads what the last one wrote."""
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    first = build(settings)
    key = first.identity.create_account()
    ctx = RequestContext(key.principal, "us-east-1", "t")
    first.secrets.create_secret(ctx, name="keep", secret_binary=b"\x00\x01")
    first.storage.close()
    second = build(settings)
    assert second.secrets.get_secret_value(ctx, secret_id="keep").binary == b"\x00\x01"
    assert second.identity.secret_for(key.principal.access_key_id) == key.secret_access_key
    second.storage.close()


def test_deactivated_or_deleted_key_stops_at_once(tmp_path: Path) -> None:
    """A key changed in the store by another process is refused on the very next lookup."""
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    server = build(settings)
    key = server.identity.create_account()
    akid = key.principal.access_key_id
    assert server.identity.secret_for(akid) == key.secret_access_key
    assert server.identity.secret_for(akid) == key.secret_access_key  # cached
    operator = build(settings)  # stands for `strongroom ...` run against the same store
    with operator.storage.write() as tx:
        tx._c.execute(  # type: ignore[attr-defined]
            "UPDATE access_keys SET status = 'Inactive' WHERE access_key_id = ?", (akid,)
        )
    assert server.identity.secret_for(akid) is None
    with operator.storage.write() as tx:
        tx._c.execute(  # type: ignore[attr-defined]
            "UPDATE access_keys SET status = 'Active' WHERE access_key_id = ?", (akid,)
        )
    assert server.identity.secret_for(akid) == key.secret_access_key
    with operator.storage.write() as tx:
        tx._c.execute(  # type: ignore[attr-defined]
            "DELETE FROM access_keys WHERE access_key_id = ?", (akid,)
        )
    assert server.identity.secret_for(akid) is None
    operator.storage.close()
    server.storage.close()
