"""`tenancy plan` as a user runs it: the dev stack offline, and clear failures."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tenancy.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]


def plan(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tenancy", "plan", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    for name in ("components", "tenants"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    return project


def table_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("TENANT"))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells
    return rows


def test_dev_plan_lists_every_dev_tenant_with_its_tiers():
    result = plan("--stack", "dev")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    registry = load_registry(ROOT / "tenants")
    expected = {t.id: t for t in registry.in_environment("dev")}
    assert set(rows) == set(expected)
    for tenant_id, tenant in expected.items():
        _, plan_name, status, tier, network, database, cache, compute, count = rows[tenant_id]
        assert (plan_name, status, tier) == (tenant.tenant.plan, tenant.tenant.status.value, tenant.isolation.value)
        assert [network, database, cache, compute] == [tenant.services[s].value for s in tenant.services]
        assert int(count) > 5


def test_scope_option_plans_one_part(tmp_path):
    result = plan("--stack", "dev", "--scope", "platform")
    assert result.returncode == 0, result.stderr
    assert "platform:" in result.stdout and table_rows(result.stdout) == {}


def test_plan_of_a_project_elsewhere_with_a_broken_registry_exits_two_without_traceback(tmp_path):
    project = copy_project(tmp_path)
    assert plan("--cwd", str(project)).returncode == 0
    (project / "tenants" / "acme.yaml").write_text(
        (project / "tenants" / "acme.yaml").read_text().replace("plan: enterprise", "plan: platinum"))
    result = plan("--cwd", str(project))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "acme.yaml:4: acme: plan: unknown plan 'platinum'" in result.stderr


def test_unknown_stack_is_a_usage_error():
    result = plan("--stack", "nope")
    assert result.returncode == 2 and "Pulumi.nope.yaml is missing (stacks: dev, prod)" in result.stderr
