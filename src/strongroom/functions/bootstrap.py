"""The child side of one function execution environment, as AWS Lambda's Python runtime
behaves: load the handler, then answer invocations until the control pipe closes.

Run as a script by ``FunctionRunner``
(``python -I -B -u bootstrap.py CTL_FD RESULT_FD AS_BYTES UID GID``) with the function's code
directory as the working directory and a fixed, minimal environment. With a UID (not -1) it
starts as root and becomes UID/GID, with no supplementary groups, before it reads anything of
the function's. It imports nothing from ``strongroom``: it runs beside the user's code, with
only the standard library of its own.

Wire format, both directions: one JSON header line, then ``header["size"]`` bytes of body.
  runner -> here:  first {"type": "environment", "size"} + the function's environment (JSON)
                   then {"request_id", "deadline_ms", "arn", "credentials", "size"} + event
                   (credentials: {"AWS_ACCESS_KEY_ID": ..., ...} or null)
  here -> runner:  {"type": "ready", "size": 0}
                   {"type": "init_error" | "result" | "error", "size": n} + payload
"""

from __future__ import annotations

import contextlib
import ctypes
import decimal
import importlib
import json
import logging
import os
import resource
import signal
import sys
import time
import traceback
from typing import IO, Any

_HERE = os.path.abspath(__file__)
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
_ERROR_LINE_END = "\r"  # the runtime joins an error's lines with CR so one log event holds them
_request_id = ""


class _Fault(Exception):
    """An error the runtime reports under its own type (Runtime.ImportModuleError, ...)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


def _error(message: str, error_type: str, trace: list[str], request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def _user_frames(tb: Any) -> list[str]:
    """The traceback without this module's own frames at its top, as the Lambda runtime."""
    frames = traceback.extract_tb(tb)
    while frames and os.path.abspath(frames[0].filename) == _HERE:
        frames.pop(0)
    return traceback.format_list(frames)


def _exception_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    return _error(str(exc), type(exc).__name__, _user_frames(exc.__traceback__), request_id)


def _log_error(error: dict[str, Any]) -> None:
    """Print an error the way the runtime does: "[ERROR] Type: message", then the traceback."""
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    lines.append("Traceback (most recent call last):")
    for element in error["stackTrace"]:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write(_ERROR_LINE_END.join(lines) + "\n")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time (the runtime's log sink is stdout)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


def _setup_logging() -> None:
    formatter = logging.Formatter(_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _load_handler(name: str) -> Any:
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as exc:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{name}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _Fault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        # "pkg/module.handler" names a module in a folder, as Lambda accepts.
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise _Fault(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            trace,
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise _Fault(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None


class _CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The context object handed to the handler, with the Lambda Python runtime's attributes.

    memory_limit_in_mb is a string, as on Lambda (the runtime reads it from the environment).
    """

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = _CognitoIdentity()
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


def _json_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):  # the Lambda runtime's encoder accepts Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _marshal(result: object) -> bytes:
    if isinstance(result, bytes):
        return result
    try:
        return json.dumps(result, default=_json_default).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def _send(out: IO[bytes], kind: str, body: bytes = b"") -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    out.write(json.dumps({"type": kind, "size": len(body)}).encode() + b"\n" + body)
    out.flush()


def _receive(inp: IO[bytes]) -> tuple[dict[str, Any], bytes] | None:
    line = inp.readline()
    if not line:
        return None
    header = json.loads(line)
    body = inp.read(header["size"])
    return header, body


def _set_credentials(credentials: dict[str, str] | None) -> None:
    """Each invocation carries the role's current credentials: a warm process gets fresh ones."""
    for variable in _CREDENTIAL_VARIABLES:
        os.environ.pop(variable, None)
    for variable in _CREDENTIAL_VARIABLES:
        value = (credentials or {}).get(variable)
        if value:
            os.environ[variable] = value


def _invoke(handler: Any, header: dict[str, Any], body: bytes) -> tuple[str, bytes]:
    global _request_id  # noqa: PLW0603 - the log filter reads the current request id
    _request_id = request_id = header["request_id"]
    _set_credentials(header.get("credentials"))
    context = LambdaContext(request_id, header["arn"], header["deadline_ms"])
    try:
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise _Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
        return "result", _marshal(handler(event, context))
    except _Fault as fault:
        error = _error(fault.message, fault.error_type, fault.trace, request_id)
    except MemoryError:
        # Over the address-space backstop: end as Lambda ends a function over its memory size.
        os.kill(os.getpid(), signal.SIGKILL)
        raise
    except Exception as exc:
        error = _exception_error(exc, request_id)
    _log_error(error)
    return "error", json.dumps(error).encode()


def _moved(path: str, moved: dict[str, str]) -> str:
    for old in sorted(moved, key=len, reverse=True):
        if path == old or path.startswith(old.rstrip(os.sep) + os.sep):
            return moved[old] + path[len(old) :]
    return path


def _drop_privileges(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` with no supplementary groups, for good, or end the process.

    The interpreter may live where that user cannot search (a Python under /root): the
    ``sys.path`` directories are opened first, and those the user cannot reach afterwards are
    imported from through the open descriptors (``/proc/self/fd/N``), which reach those
    directories only, not their parents.
    """
    held: dict[str, int] = {}
    for entry in dict.fromkeys(sys.path):
        if entry:
            try:
                held[entry] = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                continue
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        sys.stderr.write(f"could not switch to uid {uid} gid {gid}: {exc}\n")
        os._exit(71)
    if (
        os.getresuid() != (uid, uid, uid)
        or os.getresgid() != (gid, gid, gid)
        or set(os.getgroups()) - {gid}
    ):
        os._exit(71)
    # Not dumpable: other processes of the same user (other functions) can neither trace
    # this one nor read its memory or /proc files (setresuid usually does this already).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    moved: dict[str, str] = {}
    for entry, fd in held.items():
        if os.access(entry, os.R_OK | os.X_OK):
            os.close(fd)
        else:
            moved[entry] = f"/proc/self/fd/{fd}"
    if moved:
        sys.path[:] = [_moved(entry, moved) for entry in sys.path]
        for module in list(sys.modules.values()):
            search = getattr(module, "__path__", None)
            if isinstance(search, list):
                search[:] = [_moved(entry, moved) for entry in search]
        sys.path_importer_cache.clear()
        importlib.invalidate_caches()


def _take_environment(control: IO[bytes]) -> None:
    """Replace the start-up environment with the function's (the runner's first message)."""
    message = _receive(control)
    if message is None or message[0].get("type") != "environment":
        sys.exit(1)
    os.environ.clear()
    os.environ.update(json.loads(message[1]))
    time.tzset()


def main(argv: list[str]) -> int:
    control_fd, result_fd, address_space = int(argv[1]), int(argv[2]), int(argv[3])
    uid, gid = int(argv[4]), int(argv[5])
    # Hard limits too, set while still root: the function cannot raise them again.
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a core file could hold secret values
    for fd in (control_fd, result_fd):
        os.set_inheritable(fd, False)  # the handler's own child processes get neither pipe
    if uid >= 0:
        _drop_privileges(uid, gid)
    control = os.fdopen(control_fd, "rb")
    results = os.fdopen(result_fd, "wb")
    _take_environment(control)
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    _setup_logging()
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _Fault as fault:
        error = _error(fault.message, fault.error_type, fault.trace, "")
        _log_error(error)
        _send(results, "init_error", json.dumps(error).encode())
        return 1
    except Exception as exc:
        error = _exception_error(exc, "")
        _log_error(error)
        _send(results, "init_error", json.dumps(error).encode())
        return 1
    _send(results, "ready")
    while (message := _receive(control)) is not None:
        kind, payload = _invoke(handler, *message)
        _send(results, kind, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
