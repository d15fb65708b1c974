"""boto3 against the real server: every Secrets Manager operation and its error cases."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _name(prefix: str = "t") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_create_and_get_string_secret(sm: Any, server: Any) -> None:
    """A created string secret reads back with AWSCURRENT, its ARN and a CreatedDate."""
    name = _name()
    created = sm.create_secret(Name=name, SecretString='{"user":"app","password":"pw1"}')
    assert created["Name"] == name
    assert created["ARN"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert created["ARN"].rsplit(":", 1)[1].startswith(name + "-")
    assert len(created["ARN"].rsplit("-", 1)[1]) == 6
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretString"] == '{"user":"app","password":"pw1"}'
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert got["VersionId"] == created["VersionId"]
    assert got["ARN"] == created["ARN"]
    assert abs(got["CreatedDate"].timestamp() - time.time()) < 60
    assert "x-amzn-requestid" in got["ResponseMetadata"]["HTTPHeaders"]


def test_binary_secret_round_trips(sm: Any) -> None:
    """SecretBinary bytes come back unchanged and SecretString is absent."""
    name = _name()
    payload = bytes(range(256))
    sm.create_secret(Name=name, SecretBinary=payload)
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == payload
    assert "SecretString" not in got


def test_lookup_by_name_full_arn_and_partial_arn(sm: Any) -> None:
    """A secret is found by its name, its full ARN and its ARN without the suffix."""
    name = _name()
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    partial = arn[:-7]
    for secret_id in (name, arn, partial):
        assert sm.get_secret_value(SecretId=secret_id)["ARN"] == arn
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId=arn[:-1] + ("A" if arn[-1] != "A" else "B"))
    assert _code(exc) == "ResourceNotFoundException"


def test_missing_secret_is_resource_not_found_400(sm: Any) -> None:
    """An unknown secret is ResourceNotFoundException with HTTP 400, as on AWS."""
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId=_name("missing"))
    assert _code(exc) == "ResourceNotFoundException"
    assert _status(exc) == 400
    assert (
        exc.value.response["Error"]["Message"] == "Secrets Manager can't find the specified secret."
    )


def test_duplicate_name_is_resource_exists(sm: Any) -> None:
    """Creating a second secret with a taken name fails with ResourceExistsException."""
    name = _name()
    sm.create_secret(Name=name, SecretString="a")
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=name, SecretString="b")
    assert _code(exc) == "ResourceExistsException"


def test_put_secret_value_moves_current_and_previous(sm: Any) -> None:
    """A new value takes AWSCURRENT, the old current gets AWSPREVIOUS, the older loses it."""
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")
    assert v2["VersionStages"] == ["AWSCURRENT"]
    v3 = sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v3: ["AWSCURRENT"], v2["VersionId"]: ["AWSPREVIOUS"]}
    assert v1 not in stages
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "two"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "one"
    listed = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert {v["VersionId"] for v in listed} == {v3, v2["VersionId"]}
    listed_all = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in listed_all} == {v1, v2["VersionId"], v3}


def test_put_with_custom_stage_keeps_current(sm: Any) -> None:
    """VersionStages without AWSCURRENT leaves AWSCURRENT where it was."""
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two", VersionStages=["AWSPENDING"])
    assert v2["VersionStages"] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId=name)["VersionId"] == v1
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"] == "two"


def test_client_request_token_idempotency(sm: Any) -> None:
    """Same token and value returns the same version; same token, other value is refused."""
    name = _name()
    sm.create_secret(Name=name, SecretString="one")
    token = str(uuid.uuid4())
    a = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token)
    b = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token)
    assert a["VersionId"] == b["VersionId"] == token
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 2
    with pytest.raises(ClientError) as exc:
        sm.put_secret_value(SecretId=name, SecretString="other", ClientRequestToken=token)
    assert _code(exc) == "ResourceExistsException"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"


def test_create_retry_with_same_token_is_idempotent(sm: Any) -> None:
    """CreateSecret retried with the same token and value returns the original result."""
    name = _name()
    token = str(uuid.uuid4())
    a = sm.create_secret(Name=name, SecretString="x", ClientRequestToken=token)
    b = sm.create_secret(Name=name, SecretString="x", ClientRequestToken=token)
    assert a["ARN"] == b["ARN"] and a["VersionId"] == b["VersionId"] == token


def test_update_secret_version_stage_moves_labels(sm: Any) -> None:
    """MoveToVersionId with RemoveFromVersionId moves AWSCURRENT and AWSPREVIOUS follows."""
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    with pytest.raises(ClientError) as exc:
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1)
    assert _code(exc) == "InvalidParameterException"
    sm.update_secret_version_stage(
        SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v2
    )
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    sm.update_secret_version_stage(SecretId=name, VersionStage="MINE", MoveToVersionId=v2)
    sm.update_secret_version_stage(SecretId=name, VersionStage="MINE", RemoveFromVersionId=v2)
    assert "MINE" not in sm.describe_secret(SecretId=name)["VersionIdsToStages"][v2]
    with pytest.raises(ClientError) as exc:
        sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=v1
        )
    assert _code(exc) == "InvalidParameterException"


def test_update_secret_changes_description_and_value(sm: Any) -> None:
    """UpdateSecret sets the description and a value becomes a new AWSCURRENT version."""
    name = _name()
    sm.create_secret(Name=name, SecretString="one", Description="first")
    out = sm.update_secret(SecretId=name, Description="second", SecretString="two")
    assert "VersionId" in out
    desc = sm.describe_secret(SecretId=name)
    assert desc["Description"] == "second"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"
    meta_only = sm.update_secret(SecretId=name, Description="third")
    assert "VersionId" not in meta_only


def test_describe_secret_fields(sm: Any) -> None:
    """DescribeSecret shows dates, tags and stages, and no KmsKeyId for the default key."""
    name = _name()
    sm.create_secret(Name=name, SecretString="v", Tags=[{"Key": "team", "Value": "core"}])
    d = sm.describe_secret(SecretId=name)
    assert d["Tags"] == [{"Key": "team", "Value": "core"}]
    assert "KmsKeyId" not in d
    assert "DeletedDate" not in d
    assert "RotationEnabled" not in d
    assert d["CreatedDate"] <= d["LastChangedDate"]
    assert "LastAccessedDate" not in d
    sm.get_secret_value(SecretId=name)
    deadline = time.time() + 5
    while "LastAccessedDate" not in sm.describe_secret(SecretId=name) and time.time() < deadline:
        time.sleep(0.2)
    accessed = sm.describe_secret(SecretId=name)["LastAccessedDate"]
    # Day granularity, as AWS: midnight UTC of today.
    assert accessed.timestamp() % 86400 == 0
    assert 0 <= time.time() - accessed.timestamp() < 86400


def test_secret_without_value_has_no_current(sm: Any) -> None:
    """A secret created without a value has no versions and GetSecretValue is not found."""
    name = _name()
    out = sm.create_secret(Name=name)
    assert "VersionId" not in out
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId=name)
    assert _code(exc) == "ResourceNotFoundException"
    first = sm.put_secret_value(SecretId=name, SecretString="now", VersionStages=["CUSTOM"])
    assert sorted(first["VersionStages"]) == ["AWSCURRENT", "CUSTOM"]


def test_both_string_and_binary_is_invalid_parameter(sm: Any) -> None:
    """A value given as both string and binary is refused and nothing is written."""
    name = _name()
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=name, SecretString="a", SecretBinary=b"b")
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        sm.describe_secret(SecretId=name)
    assert _code(exc) == "ResourceNotFoundException"


def test_limits_are_enforced(sm: Any) -> None:
    """Value, name, description and tag limits give AWS's errors and write nothing."""
    name = _name()
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=name, SecretString="x" * 65537)
    assert _code(exc) in {"ValidationException", "InvalidParameterException"}
    assert "xxxx" not in exc.value.response["Error"]["Message"]
    sm.create_secret(Name=name, SecretString="x" * 65536)
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name="n" * 513, SecretString="x")
    assert _code(exc) in {"ValidationException", "InvalidParameterException"}
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name="bad name with spaces", SecretString="x")
    assert _code(exc) in {"ValidationException", "InvalidParameterException"}
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=_name(), Description="d" * 2049)
    assert _code(exc) in {"ValidationException", "InvalidParameterException"}
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=_name(), Tags=tags)
    assert _code(exc) in {"ValidationException", "InvalidParameterException"}
    stages = [f"s{i}" for i in range(21)]
    with pytest.raises(ClientError) as exc:
        sm.put_secret_value(SecretId=name, SecretString="y", VersionStages=stages)
    assert _code(exc) in {
        "ValidationException",
        "InvalidParameterException",
        "LimitExceededException",
    }
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "x" * 65536


def test_tags_add_and_remove(sm: Any) -> None:
    """TagResource merges tags, UntagResource removes keys, aws: prefixes are refused."""
    name = _name()
    sm.create_secret(Name=name, SecretString="v", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=name)["Tags"]}
    assert tags == {"a": "3", "b": "2"}
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as exc:
        sm.tag_resource(SecretId=name, Tags=[{"Key": "aws:x", "Value": "1"}])
    assert _code(exc) in {"InvalidParameterException", "ValidationException"}


def test_delete_restore_and_purge(sm: Any, server: Any) -> None:
    """Deletion blocks reads, hides the secret from lists, restore brings it back, and the
    purger removes it for good when the window ends, freeing the name."""
    name = _name("del")
    sm.create_secret(Name=name, SecretString="v")
    with pytest.raises(ClientError) as exc:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=6)
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert _code(exc) == "InvalidParameterException"
    out = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert 7 * 86400 - 120 < out["DeletionDate"].timestamp() - time.time() <= 7 * 86400
    for call in (
        lambda: sm.get_secret_value(SecretId=name),
        lambda: sm.put_secret_value(SecretId=name, SecretString="w"),
        lambda: sm.delete_secret(SecretId=name),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "InvalidRequestException"
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert listed == []
    listed = sm.list_secrets(
        Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True
    )
    assert [s["Name"] for s in listed["SecretList"]] == [name]
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=name, SecretString="again")
    assert _code(exc) == "InvalidRequestException"
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    offset = server.extra_env["STRONGROOM_PURGE__CLOCK_OFFSET_FILE"]
    try:
        with open(offset, "w") as fh:
            fh.write(str(8 * 86400))
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                sm.describe_secret(SecretId=name)
            except ClientError as e:
                assert e.response["Error"]["Code"] == "ResourceNotFoundException"
                break
            time.sleep(0.1)
        else:
            pytest.fail("purger did not remove the secret")
    finally:
        with open(offset, "w") as fh:
            fh.write("0")
    sm.create_secret(Name=name, SecretString="reborn")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "reborn"


def test_force_delete_is_immediate_and_tolerates_missing(sm: Any) -> None:
    """ForceDeleteWithoutRecovery removes at once; on a missing secret it is not an error."""
    name = _name()
    sm.create_secret(Name=name, SecretString="v")
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as exc:
        sm.describe_secret(SecretId=name)
    assert _code(exc) == "ResourceNotFoundException"
    sm.delete_secret(SecretId=_name("never"), ForceDeleteWithoutRecovery=True)
    sm.create_secret(Name=name, SecretString="again")


def test_list_secrets_filters_and_pagination(sm: Any) -> None:
    """Name prefix, tag and negation filters select secrets; pages of MaxResults chain."""
    base = f"list{uuid.uuid4().hex[:8]}"
    for i in range(7):
        sm.create_secret(
            Name=f"{base}/s{i}",
            SecretString="v",
            Description=f"number {i}",
            Tags=[{"Key": "parity", "Value": "even" if i % 2 == 0 else "odd"}],
        )
    everything = sm.list_secrets(Filters=[{"Key": "name", "Values": [base]}])["SecretList"]
    assert sorted(s["Name"] for s in everything) == [f"{base}/s{i}" for i in range(7)]
    assert all("SecretVersionsToStages" in s for s in everything)
    even = sm.list_secrets(
        Filters=[{"Key": "name", "Values": [base]}, {"Key": "tag-value", "Values": ["even"]}]
    )["SecretList"]
    assert len(even) == 4
    not_even = sm.list_secrets(
        Filters=[{"Key": "name", "Values": [base]}, {"Key": "tag-value", "Values": ["!even"]}]
    )["SecretList"]
    assert len(not_even) == 3
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"Filters": [{"Key": "name", "Values": [base]}], "MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        page = sm.list_secrets(**kwargs)
        seen += [s["Name"] for s in page["SecretList"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(s["Name"] for s in everything)
    desc = sm.list_secrets(Filters=[{"Key": "name", "Values": [base]}], SortOrder="desc")
    names = [s["Name"] for s in desc["SecretList"]]
    assert names == [f"{base}/s{i}" for i in reversed(range(7))]
    with pytest.raises(ClientError) as exc:
        sm.list_secrets(NextToken="not-a-token")
    assert _code(exc) == "InvalidNextTokenException"
    with pytest.raises(ClientError) as exc:
        sm.list_secrets(Filters=[{"Key": "colour", "Values": ["x"]}])
    assert _code(exc) in {"ValidationException", "InvalidParameterException"}


def test_batch_get_secret_value(sm: Any) -> None:
    """BatchGetSecretValue returns values by id list and reports missing ones in Errors."""
    names = [_name("batch") for _ in range(3)]
    for i, n in enumerate(names):
        sm.create_secret(Name=n, SecretString=f"value{i}")
    missing = _name("nope")
    out = sm.batch_get_secret_value(SecretIdList=[*names, missing])
    assert sorted(v["SecretString"] for v in out["SecretValues"]) == ["value0", "value1", "value2"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [
        (missing, "ResourceNotFoundException")
    ]
    base = names[0].split("/")[0] + "/"
    by_filter = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [names[1]]}])
    assert [v["Name"] for v in by_filter["SecretValues"]] == [names[1]]
    with pytest.raises(ClientError) as exc:
        sm.batch_get_secret_value(SecretIdList=names, Filters=[{"Key": "name", "Values": [base]}])
    assert _code(exc) == "InvalidParameterException"


def test_get_random_password_options(sm: Any) -> None:
    """GetRandomPassword honours length and exclusions and includes each type by default."""
    pw = sm.get_random_password(PasswordLength=40, ExcludeCharacters="abc")["RandomPassword"]
    assert len(pw) == 40 and not set(pw) & set("abc")
    assert any(c.isdigit() for c in pw) and any(c.isupper() for c in pw)
    digits = sm.get_random_password(
        PasswordLength=12, ExcludeLowercase=True, ExcludeUppercase=True, ExcludePunctuation=True
    )["RandomPassword"]
    assert digits.isdigit() and len(digits) == 12
    with pytest.raises(ClientError) as exc:
        sm.get_random_password(PasswordLength=4097)
    assert _code(exc) in {"ValidationException", "InvalidParameterException"}


def test_resource_policy_lifecycle(sm: Any, server: Any) -> None:
    """Put, get, list, validate and delete a resource policy; a malformed one is refused."""
    name = _name()
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    account = arn.split(":")[4]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        }
    )
    sm.put_resource_policy(SecretId=name, ResourcePolicy=policy)
    got = sm.get_resource_policy(SecretId=name)
    assert json.loads(got["ResourcePolicy"]) == json.loads(policy)
    assert sm.list_resource_policies(SecretId=name)["ResourcePolicies"] == [
        {"PolicyName": "default"}
    ]
    ok = sm.validate_resource_policy(ResourcePolicy=policy)
    assert ok["PolicyValidationPassed"] is True
    bad = sm.validate_resource_policy(ResourcePolicy='{"Statement": [{"Effect": "Maybe"}]}')
    assert bad["PolicyValidationPassed"] is False and bad["ValidationErrors"]
    with pytest.raises(ClientError) as exc:
        sm.put_resource_policy(SecretId=name, ResourcePolicy='{"Statement": "nope"}')
    assert _code(exc) == "MalformedPolicyDocumentException"
    public = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
            ],
        }
    )
    with pytest.raises(ClientError) as exc:
        sm.put_resource_policy(SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True)
    assert _code(exc) == "PublicPolicyException"
    sm.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)


def test_replication_answers_clearly_and_unknown_rotation_functions_are_refused(sm: Any) -> None:
    """Operations of later issues fail with a clear message, never a fake success; rotation
    with a function this server cannot invoke is refused as AWS refuses it."""
    name = _name()
    sm.create_secret(Name=name, SecretString="v")
    with pytest.raises(ClientError) as exc:
        sm.rotate_secret(SecretId=name, RotationLambdaARN="arn:aws:lambda:us-east-1:1:function:f")
    assert _code(exc) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        sm.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert "not supported" in exc.value.response["Error"]["Message"]


def test_accounts_are_isolated(server: Any) -> None:
    """A second account neither sees nor reads the first account's secrets."""
    first = server.client()
    name = _name("iso")
    arn = first.create_secret(Name=name, SecretString="mine")["ARN"]
    akid, secret = server.new_account()
    other = server.client(aws_access_key_id=akid, aws_secret_access_key=secret)
    with pytest.raises(ClientError) as exc:
        other.get_secret_value(SecretId=name)  # a name means the caller's own account
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        # By ARN it is a cross-account request, and the secret's owner granted nothing.
        other.get_secret_value(SecretId=arn)
    assert _code(exc) == "AccessDeniedException"
    assert other.list_secrets()["SecretList"] == []
    other.create_secret(Name=name, SecretString="theirs")
    assert first.get_secret_value(SecretId=name)["SecretString"] == "mine"


def test_value_limit_counts_bytes(sm: Any) -> None:
    """A string of 65,536 characters but more than 65,536 UTF-8 bytes is refused."""
    name = _name()
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=name, SecretString="é" * 40000)
    assert _code(exc) == "ValidationException"
    assert "é" not in exc.value.response["Error"]["Message"]
    sm.create_secret(Name=name, SecretString="é" * 32768)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "é" * 32768
