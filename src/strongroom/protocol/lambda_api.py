"""The Lambda subset on the wire (REST JSON, botocore's ``lambda`` client): which service
method serves each operation, where it runs, and how its result becomes the response.

``lambda-2015-03-31.json`` is botocore's model cut down to the served operations and the
shapes they reach, documentation removed, and two limits set to Lambda's documented ones
where the model now allows more for features not served here: Timeout at most 900 seconds
and MemorySize at most 10,240 MB.
"""

from __future__ import annotations

import base64
import importlib.resources
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from strongroom.protocol.restjson import RestJsonModel
from strongroom.protocol.shapes import ServiceModel

__all__ = ["MODEL_FILE", "OPERATIONS", "LambdaOperation", "configuration", "load_model"]

MODEL_FILE = "lambda-2015-03-31.json"
LATEST = "$LATEST"

# read: inline (SQLite readers never wait); write: the writer thread; invoke: the
# bounded invocation pool (a function may run for minutes).
Where = Literal["read", "write", "invoke"]


@dataclass(frozen=True, slots=True)
class LambdaOperation:
    method: str
    where: Where
    output: Callable[[Any], dict[str, Any]]


def configuration(fn: Any) -> dict[str, Any]:
    """FunctionConfiguration for a service ``FunctionView``."""
    out: dict[str, Any] = {
        "FunctionName": fn.name,
        "FunctionArn": fn.arn,
        "Runtime": fn.runtime,
        "Role": fn.role,
        "Handler": fn.handler,
        "CodeSize": fn.code_size,
        "Description": fn.description,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory_size,
        "LastModified": fn.last_modified,
        "CodeSha256": fn.code_sha256,
        "Version": LATEST,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": fn.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn.name}"},
    }
    if fn.environment is not None:
        out["Environment"] = {"Variables": dict(fn.environment)}
    return out


def _get_function(fn: Any) -> dict[str, Any]:
    # No code download: Location would be a pre-signed S3 URL on AWS (docs/compatibility.md).
    return {"Configuration": configuration(fn), "Code": {"RepositoryType": "S3"}}


def _list(result: tuple[list[Any], str | None]) -> dict[str, Any]:
    functions, marker = result
    out: dict[str, Any] = {"Functions": [configuration(f) for f in functions]}
    if marker is not None:
        out["NextMarker"] = marker
    return out


def _invoke(outcome: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"StatusCode": outcome.status, "Payload": outcome.payload}
    if outcome.status == 200:
        out["ExecutedVersion"] = LATEST
    if outcome.function_error is not None:
        out["FunctionError"] = outcome.function_error
    if outcome.log_tail is not None:
        out["LogResult"] = base64.b64encode(outcome.log_tail.encode()).decode()
    return out


def _policy(result: tuple[str, str]) -> dict[str, Any]:
    return {"Policy": result[0], "RevisionId": result[1]}


def _deleted(_: object) -> dict[str, Any]:
    return {"StatusCode": 204}


def _empty(_: object) -> dict[str, Any]:
    return {}


OPERATIONS: Mapping[str, LambdaOperation] = {
    "CreateFunction": LambdaOperation("create_function", "write", configuration),
    "GetFunction": LambdaOperation("get_function", "read", _get_function),
    "GetFunctionConfiguration": LambdaOperation(
        "get_function_configuration", "read", configuration
    ),
    "ListFunctions": LambdaOperation("list_functions", "read", _list),
    "UpdateFunctionCode": LambdaOperation("update_function_code", "write", configuration),
    "UpdateFunctionConfiguration": LambdaOperation(
        "update_function_configuration", "write", configuration
    ),
    "DeleteFunction": LambdaOperation("delete_function", "write", _deleted),
    "Invoke": LambdaOperation("invoke", "invoke", _invoke),
    "AddPermission": LambdaOperation(
        "add_permission", "write", lambda statement: {"Statement": statement}
    ),
    "RemovePermission": LambdaOperation("remove_permission", "write", _empty),
    "GetPolicy": LambdaOperation("get_policy", "read", _policy),
}


def load_model() -> RestJsonModel:
    """The vendored, cut-down Lambda model, compiled."""
    text = importlib.resources.files(__package__).joinpath(MODEL_FILE).read_text("utf-8")
    return RestJsonModel(ServiceModel(json.loads(text), overrides={}))
