"""The one table of exit codes every `tenancy` command uses, and the error that carries one.

0  success.
1  the thing checked is wrong: an invalid registry, a mandatory policy violation, an audit finding,
   an out-of-date schema.
2  usage or environment: bad arguments, a missing file, an unreachable server, git or account, a
   refused credential, a server that rejected the change.
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    INTERRUPTED = 130


class CommandError(Exception):
    """Stops a command: its message goes to stderr, `code` becomes the exit code (2 unless said).

    Domain errors that a person can act on (a stack that does not exist, a server that refused)
    subclass it, so the command layer needs no list of them."""

    code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, code: ExitCode | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
