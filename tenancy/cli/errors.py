"""The one error wrapper: every command's failure becomes a message on stderr and an exit code from
`tenancy.exits`, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tenancy.exits import CommandError, ExitCode
from tenancy.registry.problems import RegistryInvalid


def report_invalid_registry(exc: RegistryInvalid) -> None:
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    count = len(exc.problems)
    print(f"{count} problem{'s' if count != 1 else ''} in the registry", file=sys.stderr)


def guarded(command: str, handler: Callable[[], int | None]) -> int:
    """Run one command; map what it raises to the exit-code table."""
    try:
        return int(handler() or ExitCode.OK)
    except RegistryInvalid as exc:
        report_invalid_registry(exc)
        return ExitCode.FAILED
    except CommandError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return ExitCode.OK
