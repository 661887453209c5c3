"""The user's sample, `tenants/` with the stack files at the repository root, is sound: it validates,
its schema file is current, and each of its stacks plans with no mandatory policy violation.

These are the only tests that read the sample: every other test runs on the tests' own project
(`tests/fixtures/sample`), so editing, adding or deleting a tenant in `tenants/` can fail nothing but
this file, and then only because the sample itself no longer validates or plans cleanly.
"""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT
from .run_cli import Result
from .run_cli import tenancy as run_cli

# Every stack of the sample (today dev and prod), one program run each.
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


def tenancy(*args: str) -> Result:
    return run_cli(*args, cwd=ROOT)


def test_the_sample_validates():
    result = tenancy("validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(" tenants OK"), result.stdout


def test_the_sample_schema_is_current_and_referenced_by_every_tenant_file():
    result = tenancy("schema", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    for path in sorted((ROOT / "tenants").glob("*.yaml")):
        if path.name not in ("plans.yaml", "cells.yaml"):
            assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=./schema.json", path


@pytest.mark.parametrize("stack", STACKS)
def test_the_sample_stack_plans_with_no_mandatory_violation(stack):
    result = tenancy("plan", "--stack", stack, "--format", "json")
    assert result.returncode == 0, result.stderr or result.stdout
    policy = json.loads(result.stdout)["policy"]
    assert policy["mandatory"] == 0, [(v["policy"], v["resourceName"], v["message"]) for v in policy["violations"]]
