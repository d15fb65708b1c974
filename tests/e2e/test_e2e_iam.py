"""IAM users and access keys with boto3's iam client, and their effect on the very next
request to Secrets Manager."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from iam_helpers import allow as _allow
from iam_helpers import doc as _doc
from iam_helpers import error as _error


def _user() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


def test_create_get_list_delete_user(server: Any) -> None:
    """A created user is returned by GetUser and ListUsers, and deleted by DeleteUser."""
    iam = server.client("iam")
    name = _user()
    created = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "team", "Value": "a"}])
    user = created["User"]
    account = server.client("sts").get_caller_identity()["Account"]
    assert user["Arn"] == f"arn:aws:iam::{account}:user/team/{name}"
    assert user["UserId"].startswith("AIDA")
    assert abs(user["CreateDate"].timestamp() - time.time()) < 60
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    assert name in [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]]
    assert iam.get_user()["User"]["UserName"] == "admin"
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=name.upper())
    assert exc.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=name)
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_access_key_lifecycle_applies_to_the_next_request(server: Any) -> None:
    """A new key works at once; deactivated it fails on the next call; reactivated it works;
    deleted it fails; and the user cannot be deleted while it has keys."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="list",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "secretsmanager:ListSecrets", "Resource": "*"}]}',
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["Status"] == "Active" and len(key["SecretAccessKey"]) == 40
    sm = server.client(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    sm.list_secrets()
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert exc.value.response["Error"]["Code"] == "DeleteConflict"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as exc:
        sm.list_secrets()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    sm.list_secrets()
    deadline = time.time() + 5
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    while "LastUsedDate" not in used["AccessKeyLastUsed"] and time.time() < deadline:
        time.sleep(0.2)
        used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert used["UserName"] == name
    assert used["AccessKeyLastUsed"]["ServiceName"] == "secretsmanager"
    assert used["AccessKeyLastUsed"]["Region"] == "us-east-1"
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as exc:
        sm.list_secrets()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"
    iam.delete_user_policy(UserName=name, PolicyName="list")
    iam.delete_user(UserName=name)


def test_two_keys_per_user_at_most(server: Any) -> None:
    """A third access key for one user is LimitExceeded, as IAM's quota."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.create_access_key(UserName=name)
    assert exc.value.response["Error"]["Code"] == "LimitExceeded"


def test_users_are_per_account(server: Any) -> None:
    """Another account neither sees nor manages this account's users and keys."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    akid, secret = server.new_account()
    other = server.client("iam", aws_access_key_id=akid, aws_secret_access_key=secret)
    assert name not in [u["UserName"] for u in other.list_users()["Users"]]
    for call in (
        lambda: other.get_user(UserName=name),
        lambda: other.update_access_key(
            UserName="admin", AccessKeyId=key["AccessKeyId"], Status="Inactive"
        ),
        lambda: other.get_access_key_last_used(AccessKeyId=key["AccessKeyId"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def test_iam_validation_errors(server: Any) -> None:
    """A bad user name and a missing required member are refused before anything is written."""
    iam = server.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName="bad name!")
    assert exc.value.response["Error"]["Code"] in {"ValidationError", "InvalidInput"}
    with pytest.raises(ClientError) as exc:
        iam.update_access_key(AccessKeyId="AKIAZZZZZZZZZZZZZZZZ", Status="Sleeping")
    assert exc.value.response["Error"]["Code"] == "ValidationError"


def _own_iam(server: Any, iam: Any, name: str) -> Any:
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client(
        "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


def test_delete_user_is_refused_while_anything_remains(server: Any) -> None:
    """DeleteUser answers DeleteConflict, naming what is left, until keys, inline policies,
    attached policies and group memberships are all gone."""
    iam = server.client("iam")
    name, group = _user(), f"g-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(_allow("iam:GetUser")))
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    steps = [
        (
            "Cannot delete entity, must delete access keys first.",
            lambda: iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"]),
        ),
        (
            "Cannot delete entity, must delete policies first.",
            lambda: iam.delete_user_policy(UserName=name, PolicyName="p"),
        ),
        (
            "Cannot delete entity, must detach all policies first.",
            lambda: iam.detach_user_policy(
                UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
            ),
        ),
        (
            "Cannot delete entity, must remove users from group first.",
            lambda: iam.remove_user_from_group(GroupName=group, UserName=name),
        ),
    ]
    for message, clear in steps:
        assert _error(lambda: iam.delete_user(UserName=name)) == ("DeleteConflict", message, 409)
        clear()
    iam.delete_user(UserName=name)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == []
    assert _error(lambda: iam.delete_user(UserName=name))[0] == "NoSuchEntity"


def test_user_tags(server: Any) -> None:
    """Tags are set at creation or by TagUser (keys ignore case), listed, removed, and capped
    at 50; GetUser shows them, ListUsers does not."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name, Tags=[{"Key": "Team", "Value": "a"}])
    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "b"}, {"Key": "env", "Value": ""}])
    assert iam.list_user_tags(UserName=name)["Tags"] == [
        {"Key": "team", "Value": "b"},
        {"Key": "env", "Value": ""},
    ]
    assert iam.get_user(UserName=name)["User"]["Tags"] == [
        {"Key": "team", "Value": "b"},
        {"Key": "env", "Value": ""},
    ]
    listed = [u for u in iam.list_users()["Users"] if u["UserName"] == name]
    assert listed and "Tags" not in listed[0]
    iam.untag_user(UserName=name, TagKeys=["TEAM", "absent"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "env", "Value": ""}]
    iam.tag_user(UserName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    page = iam.list_user_tags(UserName=name, MaxItems=30)
    assert page["IsTruncated"] is True and len(page["Tags"]) == 30
    rest = iam.list_user_tags(UserName=name, Marker=page["Marker"])
    assert len(rest["Tags"]) == 20 and rest["IsTruncated"] is False
    assert _error(
        lambda: iam.tag_user(UserName=name, Tags=[{"Key": "one-more", "Value": "v"}])
    ) == (
        "LimitExceeded",
        "Cannot exceed quota for TagsPerUser: 50",
        409,
    )
    code, _, _ = _error(
        lambda: iam.tag_user(
            UserName=name, Tags=[{"Key": f"x{i}", "Value": "v"} for i in range(51)]
        )
    )
    assert code == "ValidationError"
    code, message, _ = _error(
        lambda: iam.tag_user(
            UserName=name, Tags=[{"Key": "Dup", "Value": "1"}, {"Key": "dup", "Value": "2"}]
        )
    )
    assert (code, message) == (
        "InvalidInput",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    )
    code, _, _ = _error(lambda: iam.tag_user(UserName=name, Tags=[{"Key": "bad{", "Value": "v"}]))
    assert code == "ValidationError"
    code, _, _ = _error(lambda: iam.list_user_tags(UserName="nobody-here"))
    assert code == "NoSuchEntity"


def test_user_permissions_boundary(server: Any) -> None:
    """A boundary is set at creation or later, shown by GetUser, must name an existing managed
    policy, caps what the user's own policies allow, and can be removed."""
    iam = server.client("iam")
    boundary = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    name = _user()
    iam.create_user(UserName=name, PermissionsBoundary=boundary)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": boundary,
    }
    iam.put_user_policy(
        UserName=name,
        PolicyName="groups",
        PolicyDocument=_doc(_allow(["iam:ListGroups", "iam:CreateGroup"])),
    )
    own = _own_iam(server, iam, name)
    own.list_groups()  # allowed by both the policy and the boundary
    group = f"g-{uuid.uuid4().hex[:10]}"
    code, _, _ = _error(lambda: own.create_group(GroupName=group))
    assert code == "AccessDenied"  # the boundary does not allow it
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]
    own.create_group(GroupName=group)
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        boundary
    )
    account = server.client("sts").get_caller_identity()["Account"]
    missing = f"arn:aws:iam::{account}:policy/no-such-{uuid.uuid4().hex[:8]}"
    assert _error(
        lambda: iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=missing)
    ) == ("NoSuchEntity", f"Scope ARN: {missing} does not exist or is not attachable.", 404)
    assert _error(lambda: iam.create_user(UserName=_user(), PermissionsBoundary=missing))[0] == (
        "NoSuchEntity"
    )


def test_limited_user_is_refused_user_actions_it_lacks(server: Any) -> None:
    """A user allowed only ListUserTags on itself is denied tagging, boundaries and others'
    tags, with AccessDenied even for users that do not exist."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name)
    account = server.client("sts").get_caller_identity()["Account"]
    iam.put_user_policy(
        UserName=name,
        PolicyName="tags",
        PolicyDocument=_doc(_allow("iam:ListUserTags", f"arn:aws:iam::{account}:user/{name}")),
    )
    own = _own_iam(server, iam, name)
    assert own.list_user_tags(UserName=name)["Tags"] == []
    for call in (
        lambda: own.list_user_tags(UserName="admin"),
        lambda: own.list_user_tags(UserName="nobody-here"),
        lambda: own.tag_user(UserName=name, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: own.untag_user(UserName=name, TagKeys=["k"]),
        lambda: own.put_user_permissions_boundary(
            UserName=name, PermissionsBoundary="arn:aws:iam::aws:policy/AdministratorAccess"
        ),
        lambda: own.delete_user_permissions_boundary(UserName=name),
        lambda: own.delete_user(UserName=name),
    ):
        code, message, status = _error(call)
        assert (code, status) == ("AccessDenied", 403), message


def test_boundary_condition_key_limits_who_may_set_boundaries(server: Any) -> None:
    """iam:PermissionsBoundary in a condition lets a user create users only with that
    boundary (the delegation pattern of the IAM User Guide)."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name)
    allowed = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    iam.put_user_policy(
        UserName=name,
        PolicyName="delegate",
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Action": "iam:CreateUser",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": allowed}},
            }
        ),
    )
    own = _own_iam(server, iam, name)
    own.create_user(UserName=_user(), PermissionsBoundary=allowed)
    assert _error(lambda: own.create_user(UserName=_user()))[0] == "AccessDenied"
    assert (
        _error(
            lambda: own.create_user(
                UserName=_user(), PermissionsBoundary="arn:aws:iam::aws:policy/AdministratorAccess"
            )
        )[0]
        == "AccessDenied"
    )
