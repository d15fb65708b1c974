"""IAM groups with boto3's iam client: lifecycle, membership, inline policies, paging, quotas,
and what a group's policies let its members do."""

from __future__ import annotations

import uuid
from typing import Any

from iam_helpers import Limited
from iam_helpers import allow as _allow
from iam_helpers import doc as _doc
from iam_helpers import error as _error


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_group_lifecycle_and_membership(server: Any) -> None:
    """A group is created, lists its members, refuses deletion while it has any, and is gone
    after deletion."""
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    group, user = _name("g"), _name("u")
    iam.create_user(UserName=user)
    created = iam.create_group(GroupName=group, Path="/ops/")["Group"]
    assert created["Arn"] == f"arn:aws:iam::{account}:group/ops/{group}"
    assert created["GroupId"].startswith("AGPA") and len(created["GroupId"]) == 21
    assert iam.get_group(GroupName=group)["Users"] == []
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.add_user_to_group(GroupName=group.upper(), UserName=user)  # again: no change
    got = iam.get_group(GroupName=group)
    assert got["Group"]["GroupId"] == created["GroupId"]
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert got["IsTruncated"] is False
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in [g["GroupName"] for g in iam.list_groups(PathPrefix="/ops/")["Groups"]]
    assert group not in [g["GroupName"] for g in iam.list_groups(PathPrefix="/dev/")["Groups"]]
    assert _error(lambda: iam.create_group(GroupName=group.upper())) == (
        "EntityAlreadyExists",
        f"Group with name {group.upper()} already exists.",
        409,
    )
    assert _error(lambda: iam.delete_group(GroupName=group)) == (
        "DeleteConflict",
        "Cannot delete entity, must remove users from group first.",
        409,
    )
    iam.remove_user_from_group(GroupName=group, UserName=user)
    code, _, status = _error(lambda: iam.remove_user_from_group(GroupName=group, UserName=user))
    assert (code, status) == ("NoSuchEntity", 404)
    assert iam.list_groups_for_user(UserName=user)["Groups"] == []
    iam.delete_group(GroupName=group)
    assert _error(lambda: iam.get_group(GroupName=group)) == (
        "NoSuchEntity",
        f"The group with name {group} cannot be found.",
        404,
    )
    iam.delete_user(UserName=user)


def test_membership_needs_both_to_exist(server: Any) -> None:
    """Adding a missing user, or to a missing group, is NoSuchEntity."""
    iam = server.client("iam")
    group = _name("g")
    iam.create_group(GroupName=group)
    code, message, _ = _error(lambda: iam.add_user_to_group(GroupName=group, UserName="nobody-x"))
    assert (code, message) == ("NoSuchEntity", "The user with name nobody-x cannot be found.")
    code, _, _ = _error(lambda: iam.add_user_to_group(GroupName=_name("none"), UserName="admin"))
    assert code == "NoSuchEntity"
    code, _, _ = _error(lambda: iam.list_groups_for_user(UserName="nobody-x"))
    assert code == "NoSuchEntity"


def test_group_inline_policies(server: Any) -> None:
    """Group policies are put, read back, listed, block deletion, and are deleted."""
    iam = server.client("iam")
    group = _name("g")
    iam.create_group(GroupName=group)
    iam.put_group_policy(
        GroupName=group, PolicyName="read", PolicyDocument=_doc(_allow("iam:GetGroup"))
    )
    got = iam.get_group_policy(GroupName=group, PolicyName="read")
    assert got["GroupName"] == group and got["PolicyName"] == "read"
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "iam:GetGroup"
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["read"]
    assert _error(lambda: iam.delete_group(GroupName=group)) == (
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
        409,
    )
    code, _, _ = _error(
        lambda: iam.put_group_policy(
            GroupName=group, PolicyName="bad", PolicyDocument='{"Statement": []}'
        )
    )
    assert code == "MalformedPolicyDocument"
    assert _error(lambda: iam.get_group_policy(GroupName=group, PolicyName="none")) == (
        "NoSuchEntity",
        "The group policy with name none cannot be found.",
        404,
    )
    iam.delete_group_policy(GroupName=group, PolicyName="read")
    code, _, _ = _error(lambda: iam.delete_group_policy(GroupName=group, PolicyName="read"))
    assert code == "NoSuchEntity"
    iam.delete_group(GroupName=group)


def test_group_inline_policies_are_limited_to_5120_characters(server: Any) -> None:
    """A group's inline policies together may hold 5,120 characters, not counting spaces."""
    iam = server.client("iam")
    group = _name("g")
    iam.create_group(GroupName=group)
    resources = [f"arn:aws:iam::123456789012:user/{'u' * 60}{i}" for i in range(50)]
    big = _doc(_allow("iam:GetUser", resources[:40]))
    iam.put_group_policy(GroupName=group, PolicyName="one", PolicyDocument=big)
    code, message, status = _error(
        lambda: iam.put_group_policy(GroupName=group, PolicyName="two", PolicyDocument=big)
    )
    assert (code, status) == ("LimitExceeded", 409)
    assert message == f"Maximum policy size of 5120 bytes exceeded for group {group}"
    iam.put_group_policy(GroupName=group, PolicyName="one", PolicyDocument=big)  # replace: fits


def test_get_group_and_list_groups_page(server: Any) -> None:
    """GetGroup pages its members and ListGroups its groups with Marker and MaxItems."""
    iam = server.client("iam")
    group, path = _name("g"), f"/{_name('p')}/"
    iam.create_group(GroupName=group, Path=path)
    users = sorted(_name("u") for _ in range(3))
    for user in users:
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName=group, UserName=user)
    first = iam.get_group(GroupName=group, MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.get_group(GroupName=group, MaxItems=2, Marker=first["Marker"])
    assert second["IsTruncated"] is False
    assert [u["UserName"] for u in first["Users"] + second["Users"]] == users
    for extra in range(2):
        iam.create_group(GroupName=f"{group}-{extra}", Path=path)
    pages = iam.get_paginator("list_groups").paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 1}
    )
    names = [g["GroupName"] for p in pages for g in p["Groups"]]
    assert names == [group, f"{group}-0", f"{group}-1"]
    code, _, _ = _error(lambda: iam.list_groups(Marker="not-a-marker"))
    assert code == "InvalidInput"


def test_a_user_is_in_at_most_ten_groups(server: Any) -> None:
    """The eleventh group for one user is LimitExceeded (IAM's GroupsPerUser quota)."""
    iam = server.client("iam")
    user = _name("u")
    iam.create_user(UserName=user)
    for i in range(10):
        group = _name(f"g{i}")
        iam.create_group(GroupName=group)
        iam.add_user_to_group(GroupName=group, UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)  # already a member: fine
    last = _name("g10")
    iam.create_group(GroupName=last)
    assert _error(lambda: iam.add_user_to_group(GroupName=last, UserName=user)) == (
        "LimitExceeded",
        "Cannot exceed quota for GroupsPerUser: 10",
        409,
    )


def test_limited_user_is_refused_group_actions_it_lacks(server: Any) -> None:
    """A user allowed only to read groups is denied every change, before any existence
    check; its allowed reads work."""
    admin = server.client("iam")
    group = _name("g")
    admin.create_group(GroupName=group)
    user = Limited(server)
    user.grant(_allow(["iam:GetGroup", "iam:ListGroups"]))
    assert user.iam.get_group(GroupName=group)["Group"]["GroupName"] == group
    assert group in [g["GroupName"] for g in user.iam.list_groups()["Groups"]]
    code, _, _ = _error(lambda: user.iam.get_group(GroupName=_name("none")))
    assert code == "NoSuchEntity"
    for call in (
        lambda: user.iam.create_group(GroupName=_name("g")),
        lambda: user.iam.delete_group(GroupName=group),
        lambda: user.iam.delete_group(GroupName=_name("none")),
        lambda: user.iam.add_user_to_group(GroupName=group, UserName=user.name),
        lambda: user.iam.put_group_policy(
            GroupName=group, PolicyName="p", PolicyDocument=_doc(_allow("*"))
        ),
        lambda: user.iam.list_group_policies(GroupName=group),
        lambda: user.iam.list_groups_for_user(UserName=user.name),
    ):
        code, message, status = _error(call)
        assert (code, status) == ("AccessDenied", 403), message


def test_group_policy_grants_its_members(server: Any) -> None:
    """A group's inline policy lets its members act at once, and stops when they leave."""
    admin = server.client("iam")
    group = _name("g")
    admin.create_group(GroupName=group)
    admin.put_group_policy(
        GroupName=group, PolicyName="roles", PolicyDocument=_doc(_allow("iam:ListRoles"))
    )
    user = Limited(server)
    code, _, _ = _error(user.iam.list_roles)
    assert code == "AccessDenied"
    admin.add_user_to_group(GroupName=group, UserName=user.name)
    assert "Roles" in user.iam.list_roles()
    admin.remove_user_from_group(GroupName=group, UserName=user.name)
    code, _, _ = _error(user.iam.list_roles)
    assert code == "AccessDenied"
