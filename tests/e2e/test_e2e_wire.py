"""The wire contract with hand-built requests: authentication errors, bad input, framing.
Every failure is a well-formed AWS error with AWS's status, never a 5xx."""

from __future__ import annotations

import datetime
import http.client
import json
import uuid
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def _send(
    server: Any,
    body: bytes,
    target: str = "secretsmanager.ListSecrets",
    *,
    sign: bool = True,
    secret: str | None = None,
    akid: str | None = None,
    region: str = "us-east-1",
    service: str = "secretsmanager",
    content_type: str = "application/x-amz-json-1.1",
    extra: dict[str, str] | None = None,
    when: datetime.datetime | None = None,
    method: str = "POST",
    path: str = "/",
) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {"X-Amz-Target": target, "Content-Type": content_type, **(extra or {})}
    request = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=headers)
    if sign:
        creds = Credentials(akid or server.access_key_id, secret or server.secret_access_key)
        signer = SigV4Auth(creds, service, region)
        if when is not None:
            # botocore asks auth.get_current_datetime for the signing time: pin it.
            with mock.patch("botocore.auth.get_current_datetime", return_value=when):
                signer.add_auth(request)
        else:
            signer.add_auth(request)
    prepared = request.prepare()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(prepared.headers.items()))
        response = conn.getresponse()
        data = response.read()
        hdrs = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    parsed = json.loads(data) if data else {}
    return response.status, hdrs, parsed


def _assert_error(
    result: tuple[int, dict[str, str], dict[str, Any]], status: int, code: str
) -> str:
    got_status, headers, body = result
    assert (got_status, body.get("__type")) == (status, code), body
    assert isinstance(body.get("message"), str) and body["message"]
    assert headers.get("x-amzn-requestid")
    assert headers.get("content-type") == "application/x-amz-json-1.1"
    return str(body["message"])


def test_signed_request_succeeds_and_carries_request_id(server: Any) -> None:
    """A correctly signed raw request is answered 200 with x-amzn-RequestId."""
    status, headers, body = _send(server, b"{}")
    assert status == 200 and "SecretList" in body
    uuid.UUID(headers["x-amzn-requestid"])


def test_missing_authentication(server: Any) -> None:
    """An unsigned request is MissingAuthenticationTokenException."""
    _assert_error(_send(server, b"{}", sign=False), 403, "MissingAuthenticationTokenException")


def test_unknown_access_key(server: Any) -> None:
    """An unknown access key gets AWS's exact UnrecognizedClientException message."""
    message = _assert_error(
        _send(server, b"{}", akid="AKIAUNKNOWNUNKNOWN00"), 400, "UnrecognizedClientException"
    )
    assert message == "The security token included in the request is invalid."


def test_wrong_secret_key_is_invalid_signature(server: Any) -> None:
    """A signature made with the wrong secret is InvalidSignatureException."""
    _assert_error(_send(server, b"{}", secret="x" * 40), 400, "InvalidSignatureException")


def test_wrong_region_and_service_in_scope(server: Any) -> None:
    """A credential scope naming another region or service is refused."""
    for kwargs in ({"region": "eu-west-1"}, {"service": "kms"}):
        status, _, body = _send(server, b"{}", **kwargs)  # type: ignore[arg-type]
        assert status == 400, body
        assert body["__type"] in {"InvalidSignatureException", "IncompleteSignatureException"}


def test_expired_and_future_signatures(server: Any) -> None:
    """Signatures older or newer than five minutes are refused with AWS's messages."""
    now = datetime.datetime.now(datetime.UTC)
    old = _assert_error(
        _send(server, b"{}", when=now - datetime.timedelta(minutes=6)),
        400,
        "InvalidSignatureException",
    )
    assert old.startswith("Signature expired")
    future = _assert_error(
        _send(server, b"{}", when=now + datetime.timedelta(minutes=6)),
        400,
        "InvalidSignatureException",
    )
    assert future.startswith("Signature not yet current")


def test_unsigned_amz_header_is_refused(server: Any) -> None:
    """An x-amz-* header added after signing makes the request fail authentication."""
    headers = {
        "X-Amz-Target": "secretsmanager.ListSecrets",
        "Content-Type": "application/x-amz-json-1.1",
    }
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers=headers)
    SigV4Auth(
        Credentials(server.access_key_id, server.secret_access_key), "secretsmanager", "us-east-1"
    ).add_auth(request)
    prepared = dict(request.prepare().headers.items())
    prepared["X-Amz-Meta-Sneaky"] = "1"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/", body=b"{}", headers=prepared)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status in {400, 403}
    assert body["__type"] in {
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "AccessDeniedException",
    }


def test_unknown_and_malformed_targets(server: Any) -> None:
    """Unknown operations and prefixes are UnknownOperationException, never dispatched."""
    for target in (
        "secretsmanager.DropDatabase",
        "secretsmanager.__init__",
        "Nope.GetSecretValue",
        "",
        "secretsmanager",
    ):
        status, _, body = _send(server, b"{}", target=target)
        assert status == 400 and body["__type"] == "UnknownOperationException", (target, body)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "SerializationException"),
        (b"[1, 2]", "SerializationException"),
        (b'"just a string"', "SerializationException"),
        (b'{"SecretId": 5}', "SerializationException"),
        (b'{"SecretId": ["a"]}', "SerializationException"),
        (b'{"SecretId": "x", "Bogus": 1}', "SerializationException"),
        (b"{}", "ValidationException"),
        (b'{"SecretId": ""}', "ValidationException"),
        (b'{"SecretId": "' + b"a" * 3000 + b'"}', "ValidationException"),
        (b'{"SecretId": "x", "VersionId": "short"}', "ValidationException"),
    ],
)
def test_bad_input_gets_aws_errors(server: Any, body: bytes, code: str) -> None:
    """Malformed JSON, wrong types, unknown members and constraint violations get AWS codes."""
    _assert_error(_send(server, body, target="secretsmanager.GetSecretValue"), 400, code)


def test_deep_nesting_is_refused(server: Any) -> None:
    """A deeply nested body is a SerializationException, not a crash."""
    deep = b'{"Filters": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    _assert_error(_send(server, deep), 400, "SerializationException")


def test_oversize_body_is_refused_early(server: Any) -> None:
    """A body over the limit is refused with 413 from its Content-Length alone."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Type", "application/x-amz-json-1.1")
    conn.putheader("X-Amz-Target", "secretsmanager.ListSecrets")
    conn.putheader("Content-Length", str(50 * 1024 * 1024))
    conn.endheaders()
    conn.send(b"{" * 1024)  # far less than announced: the server must not wait for the rest
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status == 413
    assert body["__type"] == "RequestEntityTooLargeException"


def test_wrong_content_type_is_refused(server: Any) -> None:
    """A body sent as text/plain is refused with a serialization error."""
    _assert_error(_send(server, b"{}", content_type="text/plain"), 400, "SerializationException")


def test_get_is_not_an_operation(server: Any) -> None:
    """GET / is not routed to any operation."""
    status, _, body = _send(server, b"", method="GET")
    assert status == 400 and body["__type"] == "UnknownOperationException"


def test_server_keeps_serving_after_bad_input(server: Any) -> None:
    """After a burst of garbage the server still answers signed requests normally."""
    for junk in (b"\x00\xff" * 100, b"{" * 10, b'{"Name": null}', b"nan"):
        status, _, _ = _send(server, junk, target="secretsmanager.CreateSecret")
        assert 400 <= status < 500
    sm = server.client()
    name = f"alive/{uuid.uuid4().hex}"
    sm.create_secret(Name=name, SecretString="ok")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "ok"


def test_presigned_query_string_is_accepted(server: Any) -> None:
    """A request authenticated by a presigned query string (SigV4QueryAuth) is served."""

    class BodySigningQueryAuth(SigV4QueryAuth):
        # botocore's presigner moves a body into the query string; keep it in the body
        # (and so in the signed payload hash), as a JSON 1.1 request needs.
        def _modify_request_before_signing(self, request: AWSRequest) -> None:
            data = request.data
            request.data = b""
            super()._modify_request_before_signing(request)
            request.data = data

    body = b"{}"
    headers = {
        "X-Amz-Target": "secretsmanager.ListSecrets",
        "Content-Type": "application/x-amz-json-1.1",
    }
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    BodySigningQueryAuth(
        Credentials(server.access_key_id, server.secret_access_key),
        "secretsmanager",
        "us-east-1",
        expires=60,
    ).add_auth(request)
    prepared = request.prepare()
    path = prepared.url.split(str(server.port), 1)[1]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    sent = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    conn.request("POST", path, body=body, headers=sent)
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    assert response.status == 200, data
    assert "SecretList" in data


def test_boto3_sees_validation_errors_as_client_errors(sm: Any) -> None:
    """A constraint violation surfaces in boto3 as ClientError with the AWS code, not a 5xx."""
    with pytest.raises(ClientError) as exc:
        sm.list_secrets(MaxResults=101)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
