"""The same random sequences of Secrets Manager operations, run by the secrets service over
SQLite and over PostgreSQL with the same fixed clock, give the same results and errors."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgstore import pg_schema
from strongroom.clock import FixedClock
from strongroom.errors import ServiceError
from strongroom.http.app import Components, build
from strongroom.service.context import RequestContext
from strongroom.settings import load_settings

pytestmark = pytest.mark.postgres

START = 1_800_000_000.0
# Mixed case, separators and a shared prefix: sort order and prefix filters must agree byte
# for byte (SQLite's BINARY collation, PostgreSQL's "C").
NAMES = ["app", "app/DB", "App", "apq", "Z", "a.b@c"]
STAGES = ["AWSCURRENT", "AWSPREVIOUS", "AWSPENDING", "blue", "green"]
TOKENS = [f"{i:04d}aaaa-bbbb-cccc-dddd-eeeeeeeeeeee" for i in range(8)]

_name = st.sampled_from(NAMES)
_value = st.sampled_from(["s1", "s2", '{"k":"v"}', "", "x" * 40])
_token = st.sampled_from(TOKENS)

_CREATE = st.tuples(st.just("create"), _name, st.none() | _value, _token, st.booleans())
OPS = st.one_of(
    _CREATE,
    st.tuples(st.just("put"), _name, _value, _token, st.none() | st.sampled_from(STAGES)),
    st.tuples(
        st.just("stage"), _name, st.sampled_from(STAGES), st.none() | _token, st.none() | _token
    ),
    st.tuples(st.just("delete"), _name, st.booleans(), st.sampled_from([7, 30, 3])),
    st.tuples(st.just("restore"), _name),
    st.tuples(st.just("tag"), _name, st.sampled_from(["k", "K", "team"]), _value),
    st.tuples(st.just("untag"), _name, st.sampled_from(["k", "K", "team"])),
    st.tuples(st.just("describe"), _name),
    st.tuples(st.just("get"), _name, st.sampled_from(STAGES)),
    st.tuples(st.just("versions"), _name, st.booleans()),
    st.tuples(
        st.just("list"),
        st.none() | st.sampled_from(["app", "App", "a", "Z", "!app", "ap"]),
        st.sampled_from([None, "asc", "desc"]),
        st.sampled_from([None, "name", "created-date", "last-changed-date"]),
        st.booleans(),
        st.sampled_from([1, 2, 100]),
    ),
    st.tuples(st.just("describe_update"), _name, st.none() | _value),
    st.tuples(st.just("tick"), st.sampled_from([0.5, 60.0, 86_400.0])),
)


@dataclasses.dataclass
class _Env:
    components: Components
    clock: FixedClock


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_Env, _Env]]:
    """The secrets service over each store; every example works in a new account of both."""
    base = tmp_path_factory.mktemp("differential")
    with pg_schema() as url:
        made = []
        for kind, extra in (("sqlite", {}), ("postgresql", {"storage": {"url": url}})):
            clock = FixedClock(START)
            overrides: dict[str, Any] = {"data_dir": str(base / kind), **extra}
            made.append(_Env(build(load_settings(overrides=overrides), clock), clock))
        try:
            yield made[0], made[1]
        finally:
            for env in made:
                env.components.storage.close()


def _apply(env: _Env, ctx: RequestContext, op: tuple[Any, ...]) -> Any:
    secrets = env.components.secrets
    kind, *args = op
    if kind == "create":
        name, value, token, tagged = args
        tags = [{"Key": "k", "Value": "v"}] if tagged else None
        return secrets.create_secret(
            ctx, name=name, secret_string=value, client_request_token=token, tags=tags
        )
    if kind == "put":
        name, value, token, stage = args
        return secrets.put_secret_value(
            ctx,
            secret_id=name,
            secret_string=value,
            client_request_token=token,
            version_stages=[stage] if stage else None,
        )
    if kind == "stage":
        name, stage, remove_from, move_to = args
        return secrets.update_secret_version_stage(
            ctx,
            secret_id=name,
            version_stage=stage,
            remove_from_version_id=remove_from,
            move_to_version_id=move_to,
        )
    if kind == "delete":
        name, force, days = args
        if force:
            return secrets.delete_secret(ctx, secret_id=name, force_delete_without_recovery=True)
        return secrets.delete_secret(ctx, secret_id=name, recovery_window_in_days=days)
    if kind == "restore":
        return secrets.restore_secret(ctx, secret_id=args[0])
    if kind == "tag":
        name, key, value = args
        return secrets.tag_resource(ctx, secret_id=name, tags=[{"Key": key, "Value": value}])
    if kind == "untag":
        name, key = args
        return secrets.untag_resource(ctx, secret_id=name, tag_keys=[key])
    if kind == "describe":
        return secrets.describe_secret(ctx, secret_id=args[0])
    if kind == "get":
        name, stage = args
        return secrets.get_secret_value(ctx, secret_id=name, version_stage=stage)
    if kind == "versions":
        name, deprecated = args
        return secrets.list_secret_version_ids(
            ctx, secret_id=name, include_deprecated=deprecated, max_results=2
        )[:3]
    if kind == "list":
        return _list_all(env, ctx, *args)
    if kind == "describe_update":
        name, description = args
        return secrets.update_secret(ctx, secret_id=name, description=description)
    if kind == "tick":
        env.clock.advance(args[0])
        return None
    raise AssertionError(kind)


def _list_all(
    env: _Env,
    ctx: RequestContext,
    prefix: str | None,
    order: str | None,
    sort_by: str | None,
    deleted: bool,
    page: int,
) -> list[Any]:
    """Every page of a listing (next tokens carry primary keys, which may differ)."""
    filters = [{"Key": "name", "Values": [prefix]}] if prefix else None
    pages: list[Any] = []
    token = None
    while True:
        metas, token = env.components.secrets.list_secrets(
            ctx,
            include_planned_deletion=deleted,
            max_results=page,
            next_token=token,
            filters=filters,
            sort_order=order,
            sort_by=sort_by,
        )
        pages.append(metas)
        if token is None or len(pages) > 20:
            return pages


def _normal(result: Any, account: str) -> str:
    """The result as JSON text with the account id and the ARNs' random suffixes masked."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    text = json.dumps(result, default=_plain, sort_keys=False)
    text = text.replace(account, "ACCOUNT")
    return re.sub(r"(arn:aws:secretsmanager:[^\"]*)-[A-Za-z0-9]{6}\"", r'\1-XXXXXX"', text)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)


def _outcome(env: _Env, ctx: RequestContext, op: tuple[Any, ...]) -> str:
    try:
        return "ok " + _normal(_apply(env, ctx, op), ctx.account_id)
    except ServiceError as exc:
        return f"error {type(exc).__name__}: {exc.message.replace(ctx.account_id, 'ACCOUNT')}"


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.tuples(st.lists(_CREATE, min_size=1, max_size=5), st.lists(OPS, max_size=30)))
def test_sqlite_and_postgresql_agree_on_every_operation(
    envs: tuple[_Env, _Env], ops: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]
) -> None:
    """Each operation's result (or error) is the same on both stores, step by step."""
    contexts = []
    for env in envs:
        key = env.components.identity.create_account()
        contexts.append(RequestContext(key.principal, "us-east-1", "differential"))
    for step, op in enumerate(ops[0] + ops[1]):
        sqlite_side = _outcome(envs[0], contexts[0], op)
        postgres_side = _outcome(envs[1], contexts[1], op)
        assert sqlite_side == postgres_side, f"step {step}: {op}"


def test_the_differential_harness_sees_a_difference(envs: tuple[_Env, _Env]) -> None:
    """Masking hides only account ids and ARN suffixes: different values still differ."""
    contexts = []
    for env in envs:
        key = env.components.identity.create_account()
        contexts.append(RequestContext(key.principal, "us-east-1", "differential"))
    a = _outcome(envs[0], contexts[0], ("create", "same", "one", TOKENS[0], False))
    b = _outcome(envs[1], contexts[1], ("create", "same", "two", TOKENS[0], False))
    assert a == b  # create answers (ARN, name, version id): masked alike
    a = _outcome(envs[0], contexts[0], ("get", "same", "AWSCURRENT"))
    b = _outcome(envs[1], contexts[1], ("get", "same", "AWSCURRENT"))
    assert a != b
