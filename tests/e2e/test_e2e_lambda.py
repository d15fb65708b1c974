"""The Lambda subset (REST JSON) against the real server with boto3's ``lambda`` client and
the AWS CLI: every served operation, AWS's error codes and statuses, paging, RevisionId
preconditions, function policies, and invocations that run real processes."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import Server, make_server
from function_zips import shared_folder
from iam_helpers import LAMBDA_TRUST, Limited, allow, doc, error, unique

MAX_REQUEST = 3_000_000  # the rig's functions.max_request_bytes (server.max_body_bytes is 1 MB)

HANDLER = """
import json, os, time
import boto3

def lambda_handler(event, context):
    action = event.get("action")
    print("handling", action)
    if action == "fail":
        raise ValueError("boom")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "secret":
        sm = boto3.client("secretsmanager")
        return {"value": sm.get_secret_value(SecretId=event["id"])["SecretString"]}
    if action == "whoami":
        return boto3.client("sts").get_caller_identity()["Arn"]
    if action == "write":
        with open(event["path"], "w") as fh:
            fh.write(json.dumps(event))
    return {
        "event": event,
        "name": context.function_name,
        "greeting": os.environ.get("GREETING"),
        "region": os.environ.get("AWS_REGION"),
    }
"""


def make_zip(source: str = HANDLER, name: str = "lambda_function.py", pad: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(name, source)
        if pad:
            # Incompressible filler, to make the upload large.
            archive.writestr("filler.bin", os.urandom(pad), compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own with a small Lambda request limit (so 413 is cheap to reach)."""
    srv = make_server(
        tmp_path_factory.mktemp("lambda"),
        {"STRONGROOM_FUNCTIONS__MAX_REQUEST_BYTES": str(MAX_REQUEST)},
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def account(rig: Server) -> str:
    return str(rig.client("sts").get_caller_identity()["Account"])  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def role(rig: Server) -> str:
    """An execution role that Lambda may assume, allowed to read secrets."""
    iam: Any = rig.client("iam")
    name = unique("fn-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read",
        PolicyDocument=doc(allow(["secretsmanager:GetSecretValue", "sts:GetCallerIdentity"])),
    )
    return str(arn)


@pytest.fixture
def lam(rig: Server) -> Any:
    return rig.client("lambda")


def create(lam: Any, role: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "FunctionName": name or unique("fn"),
        "Runtime": "python3.12",
        "Role": role,
        "Handler": "lambda_function.lambda_handler",
        "Code": {"ZipFile": make_zip()},
    }
    params.update(extra)
    out: dict[str, Any] = lam.create_function(**params)
    return out


def invoke(lam: Any, name: str, event: Any, **extra: Any) -> tuple[dict[str, Any], Any]:
    out = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **extra)
    body = out["Payload"].read()
    return out, json.loads(body) if body else None


def test_create_get_list_update_delete(lam: Any, role: str, account: str) -> None:
    """A created function reads back as created; updates change it and its RevisionId;
    deleting makes it ResourceNotFoundException (404)."""
    name = unique("crud")
    created = create(
        lam,
        role,
        name,
        Description="first",
        Timeout=10,
        MemorySize=256,
        Environment={"Variables": {"GREETING": "hi"}},
    )
    code = make_zip()
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:{account}:function:{name}"
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["CodeSize"] == len(code)
    digest = __import__("hashlib").sha256(code).digest()
    assert created["CodeSha256"] == base64.b64encode(digest).decode()
    assert (created["Timeout"], created["MemorySize"], created["Description"]) == (10, 256, "first")
    assert created["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert created["Version"] == "$LATEST" and created["State"] == "Active"
    assert len(created["LastModified"]) == 28 and created["LastModified"].endswith("+0000")

    got = lam.get_function(FunctionName=name)
    assert got["Configuration"]["RevisionId"] == created["RevisionId"]
    assert got["Code"]["RepositoryType"] == "S3"
    by_arn = lam.get_function_configuration(FunctionName=created["FunctionArn"])
    assert by_arn["FunctionName"] == name
    partial = lam.get_function_configuration(FunctionName=f"{account}:function:{name}:$LATEST")
    assert partial["RevisionId"] == created["RevisionId"]

    updated = lam.update_function_configuration(
        FunctionName=name, Timeout=30, Environment={"Variables": {"GREETING": "hello"}}
    )
    assert updated["Timeout"] == 30 and updated["MemorySize"] == 256
    assert updated["Environment"]["Variables"] == {"GREETING": "hello"}
    assert updated["RevisionId"] != created["RevisionId"]
    assert updated["CodeSha256"] == created["CodeSha256"]

    new_code = make_zip(HANDLER + "\n# v2\n")
    recoded = lam.update_function_code(FunctionName=name, ZipFile=new_code)
    assert recoded["CodeSize"] == len(new_code) and recoded["CodeSha256"] != created["CodeSha256"]
    assert recoded["RevisionId"] != updated["RevisionId"]
    assert recoded["Timeout"] == 30  # configuration kept

    deleted = lam.delete_function(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as exc:
        lam.get_function(FunctionName=name)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert exc.value.response["Error"]["Message"] == (
        f"Function not found: arn:aws:lambda:us-east-1:{account}:function:{name}"
    )


def test_list_pages_with_marker(rig: Server, role: str) -> None:
    """ListFunctions returns functions by name, MaxItems at a time with NextMarker, and the
    paginator walks every page; another account sees none of them."""
    key_id, secret = rig.new_account()
    lam: Any = rig.client("lambda", aws_access_key_id=key_id, aws_secret_access_key=secret)
    iam: Any = rig.client("iam", aws_access_key_id=key_id, aws_secret_access_key=secret)
    own_role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]
    names = sorted(f"page-{i:02d}" for i in range(7))
    for name in reversed(names):
        create(lam, own_role["Arn"], name)
    first = lam.list_functions(MaxItems=3)
    assert [f["FunctionName"] for f in first["Functions"]] == names[:3]
    second = lam.list_functions(MaxItems=3, Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in second["Functions"]] == names[3:6]
    last = lam.list_functions(MaxItems=3, Marker=second["NextMarker"])
    assert [f["FunctionName"] for f in last["Functions"]] == names[6:]
    assert "NextMarker" not in last
    pages = lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
    assert [f["FunctionName"] for p in pages for f in p["Functions"]] == names
    mine = {f["FunctionName"] for f in rig.client("lambda").list_functions()["Functions"]}  # type: ignore[attr-defined]
    assert not mine & set(names)
    code, _, status = error(lambda: lam.list_functions(Marker="not-a-marker"))
    assert (code, status) == ("InvalidParameterValueException", 400)


def test_create_errors(lam: Any, role: str, rig: Server, account: str) -> None:
    """Name taken → 409; role that Lambda cannot assume, missing runtime, a non-Python
    runtime, a bad zip and reserved variables → 400 InvalidParameterValueException;
    model limits → ValidationException in AWS's words."""
    name = unique("dup")
    create(lam, role, name)
    code, message, status = error(lambda: create(lam, role, name))
    assert (code, message, status) == (
        "ResourceConflictException",
        f"Function already exist: {name}",
        409,
    )
    iam: Any = rig.client("iam")
    untrusted = unique("untrusted")
    iam.create_role(
        RoleName=untrusted,
        AssumeRolePolicyDocument=doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    for bad_role in (
        f"arn:aws:iam::{account}:role/{untrusted}",
        f"arn:aws:iam::{account}:role/none",
    ):
        code, message, status = error(lambda r=bad_role: create(lam, r))  # type: ignore[misc]
        assert (code, message, status) == (
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
            400,
        )
    code, message, _ = error(
        lambda: lam.create_function(
            FunctionName=unique("x"), Role=role, Code={"ZipFile": make_zip()}
        )
    )
    assert code == "InvalidParameterValueException"
    assert message == (
        "Runtime and Handler are mandatory parameters for functions created with deployment "
        "packages."
    )
    code, _, _ = error(lambda: create(lam, role, Runtime="nodejs20.x"))
    assert code == "InvalidParameterValueException"
    code, message, _ = error(lambda: create(lam, role, Code={"ZipFile": b"not a zip"}))
    assert (code, message) == (
        "InvalidParameterValueException",
        "Could not unzip uploaded file. Please check your file, then try to upload again.",
    )
    code, message, _ = error(
        lambda: create(lam, role, Environment={"Variables": {"AWS_REGION": "eu-west-1"}})
    )
    assert code == "InvalidParameterValueException" and message.endswith("AWS_REGION")
    code, message, status = error(lambda: create(lam, role, Timeout=901))
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
        "Member must have value less than or equal to 900"
    )
    code, _, _ = error(lambda: create(lam, role, MemorySize=10241))
    assert code == "ValidationException"
    code, _, _ = error(lambda: create(lam, role, Code={"S3Bucket": "bucket", "S3Key": "k.zip"}))
    assert code == "InvalidParameterValueException"


def test_revision_id_preconditions(lam: Any, role: str) -> None:
    """An update naming a stale RevisionId fails with 412 PreconditionFailedException and
    changes nothing; the current one succeeds."""
    created = create(lam, role)
    name, revision = created["FunctionName"], created["RevisionId"]
    stale = str(uuid.uuid4())
    for call in (
        lambda: lam.update_function_configuration(FunctionName=name, Timeout=9, RevisionId=stale),
        lambda: lam.update_function_code(FunctionName=name, ZipFile=make_zip(), RevisionId=stale),
        lambda: lam.add_permission(
            FunctionName=name,
            StatementId="s",
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
            RevisionId=stale,
        ),
    ):
        code, message, status = error(call)
        assert (code, status) == ("PreconditionFailedException", 412)
        assert message.startswith("The Revision Id provided does not match the latest")
    assert lam.get_function_configuration(FunctionName=name)["RevisionId"] == revision
    done = lam.update_function_configuration(FunctionName=name, Timeout=9, RevisionId=revision)
    assert done["Timeout"] == 9


def test_permissions_and_policy(lam: Any, role: str, account: str) -> None:
    """AddPermission statements come back in GetPolicy as Lambda writes them; a repeated
    StatementId is 409, removing an unknown one and reading an empty policy are 404."""
    created = create(lam, role)
    name, arn = created["FunctionName"], created["FunctionArn"]
    code, message, status = error(lambda: lam.get_policy(FunctionName=name))
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "The resource you requested does not exist."
    secret_arn = f"arn:aws:secretsmanager:us-east-1:{account}:secret:db-AbCdEf"
    out = lam.add_permission(
        FunctionName=name,
        StatementId="sm",
        Action="lambda:InvokeFunction",
        Principal="secretsmanager.amazonaws.com",
        SourceArn=secret_arn,
        SourceAccount=account,
    )
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = json.loads(out["Statement"])
    assert statement == {
        "Sid": "sm",
        "Effect": "Allow",
        "Principal": {"Service": "secretsmanager.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": arn,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": account},
            "ArnLike": {"AWS:SourceArn": secret_arn},
        },
    }
    lam.add_permission(
        FunctionName=name, StatementId="acct", Action="lambda:GetFunction", Principal=account
    )
    got = lam.get_policy(FunctionName=name)
    policy = json.loads(got["Policy"])
    assert policy["Version"] == "2012-10-17"
    assert [s["Sid"] for s in policy["Statement"]] == ["sm", "acct"]
    assert policy["Statement"][1]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
    assert got["RevisionId"] == lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    code, message, status = error(
        lambda: lam.add_permission(
            FunctionName=name, StatementId="sm", Action="lambda:*", Principal="*"
        )
    )
    assert (code, status) == ("ResourceConflictException", 409)
    assert message == (
        "The statement id (sm) provided already exists. Please provide a new statement id, "
        "or remove the existing statement."
    )
    code, message, status = error(
        lambda: lam.remove_permission(FunctionName=name, StatementId="nope")
    )
    assert (code, message, status) == (
        "ResourceNotFoundException",
        "Statement nope is not found in resource policy.",
        404,
    )
    assert (
        lam.remove_permission(FunctionName=name, StatementId="sm")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    left = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    assert [s["Sid"] for s in left] == ["acct"]
    lam.remove_permission(FunctionName=name, StatementId="acct")
    assert error(lambda: lam.get_policy(FunctionName=name))[0] == "ResourceNotFoundException"


def test_invoke_results_errors_and_log_tail(lam: Any, role: str, rig: Server) -> None:
    """RequestResponse returns the handler's result (with the function's environment and
    name); a raised exception is X-Amz-Function-Error Unhandled with Lambda's error object;
    LogType Tail returns the end of the log, base64."""
    name = create(lam, role, Environment={"Variables": {"GREETING": "hi"}})["FunctionName"]
    out, result = invoke(lam, name, {"n": 1}, LogType="Tail")
    assert out["StatusCode"] == 200 and "FunctionError" not in out
    assert out["ExecutedVersion"] == "$LATEST"
    assert result == {"event": {"n": 1}, "name": name, "greeting": "hi", "region": "us-east-1"}
    log = base64.b64decode(out["LogResult"]).decode()
    assert "handling None" in log and "END RequestId:" in log
    assert len(out["LogResult"]) <= 4096 * 4 // 3 + 4
    out, result = invoke(lam, name, {"action": "fail"})
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    assert result["errorType"] == "ValueError" and result["errorMessage"] == "boom"
    assert "LogResult" not in out  # only with LogType Tail
    # An empty payload is the event {}.
    empty = lam.invoke(FunctionName=name)
    assert json.loads(empty["Payload"].read())["event"] == {}
    code, _, status = error(lambda: lam.invoke(FunctionName=name, Payload=b"{not json"))
    assert (code, status) == ("InvalidRequestContentException", 400)
    code, _, status = error(lambda: lam.invoke(FunctionName=unique("missing"), Payload=b"{}"))
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_invoke_event_and_dry_run(lam: Any, role: str) -> None:
    """Event returns 202 at once and runs the function in the background; DryRun returns
    204 and runs nothing; an oversized event payload is 413."""
    with shared_folder() as folder:
        _event_and_dry_run(lam, role, folder / "event.json")


def _event_and_dry_run(lam: Any, role: str, target: Path) -> None:
    name = create(lam, role)["FunctionName"]
    dry = lam.invoke(
        FunctionName=name,
        InvocationType="DryRun",
        Payload=json.dumps({"action": "write", "path": str(target)}).encode(),
    )
    assert dry["StatusCode"] == 204
    out = lam.invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"action": "write", "path": str(target), "k": "v"}).encode(),
    )
    assert out["StatusCode"] == 202 and out["Payload"].read() == b""
    deadline = __import__("time").monotonic() + 20
    while not target.exists():
        assert __import__("time").monotonic() < deadline, "the Event invocation never ran"
        __import__("time").sleep(0.1)
    assert json.loads(target.read_text())["k"] == "v"
    code, message, status = error(
        lambda: lam.invoke(
            FunctionName=name, InvocationType="Event", Payload=b'{"x":"' + b"a" * 262_144 + b'"}'
        )
    )
    assert (code, status) == ("RequestTooLargeException", 413)
    assert "262144" in message


def test_handler_uses_secrets_manager_with_role_credentials(
    lam: Any, role: str, rig: Server
) -> None:
    """A handler calling boto3 with no endpoint or keys configured reaches this server as
    a session of the function's execution role (AWS_ENDPOINT_URL and the role's temporary
    credentials), and may do what the role's policy allows."""
    sm: Any = rig.client()
    secret = sm.create_secret(Name=unique("fn-read"), SecretString="s3cr3t")
    name = create(lam, role)["FunctionName"]
    _, result = invoke(lam, name, {"action": "secret", "id": secret["ARN"]})
    assert result == {"value": "s3cr3t"}
    _, who = invoke(lam, name, {"action": "whoami"})
    assert (
        who.startswith("arn:aws:sts::") and f":assumed-role/{role.rsplit('/', 1)[1]}/{name}" in who
    )


SNOOP = """
import os
import boto3

def lambda_handler(event, context):
    seen = {"uid": os.getuid()}
    for name in ("key", "db", "data"):
        try:
            if name == "data":
                seen[name] = os.listdir(event[name])
            else:
                with open(event[name], "rb") as fh:
                    seen[name] = fh.read().hex()
        except Exception as exc:
            seen[name] = type(exc).__name__
    sm = boto3.client("secretsmanager")
    seen["value"] = sm.get_secret_value(SecretId=event["id"])["SecretString"]
    return seen
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="a server that is not root refuses functions")
def test_deployed_function_cannot_read_the_servers_data(lam: Any, role: str, rig: Server) -> None:
    """A function any account admin deploys runs as an unprivileged user: the root key, the
    database and the data directory are PermissionError to it, while Secrets Manager with
    its role's credentials still works."""
    secret = rig.client().create_secret(Name=unique("fn-iso"), SecretString="allowed")  # type: ignore[attr-defined]
    name = create(lam, role, Code={"ZipFile": make_zip(SNOOP)})["FunctionName"]
    data = Path(rig.data_dir)
    key = (data / "root.key").read_bytes()
    event = {
        "key": str(data / "root.key"),
        "db": str(data / "strongroom.db"),
        "data": str(data),
        "id": secret["ARN"],
    }
    out, seen = invoke(lam, name, event, LogType="Tail")
    assert "FunctionError" not in out, seen
    assert seen["key"] == seen["db"] == seen["data"] == "PermissionError"
    assert seen["uid"] != 0
    assert seen["value"] == "allowed"
    log = base64.b64decode(out["LogResult"]).decode()
    assert key.hex() not in json.dumps(seen) + log
    assert key.decode(errors="ignore").strip() not in json.dumps(seen) + log


def test_timeout_is_enforced(lam: Any, role: str) -> None:
    """A handler running past Timeout is stopped: Unhandled with the timeout message."""
    name = create(lam, role, Timeout=1)["FunctionName"]
    out, result = invoke(lam, name, {"action": "sleep", "seconds": 10})
    assert out["FunctionError"] == "Unhandled"
    assert "Task timed out after" in result["errorMessage"]


def test_access_is_authorized_per_action(rig: Server, role: str) -> None:
    """A user with no Lambda permission is refused (403 AccessDeniedException); one allowed
    CreateFunction but not iam:PassRole on the role is refused too."""
    user = Limited(rig)
    keys = user.admin.create_access_key(UserName=user.name)["AccessKey"]
    lam: Any = rig.client(
        "lambda",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
    )
    code, message, status = error(lam.list_functions)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "lambda:ListFunctions" in message
    user.grant(allow(["lambda:CreateFunction", "lambda:ListFunctions"]))
    assert lam.list_functions()["Functions"] is not None
    code, message, status = error(lambda: create(lam, role))
    assert (code, status) == ("AccessDeniedException", 403)
    assert "iam:PassRole" in message
    user.grant(allow(["lambda:CreateFunction"]), allow("iam:PassRole", role))
    name = create(lam, role)["FunctionName"]
    code, _, _ = error(lambda: lam.invoke(FunctionName=name))
    assert code == "AccessDeniedException"


def test_signature_errors_are_the_servers_own(rig: Server) -> None:
    """A wrong secret key gets the same code as on the rest of the server; an unsigned
    request is refused before anything runs."""
    lam: Any = rig.client("lambda", aws_secret_access_key="x" * 40)
    code, _, _ = error(lam.list_functions)
    sm: Any = rig.client(aws_secret_access_key="x" * 40)
    assert code == error(sm.list_secrets)[0] == "InvalidSignatureException"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(rig.endpoint + "/2015-03-31/functions", timeout=5)
    with exc.value:  # closes the response's socket
        assert exc.value.code >= 400
        assert exc.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_uploads_beyond_the_server_limit_but_within_lambdas(lam: Any, role: str) -> None:
    """A zip larger than server.max_body_bytes is accepted on the Lambda path; one beyond
    functions.max_request_bytes is 413 RequestTooLargeException."""
    big = make_zip(pad=1_500_000)  # ~2 MB of base64: over 1 MB, under the rig's 3 MB
    created = create(lam, role, Code={"ZipFile": big})
    assert created["CodeSize"] == len(big)
    huge = make_zip(pad=2_500_000)
    code, message, status = error(lambda: create(lam, role, Code={"ZipFile": huge}))
    assert (code, status) == ("RequestTooLargeException", 413)
    assert message == (
        f"Request must be smaller than {MAX_REQUEST} bytes for the CreateFunction operation"
    )


def _aws(server: Server, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return server.aws("lambda", *args, cwd=cwd, timeout=120)


def test_aws_cli_create_invoke_and_delete(rig: Server, role: str, tmp_path: Path) -> None:
    """`aws lambda create-function --zip-file fileb://f.zip`, `invoke` and `delete-function`
    work unchanged; a missing function is the CLI's ResourceNotFoundException."""
    (tmp_path / "f.zip").write_bytes(make_zip())
    name = unique("cli")
    run = _aws(
        rig,
        "create-function",
        "--function-name", name,
        "--runtime", "python3.12",
        "--role", role,
        "--handler", "lambda_function.lambda_handler",
        "--zip-file", "fileb://f.zip",
        "--environment", "Variables={GREETING=cli}",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["FunctionName"] == name
    (tmp_path / "event.json").write_text('{"from": "cli"}')
    run = _aws(
        rig,
        "invoke",
        "--function-name", name,
        "--payload", "fileb://event.json",
        "--log-type", "Tail",
        "out.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    meta = json.loads(run.stdout)
    assert (
        meta["StatusCode"] == 200
        and "handling None" in base64.b64decode(meta["LogResult"]).decode()
    )
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["event"] == {"from": "cli"} and result["greeting"] == "cli"
    run = _aws(rig, "delete-function", "--function-name", name, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    run = _aws(rig, "get-function", "--function-name", name, cwd=tmp_path)
    assert run.returncode in (254, 255)
    assert "An error occurred (ResourceNotFoundException)" in run.stderr


def test_client_error_class_is_modelled(lam: Any) -> None:
    """botocore raises its modelled exception classes for our error bodies."""
    with pytest.raises(ClientError) as exc:
        lam.get_function_configuration(FunctionName=unique("absent"))
    assert isinstance(exc.value, lam.exceptions.ResourceNotFoundException)
