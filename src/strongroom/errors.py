"""The one error tree: each class is a meaning, never an HTTP status or an AWS code.

    ServiceError
    ├── NotFound                 the secret, version or label does not exist
    ├── AlreadyExists            name taken, or a request token reused with another value
    ├── InvalidRequest           the call is not valid for the resource's current state
    │   ├── Disabled             the key (or resource) is disabled
    │   └── StaleRevision        the caller named a revision that is no longer current
    ├── InvalidParameter         a parameter value is not acceptable
    │   ├── InvalidName          a name breaks the naming rules (e.g. a KMS alias)
    │   ├── IncorrectKey         the ciphertext was not made under the key the caller named
    │   └── InvalidToken         a grant token (or similar bearer value) is not valid
    ├── InvalidNextToken         a pagination token we did not issue
    ├── LimitExceeded            a quota (versions, tags, labels) would be exceeded
    ├── MalformedPolicy          a resource policy that does not parse or validate
    ├── PublicPolicy             BlockPublicPolicy refused a policy granting wide access
    ├── PreconditionNotMet       a prerequisite step (e.g. removing replicas) is missing
    ├── EncryptionFailed         the key service could not seal a value
    ├── DecryptionFailed         the key service could not open a value (one opaque message)
    ├── NotSupported             an operation this release does not offer yet
    ├── InputError               the request could not be read as the operation's input
    │   ├── Serialization        malformed JSON, wrong JSON types, unknown members
    │   └── Validation           model constraints: required, length, range, enum, pattern
    ├── UnknownOperation         the target names no operation we serve
    ├── RequestTooLarge          the body is larger than any valid request
    ├── AuthError                authentication failed (SigV4)
    │   ├── MissingAuthentication
    │   ├── IncompleteSignature
    │   ├── UnrecognizedClient   the access key is unknown or inactive
    │   └── InvalidSignature     wrong signature, expired or not yet current
    ├── AccessDenied             authenticated but not allowed
    ├── Unavailable              the store cannot be reached now; the client may retry
    └── InternalError            anything unexpected; logged with the request id

Messages are shown to clients: they must never contain a secret value or key material.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AlreadyExists",
    "AuthError",
    "DecryptionFailed",
    "Disabled",
    "EncryptionFailed",
    "ExpiredToken",
    "IncompleteSignature",
    "IncorrectKey",
    "InputError",
    "InternalError",
    "InvalidName",
    "InvalidNextToken",
    "InvalidParameter",
    "InvalidRequest",
    "InvalidSignature",
    "InvalidToken",
    "LimitExceeded",
    "MalformedPolicy",
    "MissingAuthentication",
    "NotFound",
    "NotSupported",
    "PreconditionNotMet",
    "PublicPolicy",
    "RequestTooLarge",
    "Serialization",
    "ServiceError",
    "StaleRevision",
    "Unavailable",
    "UnknownOperation",
    "UnrecognizedClient",
    "Validation",
]


class ServiceError(Exception):
    """Base of every error a client may see; ``message`` is safe to show."""

    default_message = "An error occurred."

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)


class NotFound(ServiceError):
    default_message = "Secrets Manager can't find the specified secret."


class AlreadyExists(ServiceError):
    default_message = "The resource already exists."


class InvalidRequest(ServiceError):
    default_message = "The request is not valid for the current state of the resource."


class InvalidParameter(ServiceError):
    default_message = "The parameter name or value is invalid."


class Disabled(InvalidRequest):
    default_message = "The specified key is disabled."


class StaleRevision(InvalidRequest):
    default_message = "The revision named in the request is not the latest revision."


class InvalidName(InvalidParameter):
    default_message = "The name is not valid."


class IncorrectKey(InvalidParameter):
    default_message = "The key ID in the request does not identify the key used to encrypt."


class InvalidToken(InvalidParameter):
    default_message = "The token is not valid."


class InvalidNextToken(ServiceError):
    default_message = "The NextToken value is invalid."


class LimitExceeded(ServiceError):
    default_message = (
        "The request failed because it would exceed one of the Secrets Manager quotas."
    )


class MalformedPolicy(ServiceError):
    default_message = "The resource policy has syntax errors."


class PublicPolicy(ServiceError):
    default_message = (
        "The BlockPublicPolicy parameter is set to true, and the resource policy did not "
        "prevent broad access to the secret."
    )


class PreconditionNotMet(ServiceError):
    default_message = "The request failed because you did not complete all the prerequisite steps."


class EncryptionFailed(ServiceError):
    default_message = (
        "Secrets Manager can't encrypt the protected secret text using the provided KMS key."
    )


class DecryptionFailed(ServiceError):
    default_message = (
        "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
    )


class Unavailable(ServiceError):
    """The store could not be reached, or the connection broke mid-transaction: the
    transaction was not committed (unless it broke during COMMIT) and the client may retry."""

    default_message = "The service is temporarily unavailable. Retry the request."


class NotSupported(ServiceError):
    default_message = "This operation is not supported by this Strongroom release."


class InputError(ServiceError):
    """The request body could not be read as the operation's input."""


class Serialization(InputError):
    default_message = "The request body could not be parsed."


class Validation(InputError):
    default_message = "1 validation error detected."


class UnknownOperation(ServiceError):
    default_message = "The operation is not recognized."


class RequestTooLarge(ServiceError):
    default_message = "Request entity too large."


class AuthError(ServiceError):
    """Authentication failed; the subclass says how."""


class MissingAuthentication(AuthError):
    default_message = "Missing Authentication Token"


class IncompleteSignature(AuthError):
    default_message = "The request signature does not conform to AWS standards."


class UnrecognizedClient(AuthError):
    default_message = "The security token included in the request is invalid."


class ExpiredToken(AuthError):
    default_message = "The security token included in the request is expired"


class InvalidSignature(AuthError):
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details."
    )


class AccessDenied(ServiceError):
    default_message = "You do not have sufficient access to perform this action."


class InternalError(ServiceError):
    default_message = "An error occurred on the server side."
