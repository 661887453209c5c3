"""Stacks per environment and cell: names, pool shards, waves, each stack's settings, `affected` at its
smallest, and two runs of the program in a cell of its own (platform names carry the cell; a pool
shard deploys its own tenants only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tenancy.plan.harness import run_program
from tenancy.registry.cells import pool_shard
from tenancy.registry.project import config_from_stack_file, validate_project
from tenancy.stacks.catalog import CELL_KEY, PLATFORM_STACK_KEY, SCOPE_KEY, resolve_stack, stacks_of, waves
from tenancy.stacks.scopes import Scope, ScopeError

from ..cells_fixture import EU2_POOLED, POOLED, cells_project, write
from ..run_cli import tenancy
from .test_stacks_and_affected import git


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return cells_project(tmp_path)


@pytest.fixture
def repo(project: Path) -> Path:
    (project / "components").mkdir()
    (project / "components" / "queues.py").write_text('"""A stand-in for a component module."""\n')
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base")
    return project


def affected(repo: Path, *extra: str) -> list[str]:
    result = tenancy("affected", "--base", "main", *extra, cwd=repo)
    assert result.returncode == 0, result.stderr
    return [entry["stack"] for entry in json.loads(result.stdout)["include"]]


def shard(tenant_id: str) -> int:
    return pool_shard(tenant_id, 4)


def test_each_cell_has_its_stacks_and_the_canary_cell_deploys_first(project):
    registry = validate_project(project)
    assert [(w.number, w.name, [s.name for s in w.stacks]) for w in waves(registry, ["dev"])] == [
        (1, "canary platforms", ["dev-eu2-platform"]),
        (2, "canary pools", ["dev-eu2-pool-0", "dev-eu2-pool-1", "dev-eu2-pool-2", "dev-eu2-pool-3"]),
        (3, "canary tenant stacks", ["dev-massive"]),
        (4, "platforms", ["dev-platform"]),
        (5, "pools", ["dev-pool"]),
        (6, "tenant stacks", ["dev-acme", "dev-initech"]),
    ]
    # staging: eu2 does not serve it
    assert [s.name for s in stacks_of(registry, "staging")] == ["staging-platform", "staging-pool", "staging-initech"]


def test_stacks_prints_the_waves_in_text_and_json(project):
    text = tenancy("stacks", "--environment", "prod", cwd=project)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "wave 1: canary platforms" and lines[1].split("\t") == ["  prod-eu2-platform", "prod", "eu2", "platform"]
    assert [line for line in lines if line.startswith("wave")] == [
        "wave 1: canary platforms", "wave 2: canary pools", "wave 3: canary tenant stacks", "wave 4: platforms",
        "wave 5: pools", "wave 6: tenant stacks"]
    data = json.loads(tenancy("stacks", "--environment", "prod", "--format", "json", cwd=project).stdout)
    assert [w["wave"] for w in data["waves"]] == [1, 2, 3, 4, 5, 6]
    assert data["waves"][1]["include"][3] == {"stack": "prod-eu2-pool-3", "environment": "prod", "scope": "pool/3",
                                              "cell": "eu2", "wave": 2}
    assert [e["stack"] for e in data["include"]] == [s["stack"] for w in data["waves"] for s in w["include"]]


def test_a_pooled_tenant_lives_in_one_shard_which_deploys_only_its_tenants(project):
    registry = validate_project(project)
    by_shard = {n: [t.id for t in Scope.parse(f"pool/{n}").tenants(registry, "dev", "eu2")] for n in range(4)}
    assert sorted(i for ids in by_shard.values() for i in ids) == sorted(EU2_POOLED)
    assert all(tenant in by_shard[shard(tenant)] for tenant in EU2_POOLED)
    with pytest.raises(ScopeError, match="cell eu2's pool has 4 shards; deploy each as pool/<shard>, 0 to 3"):
        Scope.parse("pool").tenants(registry, "dev", "eu2")
    with pytest.raises(ScopeError, match="shards 0 to 3"):
        Scope.parse("pool/4").tenants(registry, "dev", "eu2")
    with pytest.raises(ScopeError, match="one stack: use scope pool"):
        Scope.parse("pool/0").tenants(registry, "dev")
    with pytest.raises(ScopeError, match="no such tenant in dev, cell default; it lives in cell eu2"):
        Scope.parse("tenant/massive").tenants(registry, "dev")
    with pytest.raises(ScopeError, match="cell eu2 does not serve staging"):
        Scope.parse("platform").tenants(registry, "staging", "eu2")


def test_a_cells_stacks_deploy_to_its_account_and_region_with_its_settings(project):
    env = config_from_stack_file(project / "Pulumi.dev.yaml")
    platform = resolve_stack(project, "dev-eu2-platform")
    assert platform.cell == "eu2" and platform.platform_stack is None
    config = platform.config
    assert config[SCOPE_KEY] == "platform" and config[CELL_KEY] == "eu2" and config["aws:region"] == "eu-central-1"
    assert json.loads(config["aws:allowedAccountIds"]) == ["210987654321"]
    assert json.loads(config["aws:assumeRoles"]) == [
        {"roleArn": "arn:aws:iam::210987654321:role/tenancy-deploy", "sessionName": "tenancy-dev-eu2-platform"}]
    network = json.loads(config["tenancy:network"])
    assert network["vpcCidr"] == "10.1.0.0/16" and network["azCount"] == json.loads(env["tenancy:network"])["azCount"]
    pool = resolve_stack(project, f"dev-eu2-pool-{shard('hooli')}")
    assert pool.config[SCOPE_KEY] == f"pool/{shard('hooli')}" and pool.platform_stack == "dev-eu2-platform"
    massive = resolve_stack(project, "dev-massive")
    assert massive.cell == "eu2" and massive.platform_stack == "dev-eu2-platform"
    assert massive.config["aws:region"] == "eu-central-1"


def test_the_default_cells_stacks_keep_the_settings_they_had_before_cells(project):
    env = config_from_stack_file(project / "Pulumi.dev.yaml")
    for name, scope in (("dev-platform", "platform"), ("dev-pool", "pool"), ("dev-acme", "tenant/acme")):
        resolved = resolve_stack(project, name)
        extra = {k: v for k, v in resolved.config.items() if env.get(k) != v}
        expected = {SCOPE_KEY: scope} | ({PLATFORM_STACK_KEY: "dev-platform"} if scope != "platform" else {})
        assert extra == expected and resolved.cell_config == {}, name


def test_stack_config_writes_a_cells_stack_file(project):
    name = f"prod-eu2-pool-{shard('bachman')}"
    result = tenancy("stack-config", "--stack", name, "--org", "acme-inc", cwd=project)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((project / f"Pulumi.{name}.yaml").read_text())["config"]
    assert config[CELL_KEY] == "eu2" and config["aws:region"] == "eu-central-1"
    assert config["aws:assumeRoles"][0]["roleArn"].endswith(":role/tenancy-deploy")
    assert config[PLATFORM_STACK_KEY] == "acme-inc/tenancy/prod-eu2-platform"
    assert config["tenancy:network"]["vpcCidr"] == "10.1.0.0/16" and config["tenancy:network"]["azCount"] == 3
    assert config["tenancy:pool"]["databaseInstanceClass"] == "db.t4g.large"
    assert config["tenancy:pool"]["cacheNodeType"] == "cache.r6g.large"  # the rest of prod's pool settings


# -- affected: the smallest set ---------------------------------------------------------------------

def edit(repo: Path, name: str, old: str, new: str) -> None:
    path = repo / "tenants" / name
    assert old in path.read_text(), (name, old)
    path.write_text(path.read_text().replace(old, new))


def test_a_pooled_tenants_change_touches_its_shard_only(repo):
    edit(repo, "hooli.yaml", "billing: {costCenter: cc-hooli}", "billing: {costCenter: cc-hooli-2}")
    assert affected(repo) == [f"dev-eu2-pool-{shard('hooli')}", f"prod-eu2-pool-{shard('hooli')}"]
    assert affected(repo, "--wave", "2", "--environment", "prod") == [f"prod-eu2-pool-{shard('hooli')}"]
    assert affected(repo, "--wave", "5") == []


def test_comments_and_formatting_touch_nothing(repo):
    path = repo / "tenants" / "hooli.yaml"
    path.write_text("# onboarded in March\n" + path.read_text().replace("cc-hooli}", "cc-hooli }"))
    assert affected(repo) == []


def test_a_tenant_moving_cells_touches_both_pools(repo):
    edit(repo, "hooli.yaml", "cell: eu2\n", "")
    assert affected(repo) == [f"dev-eu2-pool-{shard('hooli')}", f"prod-eu2-pool-{shard('hooli')}", "dev-pool",
                              "prod-pool"]


def test_a_new_pooled_tenant_touches_its_shard(repo):
    edit(repo, "cells.yaml", "pooledTenants: 3", "pooledTenants: 4")
    git(repo, "commit", "-qam", "room")
    write(repo / "tenants" / "pied-piper.yaml", POOLED.format(id="pied-piper"))
    assert affected(repo) == [f"dev-eu2-pool-{shard('pied-piper')}", f"prod-eu2-pool-{shard('pied-piper')}"]


def test_a_plan_change_touches_its_tenants_stacks_and_validation_only_fields_touch_none(repo):
    edit(repo, "plans.yaml", "quotaCeilings: {maxUsers: 50,", "quotaCeilings: {maxUsers: 60,")  # starter
    assert affected(repo) == []
    edit(repo, "plans.yaml", "maxUsers: 25,", "maxUsers: 30,")  # starter's default quota
    pools = sorted({shard(t) for t in EU2_POOLED})
    assert affected(repo) == [*[f"dev-eu2-pool-{n}" for n in pools], *[f"prod-eu2-pool-{n}" for n in pools],
                              "dev-pool", "prod-pool"]


def test_cells_yaml_touches_only_what_a_cell_change_deploys(repo):
    edit(repo, "cells.yaml", "pooledTenants: 3", "pooledTenants: 30")  # capacity: validation only
    edit(repo, "cells.yaml", "canary: true", "canary: false")  # order only
    assert affected(repo) == []
    git(repo, "commit", "-qam", "capacity")
    edit(repo, "cells.yaml", "databaseInstanceClass: db.t4g.large", "databaseInstanceClass: db.t4g.xlarge")
    registry = validate_project(repo)
    eu2 = [s.name for env in ("dev", "prod") for s in stacks_of(registry, env) if s.cell == "eu2"]
    assert sorted(affected(repo)) == sorted(eu2) and len(eu2) == 12
    git(repo, "commit", "-qam", "bigger")
    edit(repo, "cells.yaml", "cells:\n", "cells:\n  us1:\n    environments: [prod]\n    poolShards: 2\n")
    assert affected(repo) == ["prod-us1-platform", "prod-us1-pool-0", "prod-us1-pool-1"]


# -- the program in a cell of its own -----------------------------------------------------------------

def test_a_cells_platform_carries_the_cell_in_its_names_and_a_shard_deploys_only_its_tenants(project):
    platform = resolve_stack(project, "dev-eu2-platform")
    rec = run_program(project, "dev-eu2-platform", platform.config)
    names = {r.type: r for r in rec.resources}
    assert names["aws:rds/instance:Instance"].input("identifier") == "dev-pool-eu2"
    assert names["aws:elasticache/replicationGroup:ReplicationGroup"].input("replicationGroupId") == "dev-pool-eu2"
    assert {r.input("name") for r in rec.of_type("aws:iam/role:Role")} >= {"tenancy-dev-pool-eu2"}
    assert {r.input("name") for r in rec.of_type("aws:kms/alias:Alias")} == {"alias/tenancy/dev/platform-eu2"}
    assert {r.input("name") for r in rec.of_type("aws:appconfig/application:Application")} >= {"tenancy-dev-eu2-flags-0"}
    assert json.loads(platform.config["tenancy:network"])["vpcCidr"] == "10.1.0.0/16"
    assert rec.of_type("aws:ec2/vpc:Vpc")[0].input("cidrBlock") == "10.1.0.0/16"
    assert rec.outputs["cell"] == "eu2"
    # its own Gateway, so cells can share a cluster: two platforms never claim one namespace or Gateway
    [gateway] = [r for r in rec.resources if r.type.endswith(":Gateway")]
    assert gateway.input("metadata")["namespace"] == "tenancy-gateway-eu2"
    assert {r.input("metadata")["name"] for r in rec.of_type("kubernetes:core/v1:Namespace")} >= {
        "tenancy-gateway-eu2", "tenant-pool-eu2"}
    n = shard("hooli")
    pool = resolve_stack(project, f"dev-eu2-pool-{n}")
    rec = run_program(project, pool.name, pool.config, stack_outputs={"dev-eu2-platform": rec.outputs})
    expected = sorted(t for t in EU2_POOLED if shard(t) == n)
    assert sorted(rec.outputs["tenants"]) == expected and rec.outputs["scope"] == f"pool/{n}"
    routes = [r for r in rec.resources if r.type.endswith(":HTTPRoute")]
    assert routes and {ref["namespace"] for r in routes for ref in r.input("spec")["parentRefs"]} == {
        "tenancy-gateway-eu2"}


def test_each_cells_pooled_database_gets_only_its_own_tenants(project):
    eu2 = tenancy("db-bootstrap", "--environment", "dev", "--cell", "eu2", "--dry-run", cwd=project)
    assert eu2.returncode == 0, eu2.stderr
    assert eu2.stdout.startswith("-- db-bootstrap for 3 pooled tenants of dev")
    assert "tenant_hooli" in eu2.stdout and "tenant_brightside" not in eu2.stdout
    default = tenancy("db-bootstrap", "--environment", "dev", "--dry-run", cwd=project)
    assert "tenant_brightside" in default.stdout and "tenant_hooli" not in default.stdout
    unknown = tenancy("cache-acl", "--environment", "dev", "--cell", "eu9", "--dry-run", cwd=project)
    assert unknown.returncode == 2 and "--cell eu9: no such cell; cells: default, eu2" in unknown.stderr
