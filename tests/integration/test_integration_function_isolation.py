"""Function processes cannot read Strongroom's data: as root the runner runs them as an
unprivileged user (real processes); not as root, functions are refused unless allowed."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from function_zips import code_sha256, zip_files
from strongroom.errors import NotSupported
from strongroom.functions import (
    Credentials,
    FunctionRunner,
    FunctionSpec,
    FunctionsUnavailable,
    IsolationError,
    RunAs,
    choose_run_as,
)
from strongroom.http.app import build, function_runtime
from strongroom.protocol.faults import lambda_fault
from strongroom.service.context import RequestContext
from strongroom.service.functions import FunctionsService
from strongroom.settings import load_settings

ENDPOINT = "http://127.0.0.1:9"
REGION = "us-east-1"
KEY_TEXT = "ROOT-KEY-MARKER-c2VjcmV0"
DB_TEXT = "DATABASE-MARKER-every-accounts-secrets"

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")

SNOOP = """
import json, os, sys

def lambda_handler(event, context):
    seen = {}
    for name in ("key", "db"):
        try:
            with open(event[name]) as fh:
                seen[name] = fh.read()
        except Exception as exc:
            seen[name] = type(exc).__name__
    try:
        seen["listing"] = os.listdir(event["data"])
    except Exception as exc:
        seen["listing"] = type(exc).__name__
    scratch = os.path.join(os.environ["TMPDIR"], "scratch.txt")
    with open(scratch, "w") as fh:
        fh.write("mine")
    import boto3
    seen["sdk"] = boto3.__name__
    seen["uid"], seen["gid"], seen["groups"] = os.getuid(), os.getgid(), os.getgroups()
    seen["scratch"] = open(scratch).read()
    seen["code"] = sorted(os.listdir(os.environ["LAMBDA_TASK_ROOT"]))
    return seen
"""

STEAL = """
def lambda_handler(event, context):
    print("trying", event["key"])
    with open(event["key"]) as fh:
        return fh.read()
"""


def spec(source: str, *, name: str = "fn", timeout: int = 10, memory: int = 256) -> FunctionSpec:
    code = zip_files({"lambda_function.py": source})
    return FunctionSpec(
        name=name,
        arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
        handler="lambda_function.lambda_handler",
        runtime="python3.12",
        code_zip=code,
        code_sha256=code_sha256(code),
        environment={"DB_PASSWORD": "function-only"},
        timeout_seconds=timeout,
        memory_mb=memory,
    )


def call(runner: FunctionRunner, fn: FunctionSpec, event: Any) -> tuple[Any, Any]:
    result = runner.invoke(fn, json.dumps(event).encode(), None, "r-1")
    return json.loads(result.payload), result


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory as ``strongroom`` leaves it: 0700, its files 0600, outside pytest's
    own private folders so that only its own mode protects it."""
    folder = Path(tempfile.mkdtemp(prefix="strongroom-data-"))
    for name, text in (("root.key", KEY_TEXT), ("strongroom.db", DB_TEXT)):
        (folder / name).write_text(text)
        (folder / name).chmod(0o600)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def nobody() -> RunAs:
    run_as = choose_run_as("nobody", allow_same_user=False, euid=0)
    assert run_as is not None
    return run_as


@pytest.fixture
def runner(nobody: RunAs) -> Iterator[FunctionRunner]:
    with FunctionRunner(endpoint_url=ENDPOINT, region=REGION, run_as=nobody) as r:
        yield r


def paths(data_dir: Path) -> dict[str, str]:
    return {
        "key": str(data_dir / "root.key"),
        "db": str(data_dir / "strongroom.db"),
        "data": str(data_dir),
    }


@as_root
def test_function_cannot_read_the_data_directory(
    runner: FunctionRunner, nobody: RunAs, data_dir: Path
) -> None:
    """The root key, the database and the data directory's listing are PermissionError to a
    function; it runs as the run-as user, writes its TMPDIR, reads its code, imports boto3."""
    seen, result = call(runner, spec(SNOOP), paths(data_dir))
    assert result.function_error is None, seen
    assert seen["key"] == seen["db"] == seen["listing"] == "PermissionError"
    assert (seen["uid"], seen["gid"]) == (nobody.uid, nobody.gid)
    assert set(seen["groups"]) <= {nobody.gid}
    assert seen["scratch"] == "mine"
    assert seen["sdk"] == "boto3"
    assert seen["code"] == ["lambda_function.py"]


@as_root
def test_an_unhandled_permission_error_leaks_nothing(
    runner: FunctionRunner, data_dir: Path
) -> None:
    """A handler that lets the read fail reports PermissionError; neither the payload nor
    the log tail holds the key."""
    payload, result = call(runner, spec(STEAL), paths(data_dir))
    assert result.function_error == "Unhandled"
    assert payload["errorType"] == "PermissionError"
    assert KEY_TEXT not in result.payload.decode()
    assert KEY_TEXT not in result.log_tail
    assert "trying" in result.log_tail


@as_root
def test_the_start_up_check_passes_and_catches_a_readable_data_directory(
    runner: FunctionRunner, data_dir: Path
) -> None:
    """check() accepts a private data directory and refuses one the run-as user can read."""
    protected = [data_dir, data_dir / "root.key", data_dir / "strongroom.db"]
    runner.check(protected)
    data_dir.chmod(0o755)
    (data_dir / "root.key").chmod(0o644)
    with pytest.raises(IsolationError, match="can read"):
        runner.check(protected)


@as_root
def test_a_work_directory_the_user_cannot_reach_is_refused(nobody: RunAs, tmp_path: Path) -> None:
    """pytest's folders are private to root: a work directory there is refused at once."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(IsolationError, match="cannot reach"):
        FunctionRunner(
            endpoint_url=ENDPOINT, region=REGION, run_as=nobody, work_dir=private / "work"
        )


@as_root
def test_other_functions_cannot_read_a_running_functions_process(runner: FunctionRunner) -> None:
    """Function processes are not dumpable: another function (the same user) can read
    neither the /proc environment nor the memory of a warm one."""
    holder = spec("def lambda_handler(event, context):\n    return 1\n", name="holder")
    call(runner, holder, {})  # stays warm, with DB_PASSWORD and credentials in its memory
    snoop = """
import os

def lambda_handler(event, context):
    me, found = os.getpid(), {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid != os.getuid() or int(pid) == me:
                continue
        except OSError:
            continue
        for name in ("environ", "mem"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as fh:
                    fh.read(1)
                found[f"{pid}/{name}"] = "read"
            except OSError as exc:
                found[f"{pid}/{name}"] = type(exc).__name__
    return found
"""
    found, result = call(runner, spec(snoop, name="snoop"), {})
    assert result.function_error is None, found
    assert found  # the warm holder was there to be tried
    assert "read" not in found.values()


@as_root
def test_timeout_and_memory_kills_reach_the_run_as_users_processes(
    runner: FunctionRunner,
) -> None:
    """The runner (root) still ends a function that runs too long or uses too much memory."""
    slow = spec("import time\ndef lambda_handler(e, c):\n    time.sleep(60)\n", timeout=1)
    started = time.monotonic()
    payload, result = call(runner, slow, {})
    assert result.function_error == "Unhandled"
    assert "Task timed out" in payload["errorMessage"]
    assert time.monotonic() - started < 10
    hog = spec(
        "def lambda_handler(e, c):\n    b = [bytearray(16 << 20) for _ in range(64)]\n",
        name="hog",
        memory=128,
    )
    payload, result = call(runner, hog, {})
    assert payload["errorType"] == "Runtime.ExitError"
    assert "signal: killed" in payload["errorMessage"]


@as_root
def test_function_environment_reaches_the_handler_after_the_switch(runner: FunctionRunner) -> None:
    """The function's variables and the role's credentials arrive as on Lambda."""
    source = "import os\ndef lambda_handler(e, c):\n    return dict(os.environ)\n"
    env = json.loads(runner.invoke(spec(source), b"{}", Credentials("AKID", "s", "t"), "r").payload)
    assert env["DB_PASSWORD"] == "function-only"
    assert env["AWS_ACCESS_KEY_ID"] == "AKID"
    assert env["HOME"] == env["TMPDIR"]
    assert env["LAMBDA_TASK_ROOT"] != ""


# --- not root ---------------------------------------------------------------------------------


def test_not_root_refuses_functions_unless_same_user_is_allowed() -> None:
    """A server that cannot switch users refuses functions; allow_same_user runs them as
    itself; an unknown or root run-as user is refused too."""
    with pytest.raises(FunctionsUnavailable, match="allow_same_user"):
        choose_run_as("nobody", allow_same_user=False, euid=1000)
    assert choose_run_as("nobody", allow_same_user=True, euid=1000) is None
    with pytest.raises(FunctionsUnavailable, match="not a user"):
        choose_run_as("no-such-user-strongroom", allow_same_user=False, euid=0)
    with pytest.raises(FunctionsUnavailable, match="is root"):
        choose_run_as(pwd.getpwuid(0).pw_name, allow_same_user=False, euid=0)


def test_not_root_server_refuses_create_invoke_and_rotation(tmp_path: Path) -> None:
    """Without allow_same_user a non-root server builds no runner; CreateFunction and
    running a function answer InvalidParameterValueException saying functions are off."""
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    runner, refusal = function_runtime(settings, euid=1000)
    assert runner is None and refusal is not None
    assert "Functions are disabled on this server" in refusal
    allowed = load_settings(
        overrides={"data_dir": str(tmp_path), "functions": {"allow_same_user": True}}
    )
    same_user, none = function_runtime(allowed, euid=1000)
    assert same_user is not None and none is None
    same_user.close()

    components = build(
        load_settings(overrides={"data_dir": str(tmp_path), "functions": {"enabled": False}})
    )
    service = FunctionsService(
        components.storage,
        components.root,
        identity=components.identity,
        clock=components.clock,
        authz=components.authz,
        region=REGION,
        runner=None,
        unavailable=refusal,
    )
    ctx = RequestContext(components.identity.create_account().principal, REGION, "req")
    with pytest.raises(NotSupported) as raised:
        service.create_function(
            ctx,
            function_name="fn",
            role=f"arn:aws:iam::{ctx.account_id}:role/r",
            code={"ZipFile": zip_files({"lambda_function.py": "x = 1"})},
            runtime="python3.12",
            handler="lambda_function.lambda_handler",
        )
    assert str(raised.value) == refusal
    assert lambda_fault(raised.value) == (400, "InvalidParameterValueException")
    # A function stored earlier (or by another node) is not run either, whoever asks.
    with pytest.raises(NotSupported, match="Functions are disabled"):
        service._run(  # the one path Invoke and rotation share
            _record(ctx.account_id), b"{}", "req"
        )
    components.storage.close()


def _record(account: str) -> Any:
    from strongroom.storage.base import FunctionRecord  # noqa: PLC0415

    return FunctionRecord(
        account_id=account,
        name="fn",
        runtime="python3.12",
        role=f"arn:aws:iam::{account}:role/r",
        handler="lambda_function.lambda_handler",
        description="",
        timeout=3,
        memory_size=128,
        sealed_environment=None,
        code_sha256="",
        code_size=0,
        revision_id="x",
        last_modified=0.0,
        policy=None,
    )
