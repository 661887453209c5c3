"""The command layer: every `tenancy ...` command, one table of exit codes, one error wrapper."""

from tenancy.cli.main import main

__all__ = ["main"]
