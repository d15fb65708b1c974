"""The IAM subset Strongroom serves, as one object for the query front: users and access
keys (iam_users), groups (iam_groups), roles (iam_roles) and managed policies with their
attachments (iam_policies). Every operation is authorized before it looks anything up."""

from __future__ import annotations

from strongroom.service.iam_groups import IamGroups
from strongroom.service.iam_policies import IamPolicies
from strongroom.service.iam_roles import IamRoles
from strongroom.service.iam_users import IamUsers

__all__ = ["IamService"]


class IamService(IamUsers, IamGroups, IamRoles, IamPolicies):
    """The IAM operations Strongroom serves, scoped to the caller's account; built with
    ``IamService(storage, identity, clock, authz)``."""
