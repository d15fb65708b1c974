"""Secret names, the six-character ARN suffix, and how a SecretId (name, full or partial ARN)
is read and matched against a stored secret.
"""

from __future__ import annotations

import enum
import re
import secrets
import string
from dataclasses import dataclass

from strongroom.errors import Validation

__all__ = [
    "NAME_MAX_LENGTH",
    "SUFFIX_LENGTH",
    "SecretIdKind",
    "SecretRef",
    "matches",
    "parse_secret_id",
    "random_suffix",
    "secret_arn",
    "validate_secret_name",
]

NAME_MAX_LENGTH = 512  # CreateSecret Name is NameType: length 1..512 (service model)
SUFFIX_LENGTH = 6
_SUFFIX_ALPHABET = string.ascii_letters + string.digits

# "The secret name can contain ASCII letters, numbers, and the following characters: /_+=.@-"
# (CreateSecret API reference). AWS's error message also lists "!", but the documented set
# does not, so "!" is refused here.
_NAME_CHARS = re.compile(r"[A-Za-z0-9/_+=.@-]+")
_INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, "
    "or any of the following: -/_+=.@!"
)

_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):secretsmanager:(?P<region>[a-z0-9-]+):"
    r"(?P<account>[0-9]{12}):secret:(?P<resource>[^:]+)"
)
_FULL_RESOURCE = re.compile(rf"(?P<name>.+)-(?P<suffix>[A-Za-z0-9]{{{SUFFIX_LENGTH}}})")


class SecretIdKind(enum.StrEnum):
    """How a SecretId names its secret."""

    NAME = "name"
    FULL_ARN = "full-arn"
    PARTIAL_ARN = "partial-arn"


@dataclass(frozen=True)
class SecretRef:
    """A parsed SecretId. ``name`` is the secret name it denotes (for a full ARN, without the
    suffix); the ARN fields are ``None`` for a plain name, ``suffix`` is ``None`` unless full."""

    kind: SecretIdKind
    raw: str
    name: str
    partition: str | None = None
    region: str | None = None
    account: str | None = None
    suffix: str | None = None


def validate_secret_name(name: str) -> None:
    """Accept a name for CreateSecret: 1..512 characters from ``A-Za-z0-9/_+=.@-``.

    Raises ``Validation`` otherwise. AWS answers an invalid name with ValidationException and
    the "Invalid name..." text (observed against AWS by LocalStack's AWS-validated tests).
    Names ending in a hyphen and six characters are accepted: the docs only advise against
    them (they confuse partial-ARN lookups), and AWS's troubleshooting page shows one existing.
    """
    if len(name) < 1:
        raise Validation(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1"
        )
    if len(name) > NAME_MAX_LENGTH:
        raise Validation(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
            f"constraint: Member must have length less than or equal to {NAME_MAX_LENGTH}"
        )
    if not _NAME_CHARS.fullmatch(name):
        raise Validation(_INVALID_NAME)


def random_suffix() -> str:
    """Return six random ASCII letters and digits, the tail AWS appends to a secret's ARN."""
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))


def secret_arn(region: str, account: str, name: str, suffix: str, *, partition: str = "aws") -> str:
    """Format a secret ARN: ``arn:aws:secretsmanager:{region}:{account}:secret:{name}-{suffix}``."""
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-{suffix}"


def parse_secret_id(secret_id: str) -> SecretRef:
    """Read a SecretId as a plain name, a full ARN, or a partial ARN (no random suffix).

    An ARN whose resource ends in a hyphen and six letters or digits is taken as a full ARN,
    as AWS does ("those characters cause Secrets Manager to assume that you're specifying a
    complete ARN", SecretId docs / troubleshoot.html#ARN_secretnamehyphen). A string starting
    with ``arn:`` that is not a Secrets Manager secret ARN is kept as a NAME ref: no secret
    has such a name (``:`` is not allowed), so it resolves to nothing. Any other id must use
    the name characters, else ``Validation`` is raised as AWS does for every SecretId.
    """
    found = _ARN.fullmatch(secret_id)
    if found is None:
        if not secret_id.startswith("arn:") and not _NAME_CHARS.fullmatch(secret_id):
            raise Validation(_INVALID_NAME)
        return SecretRef(kind=SecretIdKind.NAME, raw=secret_id, name=secret_id)
    resource = found["resource"]
    full = _FULL_RESOURCE.fullmatch(resource)
    return SecretRef(
        kind=SecretIdKind.PARTIAL_ARN if full is None else SecretIdKind.FULL_ARN,
        raw=secret_id,
        name=resource if full is None else full["name"],
        partition=found["partition"],
        region=found["region"],
        account=found["account"],
        suffix=None if full is None else full["suffix"],
    )


def matches(ref: SecretRef, name: str, arn: str) -> bool:
    """Say whether ``ref`` denotes the secret called ``name`` whose ARN is ``arn``.

    A name matches the name exactly (case-sensitive; a name with the random suffix added does
    not match, per the SecretId docs). A full ARN matches the ARN exactly. A partial ARN
    matches when it is the ARN without its ``-`` and six-character suffix; several secrets
    may then match, and the caller decides what an ambiguous id means.
    """
    if ref.kind is SecretIdKind.NAME:
        return name == ref.name
    if ref.kind is SecretIdKind.FULL_ARN:
        return arn == ref.raw
    return (
        name == ref.name
        and len(arn) == len(ref.raw) + 1 + SUFFIX_LENGTH
        and arn.startswith(ref.raw + "-")
    )
