"""IAM managed policies with boto3's iam client: create and read, versions, attachments to
users, groups and roles, AWS managed policies, quotas, and their effect on the very next
request of the principals they are attached to."""

from __future__ import annotations

import json
import uuid
from typing import Any

from iam_helpers import Limited
from iam_helpers import account_of as _account
from iam_helpers import allow as _allow
from iam_helpers import doc as _doc
from iam_helpers import error as _error
from iam_helpers import trust as _trust

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"


def _name(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_create_and_get_policy(server: Any) -> None:
    """A customer managed policy gets an ARN with its path, an ANPA id and version v1, and
    names are unique in the account ignoring case and path."""
    iam = server.client("iam")
    account = _account(server)
    name = _name()
    document = _doc(_allow("iam:GetUser"))
    created = iam.create_policy(
        PolicyName=name, Path="/team/", PolicyDocument=document, Description="reads users"
    )["Policy"]
    arn = f"arn:aws:iam::{account}:policy/team/{name}"
    assert created["Arn"] == arn
    assert created["PolicyId"].startswith("ANPA") and len(created["PolicyId"]) == 21
    assert (created["DefaultVersionId"], created["AttachmentCount"]) == ("v1", 0)
    assert (created["IsAttachable"], created["PermissionsBoundaryUsageCount"]) == (True, 0)
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["Description"] == "reads users" and got["PolicyId"] == created["PolicyId"]
    under_team = iam.list_policies(Scope="Local", PathPrefix="/team/", MaxItems=1000)
    assert arn in [p["Arn"] for p in under_team["Policies"]]
    elsewhere = iam.list_policies(Scope="Local", PathPrefix="/other/", MaxItems=1000)
    assert arn not in [p["Arn"] for p in elsewhere["Policies"]]
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(document) and version["IsDefaultVersion"] is True
    assert _error(lambda: iam.create_policy(PolicyName=name.upper(), PolicyDocument=document)) == (
        "EntityAlreadyExists",
        f"A policy called {name.upper()} already exists. Duplicate names are not allowed.",
        409,
    )
    missing = f"arn:aws:iam::{account}:policy/{_name()}"
    assert _error(lambda: iam.get_policy(PolicyArn=missing)) == (
        "NoSuchEntity",
        f"Policy {missing} was not found.",
        404,
    )
    bad = f"arn:aws:iam::{account}:role/not-a-policy"
    assert _error(lambda: iam.get_policy(PolicyArn=bad)) == (
        "InvalidInput",
        f"ARN {bad} is not valid.",
        400,
    )


def test_policy_documents_are_validated(server: Any) -> None:
    """A managed policy must be a valid identity policy of at most 6,144 characters."""
    iam = server.client("iam")
    with_principal = _doc({**_allow("*"), "Principal": "*"})
    assert _error(lambda: iam.create_policy(PolicyName=_name(), PolicyDocument=with_principal)) == (
        "MalformedPolicyDocument",
        "Policy document should not specify a principal.",
        400,
    )
    resources = [f"arn:aws:iam::123456789012:user/{'u' * 80}{i}" for i in range(60)]
    big = _doc({**_allow("iam:GetUser"), "Resource": resources})
    assert _error(lambda: iam.create_policy(PolicyName=_name(), PolicyDocument=big)) == (
        "LimitExceeded",
        "Cannot exceed quota for PolicySize: 6144",
        409,
    )


def test_policy_versions(server: Any) -> None:
    """Versions are numbered without reuse, at most five exist, the default one cannot be
    deleted, and the policy is deletable once only its default version is left."""
    iam = server.client("iam")
    arn = iam.create_policy(PolicyName=_name(), PolicyDocument=_doc(_allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("iam:ListUsers")))
    assert v2["PolicyVersion"]["VersionId"] == "v2"
    assert v2["PolicyVersion"]["IsDefaultVersion"] is False
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    v3 = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=_doc(_allow("iam:ListRoles")), SetAsDefault=True
    )["PolicyVersion"]
    assert (v3["VersionId"], v3["IsDefaultVersion"]) == ("v3", True)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    listed = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in listed] == [
        ("v3", True),
        ("v2", False),
        ("v1", False),
    ]
    assert "Document" not in listed[0]
    for _ in range(2):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("iam:GetRole")))
    assert _error(
        lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("*")))
    ) == (
        "LimitExceeded",
        "A managed policy can have up to 5 versions. Before you create a new version, you "
        "must delete an existing version.",
        409,
    )
    assert _error(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v3")) == (
        "DeleteConflict",
        "Cannot delete the default version of a policy.",
        409,
    )
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    again = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("iam:GetRole")))
    assert again["PolicyVersion"]["VersionId"] == "v6"
    assert _error(lambda: iam.get_policy_version(PolicyArn=arn, VersionId="v2")) == (
        "NoSuchEntity",
        f"Policy {arn} version v2 does not exist or is not attachable.",
        404,
    )
    assert _error(lambda: iam.set_default_policy_version(PolicyArn=arn, VersionId="v9"))[0] == (
        "NoSuchEntity"
    )
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"][
        "IsDefaultVersion"
    ]
    assert _error(lambda: iam.delete_policy(PolicyArn=arn)) == (
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete "
        "the policy's versions. The default version is deleted with the policy.",
        409,
    )
    for version in ("v3", "v4", "v5", "v6"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    iam.delete_policy(PolicyArn=arn)
    assert _error(lambda: iam.get_policy(PolicyArn=arn))[0] == "NoSuchEntity"


def test_attach_detach_and_entities(server: Any) -> None:
    """A policy attached to a user, a group and a role is counted, listed by each and by
    ListEntitiesForPolicy, blocks DeletePolicy, and detaches once."""
    iam = server.client("iam")
    account = _account(server)
    user, group, role = _name("u"), _name("g"), _name("r")
    iam.create_user(UserName=user, Path="/a/")
    created_group = iam.create_group(GroupName=group)["Group"]
    created_role = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(account))["Role"]
    policy = iam.create_policy(
        PolicyName=_name(), Path="/x/", PolicyDocument=_doc(_allow("iam:GetUser"))
    )["Policy"]
    arn = policy["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)  # again: no change
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    expected = [{"PolicyName": policy["PolicyName"], "PolicyArn": arn}]
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == expected
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == expected
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == expected
    assert (
        iam.list_attached_role_policies(RoleName=role, PathPrefix="/y/")["AttachedPolicies"] == []
    )
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert entities["PolicyUsers"] == [
        {"UserName": user, "UserId": iam.get_user(UserName=user)["User"]["UserId"]}
    ]
    assert entities["PolicyGroups"] == [{"GroupName": group, "GroupId": created_group["GroupId"]}]
    assert entities["PolicyRoles"] == [{"RoleName": role, "RoleId": created_role["RoleId"]}]
    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert (only_roles["PolicyUsers"], len(only_roles["PolicyRoles"])) == ([], 1)
    under_a = iam.list_entities_for_policy(PolicyArn=arn, PathPrefix="/a/")
    assert [u["UserName"] for u in under_a["PolicyUsers"]] == [user]
    assert under_a["PolicyRoles"] == under_a["PolicyGroups"] == []
    first = iam.list_entities_for_policy(PolicyArn=arn, MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_entities_for_policy(PolicyArn=arn, Marker=first["Marker"])
    total = sum(
        len(p[k]) for p in (first, rest) for k in ("PolicyUsers", "PolicyGroups", "PolicyRoles")
    )
    assert total == 3
    attached = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert arn in [p["Arn"] for p in attached]
    assert _error(lambda: iam.delete_policy(PolicyArn=arn)) == (
        "DeleteConflict",
        "Cannot delete a policy attached to entities.",
        409,
    )
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert _error(lambda: iam.detach_user_policy(UserName=user, PolicyArn=arn)) == (
        "NoSuchEntity",
        f"Policy {arn} was not found.",
        404,
    )
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    assert arn not in [
        p["Arn"] for p in iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    ]
    iam.delete_policy(PolicyArn=arn)
    missing = f"arn:aws:iam::{account}:policy/{_name()}"
    assert _error(lambda: iam.attach_user_policy(UserName=user, PolicyArn=missing)) == (
        "NoSuchEntity",
        f"Policy {missing} does not exist or is not attachable.",
        404,
    )
    code, message, _ = _error(lambda: iam.attach_role_policy(RoleName=_name(), PolicyArn=ADMIN))
    assert (code, message) == ("NoSuchEntity", message)
    assert "role with name" in message


def test_aws_managed_policies(server: Any) -> None:
    """AWS managed policies are listed under Scope AWS, readable and attachable in every
    account, and cannot be changed or deleted."""
    iam = server.client("iam")
    local = iam.create_policy(PolicyName=_name(), PolicyDocument=_doc(_allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    aws = [p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]]
    assert ADMIN in aws and READ_ONLY in aws and local not in aws
    mine = [p["Arn"] for p in iam.list_policies(Scope="Local", MaxItems=1000)["Policies"]]
    assert local in mine and ADMIN not in mine
    both = [p["Arn"] for p in iam.list_policies(MaxItems=1000)["Policies"]]
    assert ADMIN in both and local in both
    listed = [p for p in iam.list_policies(Scope="AWS")["Policies"] if p["Arn"] == ADMIN]
    assert "Description" not in listed[0]
    got = iam.get_policy(PolicyArn=ADMIN)["Policy"]
    assert got["PolicyName"] == "AdministratorAccess" and got["Path"] == "/"
    assert got["Description"]
    document = iam.get_policy_version(PolicyArn=ADMIN, VersionId=got["DefaultVersionId"])
    assert document["PolicyVersion"]["Document"]["Statement"][0]["Action"] == "*"
    for call in (
        lambda: iam.delete_policy(PolicyArn=ADMIN),
        lambda: iam.create_policy_version(PolicyArn=ADMIN, PolicyDocument=_doc(_allow("*"))),
        lambda: iam.delete_policy_version(PolicyArn=ADMIN, VersionId="v1"),
        lambda: iam.set_default_policy_version(PolicyArn=ADMIN, VersionId="v1"),
    ):
        code, _, status = _error(call)
        assert (code, status) == ("AccessDenied", 403)
    pages = iam.get_paginator("list_policies").paginate(
        Scope="AWS", PaginationConfig={"PageSize": 1}
    )
    names = [p["PolicyName"] for page in pages for p in page["Policies"]]
    assert names == sorted(names) and len(names) == len(aws)


def test_other_accounts_policies_are_invisible(server: Any) -> None:
    """Another account can neither read (a resource of another account: AccessDenied) nor
    attach this account's customer managed policy, but attaches AWS managed ones."""
    iam = server.client("iam")
    arn = iam.create_policy(PolicyName=_name(), PolicyDocument=_doc(_allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    akid, secret = server.new_account()
    other = server.client("iam", aws_access_key_id=akid, aws_secret_access_key=secret)
    assert _error(lambda: other.get_policy(PolicyArn=arn))[0] == "AccessDenied"  # not its own
    user = _name("u")
    other.create_user(UserName=user)
    assert _error(lambda: other.attach_user_policy(UserName=user, PolicyArn=arn))[0] == (
        "NoSuchEntity"
    )
    assert arn not in [p["Arn"] for p in other.list_policies()["Policies"]]
    other.attach_user_policy(UserName=user, PolicyArn=READ_ONLY)
    assert other.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 1


def test_at_most_ten_attached_policies(server: Any) -> None:
    """The eleventh managed policy attached to one user is LimitExceeded."""
    iam = server.client("iam")
    user = _name("u")
    iam.create_user(UserName=user)
    for _ in range(10):
        arn = iam.create_policy(PolicyName=_name(), PolicyDocument=_doc(_allow("iam:GetUser")))[
            "Policy"
        ]["Arn"]
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)  # already attached: fine
    assert _error(lambda: iam.attach_user_policy(UserName=user, PolicyArn=READ_ONLY)) == (
        "LimitExceeded",
        "Cannot exceed quota for PoliciesPerUser: 10",
        409,
    )


def test_boundary_use_blocks_policy_deletion(server: Any) -> None:
    """A policy used as a permissions boundary is counted and cannot be deleted."""
    iam = server.client("iam")
    arn = iam.create_policy(PolicyName=_name(), PolicyDocument=_doc(_allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    user = _name("u")
    iam.create_user(UserName=user, PermissionsBoundary=arn)
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (got["AttachmentCount"], got["PermissionsBoundaryUsageCount"]) == (0, 1)
    boundary = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")
    assert [u["UserName"] for u in boundary["PolicyUsers"]] == [user]
    permissions = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")
    assert permissions["PolicyUsers"] == []
    assert _error(lambda: iam.delete_policy(PolicyArn=arn))[0] == "DeleteConflict"
    iam.delete_user_permissions_boundary(UserName=user)
    iam.delete_policy(PolicyArn=arn)


def test_managed_policy_grants_at_once_and_follows_its_default_version(server: Any) -> None:
    """A managed policy attached to a user, or to one of its groups, grants on the next
    request; changing the default version changes the grant; detaching removes it."""
    admin = server.client("iam")
    arn = admin.create_policy(PolicyName=_name(), PolicyDocument=_doc(_allow("iam:ListRoles")))[
        "Policy"
    ]["Arn"]
    user = Limited(server)
    assert _error(user.iam.list_roles)[0] == "AccessDenied"
    admin.attach_user_policy(UserName=user.name, PolicyArn=arn)
    assert "Roles" in user.iam.list_roles()
    admin.create_policy_version(
        PolicyArn=arn, PolicyDocument=_doc(_allow("iam:ListGroups")), SetAsDefault=True
    )
    assert _error(user.iam.list_roles)[0] == "AccessDenied"
    assert "Groups" in user.iam.list_groups()
    admin.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert "Roles" in user.iam.list_roles()
    admin.detach_user_policy(UserName=user.name, PolicyArn=arn)
    assert _error(user.iam.list_roles)[0] == "AccessDenied"
    group = _name("g")
    admin.create_group(GroupName=group)
    admin.attach_group_policy(GroupName=group, PolicyArn=arn)
    admin.add_user_to_group(GroupName=group, UserName=user.name)
    assert "Roles" in user.iam.list_roles()


def test_limited_user_is_refused_policy_actions_it_lacks(server: Any) -> None:
    """A user allowed to read policies is denied creating, changing and attaching them."""
    admin = server.client("iam")
    arn = admin.create_policy(PolicyName=_name(), PolicyDocument=_doc(_allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    user = Limited(server)
    user.grant(_allow(["iam:GetPolicy", "iam:ListPolicies", "iam:GetPolicyVersion"]))
    assert user.iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn
    assert user.iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert user.iam.list_policies(Scope="AWS")["Policies"]
    missing = arn + "-missing"
    assert _error(lambda: user.iam.get_policy(PolicyArn=missing))[0] == "NoSuchEntity"
    for call in (
        lambda: user.iam.create_policy(PolicyName=_name(), PolicyDocument=_doc(_allow("*"))),
        lambda: user.iam.delete_policy(PolicyArn=arn),
        lambda: user.iam.delete_policy(PolicyArn=missing),
        lambda: user.iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("*"))),
        lambda: user.iam.set_default_policy_version(PolicyArn=arn, VersionId="v1"),
        lambda: user.iam.list_policy_versions(PolicyArn=arn),
        lambda: user.iam.list_entities_for_policy(PolicyArn=arn),
        lambda: user.iam.attach_user_policy(UserName=user.name, PolicyArn=ADMIN),
        lambda: user.iam.list_attached_user_policies(UserName=user.name),
    ):
        code, message, status = _error(call)
        assert (code, status) == ("AccessDenied", 403), message


def test_policy_arn_condition_limits_what_may_be_attached(server: Any) -> None:
    """iam:PolicyARN in a condition lets a user attach exactly the policies it names."""
    admin = server.client("iam")
    user = Limited(server)
    target = _name("u")
    admin.create_user(UserName=target)
    user.grant(
        {
            **_allow(["iam:AttachUserPolicy", "iam:DetachUserPolicy"]),
            "Condition": {"ArnEquals": {"iam:PolicyARN": READ_ONLY}},
        }
    )
    user.iam.attach_user_policy(UserName=target, PolicyArn=READ_ONLY)
    assert _error(lambda: user.iam.attach_user_policy(UserName=target, PolicyArn=ADMIN))[0] == (
        "AccessDenied"
    )
    user.iam.detach_user_policy(UserName=target, PolicyArn=READ_ONLY)
    assert admin.list_attached_user_policies(UserName=target)["AttachedPolicies"] == []
