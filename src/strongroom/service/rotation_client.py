"""An in-process, boto3-like Secrets Manager client for built-in rotation functions.

It calls SecretsService directly, acting as the account's administrator user (the
``admin`` user every account is created with), the way a Lambda rotation function acts with
its execution role: the calls are authorized and audited like any other caller's. Keyword
arguments and response dicts follow boto3; errors are :class:`ClientError` with boto3's
``response["Error"]["Code"]`` and ``client.exceptions.<Code>`` classes.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from strongroom.errors import (
    AccessDenied,
    AlreadyExists,
    InvalidParameter,
    InvalidRequest,
    NotFound,
    ServiceError,
)
from strongroom.service.context import Principal, RequestContext
from strongroom.service.rotation import ROTATION_USER
from strongroom.service.secrets import SecretsService

__all__ = ["ClientError", "RotationClient"]


class ClientError(Exception):
    """Like botocore's ClientError: ``response["Error"]`` holds Code and Message."""

    code = "InternalServiceError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.response = {"Error": {"Code": self.code, "Message": message}}


class ResourceNotFoundException(ClientError):
    code = "ResourceNotFoundException"


class InvalidParameterException(ClientError):
    code = "InvalidParameterException"


class InvalidRequestException(ClientError):
    code = "InvalidRequestException"


class ResourceExistsException(ClientError):
    code = "ResourceExistsException"


class AccessDeniedException(ClientError):
    code = "AccessDeniedException"


class _Exceptions:
    ClientError = ClientError
    ResourceNotFoundException = ResourceNotFoundException
    InvalidParameterException = InvalidParameterException
    InvalidRequestException = InvalidRequestException
    ResourceExistsException = ResourceExistsException
    AccessDeniedException = AccessDeniedException


_CODES: list[tuple[type[ServiceError], type[ClientError]]] = [
    (NotFound, ResourceNotFoundException),
    (AlreadyExists, ResourceExistsException),
    (InvalidParameter, InvalidParameterException),
    (InvalidRequest, InvalidRequestException),
    (AccessDenied, AccessDeniedException),
]


def _client_error(exc: ServiceError) -> ClientError:
    for kind, error in _CODES:
        if isinstance(exc, kind):
            return error(exc.message)
    return ClientError(exc.message)


class RotationClient:
    """The subset of boto3's secretsmanager client that rotation functions use."""

    exceptions = _Exceptions

    def __init__(self, secrets: SecretsService, account_id: str, region: str) -> None:
        self._secrets = secrets
        self._account_id = account_id
        self._region = region

    def _ctx(self) -> RequestContext:
        principal = Principal(self._account_id, ROTATION_USER, "strongroom-rotation")
        return RequestContext(principal, self._region, f"rotation-{uuid.uuid4()}")

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._secrets, method)(self._ctx(), **kwargs)
        except ServiceError as exc:
            raise _client_error(exc) from None

    def describe_secret(self, *, SecretId: str) -> dict[str, Any]:
        meta = self._call("describe_secret", secret_id=SecretId)
        return {
            "ARN": meta.arn,
            "Name": meta.name,
            "VersionIdsToStages": meta.versions_to_stages,
            "RotationEnabled": bool(meta.rotation_enabled),
        }

    def get_secret_value(
        self,
        *,
        SecretId: str,
        VersionId: str | None = None,
        VersionStage: str | None = None,
    ) -> dict[str, Any]:
        v = self._call(
            "get_secret_value", secret_id=SecretId, version_id=VersionId, version_stage=VersionStage
        )
        out: dict[str, Any] = {
            "ARN": v.arn,
            "Name": v.name,
            "VersionId": v.version_id,
            "VersionStages": v.stages,
        }
        if v.string is not None:
            out["SecretString"] = v.string
        if v.binary is not None:
            out["SecretBinary"] = v.binary
        return out

    def put_secret_value(
        self,
        *,
        SecretId: str,
        ClientRequestToken: str | None = None,
        SecretString: str | None = None,
        SecretBinary: bytes | str | None = None,
        VersionStages: list[str] | None = None,
    ) -> dict[str, Any]:
        binary = base64.b64decode(SecretBinary) if isinstance(SecretBinary, str) else SecretBinary
        arn, name, version_id, stages = self._call(
            "put_secret_value",
            secret_id=SecretId,
            client_request_token=ClientRequestToken,
            secret_string=SecretString,
            secret_binary=binary,
            version_stages=VersionStages,
        )
        return {"ARN": arn, "Name": name, "VersionId": version_id, "VersionStages": stages}

    def update_secret_version_stage(
        self,
        *,
        SecretId: str,
        VersionStage: str,
        MoveToVersionId: str | None = None,
        RemoveFromVersionId: str | None = None,
    ) -> dict[str, Any]:
        arn, name = self._call(
            "update_secret_version_stage",
            secret_id=SecretId,
            version_stage=VersionStage,
            move_to_version_id=MoveToVersionId,
            remove_from_version_id=RemoveFromVersionId,
        )
        return {"ARN": arn, "Name": name}

    def get_random_password(self, **kwargs: Any) -> dict[str, Any]:
        args = {_snake(k): v for k, v in kwargs.items()}
        return {"RandomPassword": self._call("get_random_password", **args)}


def _snake(member: str) -> str:
    out = []
    for i, ch in enumerate(member):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
