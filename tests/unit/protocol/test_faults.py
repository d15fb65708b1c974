"""Every error code the service model names is produced by some error class, and every
error class maps to a code."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

from strongroom import errors
from strongroom.protocol.faults import CODES, fault

MODEL = Path(errors.__file__).parent / "protocol" / "secretsmanager-2017-10-17.json"


def _error_classes() -> list[type[errors.ServiceError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.ServiceError)
    ]


def test_every_model_error_code_has_a_class() -> None:
    """Each error shape in the botocore model is the code of at least one error class."""
    model = json.loads(MODEL.read_text())
    model_codes = {
        name for name, shape in model["shapes"].items() if shape.get("exception") is True
    }
    produced = {code for _, code in CODES.values()}
    assert model_codes, "the model should declare error shapes"
    assert model_codes - produced == set()


def test_every_error_class_has_a_code() -> None:
    """No ServiceError subclass falls through to the generic 500 by accident."""
    for cls in _error_classes():
        if cls in (errors.ServiceError, errors.InternalError, errors.Unavailable):
            continue
        status, code = fault(cls())
        assert status < 500, cls
        assert code != "InternalServiceError", cls


def test_most_specific_class_wins() -> None:
    """A subclass's own entry beats its parent's."""
    assert fault(errors.Serialization("x")) == (400, "SerializationException")
    assert fault(errors.Validation("x")) == (400, "ValidationException")
    assert fault(errors.UnrecognizedClient()) == (400, "UnrecognizedClientException")
    assert fault(errors.NotFound()) == (400, "ResourceNotFoundException")


def test_unexpected_errors_are_internal() -> None:
    """The base class and InternalError are 500 InternalServiceError."""
    assert fault(errors.InternalError()) == (500, "InternalServiceError")


def test_unavailable_is_a_retryable_503() -> None:
    """A store outage is 503 ServiceUnavailable, which SDKs retry."""
    assert fault(errors.Unavailable()) == (503, "ServiceUnavailableException")


def test_default_messages_are_present() -> None:
    """Every error class carries a non-empty default message for clients."""
    for cls in _error_classes():
        assert cls().message
