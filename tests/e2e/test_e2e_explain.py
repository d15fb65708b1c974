"""``strongroom policy explain`` against the data directory of a running server: the same
decision a request gets, with the statements that decided it."""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

from botocore.exceptions import ClientError

from conftest import STRONGROOM, Server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _explain(server: Server, *args: str) -> tuple[int, dict[str, Any]]:
    out = subprocess.run(
        [*STRONGROOM, "policy", "explain", "--data-dir", str(server.data_dir), "--json", *args],
        capture_output=True,
        text=True,
        env=server.env(),
        timeout=60,
        check=False,
    )
    assert out.returncode in {0, 1}, out.stderr
    return out.returncode, json.loads(out.stdout)


def _user(server: Server, *statements: dict[str, Any]) -> tuple[str, Any]:
    iam: Any = server.client("iam")
    name = f"ex-{uuid.uuid4().hex[:10]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="team", PolicyDocument=_doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sm = server.client(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    return arn, sm


def test_explain_matches_the_server_and_names_the_statements(server: Server) -> None:
    """Allowed by a Sid'd statement, denied by an explicit Deny in the resource policy: the
    explanation agrees with what the server answered and says which statement decided."""
    admin: Any = server.client()
    secret = admin.create_secret(
        Name=f"ex/{uuid.uuid4().hex[:8]}", SecretString="v", Tags=[{"Key": "team", "Value": "red"}]
    )["ARN"]
    arn, sm = _user(
        server,
        {
            "Sid": "ReadTeamSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": "*",
            "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "red"}},
        },
    )
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "v"
    code, found = _explain(
        server,
        "--principal", arn,
        "--action", "secretsmanager:GetSecretValue",
        "--resource", secret,
    )  # fmt: skip
    assert code == 0 and found["allowed"] is True
    assert found["statements"] == [
        {"policy": "team", "sid": "ReadTeamSecrets", "index": 0, "effect": "Allow"}
    ]
    assert {"type": "identity", "policy": "team", "statements": 1} in found["considered"]

    admin.put_resource_policy(
        SecretId=secret,
        ResourcePolicy=_doc(
            {
                "Sid": "NoReadsFromOutside",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ),
    )
    code, found = _explain(
        server,
        "--principal", arn,
        "--action", "secretsmanager:GetSecretValue",
        "--resource", secret,
        "--context", "aws:SourceIp=192.0.2.7",
    )  # fmt: skip
    assert code == 1 and found["allowed"] is False
    assert found["reason"] == "explicit deny in a resource-based policy"
    assert found["statements"][0]["sid"] == "NoReadsFromOutside"
    assert found["message"].startswith(f"User: {arn} is not authorized to perform")
    # The server, called from 127.0.0.1 (outside 10/8), is denied the same way.
    error = _error_message(lambda: sm.get_secret_value(SecretId=secret))
    assert error == found["message"]
    code, inside = _explain(
        server,
        "--principal", arn,
        "--action", "secretsmanager:GetSecretValue",
        "--resource", secret,
        "--context", "aws:SourceIp=10.1.2.3",
    )  # fmt: skip
    assert code == 0 and inside["allowed"] is True


def test_explain_implicit_deny_and_bad_input(server: Server) -> None:
    arn, _ = _user(
        server, {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}
    )
    secret = f"arn:aws:secretsmanager:us-east-1:{arn.split(':')[4]}:secret:nothing-AbCdEf"
    code, found = _explain(
        server,
        "--principal", arn,
        "--action", "secretsmanager:DeleteSecret",
        "--resource", secret,
    )  # fmt: skip
    assert code == 1 and found["statements"] == []
    assert found["reason"] == "no identity-based policy allows"
    bad = subprocess.run(
        [*STRONGROOM, "policy", "explain", "--data-dir", str(server.data_dir),
         "--principal", "not-an-arn", "--action", "x:y", "--resource", "*"],
        capture_output=True, text=True, env=server.env(), timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "not a user, role or assumed-role ARN" in bad.stderr


def _error_message(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Message"])
    raise AssertionError("the call was allowed")
