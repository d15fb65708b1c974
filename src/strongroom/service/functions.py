"""The Lambda-compatible function API (the rotation-function runtime): CreateFunction,
GetFunction, ListFunctions, Update..., DeleteFunction, Invoke, AddPermission,
RemovePermission, GetPolicy, and the resolver that lets RotateSecret name a stored function.

Every call is authorized as ``lambda:<Action>`` on
``arn:aws:lambda:{region}:{account}:function:{name}`` with the function policy as the
resource policy. A function runs in a separate process (``FunctionRunner``) with temporary
credentials for its execution role, minted as STS AssumeRole mints them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from strongroom.clock import Clock
from strongroom.crypto.rootkey import RootKey
from strongroom.domain import policy as policy_lang
from strongroom.errors import (
    AccessDenied,
    AlreadyExists,
    InternalError,
    InvalidParameter,
    LimitExceeded,
    MalformedPolicy,
    NotFound,
    NotSupported,
    RequestTooLarge,
    Serialization,
    StaleRevision,
)
from strongroom.functions import Credentials, FunctionRunner, FunctionSpec, InvalidCode
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.service.identity import Identity, NewSession
from strongroom.service.paging import decode_token, encode_token
from strongroom.service.rotation import CANNOT_INVOKE
from strongroom.storage.base import FunctionRecord, Storage

__all__ = [
    "CANNOT_ASSUME",
    "FunctionFailed",
    "FunctionView",
    "FunctionsService",
    "InvokeOutcome",
]

log = logging.getLogger("strongroom.functions")

CANNOT_ASSUME = "The role defined for the function cannot be assumed by Lambda."
SECRETS_MANAGER = "secretsmanager.amazonaws.com"
_LAMBDA_SERVICE = "lambda.amazonaws.com"
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# name | account:function:name | arn:aws:lambda:region:account:function:name, + :qualifier
_REFERENCE = re.compile(
    r"(?:(?:arn:aws:lambda:(?P<region>[a-z0-9-]+):)?(?P<account>\d{12}):function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>[a-zA-Z0-9$_-]+))?"
)
_ROLE = re.compile(r"arn:aws:iam::(\d{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]{1,64})")
_PYTHON = re.compile(r"python3\.\d+")
_ERROR_TYPE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
LATEST = "$LATEST"
_MAX_UNZIPPED = 262_144_000
_MAX_ENVIRONMENT = 4096
_MAX_POLICY = 20_480
_MAX_SYNC_PAYLOAD = 6_291_456
_MAX_EVENT_PAYLOAD = 262_144
_PAGE = 50
_SESSION_SECONDS = 3600
_RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)
_STALE = (
    "The Revision Id provided does not match the latest Revision Id. Call the "
    "GetFunction/GetAlias API to retrieve the latest Revision Id"
)
_ENV_TOO_LARGE = (
    "Lambda was unable to configure your environment variables because the environment "
    "variables you have provided exceeded the 4KB limit."
)
# Members of the model this release does not serve: refused unless absent or the default.
_DEFAULTS: Mapping[str, object] = {
    "publish": False,
    "package_type": "Zip",
    "architectures": ["x86_64"],
    "dry_run": False,
    "function_version": None,
    "master_region": None,
}


class FunctionFailed(Exception):
    """A function ended with an error. Carries only Lambda's ``errorType`` (an exception
    class name), never the message, which may quote a secret value."""

    def __init__(self, error_type: str) -> None:
        self.error_type = error_type if _ERROR_TYPE.fullmatch(error_type) else "Unhandled"
        super().__init__(self.error_type)


@dataclass(frozen=True, slots=True)
class FunctionView:
    """A function's configuration as the API shows it (no code)."""

    arn: str
    name: str
    runtime: str
    role: str
    handler: str
    description: str
    timeout: int
    memory_size: int
    environment: Mapping[str, str] | None
    code_sha256: str
    code_size: int
    revision_id: str
    last_modified: str  # Lambda's "2024-01-01T00:00:00.000+0000"


@dataclass(frozen=True, slots=True)
class InvokeOutcome:
    """What Invoke answers: the status (200, 202 Event, 204 DryRun), the payload, Lambda's
    X-Amz-Function-Error and the log tail (LogType Tail only)."""

    status: int
    payload: bytes
    function_error: str | None = None
    log_tail: str | None = None


@dataclass(frozen=True, slots=True)
class _Ref:
    account: str
    name: str
    arn: str


def _lambda_time(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _unsupported(given: Mapping[str, Any]) -> None:
    for key, value in given.items():
        if value is None or _DEFAULTS.get(key, object()) == value:
            continue
        wire = "".join(part[:1].upper() + part[1:] for part in key.split("_"))
        raise NotSupported(f"{wire} is not supported by this Strongroom server.")


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InvalidParameter(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    if total > _MAX_UNZIPPED:
        raise InvalidParameter(f"Unzipped size must be smaller than {_MAX_UNZIPPED} bytes")


def _check_environment(variables: Mapping[str, str]) -> None:
    reserved = sorted(k for k in variables if k in _RESERVED)
    if reserved:
        raise InvalidParameter(
            "Lambda was unable to configure your environment variables because the "
            "environment variables you have provided contains reserved keys that are "
            f"currently not supported for modification. Reserved keys used in this request: "
            f"{','.join(reserved)}"
        )
    if len(json.dumps(dict(variables), separators=(",", ":")).encode()) > _MAX_ENVIRONMENT:
        raise InvalidParameter(_ENV_TOO_LARGE)


def _principal(text: str) -> object:
    """AddPermission's Principal as the policy statement holds it."""
    if text == "*":
        return "*"
    if re.fullmatch(r"\d{12}", text):
        return {"AWS": f"arn:aws:iam::{text}:root"}
    if text.startswith(("arn:aws:iam::", "arn:aws:sts::")):
        return {"AWS": text}
    if re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com", text):
        return {"Service": text}
    raise InvalidParameter("The provided principal was invalid. Please check the principal ID.")


def _service_may_invoke(document: str | None, service: str) -> bool:
    """Whether some Allow statement lets Principal Service ``service`` (or everyone) invoke,
    whatever its conditions (they are judged at each invocation)."""
    if not document:
        return False
    try:
        statements = json.loads(document).get("Statement", [])
    except (ValueError, AttributeError):
        return False
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else None
        named = (
            principal == "*"
            or services == service
            or (isinstance(services, list) and service in services)
        )
        actions = st.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        if named and any(a in ("lambda:InvokeFunction", "lambda:*", "*") for a in actions):
            return True
    return False


def _service_allowed(
    document: str | None,
    *,
    kind: policy_lang.PolicyKind,
    service: str,
    action: str,
    resource: str,
    account: str,
    context: Mapping[str, policy_lang.ContextValue],
) -> bool:
    """Whether ``document`` alone lets the AWS service principal ``service`` do ``action``
    on ``resource`` (a role's trust policy, a function policy)."""
    if not document:
        return False
    try:
        compiled = policy_lang.parse(document, kind)
    except MalformedPolicy:
        return False
    request = policy_lang.AuthzRequest(
        service, account, action, resource, account, context, service_principal=service
    )
    return policy_lang.evaluate(request, identity=(), resource=compiled).allowed


class _StoredFunction:
    """A stored function as a rotation function (``RotationRegistry`` resolver result)."""

    def __init__(self, service: FunctionsService, ref: _Ref) -> None:
        self._service = service
        self._ref = ref

    def invoke(self, event: dict[str, Any]) -> None:
        self._service.invoke_for_rotation(self._ref, event)


class FunctionsService:
    """The function API over storage, the authorizer and a process runner."""

    def __init__(
        self,
        storage: Storage,
        root: RootKey,
        *,
        identity: Identity,
        clock: Clock,
        authz: Authorizer,
        region: str,
        runner: FunctionRunner | None,
        pool: Executor | None = None,
        session_clock: Clock | None = None,
        unavailable: str | None = None,
    ) -> None:
        """``runner`` None: functions are stored but not run; with ``unavailable`` (why this
        server must not run functions at all) CreateFunction is refused too, with that text."""
        self._storage = storage
        self._root = root
        self._identity = identity
        self._clock = clock
        # The clock that judges session expiry (Identity's; a test server runs it ahead).
        self._session_clock = session_clock or clock
        self._authz = authz
        self._region = region
        self._runner = runner
        self._unavailable = unavailable if runner is None else None
        # Where Event invocations run; set by the composition root (None: run inline).
        self.pool = pool
        self._sessions: dict[tuple[str, str], NewSession] = {}
        self._lock = threading.Lock()

    # -- naming -------------------------------------------------------------------------
    def _arn(self, account: str, name: str) -> str:
        return f"arn:aws:lambda:{self._region}:{account}:function:{name}"

    def _ref(self, ctx: RequestContext, reference: str, qualifier: str | None = None) -> _Ref:
        """The function a FunctionName names (a name, a partial ARN or an ARN, with an
        optional qualifier); only $LATEST exists here."""
        match = _REFERENCE.fullmatch(reference)
        if match is None or len(match.group("name")) > 64:
            raise InvalidParameter(f"Invalid function name: {reference[:256]}")
        account = match.group("account") or ctx.account_id
        name = match.group("name")
        arn = self._arn(account, name)
        region = match.group("region")
        inline = match.group("qualifier")
        if inline is not None and qualifier is not None and inline != qualifier:
            raise InvalidParameter("The derived qualifier from the function name does not match")
        wanted = inline or qualifier
        if (region is not None and region != self._region) or wanted not in (None, LATEST):
            raise NotFound(f"Function not found: {arn}" + (f":{wanted}" if wanted else ""))
        return _Ref(account, name, arn)

    def _load(self, tx: Any, ctx: RequestContext, ref: _Ref, action: str) -> FunctionRecord:
        rec: FunctionRecord | None = tx.function(ref.account, ref.name)
        self._authz.check(ctx, action, ref.arn, resource_policy=rec.policy if rec else None)
        if rec is None:
            raise NotFound(f"Function not found: {ref.arn}")
        return rec

    def _view(self, rec: FunctionRecord) -> FunctionView:
        return FunctionView(
            arn=self._arn(rec.account_id, rec.name),
            name=rec.name,
            runtime=rec.runtime,
            role=rec.role,
            handler=rec.handler,
            description=rec.description,
            timeout=rec.timeout,
            memory_size=rec.memory_size,
            environment=self._environment(rec),
            code_sha256=rec.code_sha256,
            code_size=rec.code_size,
            revision_id=rec.revision_id,
            last_modified=_lambda_time(rec.last_modified),
        )

    # -- sealing ------------------------------------------------------------------------
    @staticmethod
    def _env_context(account: str, name: str) -> bytes:
        return f"strongroom-function-environment:{account}:{name}".encode()

    def _seal(self, account: str, name: str, variables: Mapping[str, str] | None) -> bytes | None:
        if variables is None:
            return None
        data = json.dumps(dict(variables), sort_keys=True).encode()
        return self._root.wrap(data, self._env_context(account, name))

    def _environment(self, rec: FunctionRecord) -> dict[str, str] | None:
        if rec.sealed_environment is None:
            return None
        data = self._root.unwrap(
            rec.sealed_environment, self._env_context(rec.account_id, rec.name)
        )
        value: dict[str, str] = json.loads(data)
        return value

    # -- checks -------------------------------------------------------------------------
    def _check_role(self, tx: Any, ctx: RequestContext, role_arn: str) -> None:
        """The role exists in the caller's account, trusts Lambda, and the caller may pass it."""
        match = _ROLE.fullmatch(role_arn)
        role = None
        if match is not None and match.group(1) == ctx.account_id:
            role = tx.role(match.group(1), match.group(3))
            if role is not None and role.path != match.group(2):
                role = None
        trusted = role is not None and _service_allowed(
            role.trust_policy,
            kind="trust",
            service=_LAMBDA_SERVICE,
            action="sts:AssumeRole",
            resource=role_arn,
            account=ctx.account_id,
            context={},
        )
        if not trusted:
            raise InvalidParameter(CANNOT_ASSUME)
        self._authz.check(
            ctx, "iam:PassRole", role_arn, extra={"iam:PassedToService": _LAMBDA_SERVICE}
        )

    @staticmethod
    def _check_runtime(runtime: str | None, handler: str | None) -> tuple[str, str]:
        if not runtime or not handler:
            raise InvalidParameter(
                "Runtime and Handler are mandatory parameters for functions created with "
                "deployment packages."
            )
        if not _PYTHON.fullmatch(runtime):
            raise InvalidParameter(
                f"The runtime parameter of {runtime} is not supported by this Strongroom "
                "server: only Python runtimes (python3.x) run here."
            )
        return runtime, handler

    @staticmethod
    def _check_revision(rec: FunctionRecord, revision_id: str | None) -> None:
        if revision_id is not None and revision_id != rec.revision_id:
            raise StaleRevision(_STALE)

    @staticmethod
    def _code(code: Mapping[str, Any] | None) -> bytes:
        code = dict(code or {})
        zip_file = code.pop("ZipFile", None)
        for key, value in code.items():
            if value is not None:
                raise NotSupported(f"Code.{key} is not supported: upload the zip as ZipFile.")
        if not isinstance(zip_file, bytes) or not zip_file:
            raise InvalidParameter("Please provide a source for function code.")
        _check_zip(zip_file)
        return zip_file

    @staticmethod
    def _digest(code: bytes) -> str:
        return base64.b64encode(hashlib.sha256(code).digest()).decode()

    def close(self) -> None:
        """End the runner's warm processes (at shutdown)."""
        if self._runner is not None:
            self._runner.close()

    def _changed(self, name: str) -> None:
        """Warm processes of ``name`` run old code or configuration: end them."""
        if self._runner is not None:
            self._runner.evict(name)

    # -- API ----------------------------------------------------------------------------
    def create_function(
        self,
        ctx: RequestContext,
        *,
        function_name: str,
        role: str,
        code: Mapping[str, Any],
        runtime: str | None = None,
        handler: str | None = None,
        description: str | None = None,
        timeout: int | None = None,
        memory_size: int | None = None,
        environment: Mapping[str, Any] | None = None,
        **unsupported: Any,
    ) -> FunctionView:
        """Create a function from a zip; ResourceConflict if the name is taken, NotSupported
        when this server must not run functions."""
        _unsupported(unsupported)
        if self._unavailable is not None:
            raise NotSupported(self._unavailable)
        ref = self._ref(ctx, function_name)
        if ref.account != ctx.account_id:
            raise InvalidParameter("Functions can be created only in the caller's account.")
        runtime, handler = self._check_runtime(runtime, handler)
        zip_bytes = self._code(code)
        variables = dict((environment or {}).get("Variables") or {})
        _check_environment(variables)
        now = self._clock.now()
        with self._storage.write() as tx:
            self._authz.check(ctx, "lambda:CreateFunction", ref.arn)
            self._check_role(tx, ctx, role)
            if tx.function(ref.account, ref.name) is not None:
                raise AlreadyExists(f"Function already exist: {ref.name}")
            rec = FunctionRecord(
                account_id=ref.account,
                name=ref.name,
                runtime=runtime,
                role=role,
                handler=handler,
                description=description or "",
                timeout=3 if timeout is None else timeout,
                memory_size=128 if memory_size is None else memory_size,
                sealed_environment=self._seal(
                    ref.account, ref.name, variables if environment is not None else None
                ),
                code_sha256=self._digest(zip_bytes),
                code_size=len(zip_bytes),
                revision_id=str(uuid.uuid4()),
                last_modified=now,
                policy=None,
            )
            tx.insert_function(rec, zip_bytes)
        return self._view(rec)

    def get_function(
        self, ctx: RequestContext, *, function_name: str, qualifier: str | None = None
    ) -> FunctionView:
        ref = self._ref(ctx, function_name, qualifier)
        with self._storage.read() as tx:
            return self._view(self._load(tx, ctx, ref, "lambda:GetFunction"))

    def get_function_configuration(
        self, ctx: RequestContext, *, function_name: str, qualifier: str | None = None
    ) -> FunctionView:
        ref = self._ref(ctx, function_name, qualifier)
        with self._storage.read() as tx:
            return self._view(self._load(tx, ctx, ref, "lambda:GetFunctionConfiguration"))

    def list_functions(
        self,
        ctx: RequestContext,
        *,
        marker: str | None = None,
        max_items: int | None = None,
        **unsupported: Any,
    ) -> tuple[list[FunctionView], str | None]:
        """A page of the caller's functions by name (50 by default, as Lambda)."""
        _unsupported(unsupported)
        self._authz.check(ctx, "lambda:ListFunctions", "*")
        after = None
        if marker is not None:
            cursor = decode_token(marker)
            if cursor is None or len(cursor) != 1 or not isinstance(cursor[0], str):
                raise InvalidParameter("Invalid Marker")
            after = cursor[0]
        limit = max_items or _PAGE
        with self._storage.read() as tx:
            found = tx.functions(ctx.account_id, after, limit + 1)
        page = found[:limit]
        more = len(found) > limit
        return [self._view(r) for r in page], encode_token([page[-1].name]) if more else None

    def update_function_code(
        self,
        ctx: RequestContext,
        *,
        function_name: str,
        zip_file: bytes | None = None,
        revision_id: str | None = None,
        **unsupported: Any,
    ) -> FunctionView:
        code = {k: v for k, v in unsupported.items() if k.startswith(("s3_", "image_uri"))}
        rest = {k: v for k, v in unsupported.items() if k not in code}
        _unsupported(rest)
        if any(v is not None for v in code.values()):
            raise NotSupported("Only ZipFile is supported as function code here.")
        if not zip_file:
            raise InvalidParameter("Please provide a source for function code.")
        _check_zip(zip_file)
        ref = self._ref(ctx, function_name)
        with self._storage.write() as tx:
            rec = self._load(tx, ctx, ref, "lambda:UpdateFunctionCode")
            self._check_revision(rec, revision_id)
            rec = replace(
                rec,
                code_sha256=self._digest(zip_file),
                code_size=len(zip_file),
                revision_id=str(uuid.uuid4()),
                last_modified=self._clock.now(),
            )
            tx.update_function(rec, zip_file)
        self._changed(rec.name)
        return self._view(rec)

    def update_function_configuration(
        self,
        ctx: RequestContext,
        *,
        function_name: str,
        role: str | None = None,
        handler: str | None = None,
        description: str | None = None,
        timeout: int | None = None,
        memory_size: int | None = None,
        environment: Mapping[str, Any] | None = None,
        runtime: str | None = None,
        revision_id: str | None = None,
        **unsupported: Any,
    ) -> FunctionView:
        _unsupported(unsupported)
        ref = self._ref(ctx, function_name)
        variables = None
        if environment is not None:
            variables = dict(environment.get("Variables") or {})
            _check_environment(variables)
        with self._storage.write() as tx:
            rec = self._load(tx, ctx, ref, "lambda:UpdateFunctionConfiguration")
            self._check_revision(rec, revision_id)
            if role is not None and role != rec.role:
                self._check_role(tx, ctx, role)
            new_runtime, new_handler = self._check_runtime(
                runtime or rec.runtime, handler or rec.handler
            )
            rec = replace(
                rec,
                role=role or rec.role,
                runtime=new_runtime,
                handler=new_handler,
                description=rec.description if description is None else description,
                timeout=rec.timeout if timeout is None else timeout,
                memory_size=rec.memory_size if memory_size is None else memory_size,
                sealed_environment=(
                    rec.sealed_environment
                    if variables is None
                    else self._seal(rec.account_id, rec.name, variables)
                ),
                revision_id=str(uuid.uuid4()),
                last_modified=self._clock.now(),
            )
            tx.update_function(rec)
        self._changed(rec.name)
        return self._view(rec)

    def delete_function(
        self, ctx: RequestContext, *, function_name: str, qualifier: str | None = None
    ) -> None:
        ref = self._ref(ctx, function_name, qualifier)
        with self._storage.write() as tx:
            self._load(tx, ctx, ref, "lambda:DeleteFunction")
            tx.delete_function(ref.account, ref.name)
        self._changed(ref.name)
        with self._lock:
            for key in [k for k in self._sessions if k[0] == ref.arn]:
                del self._sessions[key]

    def add_permission(
        self,
        ctx: RequestContext,
        *,
        function_name: str,
        statement_id: str,
        action: str,
        principal: str,
        source_arn: str | None = None,
        source_account: str | None = None,
        principal_org_id: str | None = None,
        revision_id: str | None = None,
        qualifier: str | None = None,
        **unsupported: Any,
    ) -> str:
        """Add a statement to the function policy; returns the statement as JSON text."""
        _unsupported(unsupported)
        ref = self._ref(ctx, function_name, qualifier)
        statement: dict[str, Any] = {
            "Sid": statement_id,
            "Effect": "Allow",
            "Principal": _principal(principal),
            "Action": action,
            "Resource": ref.arn,
        }
        condition: dict[str, dict[str, str]] = {}
        if source_account is not None:
            condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = source_account
        if principal_org_id is not None:
            condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = principal_org_id
        if source_arn is not None:
            condition["ArnLike"] = {"AWS:SourceArn": source_arn}
        if condition:
            statement["Condition"] = condition
        with self._storage.write() as tx:
            rec = self._load(tx, ctx, ref, "lambda:AddPermission")
            self._check_revision(rec, revision_id)
            document: dict[str, Any] = (
                json.loads(rec.policy)
                if rec.policy
                else {"Version": "2012-10-17", "Id": "default", "Statement": []}
            )
            if any(s.get("Sid") == statement_id for s in document["Statement"]):
                raise AlreadyExists(
                    f"The statement id ({statement_id}) provided already exists. Please "
                    "provide a new statement id, or remove the existing statement."
                )
            document["Statement"].append(statement)
            text = json.dumps(document, separators=(",", ":"))
            if len(text) > _MAX_POLICY:
                raise LimitExceeded(
                    f"The final policy size ({len(text)}) is bigger than the limit ({_MAX_POLICY})."
                )
            try:
                policy_lang.parse(text, "resource")
            except MalformedPolicy as exc:
                raise InvalidParameter(f"The policy is not valid: {exc.message}") from None
            tx.update_function(replace(rec, policy=text, revision_id=str(uuid.uuid4())))
        return json.dumps(statement, separators=(",", ":"))

    def remove_permission(
        self,
        ctx: RequestContext,
        *,
        function_name: str,
        statement_id: str,
        qualifier: str | None = None,
        revision_id: str | None = None,
    ) -> None:
        ref = self._ref(ctx, function_name, qualifier)
        with self._storage.write() as tx:
            rec = self._load(tx, ctx, ref, "lambda:RemovePermission")
            document = json.loads(rec.policy) if rec.policy else {"Statement": []}
            kept = [s for s in document["Statement"] if s.get("Sid") != statement_id]
            if len(kept) == len(document["Statement"]):
                raise NotFound(f"Statement {statement_id} is not found in resource policy.")
            self._check_revision(rec, revision_id)
            document["Statement"] = kept
            text = json.dumps(document, separators=(",", ":")) if kept else None
            tx.update_function(replace(rec, policy=text, revision_id=str(uuid.uuid4())))

    def get_policy(
        self, ctx: RequestContext, *, function_name: str, qualifier: str | None = None
    ) -> tuple[str, str]:
        """(the function policy as JSON text, the function's RevisionId)."""
        ref = self._ref(ctx, function_name, qualifier)
        with self._storage.read() as tx:
            rec = self._load(tx, ctx, ref, "lambda:GetPolicy")
        if rec.policy is None:
            raise NotFound("The resource you requested does not exist.")
        return rec.policy, rec.revision_id

    # -- invocation ---------------------------------------------------------------------
    def invoke(
        self,
        ctx: RequestContext,
        *,
        function_name: str,
        payload: bytes | None = None,
        invocation_type: Literal["RequestResponse", "Event", "DryRun"] | None = None,
        log_type: str | None = None,
        qualifier: str | None = None,
        client_context: str | None = None,
        **unsupported: Any,
    ) -> InvokeOutcome:
        """Run the function with ``payload`` as its event: RequestResponse waits for it,
        Event hands it to the invocation pool (202), DryRun only authorizes (204)."""
        del client_context
        _unsupported(unsupported)
        kind = invocation_type or "RequestResponse"
        body = payload if payload and payload.strip() else b"{}"
        limit = _MAX_EVENT_PAYLOAD if kind == "Event" else _MAX_SYNC_PAYLOAD
        if len(body) > limit:
            raise RequestTooLarge(
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )
        ref = self._ref(ctx, function_name, qualifier)
        with self._storage.read() as tx:
            rec = self._load(tx, ctx, ref, "lambda:InvokeFunction")
        try:
            json.loads(body)
        except ValueError:
            raise Serialization(
                "Could not parse request body into json: Could not parse payload into json"
            ) from None
        if kind == "DryRun":
            return InvokeOutcome(204, b"")
        if kind == "Event":
            if self.pool is None:
                self._run_logged(rec, body, ctx.request_id)
            else:
                self.pool.submit(self._run_logged, rec, body, ctx.request_id)
            return InvokeOutcome(202, b"")
        result = self._run(rec, body, ctx.request_id)
        return InvokeOutcome(
            200,
            result.payload,
            result.function_error,
            result.log_tail if log_type == "Tail" else None,
        )

    def _run_logged(self, rec: FunctionRecord, event: bytes, request_id: str) -> None:
        try:
            result = self._run(rec, event, request_id)
        except Exception as exc:
            log.warning(
                "event invocation %s of %s failed (%s)", request_id, rec.name, type(exc).__name__
            )
            return
        if result.function_error is not None:
            log.info("event invocation %s of %s ended with a function error", request_id, rec.name)

    def _run(self, rec: FunctionRecord, event: bytes, request_id: str) -> Any:
        if self._runner is None:
            raise NotSupported(
                self._unavailable
                or "Functions cannot run on this server (functions.enabled is off)."
            )
        with self._storage.read() as tx:
            code = tx.function_code(rec.account_id, rec.name)
        if code is None:
            raise NotFound(f"Function not found: {self._arn(rec.account_id, rec.name)}")
        arn = self._arn(rec.account_id, rec.name)
        spec = FunctionSpec(
            name=rec.name,
            arn=arn,
            handler=rec.handler,
            runtime=rec.runtime,
            code_zip=code,
            code_sha256=rec.code_sha256,
            environment=self._environment(rec) or {},
            timeout_seconds=rec.timeout,
            memory_mb=rec.memory_size,
        )
        credentials = self._credentials(rec, arn)
        try:
            return self._runner.invoke(spec, event, credentials, request_id)
        except InvalidCode as exc:
            raise InvalidParameter(str(exc)) from None
        except Exception as exc:
            log.error("invocation %s of %s could not run (%s)", request_id, arn, type(exc).__name__)
            raise InternalError() from None

    def _credentials(self, rec: FunctionRecord, arn: str) -> Credentials | None:
        """Temporary credentials for the function's role (its RoleSessionName is the
        function name, as on Lambda), reused until they would expire during a run; None
        when the role no longer exists."""
        key = (arn, rec.role)
        now = self._session_clock.now()
        with self._lock:
            cached = self._sessions.get(key)
        if cached is None or cached.expires_at - now < rec.timeout + 60:
            match = _ROLE.fullmatch(rec.role)
            if match is None:
                return None
            with self._storage.write() as tx:
                role = tx.role(match.group(1), match.group(3))
                if role is None:
                    return None
                cached = self._identity.new_session(
                    tx,
                    account_id=role.account_id,
                    kind="role",
                    name=role.role_name,
                    duration=max(_SESSION_SECONDS, rec.timeout + 900),
                    source_account_id=rec.account_id,
                    session_name=rec.name if len(rec.name) >= 2 else f"{rec.name}-fn",
                )
            with self._lock:
                self._sessions[key] = cached
            # A warm process keeps the credentials its boto3 session resolved first (as a
            # Lambda execution environment does): new credentials need a new process.
            self._changed(rec.name)
        return Credentials(
            cached.principal.access_key_id, cached.secret_access_key, cached.session_token
        )

    # -- rotation -----------------------------------------------------------------------
    def resolve(self, arn: str) -> _StoredFunction | None:
        """``RotationRegistry`` resolver: a stored function named by its ARN (optionally
        :$LATEST) whose policy lets Secrets Manager invoke it; None otherwise. Reads through
        ``storage.read()``, which joins a write transaction open on this thread."""
        match = _REFERENCE.fullmatch(arn)
        if (
            match is None
            or not arn.startswith("arn:aws:lambda:")
            or match.group("region") != self._region
            or match.group("qualifier") not in (None, LATEST)
        ):
            return None
        ref = _Ref(
            match.group("account"),
            match.group("name"),
            self._arn(match.group("account"), match.group("name")),
        )
        with self._storage.read() as tx:
            rec = tx.function(ref.account, ref.name)
        if rec is None or not _service_may_invoke(rec.policy, SECRETS_MANAGER):
            return None
        return _StoredFunction(self, ref)

    def invoke_for_rotation(self, ref: _Ref, event: dict[str, Any]) -> None:
        """Secrets Manager invoking a rotation step: allowed by the function policy for the
        service principal (with aws:SourceArn = the secret, aws:SourceAccount = its
        account); raises ``FunctionFailed`` (errorType only) on a function error."""
        with self._storage.read() as tx:
            rec = tx.function(ref.account, ref.name)
        if rec is None:
            raise AccessDenied(CANNOT_INVOKE)
        secret_arn = str(event.get("SecretId", ""))
        parts = secret_arn.split(":")
        context: dict[str, policy_lang.ContextValue] = {"aws:SourceArn": secret_arn}
        if len(parts) > 4:
            context["aws:SourceAccount"] = parts[4]
        if not _service_allowed(
            rec.policy,
            kind="resource",
            service=SECRETS_MANAGER,
            action="lambda:InvokeFunction",
            resource=ref.arn,
            account=ref.account,
            context=context,
        ):
            raise AccessDenied(CANNOT_INVOKE)
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        result = self._run(rec, json.dumps(event).encode(), request_id)
        if result.function_error is not None:
            try:
                error_type = str(json.loads(result.payload).get("errorType", "Unhandled"))
            except (ValueError, AttributeError):
                error_type = "Unhandled"
            log.info(
                "rotation step %s of %s failed in %.0f ms (%s)",
                event.get("Step"),
                ref.name,
                (time.monotonic() - started) * 1000,
                error_type if _ERROR_TYPE.fullmatch(error_type) else "Unhandled",
            )
            raise FunctionFailed(error_type)
