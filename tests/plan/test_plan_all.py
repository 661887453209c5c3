"""`tenancy plan --all`: every stack of an environment planned in parallel worker processes, the
results aggregated in deployment order, and one exit code for them all (on the tests' own project)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tenancy.exits import ExitCode
from tenancy.plan.all import StackPlan, aggregate_exit
from tenancy.registry.project import validate_project
from tenancy.stacks.catalog import stacks_of

from ..conftest import PROJECT
from ..run_cli import Result, tenancy

DEV = validate_project(PROJECT)
DEV_STACKS = stacks_of(DEV, "dev")
POOLED = {t.id for t in DEV.in_environment("dev") if not t.has_own_stack}

# A pack with one mandatory resource policy that only acme's key breaks: one stack fails, the rest pass.
FAILING_PACK = '''
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def no_acme_keys(args, report_violation):
    if args.resource_type == "aws:kms/key:Key" and (args.props.get("tags") or {}).get("tenant-id") == "acme":
        report_violation("acme may not have a key in this test")


PolicyPack(name="test-pack", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="no-acme-keys", description="Test: acme has no key.", validate=no_acme_keys),
])
'''


def plan(*args: str) -> Result:
    return tenancy("plan", *args, cwd=PROJECT)


@pytest.fixture(scope="module")
def dev_all() -> tuple[Result, dict]:
    result = plan("--all", "--environment", "dev", "--jobs", "2", "--format", "json")
    assert "Traceback" not in result.stderr, result.stderr
    return result, json.loads(result.stdout)


def test_every_stack_of_the_environment_is_planned_in_deployment_order(dev_all):
    result, data = dev_all
    assert result.returncode == 0 and data["exitCode"] == 0, result.stderr
    assert [s["stack"] for s in data["stacks"]] == [s.name for s in DEV_STACKS]
    assert data["environment"] == "dev" and data["jobs"] == 2
    for stack, ref in zip(data["stacks"], DEV_STACKS):
        assert stack["error"] is None and stack["exitCode"] == 0 and stack["wave"] == ref.wave
        tenants = {t["id"] for t in stack["plan"]["tenants"]}
        expected = {"platform": set(), "pool": POOLED}.get(ref.kind, {ref.tenant_id})
        assert tenants == expected, ref.name
        assert stack["plan"]["policy"]["passed"] and stack["plan"]["constraints"]["passed"]


def test_the_split_stacks_together_hold_what_the_whole_environment_plans(dev_all, dev_plan_cli):
    _, data = dev_all
    whole = json.loads(dev_plan_cli.stdout)  # plan("--stack", "dev", "--format", "json"), shared
    planned = {t["id"]: t["resourceCount"] for s in data["stacks"] for t in s["plan"]["tenants"]}
    assert planned == {t["id"]: t["resourceCount"] for t in whole["tenants"]}


def test_one_failing_stack_fails_the_run_and_the_others_still_report(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "__main__.py").write_text(textwrap.dedent(FAILING_PACK))
    result = plan("--all", "--stack", "dev", "--policy-pack", str(pack))  # the environment of --stack
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()
            if line.startswith("dev-") and len(line.split()) == 10}
    assert set(rows) == {s.name for s in DEV_STACKS}
    assert {name for name, row in rows.items() if row[8] == "FAILED"} == {"dev-acme"}
    assert "no-acme-keys" in result.stdout and "acme may not have a key in this test" in result.stdout
    assert result.stdout.rstrip().endswith(f"{len(DEV_STACKS) - 1} of {len(DEV_STACKS)} stacks passed")


def test_markdown_summarises_every_stack_and_collapses_each_plan(dev_all):
    from tenancy.plan.all import EnvironmentPlan
    from tenancy.plan.render import render_all_markdown

    _, data = dev_all
    plans = [StackPlan(s["stack"], s["wave"], s["cell"], data=s["plan"], code=s["exitCode"]) for s in data["stacks"]]
    text = render_all_markdown(EnvironmentPlan("dev", plans, 2, 1.0))
    lines = text.splitlines()
    assert lines[0] == "<!-- tenancy-plan:all-dev -->" and lines[1].startswith("### ✅")
    assert [line.split("`")[1] for line in lines if line.startswith("| `dev-")] == [s.name for s in DEV_STACKS]
    assert text.count("<summary>Plan of <code>") == len(DEV_STACKS)


def test_the_exit_code_aggregates_over_the_stacks():
    assert aggregate_exit([0, 0]) == ExitCode.OK
    assert aggregate_exit([0, 1, 0]) == ExitCode.FAILED
    assert aggregate_exit([1, 2, 0]) == ExitCode.USAGE  # a stack that could not be planned outweighs a failed one


@pytest.mark.parametrize("args, message", [
    (("--all",), "--all needs --environment"),
    (("--all", "--environment", "dev", "--jobs", "0"), "--jobs must be at least 1"),
    (("--all", "--base", "HEAD"), "do not go together"),
    (("--jobs", "2"), "go with --all or --base"),
])
def test_usage_errors_exit_two(args, message):
    result = tenancy("plan", *args, cwd=Path("/"))
    assert result.returncode == 2 and message in result.stderr, result.stderr
