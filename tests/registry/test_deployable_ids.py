"""Worst-case registries: every id the registry accepts, with the smallest quotas a plan allows,
plans in every environment with each derived name and value inside what AWS and Kubernetes accept;
every id it cannot deploy is refused by `validate`, naming the tenant, the field and why."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from tenancy.plan.run import plan_stack
from tenancy.registry import naming
from tenancy.registry.instances import footprint
from tenancy.registry.loader import load_registry, max_tenant_id_length
from tenancy.registry.models import Environment
from tenancy.registry.problems import RegistryInvalid

from ..conftest import PROJECT

LONGEST = max_tenant_id_length()
ISOLATED = "i" + "x" * (LONGEST - 1)
DEDICATED = "d" + "9" * (LONGEST - 1)
POOLED = "p-" + "y" * (LONGEST - 2)
SMALLEST = "{maxUsers: 0, maxProjects: 0, maxAIRequests: 1, storageLimit: 20, computeLimit: 0.1, networkBandwidth: 0}"
# A tenant with a namespace of its own runs the catalog's instances: the least computeLimit that holds
# them at their maxReplicas (the registry refuses less: tenancy.registry.instances).
OWN_NAMESPACE_CPU = footprint(load_registry(PROJECT / "tenants").plans.services).cpu_m / 1000


def tenant_file(tenant_id: str, plan: str, extra: str = "", cpu: float = 0.1) -> str:
    quotas = SMALLEST.replace("computeLimit: 0.1", f"computeLimit: {cpu:g}")
    return (f"id: {tenant_id}\nname: Edge\nplan: {plan}\nenvironments: [dev, staging, prod]\n{extra}"
            f"quotas: {quotas}\nbilling: {{costCenter: c}}\n")


@pytest.fixture(scope="module")
def worst_case(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("worst") / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    staging = (project / "Pulumi.dev.yaml").read_text().replace("tenancy:environment: dev", "tenancy:environment: staging")
    (project / "Pulumi.staging.yaml").write_text(staging)
    tenants = project / "tenants"
    (tenants / f"{ISOLATED}.yaml").write_text(tenant_file(ISOLATED, "enterprise",
                                                          "isolationLevel: isolated\nnetwork: {cidr: 10.80.0.0/20}\n",
                                                          cpu=OWN_NAMESPACE_CPU))
    (tenants / f"{DEDICATED}.yaml").write_text(tenant_file(DEDICATED, "enterprise",
                                                           "isolationLevel: dedicated\nnetwork: {cidr: 10.0.96.0/23}\n",
                                                           cpu=OWN_NAMESPACE_CPU))
    (tenants / f"{POOLED}.yaml").write_text(tenant_file(POOLED, "starter"))
    return project


def test_the_longest_ids_are_what_the_tightest_derived_name_allows():
    # the tightest today: `<env>-<id>-default`, an ElastiCache user id of at most 40 characters
    assert 40 - len("staging--default") == LONGEST
    for env in Environment:
        for _what, name, limit, _ in naming.id_derived_names(env.value, "x" * LONGEST):
            assert len(name) <= limit


def test_worst_case_registry_validates(worst_case):
    ids = {t.id for t in load_registry(worst_case / "tenants").tenants}
    assert {ISOLATED, DEDICATED, POOLED} <= ids


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_worst_case_registry_plans_inside_every_limit_in_every_environment(worst_case, stack):
    result = plan_stack(worst_case, stack)
    assert [str(b) for b in result.constraints] == []
    assert not result.report.mandatory, [v.message for v in result.report.mandatory]
    planned = {t["id"] for t in result.tenants()}
    assert {ISOLATED, DEDICATED, POOLED} <= planned


@pytest.mark.parametrize("tenant_id, says", [
    ("x" * (LONGEST + 1), "ElastiCache default user id"),
    ("ab--cd", "single hyphens"),
    ("-abc", "single hyphens"),
    ("acme-default", "collides with names the program derives for 'acme'"),
    ("acme-flow-logs", "collides with names the program derives for 'acme'"),
    ("pool", "reserved"),
    ("platform", "reserved"),
])
def test_ids_that_cannot_deploy_are_refused_naming_the_file_the_tenant_and_the_field(registry_dir, tenant_id, says):
    (registry_dir / f"{tenant_id}.yaml").write_text(tenant_file(tenant_id, "starter"))
    with pytest.raises(RegistryInvalid) as caught:
        load_registry(registry_dir)
    mine = [p for p in caught.value.problems if p.tenant == tenant_id and p.field == "id"]
    assert mine and says in mine[0].message, caught.value.problems
    assert mine[0].file.endswith(f"{tenant_id}.yaml") and mine[0].line == 1


CANDIDATES = ["acme", "acme-default", "acme-flow-logs", "pool-default", "pool", "platform", "acme-pool", "x-app",
              "default", "tenant-acme", "a1", "abc", "flow-logs", "platform-x", "dev-acme", "acme-dev", "p00l"]


def test_no_two_accepted_ids_derive_the_same_name_in_any_environment(registry_dir):
    for tenant_id in CANDIDATES:
        (registry_dir / f"{tenant_id}.yaml").write_text(tenant_file(tenant_id, "starter"))
    try:
        load_registry(registry_dir)
    except RegistryInvalid as exc:
        refused = {p.tenant for p in exc.problems}
    else:
        refused = set()
    accepted = [t for t in CANDIDATES if t not in refused] + [naming.POOL_OWNER, naming.PLATFORM_OWNER]
    assert "acme" in accepted and "acme-default" not in accepted
    for env in Environment:
        for a, b in itertools.combinations(accepted, 2):
            # names live in namespaces: IAM role names, ElastiCache user ids, ... compare within each
            spaces_a, spaces_b = namespaces(env.value, a), namespaces(env.value, b)
            for space in spaces_a:
                assert not spaces_a[space] & spaces_b[space], (env, space, a, b)


def namespaces(env: str, owner: str) -> dict[str, set[str]]:
    """Every name derived for `owner`, by the namespace AWS or Kubernetes keeps it unique in."""
    spaces: dict[str, set[str]] = {}
    for what, name, _, _ in naming.id_derived_names(env, owner):
        space = "IAM role" if "IAM role" in what else "ElastiCache user id" if "user id" in what else what
        spaces.setdefault(space, set()).add(name)
    return spaces
