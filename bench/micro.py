#!/usr/bin/env python3
"""In-process cost of one GetSecretValue, piece by piece (no HTTP server, no network).

Bulk-loads N secrets into a temporary data dir, then times, per call:

- the whole ASGI app (Strongroom's ``create_app``) with a fake receive/send,
- the fixed-response baseline app (bench/baseline_app.py) the same way,
- SigV4 verification of a botocore-signed request,
- ``SecretsService.get_secret_value`` and its parts (storage lookups, envelope open),
- building and encoding the response body (orjson vs stdlib json),
- policy evaluation of one GetSecretValue with the ``policy`` stage's ten-statement identity
  policy and five-statement resource policy (bench/policies.py): building the context keys,
  ``AuthzRequest``, ``evaluate``, a decision cache's fingerprints, and ``Authorizer.check``
  as a whole. ``--policy-only`` runs just this part (no data set, a few seconds).

Use it next to ``bench/run.py``: the HTTP figures say how fast, this says where the time
goes. Run: ``.venv/bin/python bench/micro.py [--secrets 10000] [--calls 20000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from strongroom.clock import FixedClock, SystemClock
from strongroom.crypto.envelope import decode
from strongroom.domain import policy
from strongroom.http.app import create_app
from strongroom.protocol import json11
from strongroom.protocol.secretsmanager import OPERATIONS
from strongroom.protocol.sigv4 import SignedRequest, SigV4Verifier
from strongroom.service.authorize import Authorizer
from strongroom.service.context import Principal, RequestContext
from strongroom.settings import load_settings

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import baseline_app  # noqa: E402
import bulkload  # noqa: E402
import policies  # noqa: E402

HOST = "127.0.0.1:8900"


def timeit(
    label: str, fn: Callable[[int], object], calls: int, rows: list[tuple[str, float]]
) -> None:
    for i in range(min(calls // 10, 2000)):  # warm-up
        fn(i)
    t0 = time.perf_counter()
    for i in range(calls):
        fn(i)
    us = (time.perf_counter() - t0) / calls * 1e6
    rows.append((label, us))
    print(f"  {us:8.1f} us  {label}", flush=True)


def signed(akid: str, secret: str, target: str, body: bytes) -> list[tuple[str, str]]:
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(Credentials(akid, secret), "secretsmanager", "us-east-1").add_auth(request)
    headers = [("host", HOST), ("content-length", str(len(body)))]
    return headers + [(k.lower(), str(v)) for k, v in request.headers.items()]


def in_context(
    app: Any, app_call: Callable[[int], None], calls: int, rows: list[tuple[str, float]]
) -> None:
    """Whole-app time with SigV4 verification, then also the service call, answered from a
    cache. Uses the dispatcher's private attributes; skipped if they have changed."""
    try:
        dispatcher = app._dispatcher
        verifier = dispatcher._verifier
        methods = dispatcher._methods
        real_verify = verifier.verify
        real_get = methods["GetSecretValue"]
    except (AttributeError, KeyError, TypeError):
        print("  (in-context breakdown skipped: dispatcher internals changed)")
        return
    seen: dict[str, Any] = {}

    def cached_verify(request: Any, service: str) -> Any:
        if "caller" not in seen:
            seen["caller"] = real_verify(request, service)
        return seen["caller"]

    def cached_get(ctx: Any, **kwargs: Any) -> Any:
        if "value" not in seen:
            seen["value"] = real_get(ctx, **kwargs)
        return seen["value"]

    try:
        methods["GetSecretValue"] = cached_get
        timeit("ASGI app, service call cached", app_call, calls, rows)
        verifier.verify = cached_verify
        timeit("ASGI app, SigV4 verify and service call cached", app_call, calls, rows)
        methods["GetSecretValue"] = real_get
        timeit("ASGI app, SigV4 verify cached", app_call, calls, rows)
    finally:
        verifier.verify = real_verify
        methods["GetSecretValue"] = real_get
    whole, no_service, neither, no_verify = (r[1] for r in rows[0:1] + rows[-3:])
    print(
        f"  => in context: SigV4 verify {whole - no_verify:.0f} us"
        f" ({no_service - neither:.0f} us with the service cached),"
        f" service call {whole - no_service:.0f} us ({no_verify - neither:.0f} us with SigV4"
        f" cached), everything else in the app {neither:.0f} us"
    )


class _PolicyTx:
    """A read transaction that knows one user with one inline policy and nothing else."""

    def __init__(self, document: str) -> None:
        self._document = document

    def __enter__(self) -> _PolicyTx:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def identity_documents(self, *args: object) -> list[tuple[str, str]]:
        return [("reader", self._document)]

    def user_policies(self, *args: object) -> dict[str, str]:
        return {"reader": self._document}

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None  # users, roles, sessions: none


class _PolicyStore:
    def __init__(self, document: str) -> None:
        self._document = document

    def change_token(self) -> object:
        return 1

    def read(self) -> _PolicyTx:
        return _PolicyTx(self._document)


def policy_micro(calls: int, rows: list[tuple[str, float]]) -> None:
    """Per-call cost of authorizing GetSecretValue under the policy stage's 10+5 statements,
    in-process, with the same context keys ``Authorizer.check`` builds."""
    account = "123456789012"
    user_arn = f"arn:aws:iam::{account}:user/{policies.USER_NAME}"
    admin_arn = f"arn:aws:iam::{account}:user/admin"
    identity_text = policies.identity_policy(account)
    identity = (policy.parse(identity_text, "identity", name="reader"),)
    resource_text = policies.resource_policy(account, user_arn, admin_arn)
    resource = policy.parse(resource_text, "resource")
    tag_key, tag_value = policies.TEAM_TAG
    arns = [
        f"arn:aws:secretsmanager:us-east-1:{account}:secret:{bulkload.secret_name(i)}-AbCdEf"
        for i in range(1000)
    ]
    now = datetime.now(UTC)
    second = int(now.timestamp())

    def context(i: int) -> dict[str, policy.ContextValue]:
        return {
            "aws:username": policies.USER_NAME,
            "aws:userid": "AIDAEXAMPLEEXAMPLE01",
            "aws:CurrentTime": now,
            "aws:EpochTime": second,
            "aws:SecureTransport": False,
            "aws:RequestedRegion": "us-east-1",
            "aws:PrincipalType": "User",
            "aws:ViaAWSService": False,
            "aws:SourceIp": "127.0.0.1",
            f"aws:ResourceTag/{tag_key}": tag_value,
            f"secretsmanager:ResourceTag/{tag_key}": tag_value,
            "secretsmanager:SecretId": arns[i % len(arns)],
            "secretsmanager:VersionStage": "AWSCURRENT",
        }

    def request(i: int) -> policy.AuthzRequest:
        return policy.AuthzRequest(
            principal_arn=user_arn,
            principal_account=account,
            action="secretsmanager:GetSecretValue",
            resource=arns[i % len(arns)],
            resource_account=account,
            context=context(i),
        )

    requests = [request(i) for i in range(len(arns))]
    decision = policy.evaluate(requests[0], identity=identity, resource=resource)
    if not decision.allowed:
        raise SystemExit(f"the policy set does not allow the reader: {decision}")
    print(
        f"policy evaluation, GetSecretValue, {len(identity[0].statements)}-statement identity"
        f" + {len(resource.statements)}-statement resource policy, {calls:,} calls:"
    )
    timeit("policy: context keys dict", context, calls, rows)
    timeit("policy: context keys + AuthzRequest", request, calls, rows)
    timeit(
        "policy: evaluate (request built)",
        lambda i: policy.evaluate(
            requests[i % len(requests)], identity=identity, resource=resource
        ),
        calls,
        rows,
    )
    timeit(
        "policy: AuthzRequest + evaluate",
        lambda i: policy.evaluate(request(i), identity=identity, resource=resource),
        calls,
        rows,
    )

    # What a decision cache pays per request to find its key.
    every = [*identity, resource]
    keys = tuple(sorted(policy.referenced_keys(every, "secretsmanager:GetSecretValue") or ()))
    timeit(
        f"policy: context_fingerprint over the {len(keys)} referenced keys",
        lambda i: policy.context_fingerprint(requests[i % len(requests)], keys),
        calls,
        rows,
    )
    fingerprint = policy.fingerprinter(every, "secretsmanager:GetSecretValue")
    if fingerprint is not None:
        timeit(
            "policy: fingerprinter (times by the policies' dates)",
            lambda i: fingerprint(requests[i % len(requests)]),
            calls,
            rows,
        )

    # The whole Authorizer.check, over a stand-in store that holds just the user's policy
    # (service/authorize.py changes often; skipped if it wants more than this offers).
    authorizer = Authorizer(_PolicyStore(identity_text), FixedClock(now.timestamp()))  # type: ignore[arg-type]
    ctx = RequestContext(
        Principal(account, policies.USER_NAME, "AKIAEXAMPLEEXAMPLE01"),
        "us-east-1",
        "micro",
        source_ip="127.0.0.1",
    )
    tags = ((tag_key, tag_value),)

    def check(i: int) -> None:
        arn = arns[i % len(arns)]
        authorizer.check(
            ctx,
            "secretsmanager:GetSecretValue",
            arn,
            resource_policy=resource_text,
            tags=tags,
            extra={"secretsmanager:SecretId": arn, "secretsmanager:VersionStage": "AWSCURRENT"},
        )

    try:
        check(0)
    except Exception as exc:  # report and go on: this part is optional
        print(f"  (Authorizer.check skipped: {type(exc).__name__}: {exc})")
        return
    timeit("policy: Authorizer.check (whole, limited user)", check, calls, rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--distinct", type=int, default=2000)
    parser.add_argument(
        "--cprofile", action="store_true", help="also print a cProfile of the whole-app call"
    )
    parser.add_argument(
        "--policy-only",
        action="store_true",
        help="only the policy-evaluation part (no data set, no app)",
    )
    args = parser.parse_args()
    calls = args.calls
    if args.policy_only:
        policy_micro(max(calls, 50_000), [])
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="strongroom-micro-"))
    try:
        data_dir = workdir / "data"
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "strongroom"),
                "account",
                "create",
                "--data-dir",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        creds = dict(
            line.removeprefix("export ").split("=", 1)
            for line in out.splitlines()
            if line.startswith("export ")
        )
        akid, secret = creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"]
        bulkload.load(str(data_dir), akid, args.secrets)
        settings = load_settings({}, None, {"data_dir": str(data_dir)})
        app = create_app(settings)
        comp = app.components
        rng = random.Random(1)
        names = [
            bulkload.secret_name(i)
            for i in rng.sample(range(args.secrets), min(args.secrets, args.distinct))
        ]
        n = len(names)
        key = comp.identity.lookup(akid)
        assert key is not None
        ctx = RequestContext(key.principal, "us-east-1", "micro")
        bodies = [json.dumps({"SecretId": name}).encode() for name in names]
        header_sets = [
            signed(akid, secret, "secretsmanager.GetSecretValue", body) for body in bodies
        ]
        rows: list[tuple[str, float]] = []
        print(f"per call, {args.secrets:,} secrets, {n:,} distinct, {calls:,} calls:")

        # -- whole app, in-process ---------------------------------------------------------
        loop = asyncio.new_event_loop()

        def asgi_call(target: Any, i: int, sink: list[Any]) -> None:
            body = bodies[i % n]
            headers = [(k.encode(), v.encode()) for k, v in header_sets[i % n]]
            scope = {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": "/",
                "raw_path": b"/",
                "query_string": b"",
                "root_path": "",
                "headers": headers,
                "client": ("127.0.0.1", 40000),
                "server": ("127.0.0.1", 8900),
            }

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sink.append(message)

            loop.run_until_complete(target(scope, receive, send))

        sink: list[Any] = []
        asgi_call(app, 0, sink)
        status = sink[0]["status"]
        if status != 200:
            raise SystemExit(f"app answered {status}: {sink[1]['body'][:300]!r}")

        def app_call(i: int) -> None:
            sink.clear()
            asgi_call(app, i, sink)

        def baseline_call(i: int) -> None:
            sink.clear()
            asgi_call(baseline_app.app, i, sink)

        timeit("ASGI app: Strongroom GetSecretValue (whole request)", app_call, calls, rows)
        timeit("ASGI app: fixed-response baseline", baseline_call, calls, rows)
        if args.cprofile:
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(calls):
                app_call(i)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)

        # -- in context: replace one piece at a time with a cached answer -------------------
        # Pieces timed alone in a loop run hot in the CPU caches and look 2-3x cheaper than
        # inside a real request; the difference made by stubbing them out is the real cost.
        in_context(app, app_call, calls, rows)

        # -- pieces, alone -----------------------------------------------------------------
        verifier = SigV4Verifier("us-east-1", comp.identity.secret_for, SystemClock())
        signed_requests = [
            SignedRequest("POST", "/", "", header_sets[i], bodies[i]) for i in range(n)
        ]
        timeit(
            "SigV4Verifier.verify",
            lambda i: verifier.verify(signed_requests[i % n], "secretsmanager"),
            calls,
            rows,
        )
        timeit(
            "json11.decode_body + ServiceModel.validate_input",
            lambda i: app._dispatcher._model.validate_input(
                "GetSecretValue", json11.decode_body(bodies[i % n])
            ),
            calls,
            rows,
        )
        timeit(
            "SecretsService.get_secret_value (all below)",
            lambda i: comp.secrets.get_secret_value(ctx, secret_id=names[i % n]),
            calls,
            rows,
        )
        storage = comp.storage
        account = key.principal.account_id

        def lookups(i: int) -> None:
            with storage.read() as tx:
                rec = tx.find_secret_by_name(account, names[i % n])
                assert rec is not None
                labels = tx.labels(rec.pk)
                tx.version(rec.pk, labels["AWSCURRENT"])

        staged = getattr(storage, "staged_value", None)
        if staged is not None:
            timeit(
                "  storage: staged_value (one statement, the GetSecretValue fast path)",
                lambda i: staged(account, name=names[i % n], arn=None, stage="AWSCURRENT"),
                calls,
                rows,
            )
        timeit("  storage: read tx + find_secret_by_name + labels + version", lookups, calls, rows)

        def empty_tx(i: int) -> None:
            with storage.read():
                pass

        timeit("  storage: empty read transaction (BEGIN/COMMIT)", empty_tx, calls, rows)
        sealed = []
        with storage.read() as tx:
            for name in names:
                rec = tx.find_secret_by_name(account, name)
                assert rec is not None
                version = tx.version(rec.pk, tx.labels(rec.pk)["AWSCURRENT"])
                assert version is not None and version.sealed is not None
                sealed.append((decode(version.sealed), rec.arn, version.version_id))
        envelope = comp.secrets._envelope
        timeit(
            "  envelope open (unwrap data key + AES-GCM)",
            lambda i: envelope.open(*sealed[i % n]),
            calls,
            rows,
        )
        values = [comp.secrets.get_secret_value(ctx, secret_id=name) for name in names]
        output = OPERATIONS["GetSecretValue"].output
        timeit(
            "response: shape + orjson.dumps",
            lambda i: orjson.dumps(output(values[i % n])),
            calls,
            rows,
        )
        timeit(
            "response: shape + json.dumps (stdlib, for comparison)",
            lambda i: json.dumps(output(values[i % n])).encode(),
            calls,
            rows,
        )
        policy_micro(calls, rows)
        loop.close()
        app.components.storage.close()
        whole = rows[0][1]
        base = rows[1][1]
        print(
            f"\nStrongroom app {whole:.0f} us vs baseline app {base:.0f} us per request in-process;"
            f" one core at 100% would give at most {1e6 / whole:,.0f} req/s before server cost."
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
