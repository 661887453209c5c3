"""`tenancy stacks` and `tenancy affected` on a real temporary git repository holding a copy of the
tests' own project."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tenancy.registry.loader import load_registry

from ..conftest import PROJECT, REGISTRY
from ..run_cli import tenancy


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of the fixture project, with one commit. `affected` reads paths
    only, so a README and a component module stand in for the repository's own."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "__main__.py"):
        shutil.copy(PROJECT / name, repo / name)
    shutil.copytree(REGISTRY, repo / "tenants")
    (repo / "README.md").write_text("# tenancy\n")
    (repo / "components").mkdir()
    (repo / "components" / "queues.py").write_text('"""A stand-in for a component module."""\n')
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def affected(repo: Path, *extra: str) -> list[str]:
    result = tenancy("affected", "--base", "main", *extra, cwd=repo)
    assert result.returncode == 0, result.stderr
    return [entry["stack"] for entry in json.loads(result.stdout)["include"]]


def test_stacks_lists_each_environment_in_deployment_order():
    result = tenancy("stacks", "--environment", "dev", "--format", "json", cwd=PROJECT)
    assert result.returncode == 0
    entries = json.loads(result.stdout)["include"]
    registry = load_registry(REGISTRY)
    own = sorted(t.id for t in registry.in_environment("dev") if t.has_own_stack)
    assert [e["stack"] for e in entries] == ["dev-platform", "dev-pool", *[f"dev-{t}" for t in own]]
    assert entries[2] == {"stack": f"dev-{own[0]}", "environment": "dev", "scope": f"tenant/{own[0]}",
                          "cell": "default", "wave": 6}


def test_nothing_changed_touches_nothing(repo):
    assert affected(repo) == []


def test_one_dedicated_tenant_edited_touches_only_its_stacks(repo):
    path = repo / "tenants" / "initech.yaml"
    path.write_text(path.read_text().replace("maxUsers: 2000", "maxUsers: 2500"))
    assert affected(repo) == ["dev-initech", "staging-initech", "prod-initech"]
    assert affected(repo, "--environment", "prod") == ["prod-initech"]


def test_one_pooled_tenant_edited_touches_the_pools_of_its_environments(repo):
    path = repo / "tenants" / "northwind.yaml"
    path.write_text(path.read_text().replace("maxUsers: 150", "maxUsers: 160"))
    assert affected(repo) == ["dev-pool", "staging-pool", "prod-pool"]


def test_a_new_tenant_file_touches_its_stacks(repo):
    (repo / "tenants" / "hooli.yaml").write_text(
        (repo / "tenants" / "acme.yaml").read_text().replace("acme", "hooli").replace("10.64.0.0/20", "10.80.0.0/20"))
    assert affected(repo) == ["dev-hooli", "prod-hooli"]


def test_a_component_edited_touches_every_stack(repo):
    (repo / "components" / "queues.py").write_text((repo / "components" / "queues.py").read_text() + "\n")
    stacks = affected(repo)
    expected = json.loads(tenancy("stacks", "--format", "json", cwd=repo).stdout)["include"]
    assert stacks == [e["stack"] for e in expected]


def test_a_plan_edited_touches_the_stacks_of_its_tenants_only(repo):
    plans = repo / "tenants" / "plans.yaml"
    plans.write_text(plans.read_text().replace("maxUsers: 25,", "maxUsers: 30,"))  # starter
    registry = load_registry(repo / "tenants")
    on_starter = [t for t in registry.tenants if t.tenant.plan == "starter"]
    assert on_starter and all(not t.has_own_stack for t in on_starter)
    envs = sorted({e.value for t in on_starter for e in t.tenant.environments}, key=["dev", "staging", "prod"].index)
    assert affected(repo) == [f"{env}-pool" for env in envs]


def test_docs_and_tests_touch_nothing(repo):
    (repo / "README.md").write_text("changed\n")
    assert affected(repo) == []


def test_a_bad_base_is_a_usage_error(repo):
    result = tenancy("affected", "--base", "no-such-ref", cwd=repo)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_stack_config_writes_a_split_stack_file_for_the_cli(repo):
    result = tenancy("stack-config", "--stack", "dev-acme", cwd=repo)
    assert result.returncode == 0, result.stderr
    import yaml
    config = yaml.safe_load((repo / "Pulumi.dev-acme.yaml").read_text())["config"]
    assert config["tenancy:scope"] == "tenant/acme" and config["tenancy:platformStack"] == "dev-platform"
    assert config["tenancy:network"]["vpcCidr"] == "10.0.0.0/16"
    tenancy("stack-config", "--stack", "prod-pool", "--org", "acme-inc", cwd=repo)
    config = yaml.safe_load((repo / "Pulumi.prod-pool.yaml").read_text())["config"]
    assert config["tenancy:platformStack"] == "acme-inc/tenancy/prod-platform"
