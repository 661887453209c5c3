"""The stack policies, one unit case at a time, on in-memory stacks shaped like the SDK's.

Each policy has the obvious break, at least one break shaped unlike it (by value rather than by
dependency, through a wildcard, from the other side, through another resource type) and a compliant
shape that a careless rule would flag. Every case asserts the exact messages and URNs reported.
Breaks the rules miss today although their description claims them are strict xfails ("bypass",
with the reason), left for the access-graph rewrite to fix: `pytest -rx` lists them.
"""

from __future__ import annotations

import json

import pytest
from pulumi_policy import StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from .breaks import Cases, Names
from .resources import UNKNOWN, Stack, policies, violations
from .world import (
    BUDGET,
    CIDR_ASSOCIATION,
    FLOW_LOG,
    INGRESS,
    KEY,
    LIMITS,
    LOG_GROUP,
    MANAGED_POLICY,
    NAMESPACE,
    NETWORK_POLICY,
    PEERING,
    QUEUE,
    QUEUE_POLICY,
    SG,
    SG_RULE,
    SUBNET,
    TENANT,
    TGW_ATTACHMENT,
    TOPIC,
    VPC,
    arn,
    compliant,
    hex_id,
    tags,
)

CASES = Cases()
ISOLATION = "tenant-isolation"  # the rules it superseded keep their cases here, judged by it
ALL_TAGS = "tenant-id, tenant-plan, isolation, environment, managed-by"
HOOLI = (("hooli", "enterprise", "isolated"),)  # a second isolated tenant, for breaks between two VPCs


def prop(s: Stack, name: str, key: str):
    return s[name].props[key]


def bare_tenant(s: Stack, with_key: bool = True) -> None:
    """A tenant built by hand: its component, and at most a key."""
    s.component(TENANT, "dev-bare", {"tags": tags("bare", "starter", "shared")})
    if with_key:
        s.add(KEY, "dev-bare-key", {"enableKeyRotation": True, "tags": tags("bare", "starter", "shared"),
                                    "id": "0b0b0b0b-0000-4000-8000-0000000000bb",
                                    "arn": arn("kms", "key/0b0b0b0b-0000-4000-8000-0000000000bb")},
              parent="dev-bare", protect=True)
    else:
        s.add(QUEUE, "dev-bare-queue", {"tags": tags("bare", "starter", "shared")}, parent="dev-bare")


def ingress(s: Stack, name: str, parent, target: str, *, cidr: str = "", source: str = "", protocol: str = "tcp",
            port: int = 5432, by_value: bool = False, **extra) -> str:
    props = {"securityGroupId": prop(s, target, "id"), "ipProtocol": protocol, "fromPort": port, "toPort": port,
             "id": hex_id("sgr", name), **extra}
    deps = {} if by_value else {"securityGroupId": [target]}
    if cidr:
        props["cidrIpv4"] = cidr
    if source:
        props["referencedSecurityGroupId"] = prop(s, source, "id")
        if not by_value:
            deps["referencedSecurityGroupId"] = [source]
    s.add(INGRESS, name, props, parent=parent, prop_deps=deps)
    return name


def add_statement(s: Stack, policy: str, statement: dict) -> None:
    document = json.loads(prop(s, policy, "policy"))
    document["Statement"].append(statement)
    s[policy].props["policy"] = json.dumps(document)


# -- tenant-tags ------------------------------------------------------------------------------------
@CASES.fails("tenant-tags")
def untagged_dead_letter_queue(s):
    s["dev-acme-queues-dlq"].props["tags"] = {"Name": "untagged"}
    return [(f"dev-acme-queues-dlq belongs to tenant acme but lacks the tags {ALL_TAGS}", s.urn("dev-acme-queues-dlq"))]


@CASES.fails("tenant-tags")
def empty_tenant_tag_under_a_tenant(s):
    s["dev-acme-queues-dlq"].props["tags"]["tenant-id"] = ""
    return [("dev-acme-queues-dlq is tagged tenant-id= but belongs to tenant acme", s.urn("dev-acme-queues-dlq"))]


@CASES.fails("tenant-tags")
def resource_of_one_tenant_tagged_as_another(s):
    s["dev-acme-queues-dlq"].props["tags"] = tags("initech", "enterprise", "dedicated")
    return [Names(s.urn("dev-acme-queues-dlq"), ("dev-acme-queues-dlq", "initech", "acme"))]


@CASES.fails("tenant-tags")
def untagged_usage_plan(s):
    del s["dev-acme-api-plan"].props["tags"]
    return [Names(s.urn("dev-acme-api-plan"), ("dev-acme-api-plan", "acme"))]


@CASES.passes("tenant-tags")
def platform_resources_carry_no_tenant_tags(s):
    s.add(QUEUE, "dev-platform-events", {"tags": {"managed-by": "tenancy"}}, parent="dev-platform")


@CASES.passes("tenant-tags")
def tags_unknown_in_preview_are_not_judged(s):
    s["dev-acme-queues-dlq"].props["tags"] = UNKNOWN


# -- no-cross-tenant-references ---------------------------------------------------------------------------
@CASES.fails("no-cross-tenant-references")
def ingress_from_another_tenants_group_by_dependency(s):
    ingress(s, "break-cross-tenant", "dev-initech", "dev-initech-db-sg", source="dev-acme-app-sg")
    return [("break-cross-tenant of tenant initech depends on dev-acme-app-sg of tenant acme", s.urn("break-cross-tenant"))]


@CASES.fails("no-cross-tenant-references")
def queue_policy_naming_another_tenants_queue_by_value(s):
    s.add(QUEUE_POLICY, "break-queue-policy", {"queueUrl": prop(s, "dev-initech-queues-queue", "url"),
                                               "policy": json.dumps({"Statement": [{
                                                   "Effect": "Allow", "Action": "sqs:SendMessage",
                                                   "Resource": prop(s, "dev-acme-queues-queue", "arn")}]})},
          parent="dev-initech")
    return [("break-queue-policy.policy of tenant initech names dev-acme-queues-queue of tenant acme",
             s.urn("break-queue-policy"))]


@CASES.fails("no-cross-tenant-references")
def trailing_wildcard_over_another_tenants_queues(s):
    s.add(QUEUE_POLICY, "break-queue-policy", {"policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Action": "sqs:*", "Resource": arn("sqs", "dev-acme-*")}]})}, parent="dev-initech")
    return [(f"break-queue-policy.policy of tenant initech names dev-acme-queues-{queue} of tenant acme",
             s.urn("break-queue-policy")) for queue in ("dlq", "queue")]  # every queue the pattern names


@CASES.fails("no-cross-tenant-references")
def wildcard_inside_the_arn(s):
    queue = prop(s, "dev-acme-queues-queue", "name")
    s.add(QUEUE_POLICY, "break-queue-policy", {"policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Action": "sqs:*", "Resource": f"arn:aws:sqs:*:*:{queue}"}]})}, parent="dev-initech")
    return [Names(s.urn("break-queue-policy"), ("initech", "dev-acme-queues-queue", "acme"))]


@CASES.fails("no-cross-tenant-references")
def another_tenants_database_endpoint(s):
    s.add("aws:ssm/parameter:Parameter", "break-endpoint", {"type": "String",
                                                            "value": prop(s, "dev-acme-db-instance", "endpoint")},
          parent="dev-initech")
    return [Names(s.urn("break-endpoint"), ("initech", "dev-acme-db-instance", "acme"))]


@CASES.passes("no-cross-tenant-references")
def a_tenant_names_its_own_database_endpoint_and_queue_by_name(s):
    s.add("aws:ssm/parameter:Parameter", "dev-acme-config", {"type": "String", "value": json.dumps({
        "database": prop(s, "dev-acme-db-instance", "endpoint"), "queue": prop(s, "dev-acme-queues-queue", "name")})},
        parent="dev-acme")
    s.add("aws:ssm/parameter:Parameter", "dev-acme-endpoint", {"type": "String",
                                                               "value": prop(s, "dev-acme-db-instance", "endpoint")},
          parent="dev-acme")


@CASES.passes("no-cross-tenant-references")
def tenants_use_the_platforms_resources_and_the_platform_names_tenants(s):
    ingress(s, "dev-platform-pool-db-from-northwind", "dev-northwind", "dev-platform-pool-db-sg",
            source="dev-platform-pool-app-sg")
    s.add("aws:cloudwatch/dashboard:Dashboard", "dev-platform-dashboard", {"dashboardBody": json.dumps(
        {"widgets": [prop(s, "dev-acme-queues-queue", "arn"), prop(s, "dev-initech-queues-queue", "arn")]})},
        parent="dev-platform", depends_on=["dev-acme-queues-queue", "dev-initech-queues-queue"])


# -- one-key-per-tenant -------------------------------------------------------------------------------
def _serves_both(s):
    return ("one key serves several tenants: acme, initech", s.urn("dev-acme-key-cmk"))


@CASES.fails("one-key-per-tenant")
def queue_encrypted_with_another_tenants_key(s):
    queue = s["dev-initech-queues-queue"]
    queue.props["kmsMasterKeyId"] = prop(s, "dev-acme-key-cmk", "arn")
    queue.prop_deps["kmsMasterKeyId"] = ["dev-acme-key-cmk"]
    return [("dev-initech-queues-queue of tenant initech is encrypted with dev-acme-key-cmk, the key of acme",
             s.urn("dev-initech-queues-queue")), _serves_both(s)]


@CASES.fails("one-key-per-tenant")
def log_group_given_another_tenants_bare_key_id_by_value(s):
    logs = s["dev-initech-monitoring-logs"]
    logs.props["kmsKeyId"] = prop(s, "dev-acme-key-cmk", "id")
    del logs.prop_deps["kmsKeyId"]
    return [("dev-initech-monitoring-logs of tenant initech is encrypted with dev-acme-key-cmk, the key of acme",
             s.urn("dev-initech-monitoring-logs")), _serves_both(s)]


@CASES.fails("one-key-per-tenant")
def tenant_queue_encrypted_with_the_platform_key(s):
    queue = s["dev-northwind-queues-queue"]
    queue.props["kmsMasterKeyId"] = prop(s, "dev-platform-key-cmk", "arn")
    queue.prop_deps["kmsMasterKeyId"] = ["dev-platform-key-cmk"]
    return [("dev-northwind-queues-queue of tenant northwind is encrypted with dev-platform-key-cmk, the key of the "
             "platform", s.urn("dev-northwind-queues-queue"))]


@CASES.fails("one-key-per-tenant")
def another_tenants_key_laundered_through_an_own_dependency(s):
    s["dev-initech-queues-queue"].props["kmsMasterKeyId"] = prop(s, "dev-acme-key-cmk", "arn")
    return [Names(s.urn("dev-initech-queues-queue"), ("dev-initech-queues-queue", "dev-acme-key-cmk", "acme"))]


@CASES.fails("one-key-per-tenant")
def another_tenants_key_through_its_alias(s):
    queue = s["dev-initech-queues-queue"]
    queue.props["kmsMasterKeyId"] = prop(s, "dev-acme-key-alias", "name")
    queue.prop_deps["kmsMasterKeyId"] = ["dev-acme-key-alias"]
    return [Names(s.urn("dev-initech-queues-queue"), ("dev-initech-queues-queue", "acme"))]


@CASES.passes("one-key-per-tenant")
def own_key_by_bare_id_alias_resource_and_platform_key_for_the_platform(s):
    logs = s["dev-acme-monitoring-logs"]
    logs.props["kmsKeyId"] = prop(s, "dev-acme-key-cmk", "id")
    del logs.prop_deps["kmsKeyId"]
    assert s["dev-acme-key-alias"].props["targetKeyId"] == prop(s, "dev-acme-key-cmk", "id")


# -- vpc-flow-logs ------------------------------------------------------------------------------------
@CASES.fails("vpc-flow-logs")
def vpc_without_flow_log(s):
    s.remove("dev-acme-network-vpc-flow-logs")
    return [("dev-acme-network-vpc has no flow log", s.urn("dev-acme-network-vpc"))]


@CASES.fails("vpc-flow-logs")
def flow_log_on_one_subnet_only(s):
    log = s["dev-acme-network-vpc-flow-logs"]
    log.props = {"subnetId": prop(s, "dev-acme-network-app-0", "id"), "trafficType": "ALL", "id": "fl-0subnetonly000"}
    log.prop_deps = {"subnetId": ["dev-acme-network-app-0"]}
    return [("dev-acme-network-vpc has no flow log", s.urn("dev-acme-network-vpc"))]


@CASES.fails("vpc-flow-logs")
def a_second_vpc_added_without_flow_log(s):
    s.add(VPC, "break-unlogged-vpc", {"cidrBlock": "10.64.0.0/24", "id": "vpc-0unlogged0000000"}, parent="dev-acme")
    return [("break-unlogged-vpc has no flow log", s.urn("break-unlogged-vpc"))]


@CASES.passes("vpc-flow-logs")
def flow_log_naming_its_vpc_by_value_or_arn(s):
    s["dev-acme-network-vpc-flow-logs"].prop_deps = {}
    s["dev-acme-network-vpc-flow-logs"].props["vpcId"] = prop(s, "dev-acme-network-vpc", "arn")


# -- tenant-cidrs-no-overlap ----------------------------------------------------------------------------
@CASES.fails("tenant-cidrs-no-overlap", tenants=HOOLI)
def isolated_tenant_vpc_over_another_tenants(s):
    s["dev-hooli-network-vpc"].props["cidrBlock"] = "10.64.0.0/20"
    hooli = s.urn("dev-hooli-network-vpc")
    return [
        ("dev-hooli-network-vpc (10.64.0.0/20) of tenant hooli overlaps dev-acme-network-vpc (10.64.0.0/20) of tenant acme",
         hooli),
        ("dev-hooli-network-vpc (10.64.0.0/20) of tenant hooli overlaps dev-acme-network-app-0 (10.64.0.0/23) of tenant "
         "acme", hooli),
        ("dev-hooli-network-vpc (10.64.0.0/20) of tenant hooli overlaps dev-acme-network-data-0 (10.64.8.0/23) of tenant "
         "acme", hooli)]


@CASES.fails("tenant-cidrs-no-overlap")
def dedicated_slice_subnet_inside_another_slice(s):
    s.component(TENANT, "dev-umbrella", {"tags": tags("umbrella", "enterprise", "dedicated")})
    s.add(SUBNET, "dev-umbrella-network-app-0", {"vpcId": prop(s, "dev-platform-network-vpc", "id"),
                                                 "cidrBlock": "10.0.64.128/25", "id": "subnet-0umbrella00000"},
          parent="dev-umbrella", prop_deps={"vpcId": ["dev-platform-network-vpc"]})
    return [("dev-umbrella-network-app-0 (10.0.64.128/25) of tenant umbrella overlaps dev-initech-network-app-0 "
             "(10.0.64.0/24) of tenant initech", s.urn("dev-umbrella-network-app-0"))]


@CASES.fails("tenant-cidrs-no-overlap", tenants=HOOLI)  # a secondary block (VpcIpv4CidrBlockAssociation)
def secondary_cidr_block_over_another_tenants(s):
    s.add(CIDR_ASSOCIATION, "break-secondary-cidr", {"vpcId": prop(s, "dev-hooli-network-vpc", "id"),
                                                     "cidrBlock": "10.64.0.0/20", "id": "vpc-cidr-assoc-0hooli00"},
          parent="dev-hooli", prop_deps={"vpcId": ["dev-hooli-network-vpc"]})
    return [Names(s.urn("break-secondary-cidr"), ("10.64.0.0/20", "hooli", "acme"))]


@CASES.passes("tenant-cidrs-no-overlap", tenants=HOOLI)
def dedicated_slices_sit_inside_the_shared_vpc_and_isolated_vpcs_apart(s):
    assert prop(s, "dev-initech-network-app-0", "cidrBlock").startswith("10.0.64.")  # inside 10.0.0.0/16


@CASES.passes("tenant-cidrs-no-overlap", tenants=HOOLI)
def a_secondary_block_of_its_own(s):
    s.add(CIDR_ASSOCIATION, "dev-hooli-network-secondary", {"vpcId": prop(s, "dev-hooli-network-vpc", "id"),
                                                            "cidrBlock": "10.200.0.0/20", "id": "vpc-cidr-assoc-0hooli01"},
          parent="dev-hooli", prop_deps={"vpcId": ["dev-hooli-network-vpc"]})


@pytest.mark.parametrize("seed", range(20))
def test_the_overlap_sweep_finds_exactly_the_overlapping_pairs(seed):
    import ipaddress
    import random
    from itertools import combinations

    from tenancy_policies.stack_rules import _overlapping

    rng = random.Random(seed)
    nets = [ipaddress.ip_network(((10 << 24) | rng.getrandbits(24), rng.choice([8, 16, 20, 24, 24, 25, 28])),
                                 strict=False) for _ in range(50)]
    assert _overlapping(nets) == [(i, j) for i, j in combinations(range(50), 2) if nets[i].overlaps(nets[j])]


# -- isolated-tenant-in-own-vpc ----------------------------------------------------------------------------
@CASES.fails("isolated-tenant-in-own-vpc")
def isolated_tenants_group_in_the_shared_vpc(s):
    s.add(SG, "break-outside-vpc", {"vpcId": prop(s, "dev-platform-network-vpc", "id"), "id": "sg-0outside0000000"},
          parent="dev-acme", prop_deps={"vpcId": ["dev-platform-network-vpc"]})
    return [("break-outside-vpc of isolated tenant acme sits in dev-platform-network-vpc, not in the tenant's own VPC",
             s.urn("break-outside-vpc"))]


@CASES.fails("isolated-tenant-in-own-vpc")
def isolated_database_in_the_pooled_subnet_group_by_name(s):
    db = s["dev-acme-db-instance"]
    db.props["dbSubnetGroupName"] = prop(s, "dev-platform-pool-db-subnets", "name")
    del db.prop_deps["dbSubnetGroupName"]
    return [("dev-acme-db-instance of isolated tenant acme sits in dev-platform-network-vpc, not in the tenant's own "
             "VPC", s.urn("dev-acme-db-instance"))]


@CASES.fails("isolated-tenant-in-own-vpc", tenants=HOOLI)
def isolated_cache_in_another_isolated_tenants_subnets(s):
    subnets = s["dev-acme-cache-subnets"]
    subnets.props["subnetIds"] = [prop(s, "dev-hooli-network-data-0", "id")]
    subnets.prop_deps["subnetIds"] = ["dev-hooli-network-data-0"]
    return [("dev-acme-cache-rg of isolated tenant acme sits in dev-hooli-network-vpc, not in the tenant's own VPC",
             s.urn("dev-acme-cache-rg"))]


@CASES.fails("isolated-tenant-in-own-vpc")  # acme's group tagged isolation=dedicated is still acme's
def isolated_tenants_group_claiming_another_tier(s):
    s.add(SG, "break-outside-vpc", {"vpcId": prop(s, "dev-platform-network-vpc", "id"), "id": "sg-0outside0000000",
                                    "tags": tags("acme", "enterprise", "dedicated")},
          parent="dev-acme", prop_deps={"vpcId": ["dev-platform-network-vpc"]})
    return [Names(s.urn("break-outside-vpc"), ("acme", "dev-platform-network-vpc"))]


@CASES.passes("isolated-tenant-in-own-vpc")
def dedicated_tenants_live_in_the_shared_vpc(s):
    assert s["dev-initech-db-sg"].props["vpcId"] == prop(s, "dev-platform-network-vpc", "id")


# -- joins (no-vpc-joining, now the isolation graph's) ------------------------------------------------------
@CASES.fails(ISOLATION)
def peering_an_isolated_vpc_with_the_shared_one(s):
    s.add(PEERING, "break-peering", {"vpcId": prop(s, "dev-acme-network-vpc", "id"),
                                     "peerVpcId": prop(s, "dev-platform-network-vpc", "id")},
          parent="dev-acme", prop_deps={"vpcId": ["dev-acme-network-vpc"], "peerVpcId": ["dev-platform-network-vpc"]})
    return [Names(s.urn("break-peering"), ("(the platform (pool)) can reach", "of tenant acme via peering break-peering"))]


@CASES.fails(ISOLATION, tenants=HOOLI)
def peering_requested_from_the_other_side_by_value(s):
    s.add(PEERING, "break-peering", {"vpcId": prop(s, "dev-hooli-network-vpc", "id"),
                                     "peerVpcId": prop(s, "dev-acme-network-vpc", "id")}, parent="dev-hooli")
    return [Names(s.urn("break-peering"), ("VPC dev-hooli-network-vpc (tenant hooli) can reach", "of tenant acme"))]


@CASES.fails(ISOLATION, tenants=HOOLI)
def two_tenants_attached_to_one_transit_gateway(s):
    for tenant in ("acme", "hooli"):
        s.add(TGW_ATTACHMENT, f"break-tgw-{tenant}", {"transitGatewayId": "tgw-0123456789abcdef0",
                                                      "vpcId": prop(s, f"dev-{tenant}-network-vpc", "id")},
              parent=f"dev-{tenant}", prop_deps={"vpcId": [f"dev-{tenant}-network-vpc"]})
    return [Names(s.urn("break-tgw-hooli"), ("VPC dev-acme-network-vpc (tenant acme) can reach", "of tenant hooli"))]


@CASES.fails(ISOLATION)
def peering_with_a_vpc_of_another_stack(s):
    s.add(PEERING, "break-peering", {"vpcId": prop(s, "dev-acme-network-vpc", "id"), "peerVpcId": "vpc-0fedcba987654321",
                                     "peerOwnerId": "210987654321"},
          parent="dev-acme", prop_deps={"vpcId": ["dev-acme-network-vpc"]})
    return [Names(s.urn("break-peering"), ("VPC vpc-0fedcba987654321 (outside this program)", "of tenant acme"))]


# -- security-group-no-open-ingress -----------------------------------------------------------------------------
OPEN = "admits the whole internet (only 443 on load-balancer groups may)"


@CASES.fails("security-group-no-open-ingress")
def ssh_from_anywhere(s):
    ingress(s, "break-open-ssh", "dev-acme", "dev-acme-app-sg", cidr="0.0.0.0/0", port=22)
    return [(f"break-open-ssh {OPEN}", s.urn("break-open-ssh"))]


@CASES.fails("security-group-no-open-ingress")
def https_from_anywhere_on_a_group_that_is_no_load_balancer(s):
    s.add(SG_RULE, "break-https-anywhere", {"type": "ingress", "securityGroupId": prop(s, "dev-initech-app-sg", "id"),
                                            "protocol": "tcp", "fromPort": 443, "toPort": 443,
                                            "cidrBlocks": ["10.0.0.0/8", "0.0.0.0/0"]},
          parent="dev-initech", prop_deps={"securityGroupId": ["dev-initech-app-sg"]})
    return [(f"break-https-anywhere {OPEN}", s.urn("break-https-anywhere"))]


@CASES.fails("security-group-no-open-ingress")
def ipv6_internet_in_a_groups_inline_rules(s):
    s["dev-initech-app-sg"].props["ingress"] = [{"protocol": "tcp", "fromPort": 8080, "toPort": 8080,
                                                 "ipv6CidrBlocks": ["::/0"]}]
    return [(f"dev-initech-app-sg {OPEN}", s.urn("dev-initech-app-sg"))]


@CASES.fails("security-group-no-open-ingress")
def all_traffic_on_the_load_balancer_labelled_443(s):
    ingress(s, "break-lb-all-traffic", "dev-platform", "dev-platform-lb-sg", cidr="0.0.0.0/0", protocol="-1", port=443)
    return [Names(s.urn("break-lb-all-traffic"), ("break-lb-all-traffic", "internet"))]


@CASES.fails("security-group-no-open-ingress")
def the_internet_in_two_halves(s):
    ingress(s, "break-half-0", "dev-acme", "dev-acme-app-sg", cidr="0.0.0.0/1", port=22)
    ingress(s, "break-half-1", "dev-acme", "dev-acme-app-sg", cidr="128.0.0.0/1", port=22)
    return [Names(s.urn("break-half-0"), ("break-half-0",)), Names(s.urn("break-half-1"), ("break-half-1",))]


@CASES.passes("security-group-no-open-ingress")
def a_partners_public_range_and_wide_private_blocks(s):
    """Public, but one partner's /24; private, but a /8: neither is the internet."""
    ingress(s, "dev-acme-partner", "dev-acme", "dev-acme-app-sg", cidr="203.0.113.0/24", port=22)
    ingress(s, "dev-acme-corporate", "dev-acme", "dev-acme-app-sg", cidr="10.0.0.0/8", port=22)


@CASES.passes("security-group-no-open-ingress")
def https_from_anywhere_on_the_load_balancer(s):
    ingress(s, "dev-platform-lb-https-v4", "dev-platform", "dev-platform-lb-sg", cidr="0.0.0.0/0", port=443)
    assert s["dev-platform-lb-sg"].props["ingress"][0]["cidrBlocks"] == ["0.0.0.0/0"]


# -- data-port-sources -----------------------------------------------------------------------------------------
# -- data ports (data-port-sources and dedicated-data-not-shared, now the isolation graph's) --------------------
@CASES.fails(ISOLATION)
def database_port_from_a_wide_private_range(s):
    ingress(s, "break-data-cidr", "dev-initech", "dev-initech-db-sg", cidr="10.0.0.0/8")
    return [Names(s.urn("break-data-cidr"), ("10.0.0.0/8 (dev-platform-network-app-0) (the platform (pool)) can reach",
                                             "dev-initech-db-instance"))]


@CASES.fails(ISOLATION)
def all_traffic_from_the_pooled_subnet_into_a_dedicated_database(s):
    ingress(s, "break-all-from-pool", "dev-initech", "dev-initech-db-sg", cidr="10.0.0.0/24", protocol="-1", port=0)
    return [Names(s.urn("break-all-from-pool"), ("(the platform (pool)) can reach", "every port"))]


@CASES.fails(ISOLATION)
def cache_port_from_a_supernet_of_the_owners_subnets_inline(s):
    s["dev-acme-cache-sg"].props["ingress"] = [{"protocol": "tcp", "fromPort": 6000, "toPort": 7000,
                                                "cidrBlocks": ["10.64.0.0/16"]}]
    return [Names(s.urn("dev-acme-cache-sg"), ("10.64.0.0/16 (addresses outside this program's networks) (an unknown "
                                               "owner) can reach", "of tenant acme"))]


@CASES.fails(ISOLATION)
def pooled_subnet_into_a_dedicated_database_by_a_platform_rule(s):
    ingress(s, "break-platform-rule", s.root, "dev-initech-db-sg", cidr="10.0.0.0/24")
    return [Names(s.urn("break-platform-rule"), ("10.0.0.0/24", "tcp port 5432", "dev-initech-db-instance"))]


@CASES.passes(ISOLATION)
def database_port_from_the_owners_own_subnet(s):
    ingress(s, "dev-initech-db-from-app-subnet", "dev-initech", "dev-initech-db-sg", cidr="10.0.64.0/24")


@CASES.fails(ISOLATION)
def pooled_workloads_admitted_into_a_dedicated_database(s):
    ingress(s, "break-shared-data", "dev-initech", "dev-initech-db-sg", source="dev-platform-pool-app-sg")
    return [Names(s.urn("break-shared-data"), ("members of dev-platform-pool-app-sg (the platform (pool)) can reach "
                                               "dev-initech-db-instance",))]


@CASES.fails(ISOLATION)
def another_tenants_group_in_the_database_groups_inline_rules_by_value(s):
    s["dev-initech-db-sg"].props["ingress"] = [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432,
                                                "securityGroups": [prop(s, "dev-acme-app-sg", "id")]}]
    return [Names(s.urn("dev-initech-db-sg"), ("members of dev-acme-app-sg (tenant acme) can reach "
                                               "dev-initech-db-instance",))]


@CASES.fails(ISOLATION)
def pooled_workloads_into_an_isolated_cache_through_a_legacy_rule(s):
    s.add(SG_RULE, "break-cache-rule", {"type": "ingress", "securityGroupId": prop(s, "dev-acme-cache-sg", "id"),
                                        "sourceSecurityGroupId": prop(s, "dev-platform-pool-app-sg", "id"),
                                        "protocol": "tcp", "fromPort": 6379, "toPort": 6379},
          parent="dev-acme")
    return [Names(s.urn("break-cache-rule"), ("members of dev-platform-pool-app-sg (the platform (pool)) can reach "
                                              "dev-acme-cache-rg",))]


@CASES.fails(ISOLATION)
def pooled_subnet_block_into_a_dedicated_database(s):
    ingress(s, "break-shared-cidr", "dev-initech", "dev-initech-db-sg", cidr="10.0.0.0/24")
    return [Names(s.urn("break-shared-cidr"), ("10.0.0.0/24 (dev-platform-network-app-0)", "dev-initech-db-instance"))]


@CASES.passes(ISOLATION)
def the_pooled_database_admits_pooled_workloads(s):
    ingress(s, "dev-platform-pool-db-from-app-2", "dev-platform", "dev-platform-pool-db-sg",
            source="dev-platform-pool-app-sg")


# -- iam-tenant-scope ---------------------------------------------------------------------------------------
POLICY = "dev-initech-identity-access"


@CASES.fails("iam-tenant-scope")
def role_policy_naming_another_tenants_queue(s):
    add_statement(s, POLICY, {"Effect": "Allow", "Action": ["sqs:SendMessage"],
                              "Resource": [prop(s, "dev-acme-queues-queue", "arn")]})
    return [(f"{POLICY} of tenant initech names dev-acme-queues-queue of tenant acme", s.urn(POLICY))]


@CASES.fails("iam-tenant-scope")
def data_action_on_every_resource(s):
    add_statement(s, "dev-northwind-identity-access", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    return [("dev-northwind-identity-access allows data actions (kms:Decrypt) on every resource ('*')",
             s.urn("dev-northwind-identity-access"))]


@CASES.fails("iam-tenant-scope")
def trailing_wildcard_over_another_tenants_queues_in_a_role_policy(s):
    add_statement(s, POLICY, {"Effect": "Allow", "Action": ["sqs:ReceiveMessage"], "Resource": arn("sqs", "dev-acme-*")})
    return [(f"{POLICY} of tenant initech names dev-acme-queues-{queue} of tenant acme", s.urn(POLICY))
            for queue in ("dlq", "queue")]  # every queue the pattern matches, in the stack's order


@CASES.fails("iam-tenant-scope")
def managed_policy_with_a_lone_statement_and_service_wildcard(s):
    s.add(MANAGED_POLICY, "break-managed", {"policy": json.dumps({"Statement": {
        "Effect": "Allow", "Action": "sqs:*", "Resource": "*"}})}, parent="dev-initech")
    return [("break-managed allows data actions (sqs:*) on every resource ('*')", s.urn("break-managed"))]


@CASES.fails("iam-tenant-scope")  # wildcards inside an ARN: arn:aws:kms:*:<account>:key/* grants every tenant's keys
def every_key_of_the_account_through_an_arn_wildcard(s):
    add_statement(s, POLICY, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:123456789012:key/*"})
    return [Names(s.urn(POLICY), (POLICY,))]


@CASES.fails("iam-tenant-scope")  # an action wildcard shorter than a data action's name (kms:De* covers Decrypt)
def short_action_wildcard_on_every_resource(s):
    add_statement(s, POLICY, {"Effect": "Allow", "Action": "kms:De*", "Resource": "*"})
    return [Names(s.urn(POLICY), (POLICY, "kms:De*"))]


@CASES.fails("iam-tenant-scope")  # an inline policy on the role itself (aws:iam/role:Role inlinePolicies)
def inline_policy_on_the_role_naming_another_tenants_queue(s):
    s["dev-initech-identity-role"].props["inlinePolicies"] = [{"name": "extra", "policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": prop(s, "dev-acme-queues-queue", "arn")}]})}]
    return [Names(s.urn("dev-initech-identity-role"), ("dev-acme-queues-queue", "acme"))]


@CASES.fails("iam-tenant-scope")
def a_users_inline_policy_naming_another_tenants_queue(s):
    s.add("aws:iam/userPolicy:UserPolicy", "break-user-policy", {"user": "dev-initech-ops", "policy": json.dumps({
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                       "Resource": prop(s, "dev-acme-queues-queue", "arn")}]})}, parent="dev-initech")
    return [Names(s.urn("break-user-policy"), ("break-user-policy of tenant initech", "dev-acme-queues-queue"))]


@CASES.passes("iam-tenant-scope")
def a_groups_inline_policy_on_its_own_queue(s):
    s.add("aws:iam/groupPolicy:GroupPolicy", "dev-initech-ops-policy", {"group": "dev-initech-ops", "policy": json.dumps({
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                       "Resource": prop(s, "dev-initech-queues-queue", "arn")}]})}, parent="dev-initech")


@CASES.passes("iam-tenant-scope")
def own_queues_through_an_inline_policy_with_a_wildcard_inside_the_arn(s):
    s["dev-initech-identity-role"].props["inlinePolicies"] = [{"name": "own", "policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Action": "sqs:Receive*", "Resource": "arn:aws:sqs:*:123456789012:dev-initech-*"}]})}]


@CASES.passes("iam-tenant-scope")
def own_resources_by_trailing_wildcard_and_non_data_actions_on_everything(s):
    add_statement(s, POLICY, {"Effect": "Allow", "Action": "sqs:ReceiveMessage",
                              "Resource": arn("sqs", "dev-initech-queues-*")})
    add_statement(s, POLICY, {"Effect": "Allow", "Action": ["logs:CreateLogStream", "kms:DescribeKey"], "Resource": "*"})
    add_statement(s, POLICY, {"Effect": "Deny", "Action": "kms:*", "Resource": "*"})


# -- rds-tls-forced ---------------------------------------------------------------------------------------------
def _tls(db: str) -> str:
    return f"{db} does not force TLS: its parameter group must set rds.force_ssl = 1"


@CASES.fails("rds-tls-forced")
def parameter_group_without_force_ssl(s):
    s["dev-acme-db-params"].props["parameters"] = []
    return [(_tls("dev-acme-db-instance"), s.urn("dev-acme-db-instance"))]


@CASES.fails("rds-tls-forced")
def database_switched_by_name_to_a_group_that_turns_tls_off(s):
    s.add("aws:rds/parameterGroup:ParameterGroup", "break-lax-params", {
        "family": "postgres16", "name": "break-lax-params-1", "id": "break-lax-params-1",
        "parameters": [{"name": "rds.force_ssl", "value": "0"}, {"name": "log_connections", "value": "1"}]},
        parent="dev-initech")
    db = s["dev-initech-db-instance"]
    db.props["parameterGroupName"] = "break-lax-params-1"
    del db.prop_deps["parameterGroupName"]
    return [(_tls("dev-initech-db-instance"), s.urn("dev-initech-db-instance"))]


@CASES.fails("rds-tls-forced")
def database_on_the_default_parameter_group(s):
    db = s["dev-initech-db-instance"]
    del db.props["parameterGroupName"], db.prop_deps["parameterGroupName"]
    return [(_tls("dev-initech-db-instance"), s.urn("dev-initech-db-instance"))]


@CASES.fails("rds-tls-forced")
def aurora_postgresql_without_force_ssl(s):
    s["dev-acme-db-instance"].props["engine"] = "aurora-postgresql"
    s["dev-acme-db-params"].props["parameters"] = []
    return [Names(s.urn("dev-acme-db-instance"), ("dev-acme-db-instance", "rds.force_ssl"))]


@CASES.passes("rds-tls-forced")
def parameter_group_found_by_name_without_dependency(s):
    del s["dev-acme-db-instance"].prop_deps["parameterGroupName"]


# -- sqs-dead-letter -----------------------------------------------------------------------------------------
@CASES.fails("sqs-dead-letter")
def queue_without_redrive_policy(s):
    queue = s["dev-acme-queues-queue"]
    del queue.props["redrivePolicy"], queue.prop_deps["redrivePolicy"]
    # the dead-letter queue, no longer anyone's, needs one too
    return [("dev-acme-queues-dlq has no dead-letter queue (redrivePolicy)", s.urn("dev-acme-queues-dlq")),
            ("dev-acme-queues-queue has no dead-letter queue (redrivePolicy)", s.urn("dev-acme-queues-queue"))]


@CASES.fails("sqs-dead-letter")
def queue_with_only_a_redrive_allow_policy(s):
    s.add(QUEUE, "break-no-dlq", {"redriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"}),
                                  "kmsMasterKeyId": prop(s, "dev-northwind-key-cmk", "arn")}, parent="dev-northwind")
    return [("break-no-dlq has no dead-letter queue (redrivePolicy)", s.urn("break-no-dlq"))]


@CASES.passes("sqs-dead-letter")
def dead_letter_queue_named_by_value_and_redrive_unknown_in_preview(s):
    del s["dev-acme-queues-queue"].prop_deps["redrivePolicy"]
    s["dev-initech-queues-queue"].props["redrivePolicy"] = UNKNOWN


# -- namespace-guardrails ------------------------------------------------------------------------------------
@CASES.fails("namespace-guardrails")
def limit_range_in_another_namespace(s):
    s["dev-acme-namespace-limits"].props["metadata"]["namespace"] = "elsewhere"
    return [("tenant namespace tenant-acme has no LimitRange", s.urn("dev-acme-namespace-ns"))]


@CASES.fails("namespace-guardrails")
def default_deny_that_admits_everything(s):
    spec = s["dev-initech-namespace-np-default-deny"].props["spec"]
    spec["ingress"] = [{}]
    return [("tenant namespace tenant-initech has no default-deny NetworkPolicy", s.urn("dev-initech-namespace-ns"))]


@CASES.fails("namespace-guardrails")
def tenants_namespace_named_freely(s):
    s.add(NAMESPACE, "dev-acme-batch-ns", {"metadata": {"name": "acme-batch"}, "id": "acme-batch"}, parent="dev-acme")
    return [("tenant namespace acme-batch has no ResourceQuota, LimitRange, default-deny NetworkPolicy",
             s.urn("dev-acme-batch-ns"))]


@CASES.fails("namespace-guardrails")
def ingress_only_default_deny(s):
    s["dev-acme-namespace-np-default-deny"].props["spec"]["policyTypes"] = ["Ingress"]
    return [("tenant namespace tenant-acme has no default-deny NetworkPolicy", s.urn("dev-acme-namespace-ns"))]


@CASES.passes("namespace-guardrails")
def platform_namespaces_outside_the_tenant_prefix(s):
    s.add(NAMESPACE, "dev-platform-ingress-ns", {"metadata": {"name": "ingress-nginx"}}, parent="dev-platform")
    s.add(NETWORK_POLICY, "dev-platform-ingress-np", {"metadata": {"namespace": "ingress-nginx", "name": "x"},
                                                      "spec": {"podSelector": {}}}, parent="dev-platform")
    s.add(LIMITS, "dev-acme-namespace-limits-2", {"metadata": {"namespace": "tenant-acme", "name": "more"}},
          parent="dev-acme")


# -- tenant-usage-plan, tenant-budget ----------------------------------------------------------------------------
@CASES.fails("tenant-usage-plan")
def tenant_without_usage_plan(s):
    bare_tenant(s)
    return [("tenant bare has no API usage plan with a throttle and a quota", s.urn("dev-bare-key"))]


@CASES.fails("tenant-usage-plan")
def usage_plan_without_quota(s):
    del s["dev-acme-api-plan"].props["quotaSettings"]
    return [("tenant acme has no API usage plan with a throttle and a quota", s.urn("dev-acme-api-plan"))]


@CASES.fails("tenant-usage-plan")
def tenant_without_usage_plan_or_key_is_reported_on_the_stack(s):
    bare_tenant(s, with_key=False)
    return [("tenant bare has no API usage plan with a throttle and a quota", "")]


@CASES.fails("tenant-usage-plan")
def usage_plan_of_another_tenant(s):
    s["dev-acme-api-plan"].props["tags"] = tags("initech", "enterprise", "dedicated")
    return [("tenant acme has no API usage plan with a throttle and a quota", s.urn("dev-acme-key-cmk"))]


@CASES.fails("tenant-budget")
def tenant_without_budget(s):
    bare_tenant(s)
    return [("tenant bare has no budget filtered by its tenant-id tag", s.urn("dev-bare-key"))]


@CASES.fails("tenant-budget")
def budget_filtered_on_another_tenant(s):
    s["dev-acme-budget"].props["costFilters"] = [{"name": "TagKeyValue", "values": ["user:tenant-id$initech"]}]
    return [("tenant acme has no budget filtered by its tenant-id tag", s.urn("dev-acme-budget"))]


@CASES.fails("tenant-budget")
def budget_filtered_on_a_tenant_whose_id_extends_this_one(s):
    s["dev-acme-budget"].props["costFilters"] = [{"name": "TagKeyValue", "values": ["user:tenant-id$acme-labs"]}]
    return [Names(s.urn("dev-acme-budget"), ("tenant acme",))]


# -- tenant-log-group, tenant-alarm-topic -------------------------------------------------------------------
def _not_own(name: str, tenant: str) -> str:
    return f"{name} of tenant {tenant} is not encrypted with the tenant's key"


@CASES.fails("tenant-log-group")
def log_group_without_key(s):
    logs = s["dev-acme-monitoring-logs"]
    del logs.props["kmsKeyId"], logs.prop_deps["kmsKeyId"]
    return [(_not_own("dev-acme-monitoring-logs", "acme"), s.urn("dev-acme-monitoring-logs"))]


@CASES.fails("tenant-log-group")
def log_group_encrypted_with_the_platform_key_by_value(s):
    logs = s["dev-northwind-monitoring-logs"]
    logs.props["kmsKeyId"] = prop(s, "dev-platform-key-cmk", "arn")
    del logs.prop_deps["kmsKeyId"]
    return [(_not_own("dev-northwind-monitoring-logs", "northwind"), s.urn("dev-northwind-monitoring-logs"))]


@CASES.fails("tenant-log-group")
def tenant_without_log_group(s):
    bare_tenant(s)
    return [("tenant bare has no log group", s.urn("dev-bare-key"))]


@CASES.fails("tenant-log-group")
def log_group_key_laundered_through_an_own_dependency(s):
    s["dev-initech-monitoring-logs"].props["kmsKeyId"] = prop(s, "dev-acme-key-cmk", "arn")
    return [Names(s.urn("dev-initech-monitoring-logs"), (_not_own("dev-initech-monitoring-logs", "initech"),))]


@CASES.fails("tenant-log-group")
def log_group_on_another_tenants_key_in_preview(s):
    logs = s["dev-initech-monitoring-logs"]
    logs.props["kmsKeyId"] = UNKNOWN
    logs.prop_deps["kmsKeyId"] = ["dev-acme-key-cmk"]
    return [Names(s.urn("dev-initech-monitoring-logs"), (_not_own("dev-initech-monitoring-logs", "initech"),))]


@CASES.passes("tenant-log-group")
def own_key_unknown_in_preview(s):
    s["dev-acme-monitoring-logs"].props["kmsKeyId"] = UNKNOWN


@CASES.fails("tenant-alarm-topic")
def topic_without_key(s):
    topic = s["dev-acme-monitoring-alarms"]
    del topic.props["kmsMasterKeyId"], topic.prop_deps["kmsMasterKeyId"]
    return [(_not_own("dev-acme-monitoring-alarms", "acme"), s.urn("dev-acme-monitoring-alarms"))]


@CASES.fails("tenant-alarm-topic")
def topic_on_the_aws_managed_key(s):
    topic = s["dev-northwind-monitoring-alarms"]
    topic.props["kmsMasterKeyId"] = "alias/aws/sns"
    del topic.prop_deps["kmsMasterKeyId"]
    return [(_not_own("dev-northwind-monitoring-alarms", "northwind"), s.urn("dev-northwind-monitoring-alarms"))]


@CASES.fails("tenant-alarm-topic")
def a_second_topic_on_the_platform_key(s):
    s.add(TOPIC, "dev-acme-monitoring-billing", {"kmsMasterKeyId": prop(s, "dev-platform-key-cmk", "arn"),
                                                 "tags": tags("acme", "enterprise", "isolated")},
          parent="dev-acme", prop_deps={"kmsMasterKeyId": ["dev-platform-key-cmk"]})
    return [(_not_own("dev-acme-monitoring-billing", "acme"), s.urn("dev-acme-monitoring-billing"))]


@CASES.fails("tenant-alarm-topic")
def tenant_without_topic(s):
    bare_tenant(s)
    return [("tenant bare has no alarm topic", s.urn("dev-bare-key"))]


# -- running them ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES.params())
def test_stack_policy_case(case):
    case.run()


@pytest.mark.parametrize("name", sorted(policies()))
def test_the_compliant_stack_passes_every_policy(name):
    assert violations(name, compliant()) == []


@pytest.mark.parametrize("name", sorted(policies()))
def test_the_compliant_stack_with_a_second_isolated_tenant_passes_every_policy(name):
    assert violations(name, compliant(list(HOOLI))) == []


def test_role_policies_still_unknown_in_preview_are_not_run_after_reporting_what_is_known():
    s = compliant()
    add_statement(s, "dev-northwind-identity-access", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    s[POLICY].props["policy"] = UNKNOWN
    found = []
    with pytest.raises(UnknownValueError) as raised:
        policies()["iam-tenant-scope"].validate(s.args(), lambda message, urn=None: found.append((message, urn)))
    assert raised.value.props == [f"{POLICY}.policy"]
    assert found == [("dev-northwind-identity-access allows data actions (kms:Decrypt) on every resource ('*')",
                      s.urn("dev-northwind-identity-access"))]


def test_every_stack_policy_has_its_own_cases():
    # tenant-isolation (the access graph) has its own corpus of bypasses and twins: test_isolation.py
    stack_policies = {name for name, p in policies().items() if isinstance(p, StackValidationPolicy)}
    assert stack_policies - {"tenant-isolation"} <= CASES.caught()
    assert {case.policy for case in CASES} <= set(policies())


# The types the cases use are the ones the rules read (a typo would make a break vacuous).
def test_the_cases_use_the_rules_own_type_tokens():
    from tenancy_policies import stack_rules as sr

    assert (SG, SG_RULE, INGRESS, FLOW_LOG, VPC, SUBNET, QUEUE) == (
        sr.SECURITY_GROUP, sr.SG_RULE, sr.SG_INGRESS, sr.FLOW_LOG, sr.VPC, sr.SUBNET, sr.QUEUE)
    assert PEERING in sr.PEERING and TGW_ATTACHMENT in sr.TGW_ATTACHMENT and MANAGED_POLICY in sr.IAM_POLICIES
    assert (LOG_GROUP, TOPIC, BUDGET, KEY) == (sr.LOG_GROUP, sr.TOPIC, sr.BUDGET, sr.KMS_KEY)

