"""`tenancy tenant new|set|suspend|resume` without the preview (`--no-plan`): every edit validated as
`tenancy validate` validates, a refused edit leaving the file byte for byte as it was, free address
blocks for new tenants, suspension and resumption, atomic writes."""

from __future__ import annotations

import shutil
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from tenancy.lifecycle.changes import ChangedMeanwhile, Edit, write
from tenancy.registry.project import validate_project
from tenancy.registry.source import read_yaml

from ..conftest import PROJECT
from ..run_cli import tenancy


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the tests' project (registry and stack files) that a test may edit."""
    target = tmp_path / "project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run(project: Path, *args: str):
    return tenancy("tenant", *args, cwd=project)


def snapshot(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / "tenants").iterdir())}


@pytest.mark.parametrize("tenant, assignment, where", [
    ("brightside", "quotas.maxUsers=60", "brightside.yaml:7: brightside: quotas.maxUsers: 60 is above plan 'starter''s ceiling"),
    ("brightside", "quotas.maxUser=5", "brightside.yaml:7: brightside: quotas.maxUser: unknown key 'maxUser'"),
    ("brightside", "quotas.maxUsers=many", "brightside.yaml:7: brightside: quotas.maxUsers: Input should be a valid integer"),
    ("brightside", "isolationLevel=dedicated", "brightside.yaml:5: brightside: isolationLevel: plan 'starter' does not allow"),
    ("brightside", "environments=[dev,moon]", "brightside.yaml:5: brightside: environments[1]:"),
    ("brightside", "id=other", "brightside.yaml:2: other: id: the id must equal the file name"),
    ("acme", "network.cidr=10.0.64.0/20", "acme.yaml:8: acme: network.cidr: an isolated tenant's VPC must lie outside"),
    ("initech", "network.cidr=10.0.128.0/26", "initech.yaml:7: initech: network.cidr: 10.0.128.0/26 is too small"),
    ("globex", "services.database=shared", None),  # allowed: back to the pool
])
def test_a_refused_edit_leaves_the_registry_untouched_and_names_the_field(project, tenant, assignment, where):
    before = snapshot(project)
    result = run(project, "set", tenant, assignment, "--no-plan")
    if where is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert any(line.startswith("tenants/" + where) for line in result.stderr.splitlines()), result.stderr
    assert result.stderr.rstrip().endswith("in the registry")
    assert snapshot(project) == before
    assert not list((project / "tenants").glob(".*"))  # no temporary file left behind


def test_a_path_through_a_value_and_a_missing_tenant_are_usage_errors(project):
    before = snapshot(project)
    assert run(project, "set", "acme", "name.first=A", "--no-plan").returncode == 2
    missing = run(project, "set", "nobody", "name=N", "--no-plan")
    assert missing.returncode == 2 and "tenancy tenant new" in missing.stderr
    assert run(project, "set", "../acme", "name=N", "--no-plan").returncode == 2
    assert snapshot(project) == before


def test_set_writes_the_edit_and_the_registry_still_validates(project):
    result = run(project, "set", "acme", "quotas.maxUsers=600", "features=[sso]", "--no-plan")
    assert result.returncode == 0, result.stderr
    assert "-quotas: {maxUsers: 500," in result.stdout and "+quotas: {maxUsers: 600," in result.stdout
    assert "stacks: dev-acme, prod-acme" in result.stdout and result.stdout.rstrip().endswith("wrote tenants/acme.yaml")
    data = read_yaml(project / "tenants" / "acme.yaml").data
    assert data["quotas"]["maxUsers"] == 600 and data["features"] == ["sso"]
    assert validate_project(project).get("acme").quotas.max_users == 600


def test_dry_run_prints_and_writes_nothing(project):
    before = snapshot(project)
    result = run(project, "set", "acme", "quotas.maxUsers=600", "--no-plan", "--dry-run")
    assert result.returncode == 0 and "dry run: tenants/acme.yaml not written" in result.stdout
    assert snapshot(project) == before


def test_windows_line_ends_are_kept(project):
    path = project / "tenants" / "northwind.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert run(project, "set", "northwind", "quotas.maxUsers=160", "--no-plan").returncode == 0
    raw = path.read_bytes()
    assert b"quotas: {maxUsers: 160}\r\n" in raw and raw.count(b"\r\n") == raw.count(b"\n")


def test_suspend_and_resume(project):
    path = project / "tenants" / "brightside.yaml"
    original = path.read_text()
    suspended = run(project, "suspend", "brightside", "--no-plan")
    assert suspended.returncode == 0, suspended.stderr
    assert path.read_text() == original.replace("plan: starter\n", "plan: starter\nstatus: suspended\n")
    assert validate_project(project).get("brightside").suspended
    again = run(project, "suspend", "brightside", "--no-plan")
    assert again.returncode == 0 and "already suspended" in again.stdout
    resumed = run(project, "resume", "brightside", "--no-plan")
    assert resumed.returncode == 0, resumed.stderr
    assert path.read_text() == original.replace("plan: starter\n", "plan: starter\nstatus: active\n")
    assert not validate_project(project).get("brightside").suspended
    assert "already active" in run(project, "resume", "brightside", "--no-plan").stdout


def test_an_offboarding_tenant_is_neither_suspended_nor_resumed(project):
    path = project / "tenants" / "umbrella.yaml"
    path.write_text(path.read_text().replace("status: suspended", "status: offboarding"))
    before = snapshot(project)
    for command in ("resume", "suspend"):
        result = run(project, command, "umbrella", "--no-plan")
        assert result.returncode == 1 and "offboard" in result.stderr
    assert snapshot(project) == before


def own_blocks(project: Path) -> dict[str, IPv4Network]:
    return {t.id: t.tenant.network.network for t in validate_project(project).tenants if t.tenant.network}


@pytest.mark.parametrize("isolation, inside_vpc", [("dedicated", True), ("isolated", False)])
def test_new_picks_a_free_block_that_validates_and_collides_with_no_other(project, isolation, inside_vpc):
    existing = own_blocks(project)
    result = run(project, "new", "contoso", "--name", "Contoso Ltd", "--plan", "enterprise",
                 "--isolation", isolation, "--no-plan")
    assert result.returncode == 0, result.stderr
    text = (project / "tenants" / "contoso.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=./schema.json\n")
    blocks = own_blocks(project)  # the registry validates with it
    block = blocks["contoso"]
    assert all(not block.overlaps(other) for other in existing.values())
    assert block.subnet_of(IPv4Network("10.0.0.0/16")) is inside_vpc
    assert not block.overlaps(IPv4Network("10.0.0.0/18"))  # the platform's own range
    assert tenancy("validate", cwd=project).returncode == 0
    # deterministic: the same registry gives the same block; the next tenant gets another
    second = run(project, "new", "fabrikam", "--name", "Fabrikam", "--plan", "enterprise",
                 "--isolation", isolation, "--no-plan")
    assert second.returncode == 0, second.stderr
    assert own_blocks(project)["fabrikam"] != block
    (project / "tenants" / "fabrikam.yaml").unlink()
    (project / "tenants" / "contoso.yaml").unlink()
    assert run(project, "new", "contoso", "--name", "Contoso Ltd", "--plan", "enterprise",
               "--isolation", isolation, "--no-plan").returncode == 0
    assert own_blocks(project)["contoso"] == block


def test_new_scaffolds_the_plans_defaults_and_a_shared_tenant_has_no_block(project):
    result = run(project, "new", "tiny-shop", "--name", "Tiny Shop", "--plan", "starter",
                 "--environments", "dev", "--cost-center", "cc-9", "--no-plan")
    assert result.returncode == 0, result.stderr
    assert "stacks: dev-pool" in result.stdout
    tenant = validate_project(project).get("tiny-shop")
    data = read_yaml(project / "tenants" / "tiny-shop.yaml").data
    assert "network" not in data and tenant.isolation.value == "shared"
    assert data["quotas"] == {"maxUsers": 25, "maxProjects": 5, "maxAIRequests": 10000, "storageLimit": 10,
                              "computeLimit": 1, "networkBandwidth": 50}
    assert data["billing"] == {"costCenter": "cc-9", "monthlyBudget": 100} and data["environments"] == ["dev"]


def test_new_refuses_an_existing_id_a_bad_id_and_an_unknown_plan(project):
    before = snapshot(project)
    exists = run(project, "new", "acme", "--name", "A", "--plan", "starter", "--no-plan")
    assert exists.returncode == 1 and "tenancy tenant set" in exists.stderr
    bad = run(project, "new", "Bad-Id", "--name", "B", "--plan", "starter", "--no-plan")
    assert bad.returncode == 1 and "tenants/Bad-Id.yaml:2: Bad-Id: id:" in bad.stderr
    plan = run(project, "new", "planless", "--name", "P", "--plan", "platinum", "--no-plan")
    assert plan.returncode == 1 and "planless.yaml:4: planless: plan: unknown plan 'platinum'" in plan.stderr
    assert snapshot(project) == before


def test_network_cidr_auto_gives_a_tier_change_a_free_block(project):
    result = run(project, "set", "globex", "plan=enterprise", "isolationLevel=dedicated", "services=null",
                 "quotas.storageLimit=80", "network.cidr=auto", "--no-plan")
    assert result.returncode == 0, result.stderr
    assert "warning: globex's cache moves from shared to dedicated" in result.stdout
    block = own_blocks(project)["globex"]
    assert block.subnet_of(IPv4Network("10.0.0.0/16")) and block != own_blocks(project)["initech"]


def test_a_file_changed_meanwhile_is_not_overwritten(project):
    path = project / "tenants" / "acme.yaml"
    original = path.read_text()
    path.write_text(original + "# someone else's edit\n")
    with pytest.raises(ChangedMeanwhile):
        write(Edit("acme", path, original, original.replace("500", "600")))
    assert path.read_text() == original + "# someone else's edit\n"
    with pytest.raises(ChangedMeanwhile):  # a new tenant never replaces a file that appeared
        write(Edit("acme", path, None, "id: acme\n"))
    assert not list(path.parent.glob(".*"))
