"""Run `tenancy ...` in this process, as a user would from `cwd`: the exit code and what it printed.

The same `tenancy.cli.main` the console script calls, without paying for a new interpreter (and
Pulumi's imports) per call; tests/cli/test_cli.py runs the real entry points once."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from tenancy.cli import main


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def tenancy(*args: str, cwd: Path | str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: usage errors exit 2
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(before)
    return Result(code, out.getvalue(), err.getvalue())
