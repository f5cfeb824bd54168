"""The two users inside every sandbox, and how a process becomes each.

A sandbox starts as uid 0 holding only CAP_SETUID, CAP_SETGID and CAP_KILL (both backends drop
every other capability and set no_new_privs). DRIVER_ARGV turns that into the driver
user, keeping just those three as ambient capabilities so the trusted driver can
start, time out and kill learner processes. The driver's harness (graders/harness/sfharness.py) clears the
inheritable and ambient sets before switching to the learner user, so the learner's
exec starts with no capabilities at all: it cannot read the driver's files, write its
results, or signal or ptrace it. setpriv is util-linux, present in every Debian root.
"""

from __future__ import annotations

from .spec import DRIVER_UID, LEARNER_UID

DRIVER_ARGV: tuple[str, ...] = (
    "setpriv",
    f"--reuid={DRIVER_UID}",
    f"--regid={DRIVER_UID}",
    "--clear-groups",
    "--inh-caps=-all,+setuid,+setgid,+kill",
    "--ambient-caps=-all,+setuid,+setgid,+kill",
    "--",
)

# The environment inside: explicit and minimal. Nothing of the worker's (SECRET_KEY,
# DATABASE_URL, cloud tokens) is ever inherited.
BASE_ENV: dict[str, str] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "SF_DRIVER_UID": str(DRIVER_UID),
    "SF_LEARNER_UID": str(LEARNER_UID),
}
