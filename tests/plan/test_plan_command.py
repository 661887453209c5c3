"""`tenancy plan` as a user and CI run it: the table, JSON and markdown outputs, exit codes (on the
tests' own project, whose policy pack is the repository's: it has no policies/ of its own)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tenancy.registry.loader import load_registry

from ..conftest import PROJECT, REGISTRY, ROOT
from ..run_cli import Result, tenancy

PLAIN = ROOT / "tests" / "fixtures" / "plain_project"
VARIANTS = ROOT / "tests" / "policies" / "programs" / "variants"
PACK = ROOT / "policies"  # what `tenancy plan` uses for a project without a policies/ of its own
DEV = load_registry(REGISTRY).in_environment("dev")
POOLED = {t.id for t in DEV if not t.has_own_stack}
OWN_STACK = sorted(t.id for t in DEV if t.has_own_stack)


def plan(*args: str, cwd: Path = PROJECT) -> Result:
    return tenancy("plan", *args, cwd=cwd)


def plan_json(*args: str) -> tuple[int, dict]:
    result = plan(*args, "--format", "json")
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def copy_project(tmp_path: Path) -> Path:
    """The fixture project in a directory a test may change (the program's code is the installed one)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        shutil.copy(PROJECT / name, project / name)
    shutil.copytree(REGISTRY, project / "tenants")
    return project


def table_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("TENANT"))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows[line.split()[0]] = line.split()
    return rows


@pytest.fixture(scope="module")
def dev_json(dev_plan_cli) -> tuple[int, dict]:
    assert "Traceback" not in dev_plan_cli.stderr, dev_plan_cli.stderr
    return dev_plan_cli.returncode, json.loads(dev_plan_cli.stdout)  # plan_json("--stack", "dev"), shared


def test_dev_table_lists_every_dev_tenant_with_its_tiers_and_passes_the_policies():
    result = plan("--stack", "dev")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    expected = {t.id: t for t in DEV}
    assert set(rows) == set(expected)
    for tenant_id, tenant in expected.items():
        _, plan_name, status, tier, network, database, cache, compute, count = rows[tenant_id]
        assert (plan_name, status, tier) == (tenant.tenant.plan, tenant.tenant.status.value, tenant.isolation.value)
        assert [network, database, cache, compute] == [tenant.services[s].value for s in tenant.services]
        assert int(count) > 5
    assert f"policy tenancy-isolation ({PACK / 'config' / 'dev.json'}): PASSED, 0 mandatory" in result.stdout


def test_json_is_complete_and_consistent(dev_json):
    code, data = dev_json
    assert code == 0 and data["exitCode"] == 0 and data["version"] == 1
    assert (data["stack"], data["project"], data["environment"], data["scope"]) == ("dev", "tenancy", "dev", "all")
    tenants = {t["id"]: t for t in data["tenants"]}
    assert set(tenants) == {t.id for t in DEV}
    assert tenants["globex"]["services"]["database"] == "dedicated"
    assert tenants["acme"]["outputs"]["namespace"] == "tenant-acme"
    assert sum(t["resourceCount"] for t in data["tenants"]) + data["platform"]["resourceCount"] == data["resourceCount"]
    assert sum(data["resourcesByType"].values()) == data["resourceCount"]
    assert data["policy"] == {"pack": "tenancy-isolation", "config": str(PACK / "config" / "dev.json"), "passed": True,
                              "mandatory": 0, "advisory": 0, "notRun": [], "violations": []}


@pytest.mark.parametrize("stack", ["dev-platform", "dev-pool", *[f"dev-{t}" for t in OWN_STACK]])
def test_each_split_stack_plans_on_its_own_and_passes(stack):
    code, data = plan_json("--stack", stack)
    assert code == 0 and data["policy"]["passed"], data["policy"]["violations"]
    expected = {"dev-platform": set(), "dev-pool": POOLED}.get(stack, {stack.removeprefix("dev-")})
    assert {t["id"] for t in data["tenants"]} == expected
    assert (data["platform"] is not None) == (stack == "dev-platform")


def test_a_program_break_is_reported_with_its_remediation_and_exit_one(tmp_path):
    # A copy of the policy tests' variants program, with the fixture's dev settings and registry.
    variants = tmp_path / "variants"
    shutil.copytree(VARIANTS, variants, ignore=shutil.ignore_patterns("__pycache__", "Pulumi.*.yaml"))
    shutil.copy(PROJECT / "Pulumi.dev.yaml", variants / "Pulumi.dev.yaml")
    with (variants / "Pulumi.dev.yaml").open("a") as f:
        f.write(f"  tenancy:registry: {json.dumps(str(REGISTRY))}\n  test:variant: no-cross-tenant-references\n")
    result = plan("--cwd", str(variants), "--stack", "dev", "--policy-pack", str(PACK), "--format", "markdown")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("<!-- tenancy-plan:dev -->\n### ❌ tenancy plan: `dev`")
    assert "#### Policy violations" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "`no-cross-tenant-references`" in line)
    assert "| mandatory |" in row and "initech" in row and "Use the tenant's own key" in row
    assert result.stdout.count("<details>") == len(DEV)


def test_markdown_of_a_clean_plan_has_a_summary_row_and_details_per_tenant():
    result = plan("--stack", "dev-pool", "--format", "markdown")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "<!-- tenancy-plan:dev-pool -->" and lines[1].startswith("### ✅")
    rows = [line for line in lines if line.startswith("| ") and "| shared |" in line]
    assert {row.split("|")[1].strip() for row in rows} == POOLED
    assert result.stdout.count("<details>") == len(POOLED) and "Policy violations" not in result.stdout


def test_plan_works_on_another_pulumi_project_and_reports_its_violations():
    code, data = plan_json("--cwd", str(PLAIN), "--stack", "test")
    assert code == 1
    assert data["project"] == "plain" and data["tenants"] == [] and data["platform"] is None
    assert data["resourcesByType"] == {"kms.Key": 1, "sqs.Queue": 3}
    found = {(v["policy"], v["resourceName"]) for v in data["policy"]["violations"]}
    assert found == {("sqs-cmk", "legacy"), ("sqs-dead-letter", "legacy"), ("stateful-resources-protected", "orders-key")}
    assert all(v["tenant"] is None for v in data["policy"]["violations"])


def test_secret_outputs_are_never_printed():
    result = plan("--cwd", str(PLAIN), "--stack", "test", "--format", "json")
    assert "do-not-print-me" not in result.stdout


def test_preview_mode_reports_what_it_could_not_judge():
    code, data = plan_json("--stack", "dev", "--preview")
    assert code == 0 and data["preview"] is True
    assert data["policy"]["notRun"] == ["iam-tenant-scope", "kms-key-policy-no-open-principal", "tenant-isolation"]


def test_broken_registry_in_a_copied_project_exits_one_with_the_located_problem(tmp_path):
    project = copy_project(tmp_path)
    assert plan("--cwd", str(project)).returncode == 0
    acme = project / "tenants" / "acme.yaml"
    acme.write_text(acme.read_text().replace("10.64.0.0/20", "10.0.64.0/20"))  # onto initech's slice
    result = plan("--cwd", str(project))
    assert result.returncode == 1 and "Traceback" not in result.stderr  # an invalid registry, as validate says
    assert "acme.yaml:8: acme: network.cidr:" in result.stderr


def test_usage_errors_exit_two():
    assert "Pulumi.nope.yaml is missing (stacks: dev, prod)" in plan("--stack", "nope").stderr
    assert plan("--stack", "nope").returncode == 2
    assert plan("--cwd", "/").returncode == 2
    assert plan("--format", "yaml").returncode == 2
