"""The real AWS CLI (v1, in a subprocess) against the running server: every served
operation, the CLI's own pagination, and the exit codes and error codes of failures.

Bulk set-up (many secrets for listing) goes through boto3 to keep the run short; every
operation under test goes through the CLI. This CLI release has no list-resource-policies.
"""

from __future__ import annotations

import base64
import datetime
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import Server

# ClientError exits 255 in this CLI v1 release; newer releases (and v2) use 254.
CLIENT_ERROR_EXITS = {254, 255}


@dataclass
class Run:
    """One finished CLI invocation."""

    rc: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.rc == 0, f"aws failed ({self.rc}): {self.stderr[-2000:]}"
        return json.loads(self.stdout)


def aws(server: Server, *args: str, **keys: str) -> Run:
    """Run ``aws --output json secretsmanager ARGS`` against the server (60 s bound), with
    the admin's keys unless ``access_key_id`` / ``secret_access_key`` are given."""
    proc = server.aws("secretsmanager", *args, **keys)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def ok(server: Server, *args: str) -> Any:
    """Run a CLI command that must succeed and return its parsed JSON output."""
    return aws(server, *args).json()


def fails(server: Server, code: str, *args: str, **env_overrides: str) -> Run:
    """Run a CLI command that must fail with a service error ``code``."""
    run = aws(server, *args, **env_overrides)
    assert run.rc in CLIENT_ERROR_EXITS, (run.rc, run.stdout, run.stderr)
    assert f"An error occurred ({code})" in run.stderr, run.stderr
    assert run.stdout == ""
    return run


def _ts(value: Any) -> float:
    """A CLI timestamp as epoch seconds: raw epoch numbers (CLI v1 with no config) or ISO 8601."""
    if isinstance(value, int | float):
        return float(value)
    assert isinstance(value, str), value
    parsed = datetime.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed.timestamp()


def _near_now(value: Any, offset: float = 0.0, slack: float = 120.0) -> None:
    assert abs(_ts(value) - (time.time() + offset)) < slack, value


def _name(prefix: str = "cli") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def test_cli_create_and_get_string_secret(server: Server) -> None:
    """create-secret then get-secret-value gives the string, AWSCURRENT, the ARN, a fresh date."""
    name = _name()
    created = ok(
        server,
        "create-secret",
        "--name",
        name,
        "--secret-string",
        '{"user":"app","password":"pw1"}',
        "--description",
        "from the cli",
    )
    assert set(created) == {"ARN", "Name", "VersionId"}
    assert created["Name"] == name
    assert created["ARN"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert created["ARN"].rsplit(":", 1)[1].startswith(name + "-")
    uuid.UUID(created["VersionId"])
    got = ok(server, "get-secret-value", "--secret-id", name)
    assert got["SecretString"] == '{"user":"app","password":"pw1"}'
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert got["VersionId"] == created["VersionId"]
    assert got["ARN"] == created["ARN"]
    assert "SecretBinary" not in got
    _near_now(got["CreatedDate"])
    by_arn = ok(server, "get-secret-value", "--secret-id", created["ARN"])
    assert by_arn["SecretString"] == got["SecretString"]


def test_cli_binary_secret_from_fileb(server: Server, tmp_path: Path) -> None:
    """--secret-binary fileb:// sends raw bytes that come back base64-encoded and unchanged."""
    payload = bytes(range(256)) + b"\x00\xff"
    path = tmp_path / "secret.bin"
    path.write_bytes(payload)
    name = _name()
    ok(server, "create-secret", "--name", name, "--secret-binary", f"fileb://{path}")
    got = ok(server, "get-secret-value", "--secret-id", name)
    assert base64.b64decode(got["SecretBinary"]) == payload
    assert "SecretString" not in got
    path.write_bytes(b"second \x01 value")
    ok(server, "put-secret-value", "--secret-id", name, "--secret-binary", f"fileb://{path}")
    got = ok(server, "get-secret-value", "--secret-id", name)
    assert base64.b64decode(got["SecretBinary"]) == b"second \x01 value"


def test_cli_put_secret_value_stages_and_version_listing(server: Server) -> None:
    """put-secret-value with --version-stages leaves AWSCURRENT alone; plain puts move it, and
    list-secret-version-ids shows deprecated versions only with --include-deprecated."""
    name = _name()
    v1 = ok(server, "create-secret", "--name", name, "--secret-string", "one")["VersionId"]
    pending = ok(
        server,
        "put-secret-value",
        "--secret-id",
        name,
        "--secret-string",
        "two",
        "--version-stages",
        "AWSPENDING",
    )
    assert pending["VersionStages"] == ["AWSPENDING"]
    v2 = pending["VersionId"]
    assert ok(server, "get-secret-value", "--secret-id", name)["VersionId"] == v1
    got = ok(server, "get-secret-value", "--secret-id", name, "--version-stage", "AWSPENDING")
    assert (got["SecretString"], got["VersionId"]) == ("two", v2)
    v3_out = ok(server, "put-secret-value", "--secret-id", name, "--secret-string", "three")
    assert v3_out["VersionStages"] == ["AWSCURRENT"]
    v3 = v3_out["VersionId"]
    v4 = ok(server, "put-secret-value", "--secret-id", name, "--secret-string", "four")["VersionId"]
    stages = ok(server, "describe-secret", "--secret-id", name)["VersionIdsToStages"]
    assert stages == {v4: ["AWSCURRENT"], v3: ["AWSPREVIOUS"], v2: ["AWSPENDING"]}
    listed = ok(server, "list-secret-version-ids", "--secret-id", name)
    assert listed["Name"] == name
    assert {v["VersionId"] for v in listed["Versions"]} == {v2, v3, v4}
    for version in listed["Versions"]:
        _near_now(version["CreatedDate"])
    everything = ok(server, "list-secret-version-ids", "--secret-id", name, "--include-deprecated")
    by_id = {v["VersionId"]: v for v in everything["Versions"]}
    assert set(by_id) == {v1, v2, v3, v4}
    assert by_id[v1].get("VersionStages", []) == []
    old = ok(server, "get-secret-value", "--secret-id", name, "--version-id", v1)
    assert old["SecretString"] == "one"


def test_cli_update_secret_version_stage(server: Server) -> None:
    """update-secret-version-stage moves AWSCURRENT back (AWSPREVIOUS follows) and adds and
    removes a custom label; moving AWSCURRENT without --remove-from-version-id is refused."""
    name = _name()
    v1 = ok(server, "create-secret", "--name", name, "--secret-string", "one")["VersionId"]
    v2 = ok(server, "put-secret-value", "--secret-id", name, "--secret-string", "two")["VersionId"]
    fails(
        server,
        "InvalidParameterException",
        "update-secret-version-stage",
        "--secret-id",
        name,
        "--version-stage",
        "AWSCURRENT",
        "--move-to-version-id",
        v1,
    )
    out = ok(
        server,
        "update-secret-version-stage",
        "--secret-id",
        name,
        "--version-stage",
        "AWSCURRENT",
        "--move-to-version-id",
        v1,
        "--remove-from-version-id",
        v2,
    )
    assert out["Name"] == name and out["ARN"].startswith("arn:aws:secretsmanager:")
    stages = ok(server, "describe-secret", "--secret-id", name)["VersionIdsToStages"]
    assert stages == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    assert ok(server, "get-secret-value", "--secret-id", name)["SecretString"] == "one"
    ok(
        server,
        "update-secret-version-stage",
        "--secret-id",
        name,
        "--version-stage",
        "MINE",
        "--move-to-version-id",
        v2,
    )
    stages = ok(server, "describe-secret", "--secret-id", name)["VersionIdsToStages"]
    assert sorted(stages[v2]) == ["AWSPREVIOUS", "MINE"]
    mine = ok(server, "get-secret-value", "--secret-id", name, "--version-stage", "MINE")
    assert mine["SecretString"] == "two"
    ok(
        server,
        "update-secret-version-stage",
        "--secret-id",
        name,
        "--version-stage",
        "MINE",
        "--remove-from-version-id",
        v2,
    )
    stages = ok(server, "describe-secret", "--secret-id", name)["VersionIdsToStages"]
    assert stages[v2] == ["AWSPREVIOUS"]


def test_cli_update_secret(server: Server) -> None:
    """update-secret with a value makes a new current version; a description-only one does not."""
    name = _name()
    v1 = ok(
        server, "create-secret", "--name", name, "--secret-string", "one", "--description", "first"
    )["VersionId"]
    out = ok(
        server,
        "update-secret",
        "--secret-id",
        name,
        "--description",
        "second",
        "--secret-string",
        "two",
    )
    assert out["Name"] == name
    assert out["VersionId"] != v1
    got = ok(server, "get-secret-value", "--secret-id", name)
    assert (got["SecretString"], got["VersionId"]) == ("two", out["VersionId"])
    assert ok(server, "describe-secret", "--secret-id", name)["Description"] == "second"
    meta_only = ok(server, "update-secret", "--secret-id", name, "--description", "third")
    assert "VersionId" not in meta_only
    desc = ok(server, "describe-secret", "--secret-id", name)
    assert desc["Description"] == "third"
    assert desc["VersionIdsToStages"] == {out["VersionId"]: ["AWSCURRENT"], v1: ["AWSPREVIOUS"]}


def test_cli_describe_secret(server: Server) -> None:
    """describe-secret shows name, description, tags, stages and fresh dates, and no value."""
    name = _name()
    created = ok(
        server,
        "create-secret",
        "--name",
        name,
        "--secret-string",
        "v",
        "--description",
        "described",
        "--tags",
        "Key=team,Value=core",
        "Key=env,Value=test",
    )
    desc = ok(server, "describe-secret", "--secret-id", name)
    assert desc["ARN"] == created["ARN"]
    assert desc["Name"] == name
    assert desc["Description"] == "described"
    assert sorted((t["Key"], t["Value"]) for t in desc["Tags"]) == [
        ("env", "test"),
        ("team", "core"),
    ]
    assert desc["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}
    _near_now(desc["CreatedDate"])
    _near_now(desc["LastChangedDate"])
    assert _ts(desc["CreatedDate"]) <= _ts(desc["LastChangedDate"])
    assert "DeletedDate" not in desc
    assert "SecretString" not in desc and "SecretBinary" not in desc


def test_cli_list_secrets_filters(server: Server) -> None:
    """list-secrets --filters selects by name prefix, tag value, negated tag and description."""
    base = f"clilist{uuid.uuid4().hex[:8]}"
    sm: Any = server.client()
    for i in range(4):
        sm.create_secret(
            Name=f"{base}/s{i}",
            SecretString="v",
            Description=f"number {i}",
            Tags=[{"Key": "parity", "Value": "even" if i % 2 == 0 else "odd"}],
        )
    name_filter = f"Key=name,Values={base}"

    def names(*filters: str) -> list[str]:
        out = ok(server, "list-secrets", "--filters", name_filter, *filters)
        return sorted(s["Name"] for s in out["SecretList"])

    everything = ok(server, "list-secrets", "--filters", name_filter)["SecretList"]
    assert sorted(s["Name"] for s in everything) == [f"{base}/s{i}" for i in range(4)]
    for entry in everything:
        assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
        _near_now(entry["CreatedDate"])
    assert names("Key=tag-value,Values=even") == [f"{base}/s0", f"{base}/s2"]
    assert names("Key=tag-value,Values=!even") == [f"{base}/s1", f"{base}/s3"]
    assert names("Key=description,Values=number 3") == [f"{base}/s3"]
    assert (
        ok(server, "list-secrets", "--filters", f"Key=name,Values=nothing{base}")["SecretList"]
        == []
    )


def _requests_made(stderr: str, operation: str) -> int:
    return stderr.count(f"Making request for OperationModel(name={operation})")


def test_cli_list_secrets_auto_pagination(server: Server) -> None:
    """The CLI follows NextToken across pages (--page-size) and --max-items/--starting-token
    resume exactly where the previous call stopped, in creation order, without duplicates."""
    base = f"clipage{uuid.uuid4().hex[:8]}"
    expected = [f"{base}/s{i}" for i in range(7)]
    sm: Any = server.client()
    for name in expected:
        sm.create_secret(Name=name, SecretString="v")
    name_filter = f"Key=name,Values={base}"
    run = aws(server, "list-secrets", "--filters", name_filter, "--page-size", "2", "--debug")
    out = run.json()
    assert [s["Name"] for s in out["SecretList"]] == expected
    assert "NextToken" not in out
    # Seven secrets at two per page: four ListSecrets requests, each asking for two.
    assert _requests_made(run.stderr, "ListSecrets") == 4
    assert run.stderr.count('"MaxResults": 2') == 4

    seen: list[str] = []
    token: str | None = None
    calls = 0
    while True:
        args = ["list-secrets", "--filters", name_filter, "--max-items", "3", "--page-size", "2"]
        if token:
            args += ["--starting-token", token]
        page = ok(server, *args)
        calls += 1
        seen += [s["Name"] for s in page["SecretList"]]
        token = page.get("NextToken")
        if token is None:
            break
        assert len(page["SecretList"]) == 3
        assert calls < 5, "pagination did not end"
    assert calls == 3
    assert seen == expected


def test_cli_batch_get_secret_value(server: Server) -> None:
    """batch-get-secret-value returns values by id list, reports missing ids, and takes filters."""
    names = [_name("clibatch") for _ in range(3)]
    sm: Any = server.client()
    for i, n in enumerate(names):
        sm.create_secret(Name=n, SecretString=f"value{i}")
    missing = _name("clinope")
    out = ok(server, "batch-get-secret-value", "--secret-id-list", *names, missing)
    values = {v["Name"]: v for v in out["SecretValues"]}
    assert {n: v["SecretString"] for n, v in values.items()} == {
        names[0]: "value0",
        names[1]: "value1",
        names[2]: "value2",
    }
    assert all(v["VersionStages"] == ["AWSCURRENT"] for v in values.values())
    _near_now(values[names[0]]["CreatedDate"])
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [
        (missing, "ResourceNotFoundException")
    ]
    by_filter = ok(server, "batch-get-secret-value", "--filters", f"Key=name,Values={names[1]}")
    assert [(v["Name"], v["SecretString"]) for v in by_filter["SecretValues"]] == [
        (names[1], "value1")
    ]


def test_cli_tag_and_untag_resource(server: Server) -> None:
    """tag-resource merges tags (overwriting a key), untag-resource removes keys; neither prints."""
    name = _name()
    ok(server, "create-secret", "--name", name, "--secret-string", "v", "--tags", "Key=a,Value=1")
    run = aws(
        server, "tag-resource", "--secret-id", name, "--tags", "Key=b,Value=2", "Key=a,Value=3"
    )
    assert (run.rc, run.stdout.strip()) == (0, "")
    tags = ok(server, "describe-secret", "--secret-id", name)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"a": "3", "b": "2"}
    run = aws(server, "untag-resource", "--secret-id", name, "--tag-keys", "a")
    assert (run.rc, run.stdout.strip()) == (0, "")
    assert ok(server, "describe-secret", "--secret-id", name)["Tags"] == [
        {"Key": "b", "Value": "2"}
    ]


def test_cli_delete_restore_and_force_delete(server: Server) -> None:
    """delete-secret with a window blocks reads (InvalidRequestException) and hides the secret from
    list-secrets, restore-secret brings it back, and a forced delete removes it at once."""
    name = _name("clidel")
    arn = ok(server, "create-secret", "--name", name, "--secret-string", "v")["ARN"]
    out = ok(server, "delete-secret", "--secret-id", name, "--recovery-window-in-days", "7")
    assert (out["ARN"], out["Name"]) == (arn, name)
    _near_now(out["DeletionDate"], offset=7 * 86400)
    run = fails(server, "InvalidRequestException", "get-secret-value", "--secret-id", name)
    assert "GetSecretValue" in run.stderr
    desc = ok(server, "describe-secret", "--secret-id", name)
    _near_now(desc["DeletedDate"])
    name_filter = f"Key=name,Values={name}"
    assert ok(server, "list-secrets", "--filters", name_filter)["SecretList"] == []
    planned = ok(server, "list-secrets", "--filters", name_filter, "--include-planned-deletion")
    assert [s["Name"] for s in planned["SecretList"]] == [name]
    restored = ok(server, "restore-secret", "--secret-id", name)
    assert (restored["ARN"], restored["Name"]) == (arn, name)
    assert ok(server, "get-secret-value", "--secret-id", name)["SecretString"] == "v"
    assert "DeletedDate" not in ok(server, "describe-secret", "--secret-id", name)
    forced = ok(server, "delete-secret", "--secret-id", name, "--force-delete-without-recovery")
    assert forced["Name"] == name
    _near_now(forced["DeletionDate"])
    fails(server, "ResourceNotFoundException", "describe-secret", "--secret-id", name)
    fails(server, "ResourceNotFoundException", "restore-secret", "--secret-id", name)


def test_cli_get_random_password(server: Server) -> None:
    """get-random-password honours the length and exclusion options."""
    pw = ok(
        server,
        "get-random-password",
        "--password-length",
        "40",
        "--exclude-characters",
        "abcXYZ",
        "--exclude-punctuation",
    )["RandomPassword"]
    assert len(pw) == 40 and pw.isalnum()
    assert not set(pw) & set("abcXYZ")
    digits = ok(
        server,
        "get-random-password",
        "--password-length",
        "12",
        "--exclude-lowercase",
        "--exclude-uppercase",
        "--exclude-punctuation",
    )["RandomPassword"]
    assert len(digits) == 12 and digits.isdigit()


def _policy(principal: Any) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        }
    )


def test_cli_resource_policy_lifecycle(server: Server) -> None:
    """put-, get- and delete-resource-policy store, return and remove a policy; a public policy
    is refused under --block-public-policy."""
    name = _name()
    arn = ok(server, "create-secret", "--name", name, "--secret-string", "v")["ARN"]
    account = arn.split(":")[4]
    policy = _policy({"AWS": f"arn:aws:iam::{account}:root"})
    empty = ok(server, "get-resource-policy", "--secret-id", name)
    assert (empty["ARN"], empty["Name"]) == (arn, name)
    assert "ResourcePolicy" not in empty
    put = ok(
        server,
        "put-resource-policy",
        "--secret-id",
        name,
        "--resource-policy",
        policy,
        "--block-public-policy",
    )
    assert (put["ARN"], put["Name"]) == (arn, name)
    got = ok(server, "get-resource-policy", "--secret-id", name)
    assert json.loads(got["ResourcePolicy"]) == json.loads(policy)
    fails(
        server,
        "PublicPolicyException",
        "put-resource-policy",
        "--secret-id",
        name,
        "--resource-policy",
        _policy("*"),
        "--block-public-policy",
    )
    assert json.loads(ok(server, "get-resource-policy", "--secret-id", name)["ResourcePolicy"]) == (
        json.loads(policy)
    )
    deleted = ok(server, "delete-resource-policy", "--secret-id", name)
    assert (deleted["ARN"], deleted["Name"]) == (arn, name)
    assert "ResourcePolicy" not in ok(server, "get-resource-policy", "--secret-id", name)
    fails(server, "ResourceNotFoundException", "get-resource-policy", "--secret-id", _name("nope"))


def test_cli_validate_resource_policy(server: Server) -> None:
    """validate-resource-policy passes a well-formed policy and names the checks a bad one fails."""
    good = ok(
        server, "validate-resource-policy", "--resource-policy", _policy({"AWS": "123456789012"})
    )
    assert good == {"PolicyValidationPassed": True, "ValidationErrors": []}
    bad_doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]})
    bad = ok(server, "validate-resource-policy", "--resource-policy", bad_doc)
    assert bad["PolicyValidationPassed"] is False
    checks = {e["CheckName"] for e in bad["ValidationErrors"]}
    assert "INVALID_EFFECT" in checks
    assert all(e["ErrorMessage"] for e in bad["ValidationErrors"])
    name = _name()
    ok(server, "create-secret", "--name", name, "--secret-string", "v")
    scoped = ok(
        server,
        "validate-resource-policy",
        "--secret-id",
        name,
        "--resource-policy",
        _policy({"AWS": "123456789012"}),
    )
    assert scoped["PolicyValidationPassed"] is True


def test_cli_missing_secret_fails_with_resource_not_found(server: Server) -> None:
    """An unknown secret exits with the client-error code and names ResourceNotFoundException."""
    run = fails(
        server, "ResourceNotFoundException", "get-secret-value", "--secret-id", _name("nope")
    )
    assert "Secrets Manager can't find the specified secret." in run.stderr
    fails(server, "ResourceNotFoundException", "describe-secret", "--secret-id", _name("nope"))
    fails(
        server,
        "ResourceNotFoundException",
        "put-secret-value",
        "--secret-id",
        _name("nope"),
        "--secret-string",
        "x",
    )


def test_cli_duplicate_name_fails_with_resource_exists(server: Server) -> None:
    """Creating a taken name exits with the client-error code, says ResourceExistsException, and
    leaves the first value in place."""
    name = _name()
    ok(server, "create-secret", "--name", name, "--secret-string", "first")
    fails(
        server, "ResourceExistsException", "create-secret", "--name", name, "--secret-string", "b"
    )
    assert ok(server, "get-secret-value", "--secret-id", name)["SecretString"] == "first"


def test_cli_wrong_secret_key_is_refused(server: Server) -> None:
    """A wrong secret key fails signature checking; an unknown key id is an unrecognized client."""
    name = _name()
    ok(server, "create-secret", "--name", name, "--secret-string", "v")
    wrong = "x" * 40
    run = aws(server, "get-secret-value", "--secret-id", name, secret_access_key=wrong)
    assert run.rc in CLIENT_ERROR_EXITS
    assert run.stdout == ""
    assert (
        "(InvalidSignatureException)" in run.stderr or "(UnrecognizedClientException)" in run.stderr
    ), run.stderr
    unknown = aws(server, "list-secrets", access_key_id="AKIA" + "Z" * 16, secret_access_key=wrong)
    assert unknown.rc in CLIENT_ERROR_EXITS
    assert "(UnrecognizedClientException)" in unknown.stderr, unknown.stderr
    # The failed attempts changed nothing and the right key still works.
    assert ok(server, "get-secret-value", "--secret-id", name)["SecretString"] == "v"
