"""The live account as the isolation model's resources, and the model's invariant over them.

The policy pack builds its access graph from the plan (`tenancy_policies.isolation`); this module
builds the same graph from the account, read-only with boto3: each resource becomes a
`tenancy_policies.graph.model.Resource` with the Pulumi type token and the camelCase properties the
provider would hold, so every mechanism of the pack (`graph.analysis.MECHANISMS`) applies unchanged,
and the invariant's violations become audit findings.

Read: IAM roles with their trust, inline and attached policies and customer-managed policies with
their default versions (`get_account_authorization_details`, one paged call); KMS keys (their
policies), grants and aliases; SQS queue, SNS topic, Secrets Manager and S3 bucket policies of the
tenants' resources; every VPC, subnet and security group with its ingress rules (referenced groups,
CIDRs, managed prefix lists and their entries), VPC peering and transit gateway attachments; network
interfaces (not those AWS manages for a service, nor an endpoint's own: their service is read), network
ACLs (not a VPC's default one: the subnets that fall back to it claim nothing), route tables with their
routes and associations, VPC endpoints and endpoint services with their allowed principals (one describe
call per kind; one permissions read per endpoint service); databases; replication groups, ElastiCache users and
user groups. Owners come from the `tenant-id` tag as in the plan; each registry tenant is a component
(`tenancy:tenant:Tenant`, tagged with its tenant id and isolation tier) that its tagged resources sit
in, as in the program.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from tenancy_policies.graph import iam as iam_graph
from tenancy_policies.graph.analysis import graph
from tenancy_policies.graph.invariant import findings as invariant_findings
from tenancy_policies.graph.model import Resource

TENANT_TAG = "tenant-id"
WORKERS = 8  # concurrent per-resource reads (boto3 clients are thread-safe)
COMPONENT = "tenancy:tenant:Tenant"
ROLE, POLICY = "aws:iam/role:Role", "aws:iam/policy:Policy"
KEY, GRANT, ALIAS = "aws:kms/key:Key", "aws:kms/grant:Grant", "aws:kms/alias:Alias"
QUEUE, TOPIC = "aws:sqs/queue:Queue", "aws:sns/topic:Topic"
SECRET, BUCKET = "aws:secretsmanager/secret:Secret", "aws:s3/bucket:Bucket"
VPC, SUBNET, SG = "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
TGW_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
DB = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_USER, CACHE_GROUP = "aws:elasticache/user:User", "aws:elasticache/userGroup:UserGroup"
ENI, NACL = "aws:ec2/networkInterface:NetworkInterface", "aws:ec2/networkAcl:NetworkAcl"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
MAIN_ROUTE_TABLE_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
ENDPOINT, ENDPOINT_SERVICE = "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/vpcEndpointService:VpcEndpointService"
# a route as describe_route_tables gives it -> the provider's inline route
ROUTE_KEYS = {"DestinationCidrBlock": "cidrBlock", "DestinationIpv6CidrBlock": "ipv6CidrBlock",
              "DestinationPrefixListId": "destinationPrefixListId", "GatewayId": "gatewayId",
              "NatGatewayId": "natGatewayId", "NetworkInterfaceId": "networkInterfaceId",
              "TransitGatewayId": "transitGatewayId", "VpcPeeringConnectionId": "vpcPeeringConnectionId",
              "EgressOnlyInternetGatewayId": "egressOnlyGatewayId", "LocalGatewayId": "localGatewayId",
              "CarrierGatewayId": "carrierGatewayId", "CoreNetworkArn": "coreNetworkArn"}
OWN_INTERFACES = ("interface", "efa")  # the others (lambda, nat_gateway, trunk, branch...) are a service's
GONE = ("deleted", "deleting", "rejected", "failed", "expired")


def _pages(client, operation: str, key: str, **kwargs) -> Iterable[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _each(fn, items) -> list:
    """fn over each item, a few at a time (one read per resource: grants, resource policies)."""
    items = list(items)
    if len(items) < 2:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(fn, items))


def _tags(items) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def _document(value: Any) -> Any:
    """A policy document as the engine holds it: JSON text (boto3 gives IAM's decoded)."""
    return value if isinstance(value, str) or value is None else json.dumps(value)


class AccountReader:
    """Builds the resources; `tags` maps ARN -> tags as the tagging API reported them."""

    def __init__(self, session, inv, tenants):
        self.session, self.inv = session, inv
        self.account, self.region = inv.account, inv.region
        self.tags = {r["arn"]: r["tags"] for items in inv.by_tenant.values() for r in items}
        self.components = {t.id: Resource(f"{COMPONENT}::{t.id}", COMPONENT, t.id,
                                          {"tags": {TENANT_TAG: t.id, "isolation": t.isolation.value}})
                           for t in tenants}
        self.resources: list[Resource] = list(self.components.values())

    def add(self, key: str, type_: str, name: str, props: dict) -> None:
        tenant = (props.get("tags") or {}).get(TENANT_TAG)
        parent = self.components[tenant].key if tenant in self.components else None
        self.resources.append(Resource(key, type_, name, props, parent))

    def read(self) -> list[Resource]:
        self.iam()
        self.kms()
        self.resource_policies()
        self.network()
        self.network_paths()
        self.data()
        return self.resources

    # -- IAM ---------------------------------------------------------------------------------------
    def iam(self) -> None:
        iam = self.session.client("iam")
        roles, policies, users, groups = [], [], [], []
        for page in iam.get_paginator("get_account_authorization_details").paginate(
                Filter=["Role", "User", "Group", "LocalManagedPolicy"]):
            roles += page.get("RoleDetailList", [])
            policies += page.get("Policies", [])
            users += page.get("UserDetailList", [])
            groups += page.get("GroupDetailList", [])
        for role in roles:
            tags = _tags(role.get("Tags"))
            if not tags and role.get("Arn") in self.tags:
                tags = self.tags[role["Arn"]]
            self.add(role["Arn"], ROLE, role["RoleName"], {
                "arn": role["Arn"], "name": role["RoleName"], "id": role.get("RoleId"), "tags": tags,
                "assumeRolePolicy": _document(role.get("AssumeRolePolicyDocument")),
                "inlinePolicies": [{"name": p["PolicyName"], "policy": _document(p.get("PolicyDocument"))}
                                   for p in role.get("RolePolicyList", [])],
                "managedPolicyArns": [p["PolicyArn"] for p in role.get("AttachedManagedPolicies", [])]})
        self.iam_users_and_groups(users, groups)
        for policy in policies:
            versions = policy.get("PolicyVersionList", [])
            default = next((v for v in versions if v.get("IsDefaultVersion")), versions[0] if versions else {})
            name = policy.get("PolicyName") or policy["Arn"].rsplit("/", 1)[-1]
            self.add(policy["Arn"], POLICY, name, {
                "arn": policy["Arn"], "id": policy.get("PolicyId"), "name": name,
                "tags": _tags(policy.get("Tags") if "Tags" in policy else  # ManagedPolicyDetail has none
                              _pages(iam, "list_policy_tags", "Tags", PolicyArn=policy["Arn"])),
                "policy": _document(default.get("Document"))})

    def iam_users_and_groups(self, users: list[dict], groups: list[dict]) -> None:
        """Users and groups as the program would declare them: the principal, one resource per inline
        policy and per attached managed policy, and a user's group memberships (IAM groups take no
        tags: a group is a tenant's only through its members' and policies' paths)."""
        for kind, details, name_key, list_key, principal_type, inline_type, attachment_type in (
                ("user", users, "UserName", "UserPolicyList", iam_graph.USER, iam_graph.USER_POLICY,
                 iam_graph.USER_ATTACHMENT),
                ("group", groups, "GroupName", "GroupPolicyList", iam_graph.GROUP, iam_graph.GROUP_POLICY,
                 iam_graph.GROUP_ATTACHMENT)):
            for item in details:
                arn, name = item["Arn"], item[name_key]
                tags = _tags(item.get("Tags")) or self.tags.get(arn, {})
                self.add(arn, principal_type, name, {"arn": arn, "name": name, "id": name, "tags": tags})
                for policy in item.get(list_key, []):
                    self.add(f"{arn}/policy/{policy['PolicyName']}", inline_type, policy["PolicyName"],
                             {kind: name, "policy": _document(policy.get("PolicyDocument")), "tags": tags})
                for attached in item.get("AttachedManagedPolicies", []):
                    self.add(f"{arn}/attached/{attached['PolicyArn']}", attachment_type, attached["PolicyName"],
                             {kind: name, "policyArn": attached["PolicyArn"], "tags": tags})
                if kind == "user" and item.get("GroupList"):
                    self.add(f"{arn}/groups", iam_graph.USER_GROUP_MEMBERSHIP, f"{name} groups",
                             {"user": name, "groups": list(item["GroupList"]), "tags": tags})

    # -- KMS ---------------------------------------------------------------------------------------
    def kms(self) -> None:
        kms = self.session.client("kms")
        aliases = [a for a in _pages(kms, "list_aliases", "Aliases") if a.get("TargetKeyId")]
        alias_of = {a["TargetKeyId"]: a["AliasName"] for a in aliases}
        grants = dict(zip(self.inv.keys, _each(lambda arn: list(_pages(kms, "list_grants", "Grants", KeyId=arn)),
                                               self.inv.keys)))
        for arn, key in self.inv.keys.items():
            key_id = key["meta"]["KeyId"]
            name = f"key {alias_of[key_id]}" if key_id in alias_of else f"key {key_id}"
            self.add(arn, KEY, name, {"arn": arn, "keyId": key_id, "id": key_id, "tags": self.tags.get(arn, {}),
                                        "policy": json.dumps(key["policy"])})
            for grant in grants[arn]:
                gid = grant["GrantId"]
                self.add(f"{arn}/grant/{gid}", GRANT, grant.get("Name") or gid, {
                    "grantId": gid, "keyId": arn, "granteePrincipal": grant.get("GranteePrincipal"),
                    "retiringPrincipal": grant.get("RetiringPrincipal"), "operations": grant.get("Operations", [])})
        for alias in aliases:
            self.add(alias["AliasArn"], ALIAS, alias["AliasName"], {
                "arn": alias["AliasArn"], "name": alias["AliasName"], "targetKeyId": alias["TargetKeyId"]})

    # -- resource policies of the tenants' queues, topics, secrets and buckets -----------------------
    def resource_policies(self) -> None:
        for arn, attributes in self.inv.queues.items():
            props = {"arn": arn, "name": arn.split(":")[5], "tags": self.tags.get(arn, {})}
            if attributes.get("Policy"):
                props["policy"] = attributes["Policy"]
            self.add(arn, QUEUE, props["name"], props)
        clients = {name: self.session.client(name) for name in ("secretsmanager", "s3", "sns")}

        def policy_of(r: dict) -> Any:
            arn, kind = r["arn"], r["kind"]
            if kind == "secretsmanager":
                return clients["secretsmanager"].get_resource_policy(SecretId=arn).get("ResourcePolicy")
            if kind == "sns":
                return clients["sns"].get_topic_attributes(TopicArn=arn)["Attributes"].get("Policy")
            try:
                return clients["s3"].get_bucket_policy(Bucket=arn.split(":::")[-1]).get("Policy")
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "NoSuchBucketPolicy":
                    raise
                return None

        governed = [r for items in self.inv.by_tenant.values() for r in items
                    if r["kind"] in ("secretsmanager", "s3", "sns")]
        for r, policy in zip(governed, _each(policy_of, governed)):
            arn, kind = r["arn"], r["kind"]
            if kind == "secretsmanager":
                name = arn.split(":")[6]
                props, type_ = {"arn": arn, "name": name}, SECRET
            elif kind == "sns":
                name = arn.split(":")[5]
                props, type_ = {"arn": arn, "name": name}, TOPIC
            else:
                name = arn.split(":::")[-1]
                props, type_ = {"arn": arn, "bucket": name}, BUCKET
            props["tags"] = r["tags"]
            if policy:
                props["policy"] = policy
            self.add(arn, type_, name, props)

    # -- networks ------------------------------------------------------------------------------------
    def network(self) -> None:
        ec2 = self.session.client("ec2")
        base = f"arn:aws:ec2:{self.region}:{self.account}"
        for vpc in self.inv.network["ec2:vpc"]:
            arn = f"{base}:vpc/{vpc['VpcId']}"
            self.add(arn, VPC, vpc["VpcId"], {"id": vpc["VpcId"], "arn": arn, "cidrBlock": vpc.get("CidrBlock"),
                                              "tags": _tags(vpc.get("Tags"))})
        for subnet in self.inv.network["ec2:subnet"]:
            arn = subnet.get("SubnetArn") or f"{base}:subnet/{subnet['SubnetId']}"
            ipv6 = [a["Ipv6CidrBlock"] for a in subnet.get("Ipv6CidrBlockAssociationSet", []) if a.get("Ipv6CidrBlock")]
            self.add(arn, SUBNET, subnet["SubnetId"], {
                "id": subnet["SubnetId"], "arn": arn, "vpcId": subnet.get("VpcId"), "cidrBlock": subnet.get("CidrBlock"),
                "ipv6CidrBlock": ipv6[0] if ipv6 else None, "tags": _tags(subnet.get("Tags"))})
        lists: set[str] = set()
        for group in self.inv.network["ec2:security-group"]:
            arn = f"{base}:security-group/{group['GroupId']}"
            ingress = []
            for rule in group.get("IpPermissions", []):
                ingress.append({
                    "protocol": rule.get("IpProtocol"), "fromPort": rule.get("FromPort", 0),
                    "toPort": rule.get("ToPort", 65535),
                    "cidrBlocks": [r["CidrIp"] for r in rule.get("IpRanges", [])],
                    "ipv6CidrBlocks": [r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])],
                    "securityGroups": [p["GroupId"] for p in rule.get("UserIdGroupPairs", []) if p.get("GroupId")],
                    "self": False,
                    "prefixListIds": [p["PrefixListId"] for p in rule.get("PrefixListIds", [])]})
                lists.update(p["PrefixListId"] for p in rule.get("PrefixListIds", []))
            self.add(arn, SG, group.get("GroupName") or group["GroupId"], {
                "id": group["GroupId"], "arn": arn, "name": group.get("GroupName"), "vpcId": group.get("VpcId"),
                "tags": _tags(group.get("Tags")), "ingress": ingress})
        for peering in _pages(ec2, "describe_vpc_peering_connections", "VpcPeeringConnections"):
            if (peering.get("Status") or {}).get("Code") in ("deleted", "rejected", "failed", "expired"):
                continue
            pid = peering["VpcPeeringConnectionId"]
            arn = f"{base}:vpc-peering-connection/{pid}"
            self.add(arn, PEERING, pid, {
                "id": pid, "arn": arn, "vpcId": (peering.get("RequesterVpcInfo") or {}).get("VpcId"),
                "peerVpcId": (peering.get("AccepterVpcInfo") or {}).get("VpcId"), "tags": _tags(peering.get("Tags"))})
        for attachment in _pages(ec2, "describe_transit_gateway_vpc_attachments", "TransitGatewayVpcAttachments"):
            if attachment.get("State") in ("deleted", "deleting", "rejected", "failed"):
                continue
            aid = attachment["TransitGatewayAttachmentId"]
            arn = f"{base}:transit-gateway-attachment/{aid}"
            self.add(arn, TGW_ATTACHMENT, aid, {
                "id": aid, "arn": arn, "vpcId": attachment.get("VpcId"),
                "transitGatewayId": attachment.get("TransitGatewayId"), "tags": _tags(attachment.get("Tags"))})
        for list_id in sorted(lists):
            entries = list(_pages(ec2, "get_managed_prefix_list_entries", "Entries", PrefixListId=list_id))
            arn = f"{base}:prefix-list/{list_id}"
            self.add(arn, PREFIX_LIST, list_id, {"id": list_id, "arn": arn,
                                                 "entries": [{"cidr": e["Cidr"]} for e in entries]})

    # -- what else joins groups, sits in subnets or routes them --------------------------------------
    def network_paths(self) -> None:
        ec2 = self.session.client("ec2")
        base = f"arn:aws:ec2:{self.region}:{self.account}"
        endpoints = [e for e in _pages(ec2, "describe_vpc_endpoints", "VpcEndpoints")
                     if str(e.get("State", "")).lower() not in GONE]
        endpoint_interfaces = {i for e in endpoints for i in e.get("NetworkInterfaceIds", [])}
        for e in endpoints:
            eid = e["VpcEndpointId"]
            arn = f"{base}:vpc-endpoint/{eid}"
            self.add(arn, ENDPOINT, eid, {
                "id": eid, "arn": arn, "vpcId": e.get("VpcId"), "serviceName": e.get("ServiceName"),
                "vpcEndpointType": e.get("VpcEndpointType"), "subnetIds": e.get("SubnetIds", []),
                "securityGroupIds": [g["GroupId"] for g in e.get("Groups", [])],
                "routeTableIds": e.get("RouteTableIds", []), "tags": _tags(e.get("Tags"))})
        services = list(_pages(ec2, "describe_vpc_endpoint_service_configurations", "ServiceConfigurations"))
        allowed = _each(lambda sid: [p["Principal"] for p in _pages(
            ec2, "describe_vpc_endpoint_service_permissions", "AllowedPrincipals", ServiceId=sid)],
                        [svc["ServiceId"] for svc in services])
        for svc, principals in zip(services, allowed):
            sid = svc["ServiceId"]
            arn = f"{base}:vpc-endpoint-service/{sid}"
            self.add(arn, ENDPOINT_SERVICE, sid, {
                "id": sid, "arn": arn, "serviceName": svc.get("ServiceName"),
                "networkLoadBalancerArns": svc.get("NetworkLoadBalancerArns", []),
                "gatewayLoadBalancerArns": svc.get("GatewayLoadBalancerArns", []),
                "acceptanceRequired": svc.get("AcceptanceRequired"), "allowedPrincipals": principals,
                "tags": _tags(svc.get("Tags"))})
        interfaces = [i for i in _pages(ec2, "describe_network_interfaces", "NetworkInterfaces")
                      if not i.get("RequesterManaged") and i.get("InterfaceType", "interface") in OWN_INTERFACES
                      and i["NetworkInterfaceId"] not in endpoint_interfaces]
        instance_tags = {}  # an untagged interface attached to an instance is the instance's
        if any(not i.get("TagSet") and (i.get("Attachment") or {}).get("InstanceId") for i in interfaces):
            instance_tags = {inst["InstanceId"]: _tags(inst.get("Tags"))
                             for reservation in _pages(ec2, "describe_instances", "Reservations")
                             for inst in reservation.get("Instances", [])}
        for i in interfaces:
            iid = i["NetworkInterfaceId"]
            arn = f"{base}:network-interface/{iid}"
            tags = _tags(i.get("TagSet")) or instance_tags.get((i.get("Attachment") or {}).get("InstanceId"), {})
            self.add(arn, ENI, iid, {"id": iid, "arn": arn, "subnetId": i.get("SubnetId"), "vpcId": i.get("VpcId"),
                                     "securityGroups": [g["GroupId"] for g in i.get("Groups", [])], "tags": tags})
        for acl in _pages(ec2, "describe_network_acls", "NetworkAcls"):
            if acl.get("IsDefault"):
                continue
            aid = acl["NetworkAclId"]
            arn = f"{base}:network-acl/{aid}"
            self.add(arn, NACL, aid, {"id": aid, "arn": arn, "vpcId": acl.get("VpcId"), "tags": _tags(acl.get("Tags")),
                                      "subnetIds": [a["SubnetId"] for a in acl.get("Associations", [])
                                                    if a.get("SubnetId")]})
        for table in _pages(ec2, "describe_route_tables", "RouteTables"):
            tid = table["RouteTableId"]
            arn = f"{base}:route-table/{tid}"
            routes = []
            for route in table.get("Routes", []):
                if route.get("State") == "blackhole":
                    continue
                entry = {prop: route[key] for key, prop in ROUTE_KEYS.items() if route.get(key)}
                if str(entry.get("gatewayId", "")).startswith("vpce-"):  # a Gateway Load Balancer endpoint
                    entry["vpcEndpointId"] = entry.pop("gatewayId")
                if route.get("InstanceId") and "networkInterfaceId" not in entry:
                    entry["instanceId"] = route["InstanceId"]
                routes.append(entry)
            self.add(arn, ROUTE_TABLE, tid, {"id": tid, "arn": arn, "vpcId": table.get("VpcId"), "routes": routes,
                                             "tags": _tags(table.get("Tags"))})
            for association in table.get("Associations", []):
                if (association.get("AssociationState") or {}).get("State") in ("disassociated", "disassociating"):
                    continue
                rid = association["RouteTableAssociationId"]
                key = f"{base}:route-table-association/{rid}"
                if association.get("Main"):
                    self.add(key, MAIN_ROUTE_TABLE_ASSOCIATION, rid, {"id": rid, "routeTableId": tid,
                                                                      "vpcId": table.get("VpcId")})
                else:
                    self.add(key, ROUTE_TABLE_ASSOCIATION, rid, {
                        "id": rid, "routeTableId": tid, "subnetId": association.get("SubnetId"),
                        "gatewayId": association.get("GatewayId")})

    # -- data services ---------------------------------------------------------------------------------
    def data(self) -> None:
        for arn, db in self.inv.databases.items():
            self.add(arn, DB, db["DBInstanceIdentifier"], {
                "arn": arn, "identifier": db["DBInstanceIdentifier"], "resourceId": db.get("DbiResourceId"),
                "vpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])],
                "tags": _tags(db.get("TagList")) or self.tags.get(arn, {})})
        for arn, group in self.inv.caches.items():
            self.add(arn, REPLICATION_GROUP, group["ReplicationGroupId"], {
                "arn": arn, "replicationGroupId": group["ReplicationGroupId"],
                "userGroupIds": group.get("UserGroupIds", []), "tags": self.tags.get(arn, {})})
        if not any(group.get("UserGroupIds") for group in self.inv.caches.values()):
            return  # no cache uses RBAC user groups: no user can reach one (and moto has no user groups)
        elasticache = self.session.client("elasticache")
        users = list(_pages(elasticache, "describe_users", "Users"))
        groups = list(_pages(elasticache, "describe_user_groups", "UserGroups"))
        for user in users:
            arn = user.get("ARN") or user["UserId"]
            self.add(arn, CACHE_USER, user.get("UserName") or user["UserId"], {
                "arn": arn, "userId": user["UserId"], "userName": user.get("UserName"),
                "accessString": user.get("AccessString", ""), "tags": self.tags.get(arn, {})})
        for group in groups:
            arn = group.get("ARN") or group["UserGroupId"]
            self.add(arn, CACHE_GROUP, group["UserGroupId"], {
                "arn": arn, "userGroupId": group["UserGroupId"], "userIds": group.get("UserIds", []),
                "tags": self.tags.get(arn, {})})


TENANT_IN_MESSAGE = (re.compile(r" of tenant (\S+) via "), re.compile(r" is claimed by tenant (\S+) "))


def isolation_findings(session, inv, tenants, finding, cluster: Iterable[Resource] = ()) -> list:
    """The invariant's violations over the account (and the cluster's resources, when read), as
    `finding(severity, tenant, arn, problem, remedy)` (the audit's Finding), one per path: source,
    mechanism, target and both owners."""
    resources = AccountReader(session, inv, tenants).read() + list(cluster)
    g = graph(resources, inv.account)
    out = []
    for message, key in invariant_findings(g, {}):
        tenant = next((m.group(1) for pattern in TENANT_IN_MESSAGE for m in [pattern.search(message)] if m), "-")
        out.append(finding("high", tenant, key, f"isolation: {message}",
                           "Remove the path (the statement, attachment, grant or rule named), or declare it as a "
                           "platform path in the policy pack (graph/paths.py)."))
    return out
