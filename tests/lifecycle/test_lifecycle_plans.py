"""After a tier move or the start of an offboarding, the plan changes only that tenant's resources
(and the pool's membership of it), never another tenant's: the registry edits that `tenancy tenant
move` and `offboard` ask for, previewed offline before and after (dry runs, dev only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tenancy.plan.diff import PlanDiff, diff_plans
from tenancy.plan.harness import run_program
from tenancy.registry.project import config_from_stack_file

from ..conftest import PROJECT
from ..run_cli import tenancy


def copy_project(target: Path) -> Path:
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def changed_owners(stdout: str) -> set[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("stacks: "))
    return {line.strip().rstrip(":") for line in lines[start:] if line.startswith("  ") and not line.startswith("    ")
            and not line.strip().startswith("other tenants")}


@pytest.mark.parametrize("tenant, change", [
    ("initech", ["isolationLevel=isolated", "network.cidr=auto"]),  # a move: dedicated -> isolated
    ("brightside", ["status=offboarding"]),                         # offboarding starts
])
def test_a_move_or_an_offboarding_changes_only_that_tenants_resources(tmp_path, tenant, change):
    project = copy_project(tmp_path / "project")
    result = tenancy("tenant", "set", tenant, *change, "--plan-environment", "dev", "--dry-run", cwd=project)
    assert result.returncode == 0, result.stderr
    assert changed_owners(result.stdout) <= {tenant, "platform", "stack"}, result.stdout
    assert tenant in changed_owners(result.stdout)
    assert "other tenants' resources change" not in result.stdout


def test_removing_an_offboarded_tenant_deletes_its_resources_and_nothing_of_anyone_else(tmp_path, dev_plan):
    """The last step of offboarding: its file leaves the registry. The pool stack loses that
    tenant's resources; every other tenant's are untouched (the plan of the `all` stack)."""
    before = dev_plan  # the unchanged project's plan, shared; the copy below is planned after the change
    project = copy_project(tmp_path / "project")
    config = config_from_stack_file(project / "Pulumi.dev.yaml")
    (project / "tenants" / "umbrella.yaml").unlink()
    after = run_program(project, "dev", config)
    diff = PlanDiff([diff_plans(before, after, "dev")])
    changes = diff.stacks[0].changes
    assert changes and {c.action for c in changes if c.owner == "umbrella"} == {"delete"}
    assert diff.other_tenants(("umbrella",)) == set()
    protected = [c.name for c in changes if c.owner == "umbrella" and c.protected]
    assert protected  # its key and secrets are protected: `pulumi up` stops before losing them
