"""ValidateResourcePolicy's findings for a secret's resource policy: the grammar problems, the
IAM Access Analyzer policy checks that apply to a secret policy, and the broad-access and lockout
checks Secrets Manager adds. Check names are Access Analyzer issue codes. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import enum
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from strongroom.domain.policy_grammar import check_policy, public_statement

__all__ = [
    "ACTIONS",
    "CONDITION_KEYS",
    "GLOBAL_CONDITION_KEYS",
    "Finding",
    "FindingKind",
    "findings",
    "validation_passed",
]


class FindingKind(enum.Enum):
    """Access Analyzer's finding types (ValidatePolicyFinding.findingType)."""

    ERROR = "error"  # a part of the policy is not functional
    SECURITY_WARNING = "security_warning"  # access we consider overly permissive
    WARNING = "warning"  # does not follow policy-writing best practice
    SUGGESTION = "suggestion"  # a stylistic improvement that does not change access


@dataclass(frozen=True)
class Finding:
    """One ValidationErrors entry: ``check_name`` (CheckName), ``message`` (ErrorMessage) and
    its ``kind``. Messages describe the policy only; a policy holds no secret values."""

    check_name: str
    message: str
    kind: FindingKind

    @property
    def fails_validation(self) -> bool:
        """Errors and security warnings fail validation; warnings and suggestions do not."""
        return self.kind in (FindingKind.ERROR, FindingKind.SECURITY_WARNING)


def validation_passed(found: list[Finding]) -> bool:
    """PolicyValidationPassed: no finding is an error or a security warning."""
    return not any(f.fails_validation for f in found)


# Every Secrets Manager action: the operations of the service model (botocore
# secretsmanager/2017-10-17; a unit test keeps the two equal). Names are not case-sensitive.
ACTIONS = frozenset(
    {
        "AssociateCrossAccountReplica",
        "BatchGetSecretValue",
        "CancelRotateSecret",
        "CreateSecret",
        "DeleteResourcePolicy",
        "DeleteSecret",
        "DescribeSecret",
        "DisassociateCrossAccountReplica",
        "GetRandomPassword",
        "GetResourcePolicy",
        "GetSecretValue",
        "ListResourcePolicies",
        "ListSecretVersionIds",
        "ListSecrets",
        "PutResourcePolicy",
        "PutSecretValue",
        "RemoveRegionsFromReplication",
        "ReplicateSecretToRegions",
        "RestoreSecret",
        "RotateSecret",
        "StopReplicationToReplica",
        "TagResource",
        "UntagResource",
        "UpdateSecret",
        "UpdateSecretVersionStage",
        "ValidateResourcePolicy",
    }
)

# Service Authorization Reference, "Actions, resources, and condition keys for AWS Secrets
# Manager", Condition keys table. ResourceTag/ takes a tag key after the slash.
CONDITION_KEYS = frozenset(
    {
        "secretsmanager:AddReplicaRegions",
        "secretsmanager:BlockPublicPolicy",
        "secretsmanager:Description",
        "secretsmanager:ExternalSecretRotationRoleArn",
        "secretsmanager:ForceDeleteWithoutRecovery",
        "secretsmanager:ForceOverwriteReplicaSecret",
        "secretsmanager:KmsKeyArn",
        "secretsmanager:KmsKeyId",
        "secretsmanager:ModifyRotationRules",
        "secretsmanager:Name",
        "secretsmanager:RecoveryWindowInDays",
        "secretsmanager:RotateImmediately",
        "secretsmanager:RotationLambdaARN",
        "secretsmanager:SecretId",
        "secretsmanager:SecretPrimaryRegion",
        "secretsmanager:Type",
        "secretsmanager:VersionId",
        "secretsmanager:VersionStage",
        "secretsmanager:resource/AllowRotationLambdaArn",
        "secretsmanager:resource/Type",
    }
)

# IAM User Guide, "AWS global condition context keys" (the five property tables), plus
# aws:SourceOwner, which S3's meaning of "public" still names. Tag keys are listed as prefixes.
GLOBAL_CONDITION_KEYS = frozenset(
    {
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalOrgID",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:userid",
        "aws:username",
        "aws:AssumedRoot",
        "aws:FederatedProvider",
        "aws:TokenIssueTime",
        "aws:SignInSessionArn",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:ChatbotSourceArn",
        "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpcArn",
        "aws:SourceVpce",
        "aws:VpceAccount",
        "aws:VpceOrgID",
        "aws:VpceOrgPaths",
        "aws:VpcSourceIp",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CalledViaAWSMCP",
        "aws:ViaAWSService",
        "aws:ViaAWSMCPService",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:referer",
        "aws:RequestedRegion",
        "aws:TagKeys",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceOwner",
        "aws:UserAgent",
        "aws:IsMcpServiceAction",
    }
)
_TAG_PREFIXES = ("aws:requesttag/", "aws:resourcetag/", "aws:principaltag/")
_SERVICE_TAG_PREFIX = "secretsmanager:resourcetag/"
# Multivalued keys (ArrayOfString in the references): ForAllValues belongs with these only.
_MULTIVALUED = frozenset(
    {
        "aws:calledvia",
        "aws:principalorgpaths",
        "aws:principalservicenameslist",
        "aws:resourceorgpaths",
        "aws:sourceorgpaths",
        "aws:tagkeys",
        "aws:vpceorgpaths",
        "secretsmanager:addreplicaregions",
        # A String in the reference, but Secrets Manager's own examples qualify it.
        "secretsmanager:versionstage",
    }
)

_SERVICE = "secretsmanager"
_RESOURCE_TYPE = "Secrets Manager Secret"
_ACTIONS_BY_LOWER = {name.lower(): f"{_SERVICE}:{name}" for name in ACTIONS}
_KNOWN_KEYS = frozenset(k.lower() for k in GLOBAL_CONDITION_KEYS | CONDITION_KEYS)
_PARTITIONS = (
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
)
# Any Region name this server could be configured with (domain.names accepts the same).
_REGION_RE = re.compile(r"^[a-z0-9-]+$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_VARIABLE_RE = re.compile(r"\$\{[^}]*\}")
_ALL_ACTIONS = ("*", f"{_SERVICE}:*")
# service:action as the grammar accepts it (IAM grammar notes, action_string).
_ACTION_RE = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$")
# Condition operator families (IAM User Guide, "Condition operators"); the grammar reports others.
_OPERATOR_RE = re.compile(
    r"^(?:(ForAllValues|ForAnyValue):)?"
    r"(String(?:Not)?(?:Equals(?:IgnoreCase)?|Like)|"
    r"(?:Numeric|Date)(?:(?:Not)?Equals|(?:Less|Greater)Than(?:Equals)?)|"
    r"Bool|BinaryEquals|(?:Not)?IpAddress|Arn(?:Not)?(?:Equals|Like)|Null)(IfExists)?$"
)
# Deny statements that take both of these from everyone leave the policy unchangeable.
_LOCKOUT_ACTIONS = (f"{_SERVICE}:putresourcepolicy", f"{_SERVICE}:deleteresourcepolicy")

_E, _S, _W, _G = (
    FindingKind.ERROR,
    FindingKind.SECURITY_WARNING,
    FindingKind.WARNING,
    FindingKind.SUGGESTION,
)


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _strings(value: Any) -> list[str]:
    """The strings of a string-or-list element; anything else (reported by the grammar) is
    skipped here."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = doc.get("Statement")
    listed = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    return [s for s in listed if isinstance(s, Mapping)]


def _load(text: str) -> Any:
    def reject(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(text, parse_constant=reject)
    except (ValueError, RecursionError):
        return None  # check_policy has reported it


# --- actions ------------------------------------------------------------------------------


def _action_findings(stmt: Mapping[str, Any]) -> Iterator[Finding]:
    key = "Action" if "Action" in stmt else "NotAction"
    actions = _strings(stmt.get(key))
    seen: set[str] = set()
    for action in actions:
        if not _ACTION_RE.match(action):
            continue  # "*" is fine; a malformed action is the grammar's INVALID_ACTION
        service, _, name = action.partition(":")
        if service.lower() != _SERVICE:
            yield Finding(
                "UNSUPPORTED_ACTION_IN_POLICY",
                f"The action {action} is not supported for the resource-based policy attached "
                f"to the resource type {_RESOURCE_TYPE}.",
                _E,
            )
            continue
        if _wild(name):
            pattern = _glob(name)
            if not any(pattern.fullmatch(known) for known in ACTIONS):
                yield Finding("INVALID_ACTION", f"The action {action} does not exist.", _E)
            continue
        if name.lower() not in _ACTIONS_BY_LOWER:
            close = difflib.get_close_matches(name.lower(), list(_ACTIONS_BY_LOWER), n=1)
            hint = f" Did you mean {_ACTIONS_BY_LOWER[close[0]]}?" if close else ""
            yield Finding("INVALID_ACTION", f"The action {action} does not exist.{hint}", _E)
            continue
        lower = action.lower()
        covered = lower in seen or any(
            other != action and _wild(other) and _glob(other).fullmatch(action) for other in actions
        )
        seen.add(lower)
        if covered:
            yield Finding(
                "REDUNDANT_ACTION",
                "The action(s) are redundant because they provide similar permissions. Update "
                f"the policy to remove the redundant action such as: {action}.",
                _G,
            )


# --- principals ---------------------------------------------------------------------------


def _principal_findings(stmt: Mapping[str, Any]) -> Iterator[Finding]:
    if stmt.get("Effect") == "Allow" and "NotPrincipal" in stmt:
        yield Finding(
            "ALLOW_WITH_NOT_PRINCIPAL",
            "Using Allow with NotPrincipal can be overly permissive. We recommend that you use "
            "Principal instead.",
            _S,
        )
    principal = stmt.get("Principal", stmt.get("NotPrincipal"))
    if not isinstance(principal, Mapping):
        return
    for key, ids in principal.items():
        for item in _strings(ids):
            if item != "*" and _wild(item):
                yield Finding(
                    "UNSUPPORTED_WILDCARD_IN_PRINCIPAL",
                    f"Wildcards (*, ?) are not supported with the principal key {key}. Replace "
                    "the wildcard with a valid principal value.",
                    _E,
                )
            elif key == "AWS" and item.startswith("AIDA"):
                yield Finding(
                    "INVALID_USER_REFERENCE",
                    "The Principal element includes the IAM user ID. We recommend that you use "
                    "a user ARN instead.",
                    _W,
                )
            elif key == "AWS" and item.startswith("AROA"):
                yield Finding(
                    "INVALID_ROLE_REFERENCE",
                    "The Principal element includes the IAM role ID. We recommend that you use "
                    "a role ARN instead.",
                    _W,
                )


# --- resources ----------------------------------------------------------------------------


def _arn_finding(resource: str) -> Finding | None:
    """The first problem with a Resource entry in a secret's policy, if any."""
    if resource == "*":
        return None
    if not resource.startswith("arn:"):
        return Finding(
            "INVALID_ARN_PREFIX", "Add the required prefix (arn) to the resource ARN.", _E
        )
    parts = resource.split(":", 6)
    if len(parts) < 6:
        return Finding(
            "MISSING_ARN_FIELD",
            "Resource ARNs must include at least 6 fields in the following structure: "
            "arn:partition:service:region:account:resource",
            _E,
        )
    _, partition, service, region, account = parts[:5]
    rest = ":".join(parts[5:])
    if _wild(service):
        if not _glob(service).fullmatch(_SERVICE):
            return _unsupported_arn()
        return Finding(
            "WILDCARD_IN_SERVICE_NAME",
            "Avoid using wildcards (*, ?) in the service name because it might grant unintended "
            "access to other AWS services with similar names.",
            _G,
        )
    if service != _SERVICE:
        if service.lower() == _SERVICE:
            return Finding(
                "INVALID_ARN_SERVICE_CASE",
                f"Update the service name {service} in the resource ARN to use all lowercase "
                "letters.",
                _E,
            )
        return _unsupported_arn()
    if not _wild(partition) and partition not in _PARTITIONS:
        return Finding(
            "INVALID_PARTITION",
            f"The resource ARN for the service {_SERVICE} does not support the partition "
            f"{partition}. Use the supported values: {', '.join(_PARTITIONS)}",
            _E,
        )
    if region == "":
        return Finding("MISSING_ARN_REGION", f"Add a Region to the {_SERVICE} resource ARN.", _E)
    if not _wild(region) and not _REGION_RE.match(region):
        return Finding(
            "INVALID_ARN_REGION",
            f"The Region {region} is not valid for this resource. Update the resource ARN to "
            "include a supported Region.",
            _E,
        )
    if not _wild(account) and not _ACCOUNT_RE.match(account):
        return Finding(
            "INVALID_ARN_ACCOUNT",
            f"The resource ARN account ID {account} is not valid. Provide a 12-digit account ID.",
            _E,
        )
    named = rest.startswith("secret:") and len(rest) > len("secret:")
    if not named and not (_wild(rest) and _glob(rest).fullmatch("secret:x")):
        return Finding(
            "INVALID_ARN_RESOURCE",
            "Resource ARN does not match the expected ARN format. Update the resource portion "
            "of the ARN.",
            _E,
        )
    return None


def _unsupported_arn() -> Finding:
    return Finding(
        "UNSUPPORTED_RESOURCE_ARN_IN_POLICY",
        "The resource ARN is not supported for the resource-based policy attached to the "
        f"resource type {_RESOURCE_TYPE}.",
        _E,
    )


def _resource_findings(stmt: Mapping[str, Any], secret_arn: str | None) -> Iterator[Finding]:
    key = "Resource" if "Resource" in stmt else "NotResource"
    resources = _strings(stmt.get(key))
    for resource in resources:
        found = _arn_finding(resource)
        if found is not None:
            yield found
    # In a secret's own policy the resource is that secret: a statement naming only other
    # secrets never applies.
    if (
        secret_arn is not None
        and key == "Resource"
        and resources
        and not any(_glob(_VARIABLE_RE.sub("*", r)).fullmatch(secret_arn) for r in resources)
    ):
        yield Finding(
            "RESOURCE_NOT_THIS_SECRET",
            "The statement's resources do not include this secret, so the statement has no "
            'effect. Use "*" or the ARN of the secret.',
            _W,
        )


# --- conditions ---------------------------------------------------------------------------


def _key_finding(key: str) -> Finding | None:
    service, sep, name = key.partition(":")
    if not sep or not service or not name:
        return Finding(
            "INVALID_CONDITION_KEY_FORMAT",
            "The condition key format is not valid. Use the format service:keyname.",
            _E,
        )
    low = key.lower()
    if service.lower() == "aws":
        for prefix in _TAG_PREFIXES:
            if low.startswith(prefix):
                return None if low != prefix else _missing_tag_key()
        if low in ("aws:requesttag", "aws:resourcetag", "aws:principaltag"):
            return _missing_tag_key()
        if low == "aws:arn":
            return Finding(
                "UNSUPPORTED_GLOBAL_CONDITION_KEY",
                "The condition key aws:ARN is not supported. Use aws:PrincipalArn or "
                "aws:SourceArn instead.",
                _E,
            )
        if low in _KNOWN_KEYS:
            return None
        return Finding(
            "INVALID_GLOBAL_CONDITION_KEY",
            f"The condition key {key} does not exist. Use a valid condition key.",
            _E,
        )
    if service.lower() == _SERVICE:
        if low.startswith(_SERVICE_TAG_PREFIX):
            return None if low != _SERVICE_TAG_PREFIX else _missing_tag_key()
        if low in _KNOWN_KEYS:
            return None
        return Finding(
            "INVALID_SERVICE_CONDITION_KEY",
            f"The condition key {key} does not exist in the service {_SERVICE}. Use a valid "
            "condition key.",
            _E,
        )
    return None  # another service's key (ec2:SourceInstanceArn, ...): not ours to judge


def _missing_tag_key() -> Finding:
    return Finding(
        "MISSING_TAG_KEY_IN_CONDITION",
        "The condition key must include a tag key to control access based on tags. Use the "
        "format tag-key and specify a key name for tag-key.",
        _E,
    )


def _number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        Decimal(str(value))
    except InvalidOperation:
        return False
    return True


def _date(value: str | bool | int | float) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float) or value.isdigit():
        return True  # epoch seconds
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _cidr(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _value_finding(base: str, values: list[Any]) -> Finding | None:
    """A value that cannot be compared by the operator family ``base`` (no IfExists/Not)."""
    if base == "Bool" and not all(str(v).lower() in ("true", "false") for v in values):
        return Finding(
            "TYPE_MISMATCH_BOOLEAN",
            f"Add a valid Boolean value (true or false) for the condition operator {base}.",
            _W,
        )
    if base.startswith("Numeric") and not all(_number(v) for v in values):
        return Finding(
            "TYPE_MISMATCH_NUMBER",
            f"Add a valid numeric value for the condition operator {base}.",
            _W,
        )
    if base.startswith("Date") and not all(_date(v) for v in values):
        return Finding(
            "TYPE_MISMATCH_DATE",
            "The date condition operator is used with an invalid value. Specify a valid date "
            "using YYYY-MM-DD or other ISO 8601 date/time format.",
            _W,
        )
    if base.endswith("IpAddress") and not all(_cidr(v) for v in values):
        return Finding(
            "TYPE_MISMATCH_IP_RANGE",
            "The condition operator is used with an invalid IP range value. Specify the IP range "
            "in standard CIDR format.",
            _W,
        )
    if (
        base.startswith("String")
        and "Like" not in base
        and any(isinstance(v, str) and _wild(v) for v in values)
    ):
        return Finding(
            "WILDCARD_WITHOUT_LIKE_OPERATOR",
            "Your condition value includes a * or ? character. If you meant to use a "
            "wildcard (*, ?), update the condition operator to include Like.",
            _W,
        )
    return None


def _condition_findings(stmt: Mapping[str, Any]) -> Iterator[Finding]:
    block = stmt.get("Condition")
    if not isinstance(block, Mapping):
        return
    if not block:
        yield Finding(
            "EMPTY_OBJECT_CONDITION",
            "This condition block is empty and it does not affect the policy. Specify conditions.",
            _G,
        )
        return
    for operator, pairs in block.items():
        parsed = _OPERATOR_RE.match(operator)
        if parsed is None or not isinstance(pairs, Mapping):
            continue  # the grammar's INVALID_CONDITION_OPERATOR or DATA_TYPE_MISMATCH
        qualifier, base = parsed.group(1), parsed.group(2)
        if base == "Null" and qualifier:
            yield Finding(
                "NULL_WITH_QUALIFIER",
                "Avoid using the Null condition operator with the ForAllValues or ForAnyValue "
                "qualifiers because they always return a true or false respectively.",
                _G,
            )
        for key, raw in pairs.items():
            found = _key_finding(key)
            if found is not None:
                yield found
            values = raw if isinstance(raw, list) else [raw]
            if not values or not all(isinstance(v, str | bool | int | float) for v in values):
                continue  # the grammar's DATA_TYPE_MISMATCH
            if (
                qualifier == "ForAllValues"
                and found is None
                and key.lower() in _KNOWN_KEYS
                and key.lower() not in _MULTIVALUED
            ):
                yield Finding(
                    "FORALLVALUES_WITH_SINGLE_VALUED_KEY",
                    f"Using ForAllValues qualifier with the single-valued condition key {key} can "
                    "be overly permissive. We recommend that you remove ForAllValues:.",
                    _S,
                )
            value = _value_finding(base.removeprefix("Not"), values)
            if value is not None:
                yield value


# --- statements ---------------------------------------------------------------------------


def _covers_all(stmt: Mapping[str, Any]) -> bool:
    if "NotAction" in stmt:
        return True
    return any(a.lower() in _ALL_ACTIONS for a in _strings(stmt.get("Action")))


def _broad_finding(stmt: Mapping[str, Any]) -> Finding:
    what = "every Secrets Manager action" if _covers_all(stmt) else "access"
    return Finding(
        "BROAD_ACCESS",
        f"The statement grants {what} to everyone or to any AWS account. Name the principals, "
        "or limit them with a condition on aws:PrincipalAccount, aws:PrincipalOrgID, "
        "aws:SourceAccount, aws:SourceArn, aws:SourceVpc or aws:SourceVpce.",
        _S,
    )


def _locks_out(stmt: Mapping[str, Any], secret_arn: str | None) -> bool:
    """A Deny that takes changing and removing the policy from everyone, unconditionally."""
    if stmt.get("Effect") != "Deny" or "Condition" in stmt:
        return False
    principal = stmt.get("Principal")
    everyone = principal == "*" or (
        isinstance(principal, Mapping) and "*" in _strings(principal.get("AWS"))
    )
    resources = _strings(stmt.get("Resource"))
    this = "*" in resources or (
        secret_arn is not None and any(_glob(r).fullmatch(secret_arn) for r in resources)
    )
    if not everyone or not this:
        return False
    if "NotAction" in stmt:
        excluded = _strings(stmt.get("NotAction"))
        return not any(_glob(p).fullmatch(a) for p in excluded for a in _LOCKOUT_ACTIONS)
    actions = _strings(stmt.get("Action"))
    return all(any(_glob(p).fullmatch(a) for p in actions) for a in _LOCKOUT_ACTIONS)


def _statement_findings(
    stmt: Mapping[str, Any], version: Any, secret_arn: str | None
) -> Iterator[Finding]:
    if stmt.get("Sid") == "":
        yield Finding("EMPTY_SID_VALUE", "Add a value to the empty string in the Sid element.", _G)
    yield from _principal_findings(stmt)
    yield from _action_findings(stmt)
    yield from _resource_findings(stmt, secret_arn)
    yield from _condition_findings(stmt)
    if version == "2008-10-17" and any(
        _VARIABLE_RE.search(text)
        for text in _strings(stmt.get("Resource")) + _strings(stmt.get("NotResource"))
    ):
        yield Finding(
            "VARIABLE_UNSUPPORTED_IN_VERSION",
            "To include variables in your policy, use the policy version 2012-10-17 or later.",
            _E,
        )
    if public_statement(stmt):
        yield _broad_finding(stmt)
    if _locks_out(stmt, secret_arn):
        yield Finding(
            "POLICY_LOCKOUT",
            "The statement denies secretsmanager:PutResourcePolicy and "
            "secretsmanager:DeleteResourcePolicy to every principal, so no one could change or "
            "remove this policy. Narrow the Deny statement.",
            _E,
        )


def findings(text: str, secret_arn: str | None = None) -> list[Finding]:
    """Return every finding for the resource policy ``text``, in policy order.

    First the grammar problems of ``check_policy`` (errors); then, when the text is a JSON
    object, Access Analyzer's checks that apply to a secret policy: missing or old Version,
    unknown Secrets Manager actions and actions of other services, principal wildcards and
    unique IDs, Allow with NotPrincipal, resources that are not secret ARNs (and, when
    ``secret_arn`` is given, statements whose resources cannot match that secret), unknown
    ``aws:`` and ``secretsmanager:`` condition keys, condition values the operator cannot
    compare, redundant actions and statements; and Secrets Manager's own checks: statements that
    grant broad access (``BROAD_ACCESS``, as BlockPublicPolicy decides) and a Deny that would
    lock every caller out of the policy (``POLICY_LOCKOUT``). Never raises for bad input.
    """
    found = [Finding(p.check_name, p.message, _E) for p in check_policy(text)]
    doc = _load(text)
    if not isinstance(doc, Mapping):
        return found
    version = doc.get("Version")
    if "Version" not in doc:
        found.append(
            Finding(
                "MISSING_VERSION",
                "We recommend that you specify the Version element to help you with debugging "
                "permission issues.",
                _W,
            )
        )
    elif version == "2008-10-17":
        found.append(
            Finding(
                "OLD_VERSION",
                "We recommend that you use Version 2012-10-17. Version 2008-10-17 does not "
                "support policy variables.",
                _W,
            )
        )
    seen: list[str] = []
    for stmt in _statements(doc):
        found.extend(_statement_findings(stmt, version, secret_arn))
        body = json.dumps({k: v for k, v in stmt.items() if k != "Sid"}, sort_keys=True)
        if body in seen:
            found.append(
                Finding(
                    "REDUNDANT_STATEMENT",
                    "The statements are redundant because they provide identical permissions. "
                    "Update the policy to remove the redundant statement.",
                    _G,
                )
            )
        seen.append(body)
    return found
