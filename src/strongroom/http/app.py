"""The composition root: ``create_app(settings)`` builds storage, keys, services and the
ASGI callable. The only module (besides cli/) that names concrete backends."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from strongroom.clock import Clock, SystemClock
from strongroom.crypto.envelope import Envelope
from strongroom.crypto.keys import KeyService
from strongroom.crypto.passphrase import SealedRootStore
from strongroom.crypto.rootkey import FileRootKey, RootKey
from strongroom.crypto.rootring import FileRootStore, RootRing
from strongroom.functions import (
    FunctionRunner,
    FunctionsUnavailable,
    IsolationError,
    choose_run_as,
)
from strongroom.http.dispatch import Dispatcher
from strongroom.http.lambda_front import LambdaFront
from strongroom.http.query_front import QueryFront
from strongroom.protocol.kms import load_model as load_kms_model
from strongroom.protocol.shapes import ServiceModel
from strongroom.protocol.sigv4 import SigV4Verifier
from strongroom.service.authorize import Authorizer
from strongroom.service.functions import FunctionsService
from strongroom.service.iam import IamService
from strongroom.service.identity import Identity
from strongroom.service.keyring import Keyring
from strongroom.service.kms import KmsService
from strongroom.service.leases import Lease
from strongroom.service.policies import ResourcePolicyService
from strongroom.service.rotation import RotationRegistry, RotationService
from strongroom.service.rotation_client import RotationClient
from strongroom.service.secret_keys import SecretKeys
from strongroom.service.secrets import SecretsService
from strongroom.service.sts import StsService
from strongroom.service.webhooks import WebhookService
from strongroom.settings import Settings, SettingsError
from strongroom.storage.postgres import PostgresStorage
from strongroom.storage.sqlite import SqliteStorage

__all__ = [
    "SEALED_ROOTS",
    "Components",
    "OffsetClock",
    "SealedRootRequired",
    "StrongroomApp",
    "build",
    "create_app",
    "function_runtime",
    "load_root_key",
    "open_storage",
    "sealed_store",
]

log = logging.getLogger("strongroom")


class OffsetClock:
    """A clock that adds the seconds written in a file (testing aid for the purger)."""

    def __init__(self, base: Clock, path: Path) -> None:
        self._base = base
        self._path = path

    def now(self) -> float:
        try:
            offset = float(self._path.read_text().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return self._base.now() + offset


@dataclass
class Components:
    """Everything the server is made of, built once at start-up."""

    settings: Settings
    storage: SqliteStorage | PostgresStorage
    root: RootKey
    keyring: Keyring
    identity: Identity
    secrets: SecretsService
    policies: ResourcePolicyService
    authz: Authorizer
    clock: Clock
    purge_clock: Clock  # the clock plus the testing offset, when one is configured
    kms: KmsService | None = None  # the KMS-compatible key service (TrentService.*)
    rotation: RotationService | None = None  # RotateSecret, CancelRotateSecret, the scheduler
    webhooks: WebhookService | None = None  # rotation functions that are HTTPS endpoints
    functions: FunctionsService | None = None  # the Lambda subset (stored functions, Invoke)


SEALED_ROOTS = frozenset({"passphrase", "shamir"})


class SealedRootRequired(SettingsError):
    """The configured root needs a passphrase or shares: serve sealed and unseal."""


def load_root_key(settings: Settings) -> tuple[RootKey, bool]:
    """The root key ``crypto.root`` selects; returns (root, created).

    ``file``: the base64 setting, else the key file (created if absent, rotatable).
    ``pkcs11``: ``strongroom.crypto.pkcs11.load_root_key``. ``passphrase``/``shamir``
    raise ``SealedRootRequired`` (see :func:`sealed_store`); anything else ``SettingsError``.
    """
    kind = settings.crypto.root
    if kind == "file":
        if settings.crypto.root_key:
            return FileRootKey.from_base64(settings.crypto.root_key), False
        store = FileRootStore(settings.path(settings.crypto.root_key_file))
        _, created = store.load_or_create()
        return RootRing.from_store(store), created
    if kind == "pkcs11":
        try:
            pkcs11 = importlib.import_module("strongroom.crypto.pkcs11")
        except ImportError as exc:
            raise SettingsError(
                f"crypto.root = pkcs11 is not available in this build ({exc})"
            ) from None
        root: RootKey = pkcs11.load_root_key(settings)
        return root, False
    if kind in SEALED_ROOTS:
        raise SealedRootRequired(f"crypto.root = {kind} starts sealed: unseal it")
    raise SettingsError(f"crypto.root: expected file, passphrase, shamir or pkcs11, got {kind!r}")


def sealed_store(settings: Settings) -> SealedRootStore:
    """The header of a passphrase or shamir root; ``RootKeyError`` if it is missing."""
    store = SealedRootStore(settings.path(settings.crypto.sealed_root_file))
    if store.kind != settings.crypto.root:
        raise SettingsError(
            f"crypto.root is {settings.crypto.root} but {store.path} holds a {store.kind} root"
        )
    return store


def _endpoint_url(settings: Settings) -> str:
    """Where rotation webhooks reach this server: ``rotation.webhook_endpoint_url``, else the
    listening address (a wildcard address as loopback)."""
    if settings.rotation.webhook_endpoint_url:
        return settings.rotation.webhook_endpoint_url
    server = settings.server
    scheme = "https" if server.tls_cert else "http"
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(server.host, server.host)  # noqa: S104 - mapped away
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{server.port}"


def function_runtime(
    settings: Settings, *, euid: int | None = None
) -> tuple[FunctionRunner | None, str | None]:
    """The process runner for stored functions and, when there is none, why functions are
    refused (None: ``functions.enabled`` is off). Functions call back into this server
    (``AWS_ENDPOINT_URL``), trusting its certificate when it is the self-signed one of
    ``strongroom dev --tls``.

    A server running as root (``euid``, default this process's) runs functions as
    ``functions.run_as_user`` and checks at start that they cannot read the data directory:
    SettingsError if they can, or cannot run at all. A server that is not root runs them only
    with ``functions.allow_same_user``.
    """
    options = settings.functions
    if not options.enabled:
        return None, None
    try:
        run_as = choose_run_as(
            options.run_as_user,
            allow_same_user=options.allow_same_user,
            euid=os.geteuid() if euid is None else euid,
        )
    except FunctionsUnavailable as exc:
        log.warning("%s", exc)
        return None, str(exc)
    ca_bundle: Path | None = None
    if options.ca_bundle:
        ca_bundle = settings.path(options.ca_bundle)
    elif settings.server.tls_cert:
        cert = settings.path(settings.server.tls_cert)
        if cert.resolve() == settings.path("tls/cert.pem").resolve():
            ca_bundle = cert
    protected = [Path(settings.data_dir), settings.path(settings.crypto.root_key_file)]
    if settings.storage_backend() == "sqlite":
        protected.append(settings.sqlite_path())
    if settings.server.tls_key:
        protected.append(settings.path(settings.server.tls_key))
    runner = None
    try:
        runner = FunctionRunner(
            endpoint_url=_endpoint_url(settings),
            region=settings.server.region,
            work_dir=settings.path(options.work_dir) if options.work_dir else None,
            ca_bundle=ca_bundle,
            run_as=run_as,
        )
        runner.check(protected)
    except IsolationError as exc:
        if runner is not None:
            runner.close()
        raise SettingsError(
            f"functions cannot run isolated: {exc} (or set functions.enabled = false)"
        ) from None
    return runner, None


def open_storage(settings: Settings) -> SqliteStorage | PostgresStorage:
    """The store ``storage.url`` names, its schema brought up to date: ``sqlite:///`` a file
    (under the data directory when relative), ``postgresql://`` a database shared by nodes."""
    if settings.storage_backend() == "postgresql":
        return PostgresStorage(settings.storage.url, pool_size=settings.storage.pool_size)
    return SqliteStorage(settings.sqlite_path())


def build(
    settings: Settings, clock: Clock | None = None, root: RootKey | None = None
) -> Components:
    """Open storage, unwrap every key once, and wire the services.

    ``root`` (an unsealed root) replaces the one ``crypto.root`` would load.
    """
    clock = clock or SystemClock()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    if root is None:
        root, _ = load_root_key(settings)
    storage = open_storage(settings)
    keys = KeyService(root)
    keyring = Keyring(storage, keys, clock, settings.server.region)
    keyring.load_all()
    purge_clock: Clock = clock
    if settings.purge.clock_offset_file:
        purge_clock = OffsetClock(clock, settings.path(settings.purge.clock_offset_file))
    identity = Identity(storage, root, clock, session_clock=purge_clock)
    authz = Authorizer(storage, clock)
    kms = KmsService(storage, keys, keyring, clock, authz, settings.server.region)
    secret_keys = SecretKeys(storage, keyring, kms, settings.server.region)
    secrets = SecretsService(
        storage, Envelope(keys), keyring, clock, authz, secret_keys=secret_keys
    )
    policies = ResourcePolicyService(storage, authz)
    region = settings.server.region
    registry = RotationRegistry(lambda account: RotationClient(secrets, account, region))
    webhooks = WebhookService(
        storage, root, identity, clock, region=region, endpoint_url=_endpoint_url(settings)
    )
    # Webhooks resolve first: the operator registered them, so a Lambda function of the same
    # name (which any account user may create) cannot take over their rotations.
    registry.add_resolver(webhooks.resolve)
    runner, refusal = function_runtime(settings)
    functions = FunctionsService(
        storage,
        root,
        identity=identity,
        clock=clock,
        authz=authz,
        region=region,
        runner=runner,
        session_clock=purge_clock,
        unavailable=refusal,
    )
    # Stored functions (arn:aws:lambda:...:function:NAME) whose policy lets Secrets Manager in.
    registry.add_resolver(functions.resolve)
    if settings.rotation.allow_test_functions and settings.rotation.test_module:
        importlib.import_module(settings.rotation.test_module).register(registry)
    # Rotation runs on the purger's clock, so the testing offset moves schedules too.
    rotation = RotationService(storage, authz, purge_clock, registry)
    return Components(
        settings,
        storage,
        root,
        keyring,
        identity,
        secrets,
        policies,
        authz,
        clock,
        purge_clock,
        kms,
        rotation,
        webhooks=webhooks,
        functions=functions,
    )


class StrongroomApp:
    """The ASGI callable: health, lifespan (purger, access-day flusher) and the API."""

    def __init__(self, components: Components) -> None:
        self.components = components
        settings = components.settings
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strongroom-writer")
        self._rotators = ThreadPoolExecutor(
            max_workers=max(1, settings.rotation.workers), thread_name_prefix="strongroom-rotation"
        )
        if components.rotation is not None:
            # RotateSecret starts a rotation here and returns, as on AWS: a slow function
            # must not hold the writer thread.
            components.rotation.pool = self._rotators
        # Invoke runs here, never on the writer: a function may run for minutes.
        self._invokers = ThreadPoolExecutor(
            max_workers=max(1, settings.functions.workers), thread_name_prefix="strongroom-invoke"
        )
        functions_front = None
        if components.functions is not None:
            components.functions.pool = self._invokers
            functions_front = LambdaFront(
                verifier=SigV4Verifier(
                    settings.server.region, components.identity.secret_for, components.clock
                ),
                identity=components.identity,
                service=components.functions,
                region=settings.server.region,
                writer=self._writer,
                invokers=self._invokers,
                max_body_bytes=settings.functions.max_request_bytes,
                request_scope=components.storage.request_scope,
            )
        self._purge_clock = components.purge_clock
        verifier = SigV4Verifier(
            settings.server.region, components.identity.secret_for, components.clock
        )
        self._dispatcher = Dispatcher(
            model=ServiceModel.load(),
            verifier=verifier,
            query=QueryFront(
                verifier=verifier,
                # IAM is a global service: clients sign it for us-east-1 whatever our region.
                iam_verifier=SigV4Verifier(
                    "us-east-1", components.identity.secret_for, components.clock
                ),
                identity=components.identity,
                services={
                    "sts": StsService(components.storage, components.identity, components.authz),
                    "iam": IamService(
                        components.storage,
                        components.identity,
                        components.clock,
                        components.authz,
                    ),
                },
                region=settings.server.region,
            ),
            identity=components.identity,
            services={
                "secrets": components.secrets,
                "policies": components.policies,
                **({"kms": components.kms} if components.kms is not None else {}),
                **({"rotation": components.rotation} if components.rotation else {}),
            },
            kms_model=load_kms_model(),
            region=settings.server.region,
            max_body_bytes=settings.server.max_body_bytes,
            writer=self._writer,
            request_scope=components.storage.request_scope,
            functions=functions_front,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = False

    async def __call__(self, scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
        kind = scope["type"]
        if kind == "http":
            await self._dispatcher.handle(scope, receive, send, ready=self.ready)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:  # type: ignore[no-untyped-def]
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start_background()
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                await self.stop_background()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start_background(self) -> None:
        self._tasks = [
            asyncio.create_task(self._purge_loop()),
            asyncio.create_task(self._flush_loop()),
            asyncio.create_task(self._rotation_loop()),
        ]

    async def stop_background(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer, self.components.secrets.flush_access_days)
        await loop.run_in_executor(self._writer, self.components.identity.flush_use)
        self._writer.shutdown(wait=True)
        self._rotators.shutdown(wait=True)
        # Queued Event invocations are dropped, as a stopping Lambda host would; running
        # ones end with their processes.
        self._invokers.shutdown(wait=True, cancel_futures=True)
        if self.components.functions is not None:
            self.components.functions.close()
        self.components.storage.close()

    async def _purge_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.components.settings.purge.interval_seconds
        # One node of a deployment purges; another takes over when its lease runs out.
        lease = Lease(self.components.storage, self.components.clock, "purger", 3 * interval + 10)
        while True:
            try:
                if not await loop.run_in_executor(self._writer, lease.acquire):
                    await asyncio.sleep(interval)
                    continue
                now = self._purge_clock.now()
                while purged := await loop.run_in_executor(
                    self._writer, self.components.secrets.purge_due, now
                ):
                    log.info("purger: removed %d secrets whose recovery window ended", purged)
                await loop.run_in_executor(self._writer, self.components.identity.purge_sessions)
                if self.components.kms is not None:
                    await loop.run_in_executor(
                        self._writer, self.components.kms.purge_due_keys, now
                    )
                    await loop.run_in_executor(
                        self._writer, self.components.kms.rotate_due_keys, now
                    )
            except Exception:
                log.exception("purger failed; will retry")
            await asyncio.sleep(interval)

    async def _rotation_loop(self) -> None:
        """The rotation scheduler, apart from the purger so that a slow rotation never
        holds up purging: a tick every ``rotation.interval_seconds``, or at once again
        while full batches are due."""
        loop = asyncio.get_running_loop()
        settings = self.components.settings.rotation
        while True:
            claimed = await self._rotate_due(loop)
            if claimed < settings.batch:
                await asyncio.sleep(settings.interval_seconds)

    async def _rotate_due(self, loop: asyncio.AbstractEventLoop) -> int:
        """One scheduler tick: claim the due rotations and run them in the rotation pool;
        returns how many were claimed (0 after a failure, which is logged)."""
        rotation = self.components.rotation
        if rotation is None:
            return 0
        try:
            now = self._purge_clock.now()
            batch = self.components.settings.rotation.batch
            return await loop.run_in_executor(
                None, functools.partial(rotation.run_due, now, batch, self._rotators)
            )
        except Exception:
            log.exception("rotation scheduler failed; will retry")
            return 0

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            try:
                await loop.run_in_executor(self._writer, self.components.secrets.flush_access_days)
                await loop.run_in_executor(self._writer, self.components.identity.flush_use)
            except Exception:
                log.exception("could not record last-accessed dates; will retry")


def create_app(settings: Settings, clock: Clock | None = None) -> StrongroomApp:
    return StrongroomApp(build(settings, clock))
