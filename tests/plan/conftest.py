"""`tenancy plan` runs that more than one module reads, made once per test process."""

from __future__ import annotations

import pytest

from ..conftest import PROJECT
from ..run_cli import Result, tenancy


@pytest.fixture(scope="session")
def dev_plan_cli() -> Result:
    """`tenancy plan --stack dev --format json` on the tests' project, as a user runs it."""
    return tenancy("plan", "--stack", "dev", "--format", "json", cwd=PROJECT)
