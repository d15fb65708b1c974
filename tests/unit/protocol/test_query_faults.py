"""Every error class has a query-protocol code, and IAM/STS model codes line up."""

from __future__ import annotations

import inspect

from strongroom import errors
from strongroom.protocol.faults import query_fault
from strongroom.protocol.query import QueryModel


def test_every_error_class_has_a_query_code() -> None:
    """No ServiceError subclass falls through to InternalFailure by accident."""
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if not issubclass(cls, errors.ServiceError) or cls in (
            errors.ServiceError,
            errors.InternalError,
            errors.Unavailable,
        ):
            continue
        status, code = query_fault(cls())
        assert status < 500 and code != "InternalFailure", cls


def test_auth_errors_use_query_codes() -> None:
    """Authentication failures use the codes STS and IAM clients expect."""
    assert query_fault(errors.UnrecognizedClient()) == (403, "InvalidClientTokenId")
    assert query_fault(errors.InvalidSignature()) == (403, "SignatureDoesNotMatch")
    assert query_fault(errors.MissingAuthentication()) == (403, "MissingAuthenticationToken")


def test_entity_codes_exist_in_the_iam_model() -> None:
    """The IAM codes we map meanings to are codes the IAM model declares."""
    iam = QueryModel.load("iam")
    for exc in (errors.NotFound(), errors.AlreadyExists(), errors.MalformedPolicy()):
        assert query_fault(exc)[1] in iam.errors
