"""The service catalog in plans.yaml, the plan's sign-in and critical services, and the quota fit:
what each tier runs, and every catalog or sizing problem reported at its file, line and field."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from tenancy.registry.loader import load_registry
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.settings import StackSettings, settings_from_config

from ..conftest import REGISTRY


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(textwrap.dedent(text).lstrip())


def problems_of(directory: Path) -> list:
    with pytest.raises(RegistryInvalid) as info:
        load_registry(directory)
    return info.value.problems


def set_catalog(directory: Path, services: str) -> None:
    """Replace plans.yaml's `services:` block (the fixture's ends the file)."""
    plans = directory / "plans.yaml"
    text = plans.read_text()
    plans.write_text(text[:text.index("\nservices:\n")] + "\nservices:\n" + textwrap.dedent(services).lstrip("\n"))


def edit_plans(directory: Path, old: str, new: str) -> None:
    plans = directory / "plans.yaml"
    text = plans.read_text()
    assert text.count(old) == 1, old
    plans.write_text(text.replace(old, new))


def line_of(directory: Path, name: str, fragment: str) -> int:
    lines = (directory / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if fragment in line)


DEDICATED = """
    id: tight
    name: Tight
    plan: enterprise
    isolationLevel: dedicated
    environments: [dev]
    network: {{cidr: 10.0.96.0/20}}
    status: {status}
    quotas: {{computeLimit: {cpu}}}
    billing: {{costCenter: cc-1}}
"""


def test_the_fixture_catalog_gives_each_tier_its_instances_and_pool():
    registry = load_registry(REGISTRY)
    assert [s.name for s in registry.plans.services] == ["api", "web"]
    own = {t.id: ([s.name for s in t.dedicated_services], t.own_user_pool) for t in registry.tenants}
    assert own == {"acme": (["api", "web"], True),  # isolated: everything, and always its own pool
                   "initech": (["api", "web"], True),  # dedicated on enterprise, whose plan says `identity: own`
                   "globex": (["api", "web"], False),  # a database of its own: every service its own
                   "brightside": ([], False), "northwind": ([], False), "umbrella": ([], False)}
    api = registry.plans.services[0]
    assert (api.route_path, api.most_replicas, api.cpu, api.memory_mib) == ("/api", 6, 0.5, 512)


def test_dedicated_instances_that_do_not_fit_the_quota_are_refused_at_computelimit(registry_dir):
    write(registry_dir, "tight.yaml", DEDICATED.format(status="active", cpu=2))
    [problem] = problems_of(registry_dir)
    assert (problem.tenant, problem.field) == ("tight", "quotas.computeLimit")
    assert problem.line == line_of(registry_dir, "tight.yaml", "quotas:")
    assert problem.message.startswith("its dedicated service instances (api, web) need at their maxReplicas "
                                      "4 vCPUs (the quota holds 2)")


def test_a_suspended_tenant_runs_no_instance_so_any_quota_fits(registry_dir):
    write(registry_dir, "tight.yaml", DEDICATED.format(status="suspended", cpu=2))
    assert load_registry(registry_dir).get("tight").suspended


@pytest.mark.parametrize("cpu, fits", [(2, False), (3, True)])
def test_a_hybrid_tenant_needs_room_for_its_critical_instances_only(registry_dir, cpu, fits):
    """Compute of its own, data in the pool: the pool's instances serve its other paths."""
    write(registry_dir, "hybrid.yaml", f"""
        id: hybrid
        name: Hybrid
        plan: professional
        environments: [dev]
        services: {{compute: dedicated}}
        quotas: {{computeLimit: {cpu}}}
        billing: {{costCenter: cc-1}}
    """)
    if fits:
        assert [s.name for s in load_registry(registry_dir).get("hybrid").dedicated_services] == ["api"]
    else:
        [problem] = problems_of(registry_dir)
        assert problem.field == "quotas.computeLimit" and "(api) need at their maxReplicas 3 vCPUs" in problem.message


def test_a_tenant_with_a_database_of_its_own_runs_every_service_itself(registry_dir):
    """No pooled instance may reach its database, so none may serve it."""
    write(registry_dir, "own.yaml", """
        id: own
        name: Own
        plan: professional
        environments: [dev]
        services: {database: dedicated}
        quotas: {storageLimit: 40, computeLimit: 3}
        billing: {costCenter: cc-1}
    """)
    [problem] = problems_of(registry_dir)
    assert problem.field == "quotas.computeLimit" and "(api, web) need at their maxReplicas" in problem.message


def test_a_plan_whose_defaults_cannot_hold_the_catalog_is_refused_in_plans_yaml(registry_dir):
    edit_plans(registry_dir, "storageLimit: 500, computeLimit: 32,", "storageLimit: 500, computeLimit: 1,")
    found = problems_of(registry_dir)
    plan_problems = [p for p in found if p.file.endswith("plans.yaml")]
    [problem] = plan_problems
    assert (problem.tenant, problem.field) == ("plan enterprise", "plans.enterprise.quotas.computeLimit")
    assert "dedicated and isolated tenants' service instances (api, web)" in problem.message
    assert "4 vCPUs (the quota holds 1)" in problem.message


def test_memory_counts_too(registry_dir):
    set_catalog(registry_dir, """
      - {name: api, image: example/big:1, replicas: 2, cpu: 0.5, memoryMiB: 8192}
    """)
    [problem] = [p for p in problems_of(registry_dir) if p.tenant == "plan professional"]
    assert "16 GiB of memory (the quota holds 8)" in problem.message  # computeLimit 4 x memoryPerCpuGiB 2


def test_catalog_names_and_paths_are_unique_and_critical_services_exist(registry_dir):
    set_catalog(registry_dir, """
      - {name: api, image: example/api:1, path: /api}
      - {name: api, image: example/api:2, path: /v2}
      - {name: web, image: example/web:1, path: /api}
    """)
    edit_plans(registry_dir, "criticalServices: [api]", "criticalServices: [api, search]")
    found = {(p.field, p.line): p.message for p in problems_of(registry_dir)}
    catalog_line = line_of(registry_dir, "plans.yaml", "services:")
    assert found[("services[1].name", catalog_line + 2)] == "service 'api' is already listed (services[0])"
    assert found[("services[2].path", catalog_line + 3)].startswith("path /api is already api's")
    assert found[("plans.professional.criticalServices[1]", line_of(registry_dir, "plans.yaml", "criticalServices"))] \
        == "'search' is not in the service catalog; services: api, web"


@pytest.mark.parametrize("entry, field, message", [
    ("{name: api, image: x, replicas: 4, maxReplicas: 2}", "services[0]", "maxReplicas 2 is below replicas 4"),
    ("{name: api, image: x, memory: 512}", "services[0].memory", "unknown key 'memory'"),
    ("{name: Api, image: x}", "services[0].name", "must be a Kubernetes Service name"),
    ("{name: api, image: x, path: api}", "services[0].path", "must be a path prefix such as /api"),
    ("{name: api, image: x, cpu: 0.0001}", "services[0].cpu", "multiple of 0.001"),
    ("{name: api, image: 'x y'}", "services[0].image", "should match pattern"),
])
def test_a_bad_catalog_entry_is_located(registry_dir, entry, field, message):
    set_catalog(registry_dir, f"  - {entry}\n")
    [problem] = problems_of(registry_dir)
    assert (problem.file.endswith("plans.yaml"), problem.field) == (True, field)
    assert message in problem.message


def test_a_plan_may_give_its_tenants_their_own_user_pool(registry_dir):
    edit_plans(registry_dir, "criticalServices: [api]", "criticalServices: [api]\n    identity: own")
    assert load_registry(registry_dir).get("northwind").own_user_pool
    edit_plans(registry_dir, "[api]\n    identity: own", "[api]\n    identity: private")
    [problem] = problems_of(registry_dir)
    assert problem.field == "plans.professional.identity" and "'pooled' or 'own'" in problem.message


def test_routing_settings_are_read_from_stack_config_and_checked():
    config = {"environment": "dev", "routing": json.dumps({"domain": "apps.example.com", "gatewayClassName": "istio"})}
    routing = settings_from_config(config.get).routing
    assert (routing.domain, routing.gateway_class_name, routing.certificate_secret) == (
        "apps.example.com", "istio", "tenancy-gateway-tls")
    assert settings_from_config({"environment": "dev"}.get).routing is None
    for domain in ("Apps.Example.com", "localhost", "-bad.example.com", "a..example.com"):
        with pytest.raises(ValidationError, match="routing.domain"):
            StackSettings.model_validate({"environment": "dev", "routing": {"domain": domain, "gatewayClassName": "x"}})
    with pytest.raises(ValidationError, match="gatewayClassName"):
        StackSettings.model_validate({"environment": "dev", "routing": {"domain": "apps.example.com"}})
