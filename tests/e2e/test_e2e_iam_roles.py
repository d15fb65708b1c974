"""IAM roles with boto3's iam client and the AWS CLI: lifecycle, trust policies, updates,
inline policies, tags, permissions boundaries, and what callers without rights are told."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
from botocore.config import Config

from iam_helpers import Limited
from iam_helpers import account_of as _account
from iam_helpers import allow as _allow
from iam_helpers import doc as _doc
from iam_helpers import error as _error
from iam_helpers import trust as _trust


def _name(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _unchecked(server: Any) -> Any:
    """An admin iam client that sends what it is given (no client-side range checks)."""
    return boto3.client(
        "iam",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
    )


def test_role_lifecycle(server: Any) -> None:
    """A role is created with its settings, read back, listed, updated and deleted."""
    iam = server.client("iam")
    account = _account(server)
    name = _name()
    created = iam.create_role(
        RoleName=name,
        Path="/svc/",
        AssumeRolePolicyDocument=_trust(account),
        Description="reads secrets",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "a"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::{account}:role/svc/{name}"
    assert created["RoleId"].startswith("AROA") and len(created["RoleId"]) == 21
    assert created["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert (created["Description"], created["MaxSessionDuration"]) == ("reads secrets", 7200)
    role = iam.get_role(RoleName=name.upper())["Role"]
    assert role["RoleName"] == name and role["RoleId"] == created["RoleId"]
    assert role["Tags"] == [{"Key": "team", "Value": "a"}]
    assert role["RoleLastUsed"] == {}
    assert "PermissionsBoundary" not in role
    listed = [r for r in iam.list_roles(PathPrefix="/svc/")["Roles"] if r["RoleName"] == name]
    assert listed and listed[0]["Arn"] == created["Arn"] and "Tags" not in listed[0]
    assert all(r["RoleName"] != name for r in iam.list_roles(PathPrefix="/web/")["Roles"])
    assert _error(
        lambda: iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=_trust(account))
    ) == ("EntityAlreadyExists", f"Role with name {name.upper()} already exists.", 409)
    iam.update_role(RoleName=name, MaxSessionDuration=43200)
    role = iam.get_role(RoleName=name)["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("reads secrets", 43200)
    iam.update_role(RoleName=name, Description="")
    assert iam.get_role(RoleName=name)["Role"].get("Description", "") == ""
    assert iam.update_role_description(RoleName=name, Description="d2")["Role"]["Description"] == (
        "d2"
    )
    for bad in (3599, 43201):
        code, _, status = _error(
            lambda bad=bad: _unchecked(server).update_role(RoleName=name, MaxSessionDuration=bad)
        )
        assert (code, status) == ("ValidationError", 400)
    new_trust = _doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*"}
    )
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=new_trust)
    got = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert got == json.loads(new_trust)
    iam.delete_role(RoleName=name)
    assert _error(lambda: iam.get_role(RoleName=name)) == (
        "NoSuchEntity",
        f"The role with name {name} cannot be found.",
        404,
    )
    assert _error(lambda: iam.delete_role(RoleName=name))[0] == "NoSuchEntity"


def test_default_session_duration_is_one_hour(server: Any) -> None:
    """Without MaxSessionDuration a role allows one-hour sessions; 43,201 is refused."""
    iam = server.client("iam")
    name = _name()
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(_account(server)))
    assert role["Role"]["MaxSessionDuration"] == 3600
    assert "Description" not in role["Role"]
    code, _, _ = _error(
        lambda: _unchecked(server).create_role(
            RoleName=_name(),
            AssumeRolePolicyDocument=_trust(_account(server)),
            MaxSessionDuration=43201,
        )
    )
    assert code == "ValidationError"


def test_trust_policies_are_validated(server: Any) -> None:
    """A trust policy needs a Principal, may not name a Resource, must be JSON and at most
    2,048 characters; the same rules apply to UpdateAssumeRolePolicy."""
    iam = server.client("iam")
    account = _account(server)
    base = {"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"}
    no_principal = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    cases = [
        (_doc(no_principal), "Missing required field Principal"),
        (_doc({**base, "Resource": "*"}), "Has prohibited field Resource"),
        ("{not json", "Syntax errors in policy."),
    ]
    for document, message in cases:
        assert _error(
            lambda document=document: iam.create_role(
                RoleName=_name(), AssumeRolePolicyDocument=document
            )
        ) == ("MalformedPolicyDocument", message, 400)
    principal = {"AWS": [f"arn:aws:iam::{account}:role/{'x' * 60}{i}" for i in range(30)]}
    code, message, status = _error(
        lambda: iam.create_role(
            RoleName=_name(), AssumeRolePolicyDocument=_doc({**base, "Principal": principal})
        )
    )
    assert (code, message, status) == (
        "LimitExceeded",
        "Cannot exceed quota for ACLSizePerRole: 2048",
        409,
    )
    name = _name()
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_doc(base))
    code, _, _ = _error(
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=_doc(no_principal))
    )
    assert code == "MalformedPolicyDocument"
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(_doc(base))


def test_role_inline_policies_and_delete_conflicts(server: Any) -> None:
    """Role policies are put, read, listed and deleted; DeleteRole is refused while an
    attached or an inline policy remains."""
    iam = server.client("iam")
    name = _name()
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(_account(server)))
    document = _doc(_allow("secretsmanager:GetSecretValue"))
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=document)
    got = iam.get_role_policy(RoleName=name, PolicyName="read")
    assert (got["RoleName"], got["PolicyName"]) == (name, "read")
    assert got["PolicyDocument"] == json.loads(document)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["read"]
    readonly = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    iam.attach_role_policy(RoleName=name, PolicyArn=readonly)
    assert _error(lambda: iam.delete_role(RoleName=name)) == (
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
        409,
    )
    iam.detach_role_policy(RoleName=name, PolicyArn=readonly)
    assert _error(lambda: iam.delete_role(RoleName=name)) == (
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
        409,
    )
    code, _, _ = _error(
        lambda: iam.put_role_policy(
            RoleName=name,
            PolicyName="bad",
            PolicyDocument=_doc({**_allow("*"), "Principal": "*"}),
        )
    )
    assert code == "MalformedPolicyDocument"
    assert _error(lambda: iam.get_role_policy(RoleName=name, PolicyName="none")) == (
        "NoSuchEntity",
        "The role policy with name none cannot be found.",
        404,
    )
    iam.delete_role_policy(RoleName=name, PolicyName="read")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    iam.delete_role(RoleName=name)
    code, _, _ = _error(
        lambda: iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document)
    )
    assert code == "NoSuchEntity"


def test_role_tags(server: Any) -> None:
    """TagRole adds or replaces (keys ignore case), UntagRole removes, 50 tags at most."""
    iam = server.client("iam")
    name = _name()
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(_account(server)))
    empty = iam.list_role_tags(RoleName=name)
    assert (empty["Tags"], empty["IsTruncated"]) == ([], False)
    iam.tag_role(RoleName=name, Tags=[{"Key": "Env", "Value": "dev"}])
    iam.tag_role(RoleName=name, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "a", "Value": "1"}])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [
        {"Key": "env", "Value": "prod"},
        {"Key": "a", "Value": "1"},
    ]
    iam.untag_role(RoleName=name, TagKeys=["ENV"])
    assert iam.get_role(RoleName=name)["Role"]["Tags"] == [{"Key": "a", "Value": "1"}]
    iam.tag_role(RoleName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    assert _error(lambda: iam.tag_role(RoleName=name, Tags=[{"Key": "z", "Value": "v"}])) == (
        "LimitExceeded",
        "Cannot exceed quota for TagsPerRole: 50",
        409,
    )
    iam.tag_role(RoleName=name, Tags=[{"Key": "K0", "Value": "replaced"}])  # replaces: fits
    assert {"Key": "K0", "Value": "replaced"} in iam.list_role_tags(RoleName=name)["Tags"]
    missing = _error(lambda: iam.tag_role(RoleName=_name(), Tags=[{"Key": "a", "Value": "b"}]))
    assert missing[0] == "NoSuchEntity"


def test_role_permissions_boundary(server: Any) -> None:
    """A role's boundary is set at creation or later, shown by GetRole, and removed."""
    iam = server.client("iam")
    boundary = "arn:aws:iam::aws:policy/SecretsManagerReadWrite"
    name = _name()
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=_trust(_account(server)),
        PermissionsBoundary=boundary,
    )
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": boundary,
    }
    iam.delete_role_permissions_boundary(RoleName=name)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]
    iam.put_role_permissions_boundary(
        RoleName=name, PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )
    missing = "arn:aws:iam::aws:policy/NoSuchManagedPolicy"
    assert _error(
        lambda: iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=missing)
    ) == ("NoSuchEntity", f"Scope ARN: {missing} does not exist or is not attachable.", 404)
    code, _, _ = _error(
        lambda: iam.create_role(
            RoleName=_name(),
            AssumeRolePolicyDocument=_trust(_account(server)),
            PermissionsBoundary=missing,
        )
    )
    assert code == "NoSuchEntity"


def test_limited_user_is_refused_role_actions_it_lacks(server: Any) -> None:
    """A user allowed only GetRole and ListRoles is denied every change, AccessDenied
    coming before NoSuchEntity."""
    admin = server.client("iam")
    name = _name()
    admin.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(_account(server)))
    user = Limited(server)
    user.grant(_allow(["iam:GetRole", "iam:ListRoles"]))
    assert user.iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    assert name in [r["RoleName"] for r in user.iam.list_roles()["Roles"]]
    assert _error(lambda: user.iam.get_role(RoleName=_name()))[0] == "NoSuchEntity"
    for call in (
        lambda: user.iam.create_role(
            RoleName=_name(), AssumeRolePolicyDocument=_trust(_account(server))
        ),
        lambda: user.iam.delete_role(RoleName=name),
        lambda: user.iam.delete_role(RoleName=_name()),
        lambda: user.iam.update_role(RoleName=name, Description="x"),
        lambda: user.iam.update_assume_role_policy(
            RoleName=name, PolicyDocument=_trust(_account(server))
        ),
        lambda: user.iam.put_role_policy(
            RoleName=name, PolicyName="p", PolicyDocument=_doc(_allow("*"))
        ),
        lambda: user.iam.tag_role(RoleName=name, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: user.iam.list_role_tags(RoleName=name),
        lambda: user.iam.attach_role_policy(
            RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
        ),
    ):
        code, message, status = _error(call)
        assert (code, status) == ("AccessDenied", 403), message


def test_role_tag_conditions_decide(server: Any) -> None:
    """iam:ResourceTag of the role decides a policy conditioned on it."""
    admin = server.client("iam")
    mine, other = _name(), _name()
    for role, team in ((mine, "blue"), (other, "red")):
        admin.create_role(
            RoleName=role,
            AssumeRolePolicyDocument=_trust(_account(server)),
            Tags=[{"Key": "team", "Value": team}],
        )
    user = Limited(server)
    user.grant(
        {
            **_allow("iam:UpdateRole"),
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}},
        }
    )
    user.iam.update_role(RoleName=mine, Description="ok")
    assert _error(lambda: user.iam.update_role(RoleName=other, Description="no"))[0] == (
        "AccessDenied"
    )


def test_attached_managed_policy_grants_role_reads(server: Any) -> None:
    """IAMReadOnlyAccess attached to a user lets it read roles at once, and not change them;
    detached, it reads nothing."""
    admin = server.client("iam")
    name = _name()
    admin.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(_account(server)))
    user = Limited(server)
    readonly = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    assert _error(lambda: user.iam.get_role(RoleName=name))[0] == "AccessDenied"
    admin.attach_user_policy(UserName=user.name, PolicyArn=readonly)
    assert user.iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    assert user.iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    assert _error(lambda: user.iam.delete_role(RoleName=name))[0] == "AccessDenied"
    admin.detach_user_policy(UserName=user.name, PolicyArn=readonly)
    assert _error(lambda: user.iam.get_role(RoleName=name))[0] == "AccessDenied"


def test_role_session_must_name_the_user(server: Any) -> None:
    """An assumed-role caller that leaves out UserName gets IAM's ValidationError, where a
    user would get itself."""
    admin = server.client("iam")
    name = _name()
    arn = admin.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(_account(server)))[
        "Role"
    ]["Arn"]
    admin.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=_doc(_allow("iam:*")))
    creds = server.client("sts").assume_role(RoleArn=arn, RoleSessionName="s1")["Credentials"]
    session = server.client(
        "iam",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    message = "Must specify userName when calling with non-User credentials"
    for call in (session.get_user, session.list_access_keys, session.create_access_key):
        assert _error(call) == ("ValidationError", message, 400)
    assert session.get_user(UserName="admin")["User"]["UserName"] == "admin"


def test_cli_creates_reads_and_deletes_a_role(server: Any) -> None:
    """aws iam create-role, get-role, list-roles and delete-role work; a missing role fails
    with NoSuchEntity."""
    name = _name()
    trust = _trust(_account(server))
    created = server.aws(
        "iam", "create-role", "--role-name", name, "--assume-role-policy-document", trust
    )
    assert created.returncode == 0, created.stderr
    role = json.loads(created.stdout)["Role"]
    assert role["RoleName"] == name and role["RoleId"].startswith("AROA")
    got = server.aws("iam", "get-role", "--role-name", name)
    assert json.loads(got.stdout)["Role"]["AssumeRolePolicyDocument"] == json.loads(trust)
    listed = server.aws("iam", "list-roles")
    assert name in [r["RoleName"] for r in json.loads(listed.stdout)["Roles"]]
    assert server.aws("iam", "delete-role", "--role-name", name).returncode == 0
    missing = server.aws("iam", "get-role", "--role-name", name)
    assert missing.returncode in {254, 255}
    assert "An error occurred (NoSuchEntity)" in missing.stderr
