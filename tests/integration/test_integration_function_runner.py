"""The function runtime (strongroom.functions) with real child processes: results, Lambda's
error objects, timeouts, memory, environment, logs, code extraction and warm reuse."""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Server
from function_zips import code_sha256, zip_files
from strongroom.functions import (
    Credentials,
    FunctionRunner,
    FunctionSpec,
    InvalidCode,
)
from strongroom.functions.code import MAX_UNZIPPED_BYTES

ENDPOINT = "http://127.0.0.1:9"  # nothing listens: only tests that need a server use one
REGION = "eu-west-2"
ARN = "arn:aws:lambda:eu-west-2:123456789012:function:{name}"
TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[FunctionRunner]:
    with FunctionRunner(endpoint_url=ENDPOINT, region=REGION, work_dir=tmp_path / "work") as r:
        yield r


def spec(
    source: str,
    *,
    name: str = "fn",
    handler: str = "lambda_function.lambda_handler",
    files: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
    timeout: int = 10,
    memory: int = 256,
) -> FunctionSpec:
    code = zip_files({"lambda_function.py": source, **(files or {})})
    return FunctionSpec(
        name=name,
        arn=ARN.format(name=name),
        handler=handler,
        runtime="python3.12",
        code_zip=code,
        code_sha256=code_sha256(code),
        environment=environment or {},
        timeout_seconds=timeout,
        memory_mb=memory,
    )


def invoke(
    runner: FunctionRunner,
    fn: FunctionSpec,
    event: Any = None,
    credentials: Credentials | None = None,
    request_id: str | None = None,
) -> tuple[Any, Any]:
    """Invoke and return (decoded payload, the result)."""
    result = runner.invoke(fn, json.dumps(event or {}).encode(), credentials, request_id or "r-1")
    return json.loads(result.payload), result


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


ECHO = """
def lambda_handler(event, context):
    return {"got": event, "n": 1}
"""


def test_handler_result_is_the_payload(runner: FunctionRunner) -> None:
    """The handler's return value comes back as its JSON, with no function error."""
    payload, result = invoke(runner, spec(ECHO), {"a": [1, 2]})
    assert payload == {"got": {"a": [1, 2]}, "n": 1}
    assert result.function_error is None
    assert result.duration_ms > 0


def test_prints_do_not_corrupt_the_result(runner: FunctionRunner) -> None:
    """Output on stdout, stderr and fd 1 goes to the log, never into the payload."""
    source = """
import os, sys
def lambda_handler(event, context):
    print('{"fake": "result"}')
    sys.stderr.write("to stderr\\n")
    os.write(1, b"raw fd write\\n")
    return "real"
"""
    payload, result = invoke(runner, spec(source))
    assert payload == "real"
    for line in ('{"fake": "result"}', "to stderr", "raw fd write"):
        assert line in result.log_tail


def test_handler_exception_is_lambdas_error_object(runner: FunctionRunner) -> None:
    """An exception becomes errorMessage/errorType/requestId/stackTrace, "Unhandled"."""
    source = """
def helper():
    raise KeyError("password key is missing")
def lambda_handler(event, context):
    helper()
"""
    payload, result = invoke(runner, spec(source), request_id="req-7")
    assert result.function_error == "Unhandled"
    assert payload["errorType"] == "KeyError"
    assert payload["errorMessage"] == "'password key is missing'"
    assert payload["requestId"] == "req-7"
    assert len(payload["stackTrace"]) == 2
    assert "lambda_function.py" in payload["stackTrace"][0]
    assert "in helper" in payload["stackTrace"][1]
    assert not any("bootstrap" in frame for frame in payload["stackTrace"])
    assert "[ERROR] KeyError: 'password key is missing'" in result.log_tail


def test_unserialisable_result_is_a_marshal_error(runner: FunctionRunner) -> None:
    """A result json cannot encode is Runtime.MarshalError, as Lambda."""
    payload, result = invoke(runner, spec("def lambda_handler(e, c):\n    return {1, 2}\n"))
    assert result.function_error == "Unhandled"
    assert payload["errorType"] == "Runtime.MarshalError"
    assert payload["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )


def test_timeout_kills_the_process_group(runner: FunctionRunner, tmp_path: Path) -> None:
    """Past the timeout the handler and a child it started are killed; Lambda's message."""
    pid_file = tmp_path / "child.pid"
    source = """
import os, subprocess, time
def lambda_handler(event, context):
    child = subprocess.Popen(["sleep", "60"])
    with open(os.environ["PID_FILE"], "w") as f:
        f.write(str(child.pid))
    time.sleep(60)
"""
    fn = spec(source, timeout=1, environment={"PID_FILE": str(pid_file)})
    started = time.monotonic()
    payload, result = invoke(runner, fn, request_id="req-timeout")
    elapsed = time.monotonic() - started
    assert result.function_error == "Unhandled"
    assert set(payload) == {"errorMessage"}
    assert TIMESTAMPED.match(payload["errorMessage"])
    assert re.search(r" req-timeout Task timed out after 1\.\d\d seconds$", payload["errorMessage"])
    assert elapsed < 5
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 2
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)
    assert "Task timed out after" in result.log_tail
    # The environment was discarded: the next invocation starts a new one.
    payload, _ = invoke(runner, spec(ECHO))
    assert payload["n"] == 1


def test_memory_hog_is_killed(runner: FunctionRunner) -> None:
    """Touching more memory than MemorySize ends as Lambda does: Runtime.ExitError, killed."""
    source = """
def lambda_handler(event, context):
    hoard = []
    for _ in range(200):
        hoard.append(b"x" * (10 * 1024 * 1024))
    return len(hoard)
"""
    payload, result = invoke(runner, spec(source, memory=128), request_id="req-oom")
    assert result.function_error == "Unhandled"
    assert payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: req-oom Error: Runtime exited with error: signal: killed",
    }
    report = next(line for line in result.log_tail.splitlines() if line.startswith("REPORT"))
    used = int(re.search(r"Max Memory Used: (\d+) MB", report).group(1))  # type: ignore[union-attr]
    assert 128 <= used < 1024


def test_within_memory_size_is_not_killed(runner: FunctionRunner) -> None:
    """A handler that stays under MemorySize runs to completion (boto3 imported at 128 MB)."""
    source = """
import boto3
def lambda_handler(event, context):
    boto3.client("secretsmanager")
    block = b"x" * (30 * 1024 * 1024)
    return len(block)
"""
    payload, result = invoke(runner, spec(source, memory=128))
    assert result.function_error is None
    assert payload == 30 * 1024 * 1024


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("os.kill(os.getpid(), signal.SIGKILL)", "signal: killed"),
        ("os.kill(os.getpid(), signal.SIGSEGV)", "signal: segmentation fault"),
        ("os._exit(3)", "exit status 3"),
        ("sys.exit(2)", "exit status 2"),
    ],
)
def test_process_that_ends_itself_is_a_runtime_exit_error(
    runner: FunctionRunner, body: str, reason: str
) -> None:
    """A handler that kills or exits its process gets Runtime.ExitError with Lambda's reason."""
    source = f"import os, signal, sys\ndef lambda_handler(event, context):\n    {body}\n"
    payload, result = invoke(runner, spec(source), request_id="req-x")
    assert result.function_error == "Unhandled"
    assert payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: req-x Error: Runtime exited with error: {reason}",
    }
    assert "Runtime.ExitError" in result.log_tail


ENVIRON = """
import os
def lambda_handler(event, context):
    return dict(os.environ)
"""

RESERVED = {
    "_HANDLER",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "LAMBDA_TASK_ROOT",
    "TZ",
    "LANG",
    "PATH",
    "AWS_ENDPOINT_URL",
    "SECRETS_MANAGER_ENDPOINT",
    "HOME",
    "TMPDIR",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
}


def test_environment_holds_only_the_functions_and_reserved_variables(
    runner: FunctionRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of the server's environment reaches the function."""
    monkeypatch.setenv("STRONGROOM_STORAGE__URL", "sqlite:///server-only")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
    monkeypatch.setenv("PYTHONPATH", "/server/only")
    monkeypatch.setenv("SERVER_ONLY", "leak")
    fn = spec(ENVIRON, environment={"DB_HOST": "db.internal", "AWS_ACCESS_KEY_ID": "spoofed"})
    env, _ = invoke(runner, fn)
    # Python itself adds LC_CTYPE when LANG names a locale this machine lacks (PEP 538).
    assert set(env) - {"LC_CTYPE"} == RESERVED | {"DB_HOST"}
    assert env["DB_HOST"] == "db.internal"
    assert "server-secret" not in json.dumps(env)
    assert "/server/only" not in json.dumps(env)


def test_reserved_variables_and_credentials(runner: FunctionRunner) -> None:
    """Lambda's reserved variables, the role's credentials and this server's endpoint."""
    fn = spec(ENVIRON, name="rotator", memory=512)
    creds = Credentials("AKIDEXAMPLE", "secret-example", "token-example")
    env, _ = invoke(runner, fn, credentials=creds)
    assert env["AWS_ACCESS_KEY_ID"] == "AKIDEXAMPLE"
    assert env["AWS_SECRET_ACCESS_KEY"] == "secret-example"
    assert env["AWS_SESSION_TOKEN"] == "token-example"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "rotator"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "lambda_function.lambda_handler"
    assert env["TZ"] == ":UTC"
    assert env["AWS_ENDPOINT_URL"] == env["SECRETS_MANAGER_ENDPOINT"] == ENDPOINT
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/rotator"
    assert Path(env["LAMBDA_TASK_ROOT"]).is_dir()
    assert "AWS_CA_BUNDLE" not in env


def test_warm_process_gets_each_invocations_credentials(runner: FunctionRunner) -> None:
    """A reused process sees the credentials of the current invocation; no token, no variable."""
    fn = spec(ENVIRON)
    env, _ = invoke(runner, fn, credentials=Credentials("AKID1", "s1", "t1"))
    assert env["AWS_ACCESS_KEY_ID"] == "AKID1"
    env, _ = invoke(runner, fn, credentials=Credentials("AKID2", "s2", ""))
    assert env["AWS_ACCESS_KEY_ID"] == "AKID2"
    assert "AWS_SESSION_TOKEN" not in env
    env, _ = invoke(runner, fn, credentials=None)
    assert "AWS_ACCESS_KEY_ID" not in env


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("https://secretsmanager.us-east-1.amazonaws.com", ENDPOINT),
        ("secretsmanager.cn-north-1.amazonaws.com.cn", ENDPOINT),
        ("https://vault.example.com", "https://vault.example.com"),
    ],
)
def test_secrets_manager_endpoint_on_aws_points_back_here(
    runner: FunctionRunner, configured: str, expected: str
) -> None:
    """SECRETS_MANAGER_ENDPOINT naming AWS is this server; any other value is kept."""
    env, _ = invoke(runner, spec(ENVIRON, environment={"SECRETS_MANAGER_ENDPOINT": configured}))
    assert env["SECRETS_MANAGER_ENDPOINT"] == expected


def test_ca_bundle_is_given_to_the_sdk(tmp_path: Path) -> None:
    """With a CA bundle configured, AWS_CA_BUNDLE names it."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    with FunctionRunner(
        endpoint_url="https://127.0.0.1:9", region=REGION, work_dir=tmp_path / "w", ca_bundle=bundle
    ) as r:
        env, _ = invoke(r, spec(ENVIRON))
    assert env["AWS_CA_BUNDLE"] == str(bundle)


def test_context_has_lambdas_attributes(runner: FunctionRunner) -> None:
    """The context object carries Lambda's attributes and a falling remaining time."""
    source = """
import os, sys, time
def lambda_handler(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(0.2)
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": [first, context.get_remaining_time_in_millis()],
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
    }
"""
    ctx, _ = invoke(runner, spec(source, name="ctx", timeout=5), request_id="req-ctx")
    assert ctx["function_name"] == "ctx"
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == ARN.format(name="ctx")
    assert ctx["memory_limit_in_mb"] == "256"
    assert ctx["aws_request_id"] == "req-ctx"
    assert ctx["log_group_name"] == "/aws/lambda/ctx"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", ctx["log_stream_name"])
    first, second = ctx["remaining"]
    assert 4000 < first <= 5000
    assert 150 <= first - second < 1000
    assert ctx["cwd"] == ctx["path0"] == ctx["task_root"]


def test_log_lines_as_the_lambda_runtime(runner: FunctionRunner) -> None:
    """The root logger writes Lambda's format; START, END and REPORT frame the invocation."""
    source = """
import logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("at import")
def lambda_handler(event, context):
    logger.info("createSecret: done for %s", event["arn"])
    return None
"""
    fn = spec(source)
    _, cold = invoke(runner, fn, {"arn": "arn:x"}, request_id="req-log")
    lines = cold.log_tail.splitlines()
    assert lines[0].startswith("INIT_START Runtime Version:")
    assert "at import" in lines
    start = lines.index("START RequestId: req-log Version: $LATEST")
    assert re.fullmatch(
        r"\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-log\tcreateSecret: done for arn:x",
        lines[start + 1],
    )
    assert lines[start + 2] == "END RequestId: req-log"
    assert re.match(
        r"REPORT RequestId: req-log\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms",
        lines[start + 3],
    )
    _, warm = invoke(runner, fn, {"arn": "arn:y"}, request_id="req-warm")
    assert "at import" not in warm.log_tail
    assert "Init Duration" not in warm.log_tail
    assert "req-log" not in warm.log_tail


def test_log_tail_is_the_last_4_kb(runner: FunctionRunner) -> None:
    """A chatty function's log_tail holds only the last 4 KB, ending with REPORT."""
    source = "def lambda_handler(e, c):\n    for i in range(5000):\n        print('line', i)\n"
    _, result = invoke(runner, spec(source))
    assert len(result.log_tail.encode()) <= 4096
    assert "line 4999" in result.log_tail
    assert "line 0\n" not in result.log_tail
    assert result.log_tail.splitlines()[-1].startswith("REPORT RequestId:")


def test_boto3_is_importable_without_being_in_the_zip(runner: FunctionRunner) -> None:
    """As on Lambda, the zip holds only the handler and boto3 imports."""
    source = "import boto3\ndef lambda_handler(e, c):\n    return boto3.__version__\n"
    payload, result = invoke(runner, spec(source))
    assert result.function_error is None
    assert re.fullmatch(r"\d+\.\d+\.\d+", payload)


def test_handler_in_a_folder(runner: FunctionRunner) -> None:
    """ "pkg/module.function" handlers load from a folder of the zip, as Lambda accepts."""
    files = {"src/rotator.py": "def handle(e, c):\n    return 'nested'\n"}
    payload, _ = invoke(runner, spec(ECHO, handler="src/rotator.handle", files=files))
    assert payload == "nested"


@pytest.mark.parametrize(
    ("handler", "source", "error_type", "message"),
    [
        (
            "lambda_function.missing",
            ECHO,
            "Runtime.HandlerNotFound",
            "Handler 'missing' missing on module 'lambda_function'",
        ),
        (
            "nowhere.lambda_handler",
            ECHO,
            "Runtime.ImportModuleError",
            "Unable to import module 'nowhere': No module named 'nowhere'",
        ),
        (
            "lambda_function.lambda_handler",
            "import not_installed_anywhere\n",
            "Runtime.ImportModuleError",
            "Unable to import module 'lambda_function': No module named 'not_installed_anywhere'",
        ),
        (
            "lambda_function.lambda_handler",
            "def lambda_handler(e, c)\n    return 1\n",
            "Runtime.UserCodeSyntaxError",
            None,
        ),
        (
            "lambda_handler",
            ECHO,
            "Runtime.MalformedHandlerName",
            "Bad handler 'lambda_handler': not enough values to unpack (expected 2, got 1)",
        ),
        (
            "lambda_function.lambda_handler",
            "raise RuntimeError('no config')\n",
            "RuntimeError",
            "no config",
        ),
    ],
)
def test_init_errors_as_lambda_reports_them(
    runner: FunctionRunner, handler: str, source: str, error_type: str, message: str | None
) -> None:
    """Errors while loading the handler come back with the runtime's error types."""
    payload, result = invoke(runner, spec(source, handler=handler))
    assert result.function_error == "Unhandled"
    assert payload["errorType"] == error_type
    assert payload["requestId"] == ""
    if message is not None:
        assert payload["errorMessage"] == message
    assert error_type in result.log_tail


def test_init_error_is_retried_on_the_next_invocation(runner: FunctionRunner) -> None:
    """A failed init is not kept: fixing what it needed makes the next invocation work."""
    source = "import os\nif not os.path.exists(os.environ['FLAG']):\n    raise OSError('x')\n"
    source += "def lambda_handler(e, c):\n    return 'up'\n"
    flag = Path(os.environ.get("TMPDIR", "/tmp")) / f"flag-{uuid.uuid4().hex}"
    fn = spec(source, environment={"FLAG": str(flag)})
    payload, _ = invoke(runner, fn)
    assert payload["errorType"] == "OSError"
    flag.write_text("")
    try:
        payload, _ = invoke(runner, fn)
    finally:
        flag.unlink()
    assert payload == "up"


COUNTER = """
import os
calls = 0
def lambda_handler(event, context):
    global calls
    calls += 1
    if event.get("fail"):
        raise ValueError("asked to")
    return {"calls": calls, "pid": os.getpid()}
"""


def test_warm_process_keeps_module_state(runner: FunctionRunner) -> None:
    """Invocations of the same function and configuration reuse the process, as Lambda;
    a handler error keeps it; a new configuration gets a new one."""
    fn = spec(COUNTER)
    first, _ = invoke(runner, fn)
    second, _ = invoke(runner, fn)
    assert (first["calls"], second["calls"]) == (1, 2)
    assert first["pid"] == second["pid"]
    invoke(runner, fn, {"fail": True})
    third, _ = invoke(runner, fn)
    assert third["calls"] == 4
    changed, _ = invoke(runner, spec(COUNTER, environment={"X": "1"}))
    assert changed["calls"] == 1


def test_evict_ends_warm_processes(runner: FunctionRunner) -> None:
    """After evict(name) the next invocation starts fresh."""
    fn = spec(COUNTER)
    first, _ = invoke(runner, fn)
    runner.evict("fn")
    assert not alive(first["pid"])
    again, _ = invoke(runner, fn)
    assert again["calls"] == 1


def test_concurrent_invocations_run_in_separate_processes(runner: FunctionRunner) -> None:
    """Two invocations at once each get a process; the code is extracted once."""
    source = (
        "import os, time\ndef lambda_handler(e, c):\n    time.sleep(0.5)\n    return os.getpid()\n"
    )
    fn = spec(source)
    results: list[int] = []

    def run() -> None:
        results.append(invoke(runner, fn)[0])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 2
    work = next(iter(runner._code._root.iterdir()), None)
    assert work is not None
    assert len([p for p in work.parent.iterdir() if len(p.name) == 64]) == 1


def _zip_with(name: str, data: bytes = b"x", mode: int = 0o644) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        archive.writestr(info, data)
    return buffer.getvalue()


def _raw_spec(code: bytes) -> FunctionSpec:
    return FunctionSpec(
        "bad", ARN.format(name="bad"), "x.y", "python3.12", code, code_sha256(code), {}, 3, 128
    )


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (_zip_with("../escape.py"), "outside its root"),
        (_zip_with("/etc/escape.py"), "outside its root"),
        (_zip_with("a/../../escape.py"), "outside its root"),
        (_zip_with("link.py", b"/etc/passwd", 0o120777), "symbolic link"),
        (b"this is not a zip", "could not unzip"),
    ],
)
def test_unsafe_zips_are_refused(
    runner: FunctionRunner, tmp_path: Path, code: bytes, reason: str
) -> None:
    """Traversal, absolute paths, symlinks and non-zips raise InvalidCode; nothing is written."""
    with pytest.raises(InvalidCode, match=reason):
        runner.invoke(_raw_spec(code), b"{}", None, "r")
    assert not (tmp_path / "escape.py").exists()
    assert not list((tmp_path / "work").glob("*/escape.py"))


def test_zip_bomb_is_refused(runner: FunctionRunner) -> None:
    """More than Lambda's 250 MB unzipped is refused before it fills the disk."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("big.bin", "w", force_zip64=True) as sink,
    ):
        chunk = bytes(1 << 20)
        for _ in range(MAX_UNZIPPED_BYTES // len(chunk) + 2):
            sink.write(chunk)
    with pytest.raises(InvalidCode, match="Unzipped size must be smaller than 262144000 bytes"):
        runner.invoke(_raw_spec(buffer.getvalue()), b"{}", None, "r")


def test_wrong_code_sha256_is_refused(runner: FunctionRunner) -> None:
    """A zip that does not match its CodeSha256 is not extracted under that digest."""
    good = spec(ECHO)
    other = zip_files({"lambda_function.py": "x = 1\n"})
    bad = FunctionSpec(**{**{f: getattr(good, f) for f in good.__slots__}, "code_zip": other})
    with pytest.raises(InvalidCode, match="does not match"):
        runner.invoke(bad, b"{}", None, "r")


# --- against a real server --------------------------------------------------------------------

TEMPLATE_STYLE = """
import json, logging
import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

def lambda_handler(event, context):
    client = boto3.client("secretsmanager")  # no endpoint, no region, no keys: as on Lambda
    name = event["Name"]
    client.create_secret(Name=name, SecretString=json.dumps({"password": "p"}))
    password = client.get_random_password(PasswordLength=20)["RandomPassword"]
    client.put_secret_value(SecretId=name, SecretString=json.dumps({"password": password}))
    logger.info("rotated %s", name)
    stages = client.describe_secret(SecretId=name)["VersionIdsToStages"]
    return {"stages": sorted(s for labels in stages.values() for s in labels)}
"""


def _server_runner(server: Server, tmp_path: Path) -> FunctionRunner:
    return FunctionRunner(
        endpoint_url=server.endpoint, region=server.region, work_dir=tmp_path / "work"
    )


def test_template_style_handler_reaches_the_server_with_long_term_keys(
    server: Server, tmp_path: Path
) -> None:
    """boto3 with nothing configured talks to this server with the keys given (no token)."""
    name = f"fn-{uuid.uuid4().hex[:8]}"
    with _server_runner(server, tmp_path) as runner:
        creds = Credentials(server.access_key_id, server.secret_access_key, "")
        payload, result = invoke(runner, spec(TEMPLATE_STYLE), {"Name": name}, creds)
    assert result.function_error is None, payload
    assert payload == {"stages": ["AWSCURRENT", "AWSPREVIOUS"]}
    assert f"rotated {name}" in result.log_tail
    value = server.client().get_secret_value(SecretId=name)  # type: ignore[attr-defined]
    assert len(json.loads(value["SecretString"])["password"]) == 20


def test_template_style_handler_reaches_the_server_with_a_session(
    server: Server, tmp_path: Path
) -> None:
    """Temporary credentials from the server's STS work the same way."""
    sts = server.client("sts")
    session = sts.get_session_token()["Credentials"]  # type: ignore[attr-defined]
    creds = Credentials(session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
    name = f"fn-{uuid.uuid4().hex[:8]}"
    with _server_runner(server, tmp_path) as runner:
        payload, result = invoke(runner, spec(TEMPLATE_STYLE), {"Name": name}, creds)
    assert result.function_error is None, payload
    assert payload == {"stages": ["AWSCURRENT", "AWSPREVIOUS"]}


def test_without_credentials_the_server_refuses(server: Server, tmp_path: Path) -> None:
    """No credentials: boto3 finds none (not the server user's profile) and fails fast."""
    with _server_runner(server, tmp_path) as runner:
        payload, result = invoke(runner, spec(TEMPLATE_STYLE), {"Name": "never"})
    assert result.function_error == "Unhandled"
    assert payload["errorType"] == "NoCredentialsError"
    assert result.duration_ms < 5000
