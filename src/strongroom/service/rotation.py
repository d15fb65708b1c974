"""RotateSecret and CancelRotateSecret, the four-step engine and the due-rotation tick.

RotateSecret puts AWSPENDING on a new version id that has no value yet and, as on AWS, hands
the rotation to the rotation pool and returns; there the rotation function gets createSecret,
setSecret, testSecret and finishSecret and moves AWSCURRENT itself in finishSecret
(UpdateSecretVersionStage), as AWS's templates do. A failed step leaves AWSCURRENT where it
was and AWSPENDING in place, so the next attempt (the scheduler's, with backoff) resumes with
the same token. Each step, and the events RotationStarted, RotationSucceeded, RotationFailed
and RotationAbandoned (AWS's CloudTrail names), are written to the rotation history."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any, Protocol

from strongroom.clock import Clock
from strongroom.domain import names, schedule, staging
from strongroom.domain.policy import ContextValue
from strongroom.errors import AccessDenied, InvalidParameter, InvalidRequest
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.service.lookup import get_live_secret
from strongroom.storage.base import (
    RotationAttempt,
    RotationRecord,
    SecretRecord,
    Storage,
    VersionRecord,
)

__all__ = [
    "BUILTIN_PREFIX",
    "EVENTS",
    "STEPS",
    "RotationFunction",
    "RotationRegistry",
    "RotationService",
    "RotationStatus",
    "schedule_of",
]

log = logging.getLogger("strongroom.rotation")

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# The CloudTrail event names AWS records for rotation (not API calls); stored as history
# lines with outcome "event" so the audit log can pick them up.
STARTED, SUCCEEDED, FAILED, ABANDONED = (
    "RotationStarted",
    "RotationSucceeded",
    "RotationFailed",
    "RotationAbandoned",
)
EVENTS = (STARTED, SUCCEEDED, FAILED, ABANDONED)
EVENT = "event"
BUILTIN_PREFIX = "strongroom-builtin-"
NOT_COMPLETE = "A previous rotation isn't complete. That rotation will be reattempted."
NO_FUNCTION = "No Lambda rotation function ARN is associated with this secret."
CANNOT_INVOKE = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
    "policy grants access to the principal secretsmanager.amazonaws.com."
)
_LEASE_SECONDS = 900.0  # a claimed rotation is retried after this if its process died
_BACKOFF_BASE = 300.0
_BACKOFF_MAX = 86_400.0
# The account user whose permissions rotation functions act with (see rotation_client.py).
ROTATION_USER = "admin"


class RotationFunction(Protocol):
    """A rotation function: runs one step for ``event`` = {SecretId (the ARN),
    ClientRequestToken, Step}; returns when the step succeeded and raises when it failed."""

    def invoke(self, event: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class _Callable:
    call: Callable[[dict[str, Any]], None]

    def invoke(self, event: dict[str, Any]) -> None:
        self.call(event)


ClientFactory = Callable[[str], Any]
"""Builds a boto3-like secretsmanager client acting in the given account."""


@dataclass(frozen=True, slots=True)
class _Builtin:
    """``strongroom.rotators.<module>.rotate(client, secret_id, token, step)``."""

    module: str
    clients: ClientFactory

    def invoke(self, event: dict[str, Any]) -> None:
        mod = importlib.import_module(f"strongroom.rotators.{self.module}")
        account = names.parse_secret_id(event["SecretId"]).account or ""
        mod.rotate(
            self.clients(account), event["SecretId"], event["ClientRequestToken"], event["Step"]
        )


class RotationRegistry:
    """Rotation functions by RotationLambdaARN: registered ones (tests, plugins) and the
    built-ins ``arn:aws:lambda:{region}:{account}:function:strongroom-builtin-<name>``."""

    def __init__(self, clients: ClientFactory | None = None) -> None:
        self._functions: dict[str, RotationFunction] = {}
        self._clients = clients
        self._resolvers: list[Callable[[str], RotationFunction | None]] = []

    def add_resolver(self, resolver: Callable[[str], RotationFunction | None]) -> None:
        """Also look ARNs up with ``resolver`` (stored functions, webhooks), after the
        registered functions and the built-ins; it returns None for an ARN it doesn't know."""
        self._resolvers.append(resolver)

    def client_for(self, account_id: str) -> Any:
        """A boto3-like secretsmanager client acting in ``account_id`` (for functions)."""
        if self._clients is None:
            raise RuntimeError("no client factory configured")
        return self._clients(account_id)

    def register(
        self, arn: str, function: RotationFunction | Callable[[dict[str, Any]], None]
    ) -> None:
        """Make ``arn`` invoke ``function`` (an object with ``invoke`` or a plain callable).
        ``arn`` may also be a bare function name, which then matches in every account."""
        if not hasattr(function, "invoke"):
            function = _Callable(function)
        self._functions[arn] = function

    def lookup(self, arn: str) -> RotationFunction | None:
        """The function for ``arn``, or None when there is none."""
        found = self._functions.get(arn)
        if found is not None:
            return found
        name = arn.rsplit(":function:", 1)[-1] if ":function:" in arn else ""
        if name in self._functions:
            return self._functions[name]
        if name.startswith(BUILTIN_PREFIX) and self._clients is not None:
            module = name[len(BUILTIN_PREFIX) :].replace("-", "_")
            if module.isidentifier() and importlib.util.find_spec("strongroom.rotators"):
                try:
                    spec = importlib.util.find_spec(f"strongroom.rotators.{module}")
                except ModuleNotFoundError:
                    spec = None
                if spec is not None:
                    return _Builtin(module, self._clients)
        for resolver in self._resolvers:
            resolved = resolver(arn)
            if resolved is not None:
                return resolved
        return None


@dataclass(frozen=True, slots=True)
class RotationStatus:
    """What DescribeSecret shows about rotation."""

    enabled: bool
    lambda_arn: str | None
    rules: dict[str, object] | None
    last_rotated_at: float | None
    next_rotation_at: float | None


def _lambda_arn_ok(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) >= 7 and parts[:3] == ["arn", "aws", "lambda"] and parts[5] == "function"


def _failure_name(exc: BaseException) -> str:
    """A failure's class name and, for a stored function's error, Lambda's errorType
    ("FunctionFailed: ValueError"); never the message, which may quote a secret value."""
    error_type = getattr(exc, "error_type", None)
    name = type(exc).__name__
    return f"{name}: {error_type}" if isinstance(error_type, str) else name


def _reason(exc: Exception) -> str:
    """What the history says about a failure: our own refusals (which never quote values)
    in full, anything else only by class name, since a function's message may quote one."""
    if isinstance(exc, InvalidRequest | AccessDenied):
        return f"{type(exc).__name__}: {exc.message}"
    return _failure_name(exc)


def schedule_of(rules: str | None) -> schedule.Schedule | None:
    """The schedule stored RotationRules describe (None: no rules)."""
    if not rules:
        return None
    data = json.loads(rules)
    return schedule.parse_rules(
        data.get("AutomaticallyAfterDays"), data.get("ScheduleExpression"), data.get("Duration")
    )


class RotationService:
    """RotateSecret, CancelRotateSecret and the scheduler tick over storage and a registry."""

    def __init__(
        self, storage: Storage, authz: Authorizer, clock: Clock, registry: RotationRegistry
    ) -> None:
        self._storage = storage
        self._authz = authz
        self._clock = clock
        self.registry = registry
        # Where RotateSecret hands a started rotation (the scheduler's pool, set by the
        # composition root); None runs it synchronously (unit and integration tests).
        self.pool: Executor | None = None
        self._running: set[int] = set()  # secret pks with a rotation running in this process
        self._lock = threading.Lock()

    # -- API ----------------------------------------------------------------------------
    def rotate_secret(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        client_request_token: str | None = None,
        rotation_lambda_arn: str | None = None,
        rotation_rules: Mapping[str, Any] | None = None,
        rotate_immediately: bool | None = None,
        external_secret_rotation_metadata: Any = None,
        external_secret_rotation_role_arn: str | None = None,
    ) -> tuple[str, str, str]:
        """Configure rotation and rotate now (or only test, with RotateImmediately false);
        returns (ARN, name, the rotation's version id)."""
        del external_secret_rotation_metadata, external_secret_rotation_role_arn
        immediately = True if rotate_immediately is None else rotate_immediately
        extra: dict[str, ContextValue] = {
            "secretsmanager:ModifyRotationRules": rotation_rules is not None,
            "secretsmanager:RotateImmediately": immediately,
        }
        if rotation_lambda_arn is not None:
            extra["secretsmanager:RotationLambdaARN"] = rotation_lambda_arn
            if not _lambda_arn_ok(rotation_lambda_arn):
                raise InvalidParameter("The RotationLambdaARN is not a valid Lambda function ARN.")
        new_schedule = None
        if rotation_rules is not None:
            new_schedule = schedule.parse_rules(
                rotation_rules.get("AutomaticallyAfterDays"),
                rotation_rules.get("ScheduleExpression"),
                rotation_rules.get("Duration"),
            )
        now = self._clock.now()
        claimed: list[int] = []
        try:
            rec, arn, token, pool = self._configure(
                ctx=ctx,
                secret_id=secret_id,
                extra=extra,
                rotation_lambda_arn=rotation_lambda_arn,
                rotation_rules=rotation_rules,
                new_schedule=new_schedule,
                client_request_token=client_request_token,
                immediately=immediately,
                now=now,
                claimed=claimed,
            )
        except BaseException:
            for pk in claimed:
                self._release_local(pk)
            raise
        if not immediately:
            self._test_only(rec, arn, token)
            return rec.arn, rec.name, token
        if pool is None:
            self._rotate(rec, arn, token, now)
            return rec.arn, rec.name, token
        try:
            pool.submit(self._in_background, rec, arn, token, now)
        except RuntimeError:  # the pool is shut down: the scheduler retries after the lease
            self._release_local(rec.pk)
        return rec.arn, rec.name, token

    def _configure(
        self,
        *,
        ctx: RequestContext,
        secret_id: str,
        extra: dict[str, ContextValue],
        rotation_lambda_arn: str | None,
        rotation_rules: Mapping[str, Any] | None,
        new_schedule: schedule.Schedule | None,
        client_request_token: str | None,
        immediately: bool,
        now: float,
        claimed: list[int],
    ) -> tuple[SecretRecord, str, str, Executor | None]:
        """RotateSecret's transaction: check, record the configuration, put AWSPENDING on
        the rotation's version and, to rotate now, claim the secret (appended to ``claimed``)."""
        with self._storage.write() as tx:
            rec = get_live_secret(
                tx,
                ctx,
                secret_id,
                authz=self._authz,
                action="secretsmanager:RotateSecret",
                extra=extra,
            )
            old = tx.rotation(rec.pk) or RotationRecord(rec.pk, None, None, False, None, None, 0)
            arn = rotation_lambda_arn or old.lambda_arn
            if arn is None:
                raise InvalidRequest(NO_FUNCTION)
            if self.registry.lookup(arn) is None:
                raise AccessDenied(CANNOT_INVOKE)
            rules_text = (
                json.dumps(dict(rotation_rules), sort_keys=True)
                if rotation_rules is not None
                else old.rules
            )
            sched = new_schedule or schedule_of(rules_text)
            if immediately and self._running_elsewhere(tx, rec.pk, now):
                raise InvalidRequest(NOT_COMPLETE)
            token = self._pending_token(tx, rec, client_request_token)
            base = old.last_rotated_at or now
            next_at = sched.next_rotation(base) if sched is not None else None
            pool = self.pool if immediately else None
            if pool is not None:
                # Leased like a scheduler claim, so no other process starts it meanwhile;
                # the outcome sets the real next rotation (or the backoff).
                next_at = now + _LEASE_SECONDS
            if immediately:
                self._claim_local(rec.pk)
                claimed.append(rec.pk)
                # Written with the claim, so that every node sees the rotation as running.
                tx.add_rotation_attempt(rec.pk, self._line(token, STARTED, EVENT))
            tx.put_rotation(
                RotationRecord(rec.pk, arn, rules_text, True, old.last_rotated_at, next_at, 0)
            )
        return rec, arn, token, pool

    def cancel_rotate_secret(
        self, ctx: RequestContext, *, secret_id: str
    ) -> tuple[str, str, str | None]:
        """Turn automatic rotation off; a rotation in progress keeps its AWSPENDING version
        (AWS documents that the caller may need to remove that label)."""
        with self._storage.write() as tx:
            rec = get_live_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:CancelRotateSecret"
            )
            old = tx.rotation(rec.pk)
            if old is not None:
                tx.put_rotation(replace(old, enabled=False, next_rotation_at=None, failures=0))
            labels = tx.labels(rec.pk)
        pending = labels.get(staging.AWSPENDING)
        in_progress = pending if pending != labels.get(staging.AWSCURRENT) else None
        return rec.arn, rec.name, in_progress

    def status(self, secret_pk: int) -> RotationStatus | None:
        with self._storage.read() as tx:
            rot = tx.rotation(secret_pk)
        if rot is None:
            return None
        sched = schedule_of(rot.rules)
        return RotationStatus(
            rot.enabled,
            rot.lambda_arn,
            sched.rules() if sched is not None else None,
            rot.last_rotated_at,
            rot.next_rotation_at if rot.enabled else None,
        )

    def history(
        self, ctx: RequestContext, secret_id: str, limit: int = 100
    ) -> list[RotationAttempt]:
        """The rotation history of a secret (DescribeSecret permission suffices)."""
        return self.history_of(ctx, secret_id, limit)[1]

    def history_of(
        self, ctx: RequestContext, secret_id: str, limit: int = 100
    ) -> tuple[str, list[RotationAttempt]]:
        """The secret's ARN and its rotation history (steps and events, oldest first)."""
        with self._storage.read() as tx:
            rec = get_live_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:DescribeSecret"
            )
            return rec.arn, tx.rotation_history(rec.pk, limit)

    # -- scheduler ----------------------------------------------------------------------
    def run_due(self, now: float, limit: int = 20, pool: Executor | None = None) -> int:
        """Claim the rotations due at ``now`` (each exactly once across processes) and run
        them, in ``pool`` when given; returns how many were claimed."""
        with self._storage.read() as tx:
            due = tx.due_rotations(now, limit)
        claimed: list[RotationRecord] = []
        if due:
            # One transaction for the batch; each claim still succeeds only where the row
            # is as this read saw it, so another process's claim in between wins.
            with self._storage.write() as tx:
                for rot in due:
                    assert rot.next_rotation_at is not None
                    lease = now + _LEASE_SECONDS
                    if tx.claim_rotation(rot.secret_pk, rot.next_rotation_at, lease):
                        claimed.append(rot)
        if pool is None:
            for rot in claimed:
                self._scheduled(rot, now)
        else:
            for future in [pool.submit(self._scheduled, rot, now) for rot in claimed]:
                future.result()
        return len(claimed)

    def _scheduled(self, rot: RotationRecord, now: float) -> None:
        with self._storage.read() as tx:
            rec = tx.get_secret(rot.secret_pk)
        if rec is None or rot.lambda_arn is None:
            return
        if rec.deleted_at is not None:
            # No rotation while scheduled for deletion. Look again at the next window, not
            # when the lease ends (every 15 minutes), so that a restored secret rotates on
            # its schedule and waiting deletions cost nothing per tick.
            with self._storage.write() as tx:
                current = tx.rotation(rec.pk)
                sched = schedule_of(current.rules) if current is not None else None
                if current is not None and sched is not None and current.enabled:
                    tx.put_rotation(replace(current, next_rotation_at=sched.next_rotation(now)))
            return
        try:
            self._claim_local(rec.pk)
        except InvalidRequest:
            return  # RotateSecret started one here; its outcome reschedules
        try:
            try:
                with self._storage.write() as tx:
                    token = self._pending_token(tx, rec, None)
                    tx.add_rotation_attempt(rec.pk, self._line(token, STARTED, EVENT))
            except BaseException:
                self._release_local(rec.pk)
                raise
            self._rotate(rec, rot.lambda_arn, token, now)
        except Exception as exc:
            # Only the class name: a function's message or traceback may quote a value.
            log.warning(
                "scheduled rotation of %s failed (%s); will retry", rec.arn, type(exc).__name__
            )

    # -- engine -------------------------------------------------------------------------
    @staticmethod
    def _running_elsewhere(tx: Any, pk: int, now: float) -> bool:
        """Whether the history's last rotation event is a RotationStarted younger than the
        lease: a rotation running in some process (this one checks its own claims apart).
        After the lease a rotation whose process died counts as abandoned."""
        for line in reversed(tx.rotation_history(pk, 24)):
            if line.outcome == EVENT:
                return bool(line.step == STARTED and line.at > now - _LEASE_SECONDS)
        return False

    def _pending_token(self, tx: Any, rec: SecretRecord, token: str | None) -> str:
        """The version id this rotation works on: the unfinished rotation's (resumed), or a
        new one carrying AWSPENDING and no value yet."""
        labels = tx.labels(rec.pk)
        pending = labels.get(staging.AWSPENDING)
        if pending is not None and pending != labels.get(staging.AWSCURRENT):
            if token is not None and token != pending:
                raise InvalidRequest(NOT_COMPLETE)
            return str(pending)
        version_id = token or str(uuid.uuid4())
        if tx.version(rec.pk, version_id) is not None:
            raise InvalidRequest(
                "You can't modify an existing version, you can only create a new version."
            )
        tx.insert_version(
            rec.pk, VersionRecord(version_id, None, "string", self._clock.now(), None)
        )
        tx.set_labels(rec.pk, staging.attach(labels, version_id, [staging.AWSPENDING]))
        return version_id

    def _line(
        self, token: str, step: str, outcome: str, detail: str | None = None
    ) -> RotationAttempt:
        return RotationAttempt(token, step, outcome, detail, self._clock.now())

    def _invoke(
        self, rec: SecretRecord, arn: str, token: str, step: str, carry: list[RotationAttempt]
    ) -> None:
        """Run one step. Its "started" line is committed before the function runs, in one
        transaction with the history lines in ``carry`` (earlier outcomes not yet written);
        the step's own outcome is left in ``carry`` for the caller's next transaction."""
        function = self.registry.lookup(arn)
        if function is None:
            raise AccessDenied(CANNOT_INVOKE)
        with self._storage.write() as tx:
            for line in [*carry, self._line(token, step, "started")]:
                tx.add_rotation_attempt(rec.pk, line)
        carry.clear()
        try:
            function.invoke({"SecretId": rec.arn, "ClientRequestToken": token, "Step": step})
        except Exception as exc:
            # Only the class name: a function's message may quote a secret value.
            carry.append(self._line(token, step, "failed", _failure_name(exc)))
            raise
        carry.append(self._line(token, step, "ok"))

    def _run(self, rec: SecretRecord, arn: str, token: str, carry: list[RotationAttempt]) -> None:
        """The four steps; a failure is raised as InvalidRequest (or AccessDenied)."""
        try:
            for step in STEPS:
                self._invoke(rec, arn, token, step, carry)
        except Exception as exc:
            if isinstance(exc, InvalidRequest | AccessDenied):
                raise
            raise InvalidRequest(
                f"The rotation function failed ({_failure_name(exc)}); AWSCURRENT is unchanged "
                "and the next attempt resumes this rotation."
            ) from None

    def _claim_local(self, pk: int) -> None:
        """Mark a rotation of ``pk`` as running here; refused while one already runs."""
        with self._lock:
            if pk in self._running:
                raise InvalidRequest(NOT_COMPLETE)
            self._running.add(pk)

    def _release_local(self, pk: int) -> None:
        with self._lock:
            self._running.discard(pk)

    def _rotate(self, rec: SecretRecord, arn: str, token: str, now: float) -> None:
        """One attempt, claimed with :meth:`_claim_local`: the four steps between a
        RotationStarted and a RotationSucceeded, RotationFailed or RotationAbandoned event.
        The outcome (next rotation or backoff, the last step's line, the closing event) is
        one transaction, and the claim is released inside it, so whoever sees the closing
        event may start again."""
        carry: list[RotationAttempt] = []  # RotationStarted was written with the claim
        error: Exception | None = None
        try:
            self._run(rec, arn, token, carry)
        except Exception as exc:
            error = exc
        try:
            with self._storage.write() as tx:
                labels = tx.labels(rec.pk)
                if error is None and labels.get(staging.AWSCURRENT) != token:
                    carry.append(
                        self._line(token, "finishSecret", "failed", "AWSCURRENT not moved")
                    )
                    error = InvalidRequest(
                        "The rotation function did not move AWSCURRENT to the new version."
                    )
                if error is None:
                    self._succeeded(tx, rec.pk, now)
                    carry.append(self._line(token, SUCCEEDED, EVENT))
                else:
                    self._failed(tx, rec.pk, now)
                    closing = ABANDONED if labels.get(staging.AWSPENDING) != token else FAILED
                    carry.append(self._line(token, closing, EVENT, _reason(error)))
                for line in carry:
                    tx.add_rotation_attempt(rec.pk, line)
                self._release_local(rec.pk)
        finally:
            self._release_local(rec.pk)
        if error is not None:
            raise error

    def _in_background(self, rec: SecretRecord, arn: str, token: str, now: float) -> None:
        """A RotateSecret attempt in the rotation pool; a failure is already in the history
        and scheduled for a retry with backoff."""
        try:
            self._rotate(rec, arn, token, now)
        except Exception as exc:
            log.warning("rotation of %s failed (%s); will retry", rec.arn, type(exc).__name__)

    @staticmethod
    def _succeeded(tx: Any, pk: int, now: float) -> None:
        """Record a rotation that finished at ``now``: the next window, no failures."""
        rot = tx.rotation(pk)
        if rot is not None:
            sched = schedule_of(rot.rules)
            next_at = sched.next_rotation(now) if sched is not None and rot.enabled else None
            tx.put_rotation(replace(rot, last_rotated_at=now, next_rotation_at=next_at, failures=0))

    @staticmethod
    def _failed(tx: Any, pk: int, now: float) -> None:
        """Record a failed attempt: retry after a backoff that doubles with each failure."""
        rot = tx.rotation(pk)
        if rot is not None and rot.enabled:
            failures = rot.failures + 1
            delay = min(_BACKOFF_BASE * 2 ** (failures - 1), _BACKOFF_MAX)
            tx.put_rotation(replace(rot, failures=failures, next_rotation_at=now + delay))

    def _test_only(self, rec: SecretRecord, arn: str, token: str) -> None:
        """RotateImmediately false: run testSecret on an AWSPENDING version, then remove it."""
        carry: list[RotationAttempt] = []
        try:
            self._invoke(rec, arn, token, "testSecret", carry)
        finally:
            with self._storage.write() as tx:
                for line in carry:  # the step's outcome
                    tx.add_rotation_attempt(rec.pk, line)
                labels = tx.labels(rec.pk)
                version = tx.version(rec.pk, token)
                if labels.get(staging.AWSPENDING) == token and version is not None:
                    new = {k: v for k, v in labels.items() if k != staging.AWSPENDING}
                    tx.set_labels(rec.pk, new)
                    if version.sealed is None:
                        tx.delete_version(rec.pk, token)
