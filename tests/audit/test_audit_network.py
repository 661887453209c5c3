"""The audit's isolation graph on the network mechanisms the pack's interfaces, routing and endpoints
modules model, read from a live account (moto): network interfaces, network ACLs, route tables and
routes, VPC endpoints and endpoint services. One test per drift class, each naming both owners; none
on the conforming account."""

from __future__ import annotations

import pytest

from benchmarks.aws_account import PLATFORM_TAGS, build, tags_for
from tenancy.audit.graph_source import AccountReader
from tenancy.audit.live import HIGH, audit, collect

ENV = "prod"


@pytest.fixture
def account(session, registry):
    return build(session, registry.in_environment(ENV), ENV)


def isolation(session, registry) -> list:
    return [f for f in audit(session, registry, ENV) if f.problem.startswith("isolation:")]


def found(session, registry, *fragments: str) -> list:
    """The isolation findings whose message names every fragment (all high)."""
    every = isolation(session, registry)
    hits = [f for f in every if all(x in f.problem for x in fragments)]
    assert hits, [(f.tenant, f.arn, f.problem) for f in every]
    assert {f.severity for f in hits} == {HIGH}
    return hits


def tag_spec(resource_type: str, tags: dict) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def pool_subnet(session, account) -> str:
    [subnet] = session.client("ec2").describe_subnets(Filters=[
        {"Name": "vpc-id", "Values": [account.shared_vpc]}, {"Name": "cidr-block", "Values": ["10.0.8.0/24"]}])["Subnets"]
    return subnet["SubnetId"]


def interface(session, subnet: str, groups: list[str], tags: dict) -> str:
    return session.client("ec2").create_network_interface(
        SubnetId=subnet, Groups=groups,
        TagSpecifications=tag_spec("network-interface", tags))["NetworkInterface"]["NetworkInterfaceId"]


NETWORK_KINDS = ("network-interface/", "network-acl/", "route-table/", "route-table-association/", "vpc-endpoint/",
                 "vpc-endpoint-service/")
NETWORK_MECHANISMS = ("via placement:", "via membership", "via route ", "via network ACL", "via VPC endpoint",
                      "via endpoint service")


def test_a_conforming_account_has_no_forbidden_network_path(session, registry, account):
    """(test_isolation_graph.py asks the whole audit for none; here, none from these mechanisms.)"""
    assert [f.problem for f in isolation(session, registry) if any(k in f.arn for k in NETWORK_KINDS) or
            any(m in f.problem for m in NETWORK_MECHANISMS)] == []
    resources = AccountReader(session, collect(session, ENV), registry.in_environment(ENV)).read()
    types = {r.type for r in resources}
    assert {"aws:ec2/routeTable:RouteTable", "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"} <= types


def test_an_interface_of_one_tenant_in_another_tenants_group(session, registry, account):
    """globex (shared network tier) puts an interface in the pool's subnet, in initech's app group,
    which initech's data group admits."""
    eni = interface(session, pool_subnet(session, account), [account.tenants["initech"].app_group],
                    tags_for(registry.get("globex"), ENV))
    hits = found(session, registry, f"network interface {eni} (tenant globex) can reach", "of tenant initech",
                 "via membership in security group initech-app")
    assert all(f.tenant == "initech" and f.arn.endswith(eni) for f in hits)


def test_an_isolated_tenants_interface_in_the_shared_vpc(session, registry, account):
    acme = account.tenants["acme"]
    eni = interface(session, pool_subnet(session, account), [account.pool_group], tags_for(registry.get("acme"), ENV))
    [hit] = found(session, registry, f"can reach network interface {eni} of tenant acme",
                  f"placement: an isolated tenant's network interface {eni}")
    assert hit.tenant == "acme" and acme.vpc_id != account.shared_vpc


def test_a_route_through_the_platforms_interface(session, registry, account):
    ec2 = session.client("ec2")
    initech = account.tenants["initech"]
    appliance = interface(session, pool_subnet(session, account), [account.pool_group], PLATFORM_TAGS)
    table = ec2.create_route_table(VpcId=account.shared_vpc, TagSpecifications=tag_spec(
        "route-table", tags_for(registry.get("initech"), ENV)))["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=initech.subnet_ids[0])
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="10.200.0.0/16", NetworkInterfaceId=appliance)
    [hit] = found(session, registry, f"network interface {appliance} (the platform (pool)) can read, reach subnet "
                  f"{initech.subnet_ids[0]} of tenant initech via route 10.200.0.0/16 in route table {table}")
    assert hit.tenant == "initech" and hit.arn.endswith(f"route-table/{table}")


def test_a_route_in_an_isolated_tenants_main_table_to_a_foreign_peering(session, registry, account):
    ec2 = session.client("ec2")
    acme = account.tenants["acme"]
    other = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    pid = ec2.create_vpc_peering_connection(VpcId=other, PeerVpcId=acme.vpc_id)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pid)
    [main] = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [acme.vpc_id]},
                                                {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    ec2.create_route(RouteTableId=main["RouteTableId"], DestinationCidrBlock="10.99.0.0/16", VpcPeeringConnectionId=pid)
    hits = found(session, registry, f"VPC {other} (an unknown owner) can read, reach subnet", "of tenant acme",
                 f"via route 10.99.0.0/16 in route table {main['RouteTableId']} to peering connection {pid}")
    assert {f.tenant for f in hits} == {"acme"} and len(hits) == 1


def test_an_endpoint_one_tenant_creates_in_another_tenants_vpc(session, registry, account):
    acme = account.tenants["acme"]
    endpoint = session.client("ec2").create_vpc_endpoint(
        VpcId=acme.vpc_id, ServiceName=f"com.amazonaws.{session.region_name}.s3", VpcEndpointType="Interface",
        SubnetIds=[acme.subnet_ids[0]], TagSpecifications=tag_spec(
            "vpc-endpoint", tags_for(registry.get("initech"), ENV)))["VpcEndpoint"]["VpcEndpointId"]
    [hit] = found(session, registry, f"{endpoint} is claimed by tenant initech (its tenant-id tag)",
                  f"tenant acme (it attaches to {acme.vpc_id})")
    assert hit.arn.endswith(f"vpc-endpoint/{endpoint}")


def test_an_endpoint_service_open_to_every_principal(session, registry, account):
    ec2 = session.client("ec2")
    initech = account.tenants["initech"]
    lb = session.client("elbv2").create_load_balancer(Name="initech-nlb", Subnets=initech.subnet_ids, Type="network",
                                                      Scheme="internal")["LoadBalancers"][0]["LoadBalancerArn"]
    service = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[lb], AcceptanceRequired=False,
        TagSpecifications=tag_spec("vpc-endpoint-service", tags_for(registry.get("initech"), ENV)))[
        "ServiceConfiguration"]["ServiceId"]
    before = set(isolation(session, registry))
    ec2.modify_vpc_endpoint_service_permissions(ServiceId=service, AddAllowedPrincipals=["*"])
    [hit] = found(session, registry, "anyone (allowed principal *) (anyone) can reach endpoint service", "of tenant "
                  f"initech via endpoint service {service} allows principal *")
    assert hit.tenant == "initech" and hit.arn.endswith(service) and hit not in before
    assert set(isolation(session, registry)) - before == {hit}


def test_a_tenants_network_acl_on_another_tenants_subnet(session, registry, account):
    ec2 = session.client("ec2")
    subnet = account.tenants["initech"].subnet_ids[0]
    acl = ec2.create_network_acl(VpcId=account.shared_vpc, TagSpecifications=tag_spec(
        "network-acl", tags_for(registry.get("acme"), ENV)))["NetworkAcl"]["NetworkAclId"]
    [current] = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"]
    association = next(a["NetworkAclAssociationId"] for a in current["Associations"] if a["SubnetId"] == subnet)
    ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl)
    [hit] = found(session, registry, f"{acl} is claimed by tenant acme (its tenant-id tag)",
                  f"tenant initech (it attaches to {subnet})")
    assert hit.arn.endswith(f"network-acl/{acl}")
