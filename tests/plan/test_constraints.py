"""The offline plan refuses what AWS or Kubernetes would refuse: each rule caught on a resource
shaped like the harness's registrations, the autoname suffix counted, uniqueness across the plan,
and the fixture's own plans clean."""

from __future__ import annotations

import pytest

from tenancy.plan.constraints import AUTONAME_SUFFIX, check_constraints
from tenancy.plan.harness import Recording, Registration


def resource(type_: str, logical: str, **inputs) -> Registration:
    return Registration(urn=f"urn:pulumi:dev::tenancy::{type_}::{logical}", type=type_, name=logical, custom=True,
                        parent="", inputs=inputs, outputs={}, id="", protect=False, retain_on_delete=False,
                        dependencies=[], property_dependencies={}, provider="")


def breaches(*resources: Registration) -> list[tuple[str, str]]:
    return [(b.name, b.field) for b in check_constraints(Recording(list(resources)))]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_fixture_plans_break_no_constraint(request, stack):
    assert check_constraints(request.getfixturevalue(f"{stack}_plan")) == []


def test_an_autonamed_replication_group_counts_the_providers_suffix():
    # 40 characters at most; the provider adds '-' and 7 characters to the logical name
    fits = "a" * (40 - len(AUTONAME_SUFFIX))
    rg = "aws:elasticache/replicationGroup:ReplicationGroup"
    assert breaches(resource(rg, fits)) == []
    assert breaches(resource(rg, fits + "b")) == [(fits + "b", "replicationGroupId (autonamed)")]


@pytest.mark.parametrize("identifier, ok", [("dev-acme", True), ("dev--acme", False), ("dev-acme-", False),
                                            ("1dev", False), ("Dev-Acme", False), ("d" * 63, True), ("d" * 64, False)])
def test_rds_identifiers_follow_the_api(identifier, ok):
    found = breaches(resource("aws:rds/instance:Instance", "db", identifier=identifier, allocatedStorage=20))
    assert (found == []) is ok, found


@pytest.mark.parametrize("allocated, ceiling, ok", [(100, 100, False), (100, 109, False), (100, 110, True),
                                                    (50, None, True), (20, 22, True), (20, 21, False)])
def test_storage_autoscaling_ceiling_is_at_least_ten_percent_above_the_allocation(allocated, ceiling, ok):
    found = breaches(resource("aws:rds/instance:Instance", "db", identifier="dev-a", allocatedStorage=allocated,
                              maxAllocatedStorage=ceiling))
    assert (found == []) is ok, found


def test_a_limit_range_default_above_its_max_is_refused_like_the_api_server_does():
    spec = {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"}, "max": {"cpu": "250m", "memory": "1Gi"}}]}
    found = breaches(resource("kubernetes:core/v1:LimitRange", "lr", apiVersion="v1", kind="LimitRange",
                              metadata={"name": "tenant-limits", "namespace": "tenant-a"}, spec=spec))
    assert found == [("lr", "spec.limits[0].default.cpu")]


def test_kubernetes_objects_are_checked_against_the_openapi_schema():
    bad = resource("kubernetes:core/v1:ResourceQuota", "q", apiVersion="v1", kind="ResourceQuota",
                   metadata={"name": "tenant-quota", "namespace": "tenant-a"}, spec={"hard": {"cpu": "2"}, "hrad": {}})
    assert breaches(bad) == [("q", "spec")]
    bad_quantity = resource("kubernetes:core/v1:ResourceQuota", "q2", apiVersion="v1", kind="ResourceQuota",
                            metadata={"name": "tenant-quota", "namespace": "tenant-a"}, spec={"hard": {"cpu": "two"}})
    assert ("q2", "spec.hard.cpu") in breaches(bad_quantity)
    bad_name = resource("kubernetes:core/v1:Namespace", "ns", apiVersion="v1", kind="Namespace",
                        metadata={"name": "Tenant_A"})
    assert breaches(bad_name) == [("ns", "metadata.name")]


@pytest.mark.parametrize("days, ok", [(30, True), (365, True), (31, False), (0, True)])
def test_log_retention_takes_only_what_cloudwatch_accepts(days, ok):
    found = breaches(resource("aws:cloudwatch/logGroup:LogGroup", "lg", name="/tenancy/dev/a/app", retentionInDays=days))
    assert (found == []) is ok


def test_names_unique_per_account_are_checked_across_the_plan():
    user = "aws:elasticache/user:User"
    found = breaches(resource(user, "pool-default", userId="dev-pool-default"),
                     resource(user, "tenant", userId="dev-pool-default"),
                     resource(user, "other", userId="dev-acme"))
    assert sorted(found) == [("pool-default", "userId"), ("tenant", "userId")]


def test_multi_az_cache_needs_failover_and_two_nodes():
    rg = "aws:elasticache/replicationGroup:ReplicationGroup"
    found = breaches(resource(rg, "c", replicationGroupId="dev-a", numCacheClusters=1, multiAzEnabled=True,
                              automaticFailoverEnabled=False))
    assert found == [("c", "multiAzEnabled")]


@pytest.mark.parametrize("spec, field", [
    ({"podSelector": {}, "securityGroups": {"groupIds": ["sg-0123456789abcdef0"]}}, None),
    ({"podSelector": {}, "securityGroups": {"groupIds": []}}, "spec.securityGroups.groupIds"),
    ({"podSelector": {}, "securityGroups": {"groupIds": ["sg-1"] * 17}}, "spec.securityGroups.groupIds"),
    ({"podSelector": {}, "securityGroups": {"groupIDs": ["sg-1"]}}, "spec.securityGroups"),
])
def test_a_security_group_policy_is_checked_against_its_crds_schema(spec, field):
    """The custom resource kubernetes-validate does not know, against the VPC resource controller's CRD."""
    found = breaches(resource("kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy", "sgp",
                              apiVersion="vpcresources.k8s.aws/v1beta1", kind="SecurityGroupPolicy",
                              metadata={"name": "tenant-workloads", "namespace": "tenant-a"}, spec=spec))
    assert found == ([] if field is None else [("sgp", field)])


def test_a_custom_resource_without_a_known_schema_is_refused():
    found = breaches(resource("kubernetes:example.com/v1:Widget", "w", apiVersion="example.com/v1", kind="Widget",
                              metadata={"name": "w", "namespace": "tenant-a"}, spec={}))
    assert found == [("w", "kind")]
