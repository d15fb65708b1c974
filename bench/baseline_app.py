"""A fixed-response ASGI app for the baseline: the server stack's own cost, no work.

It reads the request body (as Strongroom does) and answers 200 with a JSON body the size
and shape of a GetSecretValue response. ``BENCH_BASELINE_ENCODE`` picks how that body is
produced for each request:

- ``none`` (default): pre-encoded bytes, so only the ASGI server is measured;
- ``orjson``: ``orjson.dumps`` of the response dict on every request;
- ``json``: stdlib ``json.dumps(...).encode()`` on every request.

Serve it exactly like Strongroom is served, e.g.::

    uvicorn --app-dir bench --loop uvloop --http httptools --lifespan on --no-access-log \\
        --no-server-header baseline_app:app
    granian --interface asgi --working-dir bench baseline_app:app
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

RESPONSE: dict[str, Any] = {
    "ARN": (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench/g00042/secret-0004242-AbCdEf"
    ),
    "Name": "bench/g00042/secret-0004242",
    "VersionId": "6f1c2a4e-3b7d-4c1a-9e2f-0a1b2c3d4e5f",
    "SecretString": (
        '{"engine":"postgres","host":"db-42.internal.example","port":5432,'
        '"username":"app_0004242","password":"pw-00000000000000000000000000a1b2c3"}'
    ),
    "VersionStages": ["AWSCURRENT"],
    "CreatedDate": 1_700_000_000.123,
}
_PRE_ENCODED = orjson.dumps(RESPONSE)
_MODE = os.environ.get("BENCH_BASELINE_ENCODE", "none")
if _MODE not in {"none", "orjson", "json"}:
    raise SystemExit(f"BENCH_BASELINE_ENCODE must be none, orjson or json, not {_MODE!r}")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _body() -> bytes:
    if _MODE == "orjson":
        return orjson.dumps(RESPONSE)
    if _MODE == "json":
        return json.dumps(RESPONSE, separators=(",", ":")).encode()
    return _PRE_ENCODED


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while True:  # drain the body, as a real handler must
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    payload = _body()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/x-amz-json-1.1"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
