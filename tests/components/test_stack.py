"""Stack scopes, stack outputs, and what happens when a tenant comes or goes."""

from __future__ import annotations

import pulumi
import pytest

from tenancy.plan.harness import Recording, plain, run_program
from tenancy.registry.loader import load_registry

from ..conftest import PROJECT, REGISTRY
from .conftest import dev_config, run_dev

DEV = load_registry(REGISTRY).in_environment("dev")
POOLED = {t.id for t in DEV if not t.has_own_stack}
OWN_STACK = {t.id for t in DEV if t.has_own_stack}
PLATFORM_STACK = "acme-org/tenancy/dev-platform"


def tenant_components(rec: Recording) -> set[str]:
    return {r.name.removeprefix("dev-") for r in rec.of_type("tenancy:tenant:Tenant")}


def fingerprint(rec: Recording, tenant: str) -> dict[str, dict]:
    """A tenant's resources by URN with their inputs: what must not change when others change."""
    return {r.urn: plain(r.inputs) for r in rec.tenant("dev", tenant)}


@pytest.fixture(scope="module")
def platform_only() -> Recording:
    return run_program(PROJECT, "dev", dev_config(scope="platform"))


def scoped(scope: str, platform_only: Recording) -> Recording:
    return run_program(PROJECT, "dev", dev_config(scope=scope, platformStack=PLATFORM_STACK),
                       stack_outputs={PLATFORM_STACK: {"platform": platform_only.outputs["platform"]}})


def test_all_scope_deploys_the_platform_and_every_tenant_of_the_environment(dev):
    assert tenant_components(dev) == POOLED | OWN_STACK
    assert len(dev.of_type("tenancy:platform:Platform")) == 1
    assert set(dev.outputs["tenants"]) == POOLED | OWN_STACK


def test_platform_scope_deploys_the_platform_only(platform_only):
    assert tenant_components(platform_only) == set()
    assert len(platform_only.of_type("tenancy:platform:Platform")) == 1
    assert {"vpcId", "poolDatabase", "poolCache", "natGatewayIds"} <= set(platform_only.outputs["platform"])


def test_pool_scope_deploys_the_pooled_tenants_on_the_referenced_platform(platform_only, dev):
    pool = scoped("pool", platform_only)
    assert tenant_components(pool) == POOLED
    assert not pool.of_type("tenancy:platform:Platform")
    [reference] = pool.of_type("pulumi:pulumi:StackReference")
    assert reference.read and reference.id == PLATFORM_STACK
    # what a pooled tenant gets is the same whether the platform is in the stack or referenced
    for tenant in POOLED:
        assert fingerprint(pool, tenant) == fingerprint(dev, tenant)


def test_tenant_scope_deploys_one_tenant_on_the_referenced_platform(platform_only, dev):
    one = scoped("tenant/initech", platform_only)
    assert tenant_components(one) == {"initech"}
    assert fingerprint(one, "initech") == fingerprint(dev, "initech")
    assert set(one.outputs["tenants"]) == {"initech"}


@pytest.mark.parametrize("scope, message", [
    ("tenant/brightside", "brightside is a shared tenant; it deploys in the pool stack"),
    ("tenant/nobody", f"no such tenant in dev, cell default; tenants with their own stack: {', '.join(sorted(OWN_STACK))}"),
    ("everything", "is not one of all | platform | pool | tenant/<id>"),
])
def test_bad_scopes_fail_before_anything_is_registered(scope, message):
    with pytest.raises(pulumi.RunError, match=message):
        run_program(PROJECT, "dev", dev_config(scope=scope, platformStack=PLATFORM_STACK))


def test_scoped_stack_without_platform_stack_setting_is_refused():
    with pytest.raises(pulumi.RunError, match="set tenancy:platformStack"):
        run_dev(scope="pool")


def test_invalid_registry_fails_the_program_with_every_problem_and_registers_nothing(registry_dir):
    (registry_dir / "broken.yaml").write_text("id: broken\nname: B\nplan: gold\nenvironments: [dev]\n"
                                              "billing: {costCenter: c}\n")
    (registry_dir / "acme.yaml").write_text((registry_dir / "acme.yaml").read_text().replace("10.64.0.0/20", "10.0.0.0/20"))
    with pytest.raises(pulumi.RunError) as info:
        run_dev(registry=str(registry_dir))
    message = str(info.value)
    assert "(2 problems)" in message
    assert "broken.yaml:3: broken: plan: unknown plan 'gold'" in message
    assert "acme.yaml:8: acme: network.cidr: an isolated tenant's VPC must lie outside the shared VPC" in message
    assert [r for r in info.value.recording.registrations if r.custom] == []


def test_invalid_settings_fail_with_the_key_named():
    with pytest.raises(pulumi.RunError, match="tenancy:network.azCount"):
        run_dev(network='{"azCount": 9}')


def test_outputs_give_each_tenant_what_its_applications_need(dev, registry):
    acme = dev.outputs["tenants"]["acme"]
    key = next(r for r in dev.tenant("dev", "acme") if r.type == "aws:kms/key:Key")
    assert acme["keyArn"] == key.outputs["arn"]
    assert acme["namespace"] == "tenant-acme" and acme["roleArn"].endswith(":role/tenancy-dev-acme")
    assert acme["queueUrl"].startswith("https://sqs.") and acme["databaseEndpoint"].endswith(":5432")
    assert acme["services"] == {s.value: t.value for s, t in registry.get("acme").services.items()}
    assert dev.outputs["tenants"]["brightside"]["namespace"] == "tenant-pool"


def test_adding_or_removing_a_tenant_changes_no_other_tenant(dev, registry_dir):
    (registry_dir / "hooli.yaml").write_text(
        (registry_dir / "acme.yaml").read_text().replace("acme", "hooli").replace("10.64.0.0/20", "10.80.0.0/20"))
    (registry_dir / "northwind.yaml").unlink()
    changed = run_dev(registry=str(registry_dir))
    assert tenant_components(changed) == (POOLED | OWN_STACK | {"hooli"}) - {"northwind"}
    for tenant in (POOLED | OWN_STACK) - {"northwind"}:
        assert fingerprint(changed, tenant) == fingerprint(dev, tenant), tenant


def test_prod_layout_has_a_nat_per_zone_and_multi_az_databases(prod_plan):
    prod = prod_plan
    nats = [r for r in prod.of_type("aws:ec2/natGateway:NatGateway") if r.name.startswith("prod-platform")]
    assert len(nats) == 3
    assert all(r.input("multiAz") is True for r in prod.of_type("aws:rds/instance:Instance"))
    assert "staging" not in prod.outputs["environment"]


def test_without_a_cluster_kubernetes_is_skipped_and_roles_trust_pod_identity():
    rec = run_dev(kubernetes=None)
    assert not [r for r in rec.registrations if r.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))]
    role = next(r for r in rec.of_type("aws:iam/role:Role") if r.input("name") == "tenancy-dev-acme")
    import json
    trust = json.loads(role.input("assumeRolePolicy"))["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"] == "tenant-acme"
