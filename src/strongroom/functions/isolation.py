"""Which OS user a function process runs as, and the start-up check that it cannot read what
the server keeps.

A function is code any account admin may deploy: run as the server's own user it could read
the data directory (the root key, the database) and so every account's secrets. A server
running as root therefore runs each function process as ``functions.run_as_user`` (its
primary group, no supplementary groups); a server that is not root cannot switch users and
runs functions only when the operator accepts that they run as its own user.
"""

from __future__ import annotations

import pwd
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PROBE_SOURCE",
    "FunctionsUnavailable",
    "IsolationError",
    "RunAs",
    "choose_run_as",
    "judge_probe",
    "unreachable",
]


class FunctionsUnavailable(Exception):
    """Functions must not run on this server; the message says why and what to set."""


class IsolationError(Exception):
    """The run-as user could reach what it must not, or cannot reach what it needs."""


@dataclass(frozen=True, slots=True)
class RunAs:
    """The unprivileged user (and its primary group) that function processes run as."""

    user: str
    uid: int
    gid: int


def choose_run_as(run_as_user: str, *, allow_same_user: bool, euid: int) -> RunAs | None:
    """The user function processes switch to: ``run_as_user`` when the server runs as root
    (``euid`` 0); None (the server's own user) when it is not root and ``allow_same_user``.

    Raises FunctionsUnavailable when the server is not root and same-user functions are not
    allowed, when ``run_as_user`` does not exist, or when it is root itself (unless allowed).
    """
    if euid != 0:
        if allow_same_user:
            return None
        raise FunctionsUnavailable(
            "Functions are disabled on this server: it does not run as root, so it cannot run "
            "them as a separate OS user, and a function running as the server's own user could "
            "read its keys and data (set functions.allow_same_user to accept that)."
        )
    try:
        entry = pwd.getpwnam(run_as_user)
    except KeyError:
        raise FunctionsUnavailable(
            f"Functions are disabled on this server: functions.run_as_user {run_as_user!r} is "
            "not a user of this system."
        ) from None
    if entry.pw_uid == 0:
        if allow_same_user:
            return None
        raise FunctionsUnavailable(
            f"Functions are disabled on this server: functions.run_as_user {run_as_user!r} is "
            "root, which could read the server's keys and data (set functions.allow_same_user "
            "to accept that)."
        )
    return RunAs(run_as_user, entry.pw_uid, entry.pw_gid)


def unreachable(path: Path, run_as: RunAs) -> str | None:
    """Why ``run_as`` cannot reach the directory ``path`` (a directory on the way it may not
    search), or None when every directory from ``/`` down grants it search permission.

    Judged on the mode bits alone (access control lists are not read).
    """
    current = Path("/")
    for part in path.resolve().parts[1:]:
        current = current / part
        try:
            st = current.stat()
        except OSError as exc:
            return f"{current}: {exc.strerror}"
        if st.st_uid == run_as.uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid == run_as.gid:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return f"{current} has mode {stat.S_IMODE(st.st_mode):04o}"
    return None


PROBE_SOURCE = '''
import json, os, sys

def lambda_handler(event, context):
    """Report who this process is and which of the protected paths it could read."""
    readable = []
    for path in event["protected"]:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb") as f:
                    f.read(1)
        except FileNotFoundError:
            continue
        except PermissionError:
            continue
        readable.append(path)
    try:
        import boto3  # noqa: F401
        sdk = True
    except ImportError:
        sdk = False
    return {
        "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
        "groups": os.getgroups(), "readable": readable, "sdk": sdk,
        "tmp": os.access(os.environ["TMPDIR"], os.W_OK),
    }
'''
"""The handler the start-up check runs, as any function runs, to see what it can reach."""


def judge_probe(report: object, run_as: RunAs, expect_sdk: bool) -> None:
    """Raise IsolationError unless the probe's ``report`` shows ``run_as`` with no protected
    path readable, a writable TMPDIR and (when ``expect_sdk``) boto3 importable."""
    if not isinstance(report, dict):
        raise IsolationError(f"the check function did not run: {_brief(report)}")
    who = (report.get("uid"), report.get("euid"), report.get("gid"), report.get("groups"))
    if who[:3] != (run_as.uid, run_as.uid, run_as.gid) or set(who[3] or []) - {run_as.gid}:
        raise IsolationError(f"the check function ran as uid/euid/gid/groups {who}")
    readable: Sequence[str] = report.get("readable") or []
    if readable:
        raise IsolationError(
            f"user {run_as.user} can read {', '.join(readable)}: the data directory must be "
            "private to the server's user (chmod 700)"
        )
    if not report.get("tmp"):
        raise IsolationError(f"user {run_as.user} cannot write to its TMPDIR")
    if expect_sdk and not report.get("sdk"):
        raise IsolationError(
            f"user {run_as.user} cannot import boto3 from the server's interpreter "
            "(its site-packages must be readable by that user)"
        )


def _brief(report: object) -> str:
    if isinstance(report, dict) and "errorType" in report:
        return f"{report.get('errorType')}: {str(report.get('errorMessage'))[:300]}"
    return repr(report)[:300]
