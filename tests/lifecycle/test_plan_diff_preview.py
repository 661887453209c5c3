"""The preview of `tenancy tenant set` on the tests' own project, planned offline before and after:
one pooled tenant's quota change touches that tenant's resources only, and names them; a program
that couples tenants is caught and its other tenant named. Each scenario plans once (module
fixtures), in dev only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tenancy.registry.source import read_yaml

from ..conftest import PROJECT
from ..run_cli import Result, tenancy

TENANTS = ("acme", "brightside", "globex", "initech", "northwind", "umbrella")

COUPLED_PROGRAM = '''\
"""The fixture's program, plus a deliberate coupling: a parameter of brightside's that reads every
tenant's maxUsers, so a change to any tenant changes brightside."""

from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.stack import build, read_inputs

deployment = build(read_inputs(Path(__file__).parent))
for name, value in deployment.outputs.items():
    pulumi.export(name, value)
if "brightside" in deployment.tenants:
    total = sum(t.effective.quotas.max_users for t in deployment.tenants.values())
    aws.ssm.Parameter("dev-brightside-neighbours", type="String", value="coupled", description=str(total),
                      opts=pulumi.ResourceOptions(parent=deployment.tenants["brightside"]))
'''


def copy_project(target: Path) -> Path:
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def preview_section(result: Result) -> list[str]:
    lines = result.stdout.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("stacks: ")):]


@pytest.fixture(scope="module")
def quota_change(tmp_path_factory) -> tuple[Path, Result]:
    project = copy_project(tmp_path_factory.mktemp("quota") / "project")
    result = tenancy("tenant", "set", "brightside", "quotas.maxUsers=40", "quotas.maxAIRequests=15000",
                     "--plan-environment", "dev", cwd=project)
    return project, result


def test_a_pooled_tenants_quota_change_previews_its_pool_stack_and_is_written(quota_change):
    project, result = quota_change
    assert result.returncode == 0, result.stderr
    section = preview_section(result)
    assert section[0] == "stacks: dev-pool"
    assert section[1].startswith("dev-pool: ") and "update" in section[1]
    assert "create" not in section[1] and "delete" not in section[1]  # a quota adds and removes nothing
    assert result.stdout.rstrip().endswith("wrote tenants/brightside.yaml")
    assert read_yaml(project / "tenants" / "brightside.yaml").data["quotas"] == {"maxUsers": 40,
                                                                                 "maxAIRequests": 15000}


def test_only_that_tenants_resources_change_and_they_are_named(quota_change):
    _, result = quota_change
    section = preview_section(result)
    owners = [line.strip().rstrip(":") for line in section if line.startswith("  ") and not line.startswith("    ")]
    assert owners == ["brightside"]
    assert any("update  apigateway.UsagePlan dev-brightside-api-plan (quotaSettings)" in line for line in section)
    assert "quotaSettings.limit: 10000 -> 15000" in result.stdout
    # maxUsers reaches the application through its feature flags: an immutable AppConfig version
    assert any("replace appconfig.HostedConfigurationVersion dev-brightside-flags-version (content)" in line
               for line in section)
    assert "no other tenant's resources change" in section
    assert not [t for t in TENANTS if t != "brightside" and any(t in line for line in section)]


def test_the_preview_never_shows_a_secret(quota_change):
    _, result = quota_change
    assert "content: [secret] -> [secret]" in result.stdout
    assert '"limits"' not in result.stdout and "offline-" not in result.stdout  # the flags document, passwords


@pytest.fixture(scope="module")
def coupled_change(tmp_path_factory) -> Result:
    project = copy_project(tmp_path_factory.mktemp("coupled") / "project")
    (project / "__main__.py").write_text(COUPLED_PROGRAM)
    return tenancy("tenant", "set", "northwind", "quotas.maxUsers=160", "--plan-environment", "dev",
                   "--dry-run", cwd=project)


def test_a_change_that_touches_another_tenant_is_reported_as_such(coupled_change):
    result = coupled_change
    assert result.returncode == 0, result.stderr
    section = preview_section(result)
    assert "  other tenants' resources change: brightside" in section
    assert section[-2] == "OTHER TENANTS' RESOURCES CHANGE: brightside"
    assert any("update  ssm.Parameter dev-brightside-neighbours (description)" in line for line in section)
    [(before, after)] = re.findall(r"^ +description: (\d+) -> (\d+)$", result.stdout, re.MULTILINE)
    assert int(after) - int(before) == 10  # northwind's maxUsers, 150 -> 160
