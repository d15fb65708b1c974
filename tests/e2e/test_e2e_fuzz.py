"""Fuzzing every operation's input shape from the botocore model against the running server:
no 5xx, and every error is a well-formed AWS JSON error."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies_model import input_for
from strongroom.protocol.shapes import ServiceModel

MODEL = ServiceModel.load()
OPERATIONS = sorted(MODEL.operations)


def _post(server: Any, operation: str, body: bytes) -> tuple[int, bytes]:
    headers = {
        "X-Amz-Target": f"secretsmanager.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
    }
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    creds = Credentials(server.access_key_id, server.secret_access_key)
    SigV4Auth(creds, "secretsmanager", "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/", body=body, headers=dict(request.prepare().headers.items()))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_fuzzed_inputs_never_cause_server_errors(server: Any, operation: str) -> None:
    """Random valid and invalid inputs for one operation get 2xx or a 4xx AWS error."""

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(body=input_for(MODEL, operation, valid_bias=0.7), raw=st.booleans())
    def check(body: dict[str, Any], raw: bool) -> None:
        payload = json.dumps(body, ensure_ascii=raw).encode("utf-8", "surrogatepass")
        status, data = _post(server, operation, payload)
        assert status < 500, (operation, body, data[:300])
        parsed = json.loads(data)
        assert isinstance(parsed, dict)
        if status >= 400:
            assert isinstance(parsed.get("__type"), str) and parsed["__type"], parsed
            assert isinstance(parsed.get("message"), str), parsed
        else:
            assert set(parsed) <= MODEL.output_members(operation), (operation, set(parsed))

    check()
