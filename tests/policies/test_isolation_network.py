"""The `tenant-isolation` policy on the network mechanisms that test_isolation.py leaves out: network
interfaces and whatever else joins a security group or sits in a subnet (interfaces.py), routes and
network ACLs (routing.py), VPC endpoints and endpoint services (endpoints.py).

Each bypass is written as an attacker (or a careless teammate) would write it: untagged resources at
the stack's root, spoofed or partial tags, literal ids copied from a console, references to things
outside the program. Each has a compliant twin that differs in the one thing that makes it safe.
"""

from __future__ import annotations

import pytest
from pulumi_policy.proxy import UnknownValueError

from tenancy_policies.graph import endpoints, interfaces, routing

from .breaks import Cases, Names, corpus_tests
from .resources import UNKNOWN, Stack, policies, violations
from .world import (
    ACCOUNT,
    ALLOWED_PRINCIPAL,
    ENDPOINT,
    ENDPOINT_SERVICE,
    ENI,
    INGRESS,
    INSTANCE,
    MAIN_ROUTE_TABLE_ASSOCIATION,
    NACL,
    NACL_ASSOCIATION,
    NACL_RULE,
    NAT_GATEWAY,
    PLATFORM_TAGS,
    REGION,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
    arn,
    compliant,
    endpoint_service,
    hex_id,
    load_balancer,
    network_acl,
    network_interface,
    route_table,
    tags,
    vpc_endpoint,
)

POLICY = "tenant-isolation"
CASES = Cases()
FUNCTION = "aws:lambda/function:Function"
ENI_SG_ATTACHMENT = "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment"
SHARED_VPC, ACME_VPC = "dev-platform-network-vpc", "dev-acme-network-vpc"
POOL_APP, POOL_DATA = "dev-platform-network-app-0", "dev-platform-network-data-0"
ACME_APP, INITECH_APP, INITECH_DATA = "dev-acme-network-app-0", "dev-initech-network-app-0", "dev-initech-network-data-0"
ACME = tags("acme", "enterprise", "isolated")
INITECH = tags("initech", "enterprise", "dedicated")
NORTHWIND = tags("northwind", "professional", "shared")
OUTSIDE_PEERING, OUTSIDE_TGW = "pcx-0123456789abcdef0", "tgw-0fedcba9876543210"


def prop(s: Stack, name: str, key: str):
    return s[name].props[key]


def reaches(urn: str, *fragments: str) -> list[Names]:
    return [Names(urn, fragments)]


def ingress(s: Stack, name: str, parent, target: str, **props) -> str:
    s.add(INGRESS, name, {"securityGroupId": prop(s, target, "id"), "ipProtocol": "tcp", "fromPort": 5432,
                          "toPort": 5432, **props}, parent=parent, prop_deps={"securityGroupId": [target]})
    return name


# == network interfaces and security group membership =====================================================
def _pooled_interface(s: Stack, group: str) -> None:
    """An ENI that a pooled tenant creates in the pooled app subnet, naming its group by a literal id."""
    s.add(ENI, "attack", {"subnetId": prop(s, POOL_APP, "id"), "securityGroups": [prop(s, group, "id")],
                          "tags": NORTHWIND, "id": hex_id("eni", "attack")}, parent="dev-northwind")


@CASES.fails(POLICY)
def a_pooled_tenants_interface_lists_a_dedicated_tenants_app_group(s):
    _pooled_interface(s, "dev-initech-app-sg")
    return [Names(s.urn("attack"), (
        "network interface attack (tenant northwind) can reach dev-initech-db-instance (through dev-initech-db-sg) "
        "of tenant initech via membership in security group dev-initech-app-sg (network interface attack lists it), "
        "which ingress rule dev-initech-db-from-0 admits (tcp port 5432)",)),
        Names(s.urn("attack"), ("network interface attack (tenant northwind) can reach security group "
                                "dev-initech-app-sg of tenant initech via membership",))]


@CASES.passes(POLICY)
def a_pooled_tenants_interface_in_the_pooled_app_group(s):
    _pooled_interface(s, "dev-platform-pool-app-sg")


def _function(s: Stack, parent, tag_set=None) -> None:
    props = {"runtime": "python3.12", "handler": "index.handler", "role": prop(s, "dev-initech-identity-role", "arn"),
             "vpcConfig": {"subnetIds": [prop(s, INITECH_APP, "id")],
                           "securityGroupIds": [prop(s, "dev-initech-app-sg", "id")]},
             "arn": arn("lambda", "function:probe"), "id": "probe"}
    if tag_set:
        props["tags"] = tag_set
    s.add(FUNCTION, "probe", props, parent=parent)


@CASES.fails(POLICY)
def an_untagged_function_at_the_root_in_a_dedicated_tenants_subnet_and_group(s):
    """The groups and subnets sit inside `vpcConfig`, not where the shape rules look."""
    _function(s, s.root)
    return [Names(s.urn("probe"), ("function probe (an unknown owner) can reach dev-initech-db-instance (through "
                                   "dev-initech-db-sg) of tenant initech via membership in security group "
                                   "dev-initech-app-sg (function probe lists it)",)),
            Names(s.urn("probe"), ("function probe (an unknown owner) can reach subnet dev-initech-network-app-0",
                                   "of tenant initech via placement: function probe in subnet "
                                   "dev-initech-network-app-0"))]


@CASES.passes(POLICY)
def the_dedicated_tenants_own_function_in_its_subnet_and_group(s):
    _function(s, "dev-initech", INITECH)


def _platform_probe(s: Stack, group: str) -> None:
    network_interface(s, "dev-platform-probe", "dev-platform", POOL_APP, ["dev-platform-pool-app-sg"], PLATFORM_TAGS)
    s.add(ENI_SG_ATTACHMENT, "attach-probe", {"networkInterfaceId": prop(s, "dev-platform-probe", "id"),
                                              "securityGroupId": prop(s, group, "id")},
          parent=s.root, prop_deps={"networkInterfaceId": ["dev-platform-probe"], "securityGroupId": [group]})


@CASES.fails(POLICY)
def a_standalone_attachment_puts_the_platforms_interface_in_a_tenants_group(s):
    _platform_probe(s, "dev-initech-app-sg")
    return reaches(s.urn("attach-probe"), "network interface dev-platform-probe (the platform (pool)) can reach "
                   "dev-initech-db-instance (through dev-initech-db-sg) of tenant initech via membership in security "
                   "group dev-initech-app-sg (attach-probe attaches it)")


@CASES.passes(POLICY)
def a_standalone_attachment_puts_the_platforms_interface_in_the_pooled_database_group(s):
    _platform_probe(s, "dev-platform-pool-db-sg")


@CASES.fails(POLICY)
def a_function_in_another_tenants_database_group_is_reached_by_what_that_group_admits(s):
    """acme's function sits in its own subnet but joins initech's database group: initech's workloads
    now reach it (and it joins initech's group)."""
    s.add(FUNCTION, "dev-acme-worker", {
        "vpcConfig": {"subnetIds": [prop(s, ACME_APP, "id")], "securityGroupIds": [prop(s, "dev-initech-db-sg", "id")]},
        "tags": ACME, "arn": arn("lambda", "function:dev-acme-worker"), "id": "dev-acme-worker"},
        parent="dev-acme", prop_deps={"vpcConfig": [ACME_APP, "dev-initech-db-sg"]})
    return [Names(s.urn("dev-acme-worker"), (
        "members of dev-initech-app-sg (tenant initech) can reach function dev-acme-worker (through "
        "dev-initech-db-sg) of tenant acme via membership in security group dev-initech-db-sg (function "
        "dev-acme-worker lists it), whose ingress rule dev-initech-db-from-0 admits it (tcp port 5432)",)),
        Names(s.urn("dev-acme-worker"), ("function dev-acme-worker (tenant acme) can reach security group "
                                         "dev-initech-db-sg of tenant initech",))]


# == placement: subnets and VPCs ============================================================================
@CASES.fails(POLICY)
def an_isolated_tenants_interface_in_the_shared_vpc(s):
    """Tagged with the tenant id only (no tier), at the root, with the shared subnet's id pasted in."""
    s.add(ENI, "attack", {"subnetId": prop(s, POOL_APP, "id"), "securityGroups": [prop(s, "dev-acme-app-sg", "id")],
                          "tags": {"tenant-id": "acme"}, "id": hex_id("eni", "attack")}, parent=s.root)
    return reaches(s.urn("attack"), "anything in subnet dev-platform-network-app-0 (VPC dev-platform-network-vpc) "
                   "(the platform (pool)) can reach network interface attack of tenant acme via placement: an "
                   "isolated tenant's network interface attack in subnet dev-platform-network-app-0")


@CASES.passes(POLICY)
def an_isolated_tenants_interface_in_its_own_subnet(s):
    network_interface(s, "dev-acme-eni", "dev-acme", ACME_APP, ["dev-acme-app-sg"], ACME)


def _instance(s: Stack, subnet: str) -> None:
    s.add(INSTANCE, "dev-initech-bastion", {
        "ami": "ami-0123456789abcdef0", "instanceType": "t4g.small", "subnetId": prop(s, subnet, "id"),
        "vpcSecurityGroupIds": [prop(s, "dev-initech-app-sg", "id")], "tags": INITECH,
        "id": "i-0123456789abcdef0", "arn": arn("ec2", "instance/i-0123456789abcdef0")},
        parent="dev-initech", prop_deps={"subnetId": [subnet], "vpcSecurityGroupIds": ["dev-initech-app-sg"]})


@CASES.fails(POLICY)
def a_dedicated_tenants_instance_in_the_pooled_data_subnet(s):
    _instance(s, POOL_DATA)
    return reaches(s.urn("dev-initech-bastion"), "anything in subnet dev-platform-network-data-0 (VPC "
                   "dev-platform-network-vpc) (the platform (pool)) can reach instance dev-initech-bastion of tenant "
                   "initech via placement: a dedicated tenant's instance dev-initech-bastion")


@CASES.passes(POLICY)
def a_dedicated_tenants_instance_in_its_own_slice(s):
    _instance(s, INITECH_DATA)


@CASES.fails(POLICY)
def an_untagged_interface_a_pooled_tenant_creates_in_a_dedicated_tenants_subnet(s):
    s.add(ENI, "attack", {"subnetId": prop(s, INITECH_DATA, "id"),
                          "securityGroups": [prop(s, "dev-platform-pool-app-sg", "id")], "id": hex_id("eni", "x")},
          parent="dev-northwind")
    return reaches(s.urn("attack"), "network interface attack (tenant northwind) can reach subnet "
                   "dev-initech-network-data-0 (VPC dev-platform-network-vpc) of tenant initech via placement: "
                   "network interface attack in subnet dev-initech-network-data-0")


@CASES.fails(POLICY)
def an_isolated_tenants_subnet_carved_from_the_shared_vpc(s):
    s.add(SUBNET, "dev-acme-extra", {"vpcId": prop(s, SHARED_VPC, "id"), "cidrBlock": "10.0.200.0/24", "tags": ACME,
                                     "id": hex_id("subnet", "dev-acme-extra")}, parent="dev-acme")
    return reaches(s.urn("dev-acme-extra"), "anything in VPC dev-platform-network-vpc (the platform (pool)) can reach "
                   "subnet dev-acme-extra of tenant acme via placement: an isolated tenant's subnet dev-acme-extra in "
                   "VPC dev-platform-network-vpc of the platform (pool)")


@CASES.passes(POLICY)
def a_dedicated_tenants_subnet_in_the_shared_vpc(s):
    s.add(SUBNET, "dev-initech-extra", {"vpcId": prop(s, SHARED_VPC, "id"), "cidrBlock": "10.0.66.0/24",
                                        "tags": INITECH, "id": hex_id("subnet", "dev-initech-extra")},
          parent="dev-initech", prop_deps={"vpcId": [SHARED_VPC]})


@CASES.fails(POLICY)
def an_interface_in_a_subnet_no_stack_of_the_program_exports(s):
    s.add(ENI, "attack", {"subnetId": "subnet-0123456789abcdef0", "tags": INITECH, "id": hex_id("eni", "attack")},
          parent="dev-initech")
    return reaches(s.urn("attack"), "anything in subnet subnet-0123456789abcdef0 (outside this program) (an unknown "
                   "owner) can reach network interface attack of tenant initech via placement")


@CASES.passes(POLICY)
def a_pooled_tenants_interface_in_a_subnet_the_platforms_stack_exports(s):
    s.add("pulumi:pulumi:StackReference", "platform-ref", {"name": "dev-platform", "outputs": {"platform": {
        "appSubnetIds": ["subnet-0123456789abcdef0"]}}}, parent=s.root)
    s.add(ENI, "dev-northwind-eni", {"subnetId": "subnet-0123456789abcdef0", "tags": NORTHWIND,
                                     "id": hex_id("eni", "nw")}, parent="dev-northwind",
          prop_deps={"subnetId": ["platform-ref"]})


# == network ACLs: they only narrow; who governs a subnet's ACL is who decides who reaches it ==================
@CASES.fails(POLICY)
def a_tenants_acl_on_another_tenants_subnet(s):
    network_acl(s, "attack", "dev-acme", SHARED_VPC, [INITECH_APP], ACME)
    return reaches(s.urn("attack"), "attack is claimed by tenant acme (its tenant-id tag)",
                   "tenant initech (it attaches to dev-initech-network-app-0)")


ALLOW_ALL = [{"ruleNo": 100, "protocol": "-1", "action": "allow", "cidrBlock": "0.0.0.0/0", "fromPort": 0, "toPort": 0}]


@CASES.passes(POLICY)
def a_tenants_own_acl_allowing_everything_widens_nothing(s):
    network_acl(s, "dev-initech-app-acl", "dev-initech", SHARED_VPC, [INITECH_APP], INITECH, ingress=ALLOW_ALL)


@CASES.fails(POLICY)
def an_untagged_association_moves_a_tenants_subnet_to_another_tenants_acl(s):
    network_acl(s, "dev-acme-app-acl", "dev-acme", ACME_VPC, [ACME_APP], ACME)
    s.add(NACL_ASSOCIATION, "attack", {"subnetId": prop(s, INITECH_DATA, "id"),
                                       "networkAclId": prop(s, "dev-acme-app-acl", "id")}, parent=s.root)
    return reaches(s.urn("attack"), "attack is claimed by tenant initech (it attaches to dev-initech-network-data-0) "
                   "and tenant acme (it attaches to dev-acme-app-acl)")


def _acl_rule(s: Stack, parent: str) -> None:
    network_acl(s, "dev-initech-app-acl", "dev-initech", SHARED_VPC, [INITECH_APP], INITECH)
    s.add(NACL_RULE, "acl-rule", {"networkAclId": prop(s, "dev-initech-app-acl", "id"), "ruleNumber": 50,
                                  "egress": False, "protocol": "-1", "ruleAction": "allow", "cidrBlock": "10.0.0.0/16"},
          parent=parent, prop_deps={"networkAclId": ["dev-initech-app-acl"]})


@CASES.fails(POLICY)
def the_platform_writes_a_rule_into_a_tenants_acl(s):
    _acl_rule(s, "dev-platform")
    return reaches(s.urn("acl-rule"), "network ACL rule acl-rule (the platform (pool)) can write subnet "
                   "dev-initech-network-app-0 of tenant initech via network ACL rule acl-rule on subnet "
                   "dev-initech-network-app-0")


@CASES.passes(POLICY)
def the_tenant_writes_a_rule_into_its_own_acl(s):
    _acl_rule(s, "dev-initech")


@CASES.fails(POLICY)
def an_acl_denying_the_pool_does_not_excuse_a_rule_admitting_it(s):
    network_acl(s, "dev-initech-data-acl", "dev-initech", SHARED_VPC, [INITECH_DATA], INITECH,
                ingress=[{"ruleNo": 90, "protocol": "-1", "action": "deny", "cidrBlock": "10.0.0.0/24",
                          "fromPort": 0, "toPort": 0}])
    ingress(s, "attack", "dev-initech", "dev-initech-db-sg", cidrIpv4="10.0.0.0/24")
    return reaches(s.urn("attack"), "10.0.0.0/24 (dev-platform-network-app-0) (the platform (pool)) can reach "
                   "dev-initech-db-instance")


# == routes ================================================================================================
@CASES.fails(POLICY)
def an_isolated_tenants_route_to_a_peering_outside_the_program(s):
    route_table(s, "dev-acme-extra-rt", "dev-acme", ACME_VPC, [{"cidrBlock": "10.99.0.0/16",
                                                                "vpcPeeringConnectionId": OUTSIDE_PEERING}],
                [ACME_APP], ACME)
    return reaches(s.urn("dev-acme-extra-rt"), f"peering connection {OUTSIDE_PEERING} (outside this program) (an "
                   "unknown owner) can read, reach subnet dev-acme-network-app-0 of tenant acme via route 10.99.0.0/16 "
                   f"in route table dev-acme-extra-rt to peering connection {OUTSIDE_PEERING}")


@CASES.passes(POLICY)
def an_isolated_tenants_route_out_through_its_own_nat(s):
    s.add(NAT_GATEWAY, "dev-acme-nat", {"subnetId": prop(s, ACME_APP, "id"), "tags": ACME, "id": "nat-0acme0000000001"},
          parent="dev-acme", prop_deps={"subnetId": [ACME_APP]})
    route_table(s, "dev-acme-app-rt", "dev-acme", ACME_VPC, [{"cidrBlock": "0.0.0.0/0",
                                                              "natGatewayId": "nat-0acme0000000001"}],
                [ACME_APP], ACME, route_deps=["dev-acme-nat"])


def _appliance_route(s: Stack, appliance: str, parent: str, subnet: str, group: str, tag_set: dict) -> None:
    network_interface(s, appliance, parent, subnet, [group], tag_set)
    route_table(s, "dev-initech-app-rt", "dev-initech", SHARED_VPC, [], [INITECH_APP], INITECH)
    s.add(ROUTE, "attack", {"routeTableId": prop(s, "dev-initech-app-rt", "id"), "destinationCidrBlock": "0.0.0.0/0",
                            "networkInterfaceId": prop(s, appliance, "id")},
          parent=s.root, prop_deps={"routeTableId": ["dev-initech-app-rt"], "networkInterfaceId": [appliance]})


@CASES.fails(POLICY)
def a_standalone_route_sends_a_dedicated_tenants_traffic_through_the_platforms_interface(s):
    _appliance_route(s, "dev-platform-inspection", "dev-platform", POOL_APP, "dev-platform-pool-app-sg", PLATFORM_TAGS)
    return reaches(s.urn("attack"), "network interface dev-platform-inspection (the platform (pool)) can read, reach "
                   "subnet dev-initech-network-app-0 of tenant initech via route 0.0.0.0/0 in route table "
                   "dev-initech-app-rt to network interface dev-platform-inspection")


@CASES.passes(POLICY)
def a_standalone_route_through_the_tenants_own_appliance(s):
    _appliance_route(s, "dev-initech-inspection", "dev-initech", INITECH_APP, "dev-initech-app-sg", INITECH)


@CASES.fails(POLICY)
def a_route_to_a_transit_gateway_outside_the_program(s):
    route_table(s, "dev-initech-app-rt", "dev-initech", SHARED_VPC,
                [{"cidrBlock": "172.16.0.0/12", "transitGatewayId": OUTSIDE_TGW}], [INITECH_APP])
    return reaches(s.urn("dev-initech-app-rt"), f"anything attached to transit gateway {OUTSIDE_TGW} (outside this "
                   "program) (an unknown owner) can read, reach subnet dev-initech-network-app-0 of tenant initech")


@CASES.fails(POLICY)
def a_tenants_route_table_associated_with_another_tenants_subnet(s):
    route_table(s, "dev-acme-app-rt", "dev-acme", ACME_VPC, [], [ACME_APP], ACME)
    s.add(ROUTE_TABLE_ASSOCIATION, "attack", {"subnetId": prop(s, INITECH_APP, "id"),
                                              "routeTableId": prop(s, "dev-acme-app-rt", "id")}, parent="dev-acme")
    return reaches(s.urn("attack"), "attack is claimed by tenant acme (it is created in tenant acme's component) and "
                   "tenant initech (it attaches to dev-initech-network-app-0)")


def _main_table(s: Stack, vpc: str) -> None:
    network_interface(s, "dev-acme-appliance", "dev-acme", ACME_APP, ["dev-acme-app-sg"], ACME)
    route_table(s, "dev-acme-appliance-rt", "dev-acme", ACME_VPC,
                [{"cidrBlock": "10.0.0.0/8", "networkInterfaceId": prop(s, "dev-acme-appliance", "id")}], [], ACME,
                route_deps=["dev-acme-appliance"])
    s.add(MAIN_ROUTE_TABLE_ASSOCIATION, "main-table", {"vpcId": prop(s, vpc, "id"),
                                                       "routeTableId": prop(s, "dev-acme-appliance-rt", "id")},
          parent=s.root)


@CASES.fails(POLICY)
def a_tenant_makes_its_appliance_table_the_main_table_of_the_shared_vpc(s):
    _main_table(s, SHARED_VPC)
    return reaches(s.urn("dev-acme-appliance-rt"), "network interface dev-acme-appliance (tenant acme) can read, "
                   "reach subnet dev-initech-network-app-0", "of tenant initech via route 10.0.0.0/8 in route table "
                   "dev-acme-appliance-rt to network interface dev-acme-appliance")


@CASES.passes(POLICY)
def a_tenant_makes_its_appliance_table_the_main_table_of_its_own_vpc(s):
    _main_table(s, ACME_VPC)


# == VPC endpoints and endpoint services ====================================================================
def _initech_service(s: Stack, **props) -> str:
    load_balancer(s, "dev-initech-nlb", "dev-initech", [INITECH_APP], INITECH)
    return endpoint_service(s, "dev-initech-endpoint-service", "dev-initech", "dev-initech-nlb", INITECH, **props)


@CASES.fails(POLICY)
def an_endpoint_service_open_to_every_principal(s):
    _initech_service(s, allowedPrincipals=["*"])
    return reaches(s.urn("dev-initech-endpoint-service"), "anyone (allowed principal *) (anyone) can reach load "
                   "balancer dev-initech-nlb (behind endpoint service dev-initech-endpoint-service) of tenant initech "
                   "via endpoint service dev-initech-endpoint-service allows principal *")


@CASES.passes(POLICY)
def an_endpoint_service_allowing_its_own_account(s):
    _initech_service(s, allowedPrincipals=[f"arn:aws:iam::{ACCOUNT}:root"])


@CASES.fails(POLICY)
def an_endpoint_service_allowing_another_account(s):
    _initech_service(s, allowedPrincipals=["arn:aws:iam::210987654321:root"])
    return reaches(s.urn("dev-initech-endpoint-service"), "account 210987654321 (an unknown owner) can reach load "
                   "balancer dev-initech-nlb")


@CASES.fails(POLICY)
def an_untagged_allowed_principal_for_another_tenants_role(s):
    service = _initech_service(s)
    s.add(ALLOWED_PRINCIPAL, "attack", {"vpcEndpointServiceId": prop(s, service, "id"),
                                        "principalArn": prop(s, "dev-acme-identity-role", "arn")},
          parent=s.root, prop_deps={"vpcEndpointServiceId": [service]})
    return reaches(s.urn("attack"), "role dev-acme-identity-role (tenant acme) can reach load balancer dev-initech-nlb "
                   "(behind endpoint service dev-initech-endpoint-service) of tenant initech via endpoint service "
                   "dev-initech-endpoint-service allows principal arn:aws:iam::123456789012:role/tenancy-dev-acme")


@CASES.passes(POLICY)
def an_allowed_principal_for_the_services_own_tenants_role(s):
    service = _initech_service(s)
    s.add(ALLOWED_PRINCIPAL, "twin", {"vpcEndpointServiceId": prop(s, service, "id"),
                                      "principalArn": prop(s, "dev-initech-identity-role", "arn")},
          parent="dev-initech", prop_deps={"vpcEndpointServiceId": [service]})


@CASES.fails(POLICY)
def an_isolated_tenants_endpoint_to_a_dedicated_tenants_service(s):
    """The service's name pasted in: no dependency says whose it is."""
    service = _initech_service(s)
    vpc_endpoint(s, "attack", "dev-acme", ACME_VPC, prop(s, service, "serviceName"), [ACME_APP], ["dev-acme-app-sg"],
                 ACME)
    return reaches(s.urn("attack"), "VPC endpoint attack (tenant acme) can reach load balancer dev-initech-nlb (behind "
                   "endpoint service dev-initech-endpoint-service) of tenant initech via VPC endpoint attack (service "
                   "com.amazonaws.vpce.")


@CASES.passes(POLICY)
def an_isolated_tenants_endpoint_to_an_aws_service(s):
    _initech_service(s)
    vpc_endpoint(s, "dev-acme-s3", "dev-acme", ACME_VPC, f"com.amazonaws.{REGION}.s3", [ACME_APP],
                 ["dev-acme-app-sg"], ACME)


@CASES.passes(POLICY)
def a_dedicated_tenants_endpoint_to_its_own_service(s):
    service = _initech_service(s)
    vpc_endpoint(s, "dev-initech-self", "dev-initech", SHARED_VPC, prop(s, service, "serviceName"), [INITECH_APP],
                 ["dev-initech-app-sg"], INITECH, service=service)


@CASES.fails(POLICY)
def an_endpoint_one_tenant_creates_in_another_tenants_vpc(s):
    vpc_endpoint(s, "attack", "dev-initech", ACME_VPC, f"com.amazonaws.{REGION}.s3", [ACME_APP], [], INITECH)
    return reaches(s.urn("attack"), "attack is claimed by tenant initech (its tenant-id tag)",
                   "tenant acme (it attaches to dev-acme-network-vpc)")


@CASES.fails(POLICY)
def an_isolated_tenants_endpoint_in_the_shared_vpc(s):
    vpc_endpoint(s, "attack", "dev-acme", SHARED_VPC, f"com.amazonaws.{REGION}.ssm", [POOL_APP], [], ACME)
    return [Names(s.urn("attack"), ("anything in VPC dev-platform-network-vpc (the platform (pool)) can reach VPC "
                                    "endpoint attack of tenant acme via placement: an isolated tenant's VPC endpoint "
                                    "attack in VPC dev-platform-network-vpc",)),
            Names(s.urn("attack"), ("anything in subnet dev-platform-network-app-0",
                                    "can reach VPC endpoint attack of tenant acme"))]


# == the corpus, three ways =============================================================================
(test_network_case, test_network_case_in_preview, test_the_network_corpus_through_the_sdks_analyzer_service,
 test_every_network_attack_has_a_compliant_twin) = corpus_tests(CASES)


def test_every_network_mechanism_has_attacks_and_twins():
    attacks = sum(case.fails for case in CASES)
    twins = sum(not case.fails for case in CASES)
    assert attacks >= 4 and twins >= attacks * 0.6


# == preview: what the graph needs and does not know yet ===================================================
def _not_run(s: Stack) -> list:
    found = []
    with pytest.raises(UnknownValueError) as raised:
        policies()[POLICY].validate(s.args(), lambda message, urn=None: found.append((message, urn)))
    return raised.value.props


@pytest.mark.parametrize("where", ["interface subnet", "function groups", "route hop", "routes", "endpoint service",
                                   "allowed principals"])
def test_an_unknown_value_the_network_mechanisms_need_is_not_run_never_passed(where):
    s = compliant()
    if where == "interface subnet":
        s.add(ENI, "probe", {"subnetId": UNKNOWN, "tags": ACME}, parent="dev-acme")
    elif where == "function groups":
        s.add(FUNCTION, "probe", {"vpcConfig": {"subnetIds": [prop(s, ACME_APP, "id")], "securityGroupIds": [UNKNOWN]},
                                  "tags": ACME}, parent="dev-acme")
    elif where == "route hop":
        route_table(s, "probe", "dev-acme", ACME_VPC, [{"cidrBlock": "10.99.0.0/16", "vpcPeeringConnectionId": UNKNOWN}],
                    [ACME_APP], ACME)
    elif where == "routes":
        route_table(s, "probe", "dev-acme", ACME_VPC, UNKNOWN, [ACME_APP], ACME)
    elif where == "endpoint service":
        vpc_endpoint(s, "probe", "dev-acme", ACME_VPC, UNKNOWN, [ACME_APP], [], ACME)
    else:
        _initech_service(s, allowedPrincipals=UNKNOWN)
    assert _not_run(s)


def test_an_unknown_hop_explained_by_its_dependency_is_judged():
    s = compliant()
    s.add("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "dev-acme-peer", {
        "vpcId": prop(s, ACME_VPC, "id"), "peerVpcId": "vpc-0fedcba987654321", "id": OUTSIDE_PEERING, "tags": ACME},
        parent="dev-acme", prop_deps={"vpcId": [ACME_VPC]})
    route_table(s, "probe", "dev-acme", ACME_VPC, [{"cidrBlock": "10.99.0.0/16", "vpcPeeringConnectionId": UNKNOWN}],
                [ACME_APP], ACME, route_deps=["dev-acme-peer"])
    found = [(m, urn) for m, urn in violations(POLICY, s) if urn == s.urn("probe")]
    assert found and all("VPC vpc-0fedcba987654321 (outside this program) (an unknown owner) can read, reach subnet "
                         "dev-acme-network-app-0" in m for m, _ in found)


def test_the_world_uses_the_graphs_type_tokens():
    assert (ENI, INSTANCE) == (interfaces.ENI, interfaces.INSTANCE)
    assert (ROUTE_TABLE, ROUTE, ROUTE_TABLE_ASSOCIATION, MAIN_ROUTE_TABLE_ASSOCIATION, NACL, NACL_ASSOCIATION,
            NACL_RULE) == (routing.ROUTE_TABLE, routing.ROUTE, routing.ROUTE_TABLE_ASSOCIATION,
                           routing.MAIN_ROUTE_TABLE_ASSOCIATION, routing.NACL, routing.NACL_ASSOCIATION,
                           routing.NACL_RULE)
    assert (ENDPOINT, ENDPOINT_SERVICE, ALLOWED_PRINCIPAL) == (endpoints.ENDPOINT, endpoints.SERVICE,
                                                               endpoints.ALLOWED_PRINCIPAL)
    assert ENI_SG_ATTACHMENT in interfaces.STANDALONE
