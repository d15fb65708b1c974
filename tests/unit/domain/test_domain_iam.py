"""IAM rules in the domain: ARNs and unique ids, policy sizes, trust policies, tags, paths."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import pytest

from strongroom.domain.iam import (
    MAX_TAGS,
    IamGroup,
    IamRole,
    IamUser,
    check_inline_size,
    check_managed_policy,
    check_trust_policy,
    group_arn,
    merge_tags,
    parse_policy_arn,
    policy_arn,
    policy_size,
    remove_tags,
    role_arn,
    tags_from,
    unique_id,
    user_arn,
    user_id,
    validate_path,
)
from strongroom.errors import InvalidParameter, LimitExceeded, MalformedPolicy

ACCOUNT = "111122223333"
_ID = re.compile(r"[A-Z]{4}[A-Z2-7]{17}")


def _doc(*statements: Mapping[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TRUST: dict[str, object] = {
    "Effect": "Allow",
    "Principal": {"AWS": ACCOUNT},
    "Action": "sts:AssumeRole",
}


def test_arns_follow_iam_resource_formats() -> None:
    """User, group, role and policy ARNs carry the path between type and name."""
    assert user_arn(ACCOUNT, "ana", "/team/") == f"arn:aws:iam::{ACCOUNT}:user/team/ana"
    assert group_arn(ACCOUNT, "ops") == f"arn:aws:iam::{ACCOUNT}:group/ops"
    assert role_arn(ACCOUNT, "app", "/svc/") == f"arn:aws:iam::{ACCOUNT}:role/svc/app"
    assert policy_arn("aws", "ReadOnly") == "arn:aws:iam::aws:policy/ReadOnly"
    group = IamGroup(ACCOUNT, "ops", "/x/", "AGPA", 0.0)
    role = IamRole(ACCOUNT, "app", "/", "AROA", 0.0, "{}", None, 3600)
    assert group.arn.endswith(":group/x/ops") and role.arn.endswith(":role/app")
    assert IamUser(ACCOUNT, "ana", "/", 0.0).arn.endswith(":user/ana")


def test_policy_arns_parse_and_bad_ones_are_invalid_input() -> None:
    """A policy ARN yields account, path and name; anything else is InvalidParameter."""
    assert parse_policy_arn(f"arn:aws:iam::{ACCOUNT}:policy/a/b/P1") == (ACCOUNT, "/a/b/", "P1")
    assert parse_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess") == (
        "aws",
        "/",
        "AdministratorAccess",
    )
    for bad in (
        f"arn:aws:iam::{ACCOUNT}:role/P1",
        "arn:aws:iam::12:policy/P1",
        f"arn:aws:iam::{ACCOUNT}:policy/",
        "not-an-arn-at-all-really",
    ):
        with pytest.raises(InvalidParameter, match="is not valid"):
            parse_policy_arn(bad)


def test_unique_ids_have_iam_shape() -> None:
    """Ids are the prefix and 17 characters from A-Z and 2-7; user ids are stable."""
    assert _ID.fullmatch(unique_id("AROA", bytes(range(11))))
    assert unique_id("AGPA", b"\x00" * 11) != unique_id("AGPA", b"\x01" * 11)
    assert _ID.fullmatch(user_id(ACCOUNT, "ana"))
    assert user_id(ACCOUNT, "ana") == user_id(ACCOUNT, "ana")
    with pytest.raises(ValueError, match="entropy"):
        unique_id("ANPA", b"short")


def test_paths_must_begin_and_end_with_slash() -> None:
    """IAM paths are / or /.../; anything else is InvalidParameter."""
    validate_path("/")
    validate_path("/a/b/")
    for bad in ("a/", "/a", "//x y/"):
        with pytest.raises(InvalidParameter):
            validate_path(bad)


def test_policy_size_ignores_white_space() -> None:
    """IAM counts characters other than white space against its size quotas."""
    assert policy_size('{ "a" :\n\t1 }') == len('{"a":1}')


def test_inline_policies_are_limited_per_kind_in_aggregate() -> None:
    """Users' inline policies total at most 2,048 characters, groups 5,120, roles 10,240."""
    check_inline_size("user", "ana", ["x" * 1024, "y" * 1024])
    with pytest.raises(LimitExceeded, match="Maximum policy size of 2048 bytes exceeded for user"):
        check_inline_size("user", "ana", ["x" * 1024, "y" * 1025])
    check_inline_size("group", "ops", ["x" * 5120])
    with pytest.raises(LimitExceeded, match="5120 bytes exceeded for group ops"):
        check_inline_size("group", "ops", ["x" * 5121])
    check_inline_size("role", "app", ["x" * 10240])
    with pytest.raises(LimitExceeded, match="10240"):
        check_inline_size("role", "app", ["x" * 10241])


def test_managed_policy_documents_are_identity_policies_of_limited_size() -> None:
    """A managed policy is a valid identity policy of at most 6,144 characters."""
    statement = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}
    check_managed_policy(_doc(statement))
    with pytest.raises(MalformedPolicy):
        check_managed_policy(_doc({**statement, "Principal": "*"}))
    big = _doc(*[{**statement, "Sid": f"S{i}", "Resource": "r" * 100} for i in range(60)])
    with pytest.raises(LimitExceeded, match="Cannot exceed quota for PolicySize: 6144"):
        check_managed_policy(big)


def test_trust_policies_need_a_principal_and_no_resource() -> None:
    """A trust policy names who may assume the role and never a resource."""
    check_trust_policy(_doc(TRUST))
    with pytest.raises(MalformedPolicy, match="Principal"):
        check_trust_policy(_doc({"Effect": "Allow", "Action": "sts:AssumeRole"}))
    with pytest.raises(MalformedPolicy, match="Has prohibited field Resource"):
        check_trust_policy(_doc({**TRUST, "Resource": "*"}))
    with pytest.raises(MalformedPolicy, match="Has prohibited field NotResource"):
        check_trust_policy(json.dumps({"Statement": {**TRUST, "NotResource": "*"}}))
    with pytest.raises(MalformedPolicy):
        check_trust_policy("not json")
    role = f"arn:aws:iam::{ACCOUNT}:role/" + "r" * 40
    many = _doc(*[{**TRUST, "Sid": f"S{i}", "Principal": {"AWS": role}} for i in range(30)])
    with pytest.raises(LimitExceeded, match="ACLSizePerRole: 2048"):
        check_trust_policy(many)


def test_tag_keys_are_not_case_sensitive() -> None:
    """Keys differing only in case collide in one request and replace each other later."""
    with pytest.raises(InvalidParameter, match="Duplicate tag keys"):
        tags_from([("Team", "a"), ("team", "b")])
    tags = tags_from([("Team", "a"), ("env", "dev")])
    assert merge_tags(tags, (("TEAM", "b"),), "user") == (("env", "dev"), ("TEAM", "b"))
    assert remove_tags(tags, ["team", "absent"]) == (("env", "dev"),)


def test_at_most_fifty_tags() -> None:
    """Tagging past 50 tags is LimitExceeded naming the quota for the entity's kind."""
    full = tuple((f"k{i}", "v") for i in range(MAX_TAGS))
    assert merge_tags(full, (("k0", "w"),), "role")[-1] == ("k0", "w")
    with pytest.raises(LimitExceeded, match="TagsPerRole: 50"):
        merge_tags(full, (("new", "v"),), "role")
    with pytest.raises(LimitExceeded, match="TagsPerUser: 50"):
        merge_tags(full, (("new", "v"),), "user")
