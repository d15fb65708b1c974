"""The function runtime: runs one invocation of a Lambda-style Python function (a zip and a
``module.handler``) in a separate process, as AWS Lambda's Python runtime does.

Owns the extracted code on disk (``code.py``), the child processes and their limits
(``runner.py``), the OS user they run as (``isolation.py``) and the code that runs inside
them (``bootstrap.py``, which imports nothing from strongroom). May import only the standard
library and ``strongroom.errors``/``clock``; never ``service``, ``http``, ``storage`` or
``cli``: the Lambda API in ``service/functions.py`` stores functions and calls
``FunctionRunner.invoke``.
"""

from strongroom.functions.code import InvalidCode
from strongroom.functions.isolation import (
    FunctionsUnavailable,
    IsolationError,
    RunAs,
    choose_run_as,
)
from strongroom.functions.runner import (
    Credentials,
    FunctionRunner,
    FunctionSpec,
    InvocationResult,
)

__all__ = [
    "Credentials",
    "FunctionRunner",
    "FunctionSpec",
    "FunctionsUnavailable",
    "InvalidCode",
    "InvocationResult",
    "IsolationError",
    "RunAs",
    "choose_run_as",
]
