"""ServiceError -> (HTTP status, AWS error code). The most specific class wins."""

from __future__ import annotations

from strongroom import errors

__all__ = [
    "CODES",
    "KMS_CODES",
    "LAMBDA_CODES",
    "QUERY_CODES",
    "fault",
    "kms_fault",
    "lambda_fault",
    "query_fault",
]

_Table = dict[type[errors.ServiceError], tuple[int, str]]


def _nearest(
    exc: errors.ServiceError, tables: tuple[_Table, ...], default: tuple[int, str]
) -> tuple[int, str]:
    """The entry of ``exc``'s nearest class in its MRO found in ``tables`` (at one class, the
    earlier table wins); ``default`` when no class has one."""
    for cls in type(exc).__mro__:
        for table in tables:
            found = table.get(cls)
            if found is not None:
                return found
    return default


# Ordered from specific to general is not needed: lookup walks the class's MRO.
CODES: dict[type[errors.ServiceError], tuple[int, str]] = {
    errors.NotFound: (400, "ResourceNotFoundException"),
    errors.AlreadyExists: (400, "ResourceExistsException"),
    errors.InvalidRequest: (400, "InvalidRequestException"),
    errors.InvalidParameter: (400, "InvalidParameterException"),
    errors.InvalidNextToken: (400, "InvalidNextTokenException"),
    errors.LimitExceeded: (400, "LimitExceededException"),
    errors.MalformedPolicy: (400, "MalformedPolicyDocumentException"),
    errors.PublicPolicy: (400, "PublicPolicyException"),
    errors.PreconditionNotMet: (400, "PreconditionNotMetException"),
    errors.EncryptionFailed: (400, "EncryptionFailure"),
    errors.DecryptionFailed: (400, "DecryptionFailure"),
    # Not an AWS code: operations that arrive in later releases say so plainly, with a
    # code botocore surfaces as ClientError like any other.
    errors.NotSupported: (400, "InvalidRequestException"),
    errors.InputError: (400, "ValidationException"),
    errors.Serialization: (400, "SerializationException"),
    errors.Validation: (400, "ValidationException"),
    errors.UnknownOperation: (400, "UnknownOperationException"),
    errors.RequestTooLarge: (413, "RequestEntityTooLargeException"),
    errors.AuthError: (403, "AccessDeniedException"),
    errors.MissingAuthentication: (403, "MissingAuthenticationTokenException"),
    errors.IncompleteSignature: (400, "IncompleteSignatureException"),
    errors.UnrecognizedClient: (400, "UnrecognizedClientException"),
    errors.InvalidSignature: (400, "InvalidSignatureException"),
    errors.ExpiredToken: (400, "ExpiredTokenException"),
    errors.AccessDenied: (400, "AccessDeniedException"),
    # Not in the Secrets Manager model (its one server fault is InternalServiceError): the
    # code a sealed server answers with too (http/sealed.py); SDKs retry a 503.
    errors.Unavailable: (503, "ServiceUnavailableException"),
    errors.InternalError: (500, "InternalServiceError"),
    errors.ServiceError: (500, "InternalServiceError"),
}


def fault(exc: errors.ServiceError) -> tuple[int, str]:
    """The status and code for ``exc``: the entry of its nearest class in the MRO."""
    return _nearest(exc, (CODES,), (500, "InternalServiceError"))


# The query protocol (IAM, STS) names the same meanings with its own codes and statuses.
QUERY_CODES: dict[type[errors.ServiceError], tuple[int, str]] = {
    errors.NotFound: (404, "NoSuchEntity"),
    errors.AlreadyExists: (409, "EntityAlreadyExists"),
    errors.LimitExceeded: (409, "LimitExceeded"),
    errors.MalformedPolicy: (400, "MalformedPolicyDocument"),
    errors.InvalidParameter: (400, "InvalidInput"),
    errors.InvalidRequest: (400, "InvalidInput"),
    errors.InvalidNextToken: (400, "InvalidInput"),
    errors.PublicPolicy: (400, "InvalidInput"),
    errors.EncryptionFailed: (400, "InvalidInput"),
    errors.DecryptionFailed: (400, "InvalidInput"),
    errors.PreconditionNotMet: (409, "DeleteConflict"),
    errors.InputError: (400, "ValidationError"),
    errors.UnknownOperation: (400, "InvalidAction"),
    errors.NotSupported: (400, "InvalidAction"),
    errors.RequestTooLarge: (413, "RequestEntityTooLarge"),
    errors.MissingAuthentication: (403, "MissingAuthenticationToken"),
    errors.IncompleteSignature: (400, "IncompleteSignature"),
    errors.UnrecognizedClient: (403, "InvalidClientTokenId"),
    errors.InvalidSignature: (403, "SignatureDoesNotMatch"),
    errors.ExpiredToken: (403, "ExpiredToken"),
    errors.AuthError: (403, "AccessDenied"),
    errors.AccessDenied: (403, "AccessDenied"),
    errors.Unavailable: (503, "ServiceUnavailable"),
    errors.InternalError: (500, "InternalFailure"),
    errors.ServiceError: (500, "InternalFailure"),
}


def query_fault(exc: errors.ServiceError) -> tuple[int, str]:
    """The query protocol's status and code for ``exc`` (nearest class in the MRO)."""
    return _nearest(exc, (QUERY_CODES,), (500, "InternalFailure"))


# KMS (JSON 1.1, target TrentService) names some meanings its own way; the rest (signature,
# throttling, validation) are the Secrets Manager codes above.
KMS_CODES: dict[type[errors.ServiceError], tuple[int, str]] = {
    errors.NotFound: (400, "NotFoundException"),
    errors.AlreadyExists: (400, "AlreadyExistsException"),
    errors.InvalidRequest: (400, "KMSInvalidStateException"),
    errors.Disabled: (400, "DisabledException"),
    errors.InvalidParameter: (400, "ValidationException"),
    errors.InvalidName: (400, "InvalidAliasNameException"),
    errors.IncorrectKey: (400, "IncorrectKeyException"),
    errors.InvalidToken: (400, "InvalidGrantTokenException"),
    errors.InvalidNextToken: (400, "InvalidMarkerException"),
    errors.DecryptionFailed: (400, "InvalidCiphertextException"),
    errors.EncryptionFailed: (500, "KMSInternalException"),
    errors.NotSupported: (400, "UnsupportedOperationException"),
    errors.InternalError: (500, "KMSInternalException"),
}


def kms_fault(exc: errors.ServiceError) -> tuple[int, str]:
    """KMS's status and code for ``exc``: the nearest class in the MRO with an entry in
    either table, KMS's first."""
    return _nearest(exc, (KMS_CODES, CODES), (500, "KMSInternalException"))


# Lambda (REST JSON) names meanings its own way and uses HTTP statuses; authentication
# failures keep the codes of the rest of the server (the table above).
LAMBDA_CODES: dict[type[errors.ServiceError], tuple[int, str]] = {
    errors.NotFound: (404, "ResourceNotFoundException"),
    errors.AlreadyExists: (409, "ResourceConflictException"),
    errors.InvalidRequest: (400, "InvalidParameterValueException"),
    errors.StaleRevision: (412, "PreconditionFailedException"),
    errors.InvalidParameter: (400, "InvalidParameterValueException"),
    errors.InvalidNextToken: (400, "InvalidParameterValueException"),
    errors.LimitExceeded: (400, "PolicyLengthExceededException"),
    errors.MalformedPolicy: (400, "InvalidParameterValueException"),
    errors.PublicPolicy: (400, "PublicPolicyException"),
    errors.PreconditionNotMet: (400, "InvalidParameterValueException"),
    errors.EncryptionFailed: (500, "ServiceException"),
    errors.DecryptionFailed: (500, "ServiceException"),
    errors.NotSupported: (400, "InvalidParameterValueException"),
    errors.Serialization: (400, "InvalidRequestContentException"),
    errors.RequestTooLarge: (413, "RequestTooLargeException"),
    errors.AccessDenied: (403, "AccessDeniedException"),
    errors.InternalError: (500, "ServiceException"),
}


def lambda_fault(exc: errors.ServiceError) -> tuple[int, str]:
    """Lambda's status and code for ``exc``: the nearest class in the MRO with an entry in
    either table, Lambda's first."""
    return _nearest(exc, (LAMBDA_CODES, CODES), (500, "ServiceException"))
