"""Networks: a VPC (the shared one, or an isolated tenant's own), a dedicated tenant's slice of the
shared VPC, and the security groups that say who may talk to whom.

Subnets come from a `SubnetLayout` the registry computed once (`EffectiveTenant.subnet_layout`);
nothing here carves addresses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.registry.addressing import SubnetLayout
from tenancy.registry.settings import NatLayout

from .context import Account
from .policydoc import document

ANYWHERE = "0.0.0.0/0"
EPHEMERAL_PORTS = (1024, 65535)  # where replies arrive (https://docs.aws.amazon.com/vpc/latest/userguide/nacl-ephemeral-ports.html)


def _zone(azs: pulumi.Input[list], index: int) -> pulumi.Output[str]:
    return pulumi.Output.from_input(azs).apply(lambda names: names[index])


def _private_subnets(name: str, role: str, vpc_id: pulumi.Input[str], cidrs: Sequence[str],
                     azs: pulumi.Input[list], nat_ids: pulumi.Input[list] | None,
                     opts: pulumi.ResourceOptions) -> list[aws.ec2.Subnet]:
    """Subnets of one role, one per zone; app subnets route out through their zone's NAT (or the
    only one), data subnets have no route out at all."""
    subnets = []
    for i, cidr in enumerate(cidrs):
        subnet = aws.ec2.Subnet(f"{name}-{role}-{i}", vpc_id=vpc_id, cidr_block=cidr,
                                availability_zone=_zone(azs, i), map_public_ip_on_launch=False,
                                tags={"Name": f"{name}-{role}-{i}", "subnet-role": role}, opts=opts)
        routes = []
        if nat_ids is not None:
            nat = pulumi.Output.from_input(nat_ids).apply(lambda ids, i=i: ids[i % len(ids)])
            routes = [aws.ec2.RouteTableRouteArgs(cidr_block=ANYWHERE, nat_gateway_id=nat)]
        table = aws.ec2.RouteTable(f"{name}-{role}-rt-{i}", vpc_id=vpc_id, routes=routes, opts=opts)
        aws.ec2.RouteTableAssociation(f"{name}-{role}-rta-{i}", subnet_id=subnet.id,
                                      route_table_id=table.id, opts=opts)
        subnets.append(subnet)
    return subnets


@dataclass(frozen=True)
class FlowLogsArgs:
    account: Account
    role_name: str  # IAM role names are per account: carries the environment and the owner
    log_group_name: str
    retention_days: int
    vpc_id: pulumi.Input[str]
    key_arn: pulumi.Input[str]


class FlowLogs(pulumi.ComponentResource):
    """Every packet decision of a VPC, to a log group encrypted with the owner's key."""

    log_group_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FlowLogsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:network:FlowLogs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(f"{name}-group", name=args.log_group_name, kms_key_id=args.key_arn,
                                        retention_in_days=args.retention_days, opts=child)
        role = aws.iam.Role(f"{name}-role", name=args.role_name, assume_role_policy=document([{
            "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": args.account.account_id}}}]), opts=child)
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=document([{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group.arn, pulumi.Output.concat(group.arn, ":*")]}]), opts=child)
        aws.ec2.FlowLog(f"{name}", vpc_id=args.vpc_id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                        log_destination=group.arn, iam_role_arn=role.arn, opts=child)
        self.log_group_arn = group.arn
        self.register_outputs({"logGroupArn": self.log_group_arn})


@dataclass(frozen=True)
class VpcArgs:
    account: Account
    cidr: str  # the VPC's range; its subnets come from `layout` (the platform's own part of it)
    layout: SubnetLayout  # public, app and data subnets per zone
    zones: pulumi.Input[list]  # availability zone names, one per subnet index
    nat_layout: NatLayout
    key_arn: pulumi.Input[str]  # the owner's key, for the flow-log group
    flow_log_role: str
    flow_log_group: str
    flow_log_retention_days: int


class Vpc(pulumi.ComponentResource):
    """A VPC with public, app and data subnets per zone, NAT, flow logs to an encrypted log group,
    and a default security group stripped of every rule. Nothing joins it to another VPC."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list]
    app_subnet_ids: pulumi.Output[list]
    data_subnet_ids: pulumi.Output[list]
    nat_gateway_ids: pulumi.Output[list]

    def __init__(self, name: str, args: VpcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:network:Vpc", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        layout = args.layout
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True,
                          enable_dns_support=True, tags={"Name": name}, opts=child)
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, opts=child, routes=[
            aws.ec2.RouteTableRouteArgs(cidr_block=ANYWHERE, gateway_id=igw.id)])
        public = []
        for i, cidr in enumerate(layout.public):
            subnet = aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=cidr,
                                    availability_zone=_zone(args.zones, i), map_public_ip_on_launch=False,
                                    tags={"Name": f"{name}-public-{i}", "subnet-role": "public"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-rta-{i}", subnet_id=subnet.id,
                                          route_table_id=public_rt.id, opts=child)
            public.append(subnet)
        nat_count = layout.zones if args.nat_layout is NatLayout.per_az else 1
        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", opts=child)
            nats.append(aws.ec2.NatGateway(f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=public[i].id,
                                           opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))
        nat_ids = pulumi.Output.all(*[n.id for n in nats])
        app = _private_subnets(name, "app", vpc.id, layout.app, args.zones, nat_ids, child)
        data = _private_subnets(name, "data", vpc.id, layout.data, args.zones, None, child)
        FlowLogs(f"{name}-flow-logs", FlowLogsArgs(args.account, args.flow_log_role, args.flow_log_group,
                                                   args.flow_log_retention_days, vpc.id, args.key_arn), opts=child)

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.app_subnet_ids = pulumi.Output.all(*[s.id for s in app])
        self.data_subnet_ids = pulumi.Output.all(*[s.id for s in data])
        self.nat_gateway_ids = nat_ids
        self.register_outputs({"vpcId": self.vpc_id, "publicSubnetIds": self.public_subnet_ids,
                               "appSubnetIds": self.app_subnet_ids, "dataSubnetIds": self.data_subnet_ids,
                               "natGatewayIds": self.nat_gateway_ids})


def _acl_rule(rule_no: int, cidr: str, action: str = "allow") -> dict:
    return dict(rule_no=rule_no, protocol="-1", action=action, cidr_block=cidr, from_port=0, to_port=0)


@dataclass(frozen=True)
class SliceArgs:
    layout: SubnetLayout  # app and data subnets per zone, cut from the tenant's block
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    platform_cidr: str
    zones: pulumi.Input[list]
    nat_gateway_ids: pulumi.Input[list]


class TenantSlice(pulumi.ComponentResource):
    """A dedicated tenant's app and data subnets inside the shared VPC, cut from its registry block,
    with network ACLs that keep every other tenant's slice out."""

    app_subnet_ids: pulumi.Output[list]
    data_subnet_ids: pulumi.Output[list]

    def __init__(self, name: str, args: SliceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:network:TenantSlice", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        block = args.layout.block
        app = _private_subnets(name, "app", args.vpc_id, args.layout.app, args.zones, args.nat_gateway_ids, child)
        data = _private_subnets(name, "data", args.vpc_id, args.layout.data, args.zones, None, child)
        # App subnets: their own slice and the platform's subnets (NAT, load balancers); no other
        # tenant's slice; the internet only outbound, through NAT.
        app_rules = [_acl_rule(100, block), _acl_rule(110, args.platform_cidr),
                     _acl_rule(120, args.vpc_cidr, "deny")]
        # ACLs are stateless: replies to the app subnets' connections out (through NAT) come back
        # from anywhere to an ephemeral port. Rule 120 has already kept every other slice out.
        replies = [dict(rule_no=200 + i, protocol=protocol, action="allow", cidr_block=ANYWHERE,
                        from_port=EPHEMERAL_PORTS[0], to_port=EPHEMERAL_PORTS[1])
                   for i, protocol in enumerate(("tcp", "udp"))]
        aws.ec2.NetworkAcl(f"{name}-app-acl", vpc_id=args.vpc_id, subnet_ids=[s.id for s in app],
                           ingress=app_rules + replies, egress=app_rules + [_acl_rule(200, ANYWHERE)], opts=child)
        # Data subnets: their own slice only, both ways.
        aws.ec2.NetworkAcl(f"{name}-data-acl", vpc_id=args.vpc_id, subnet_ids=[s.id for s in data],
                           ingress=[_acl_rule(100, block)], egress=[_acl_rule(100, block)], opts=child)
        self.app_subnet_ids = pulumi.Output.all(*[s.id for s in app])
        self.data_subnet_ids = pulumi.Output.all(*[s.id for s in data])
        self.register_outputs({"appSubnetIds": self.app_subnet_ids, "dataSubnetIds": self.data_subnet_ids})


class WorkloadSecurityGroup(pulumi.ComponentResource):
    """The security group an owner's workloads run in: out to HTTPS anywhere (through NAT) and to
    its own data subnets on the database and cache ports; nothing in."""

    id: pulumi.Output[str]

    def __init__(self, name: str, *, vpc_id: pulumi.Input[str], data_cidrs: Sequence[str], ports: Sequence[int],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:network:WorkloadSecurityGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Rules only as standalone resources: the provider's docs warn that inline rules on the same
        # group flap. Creating the group revokes AWS's default allow-all egress rule.
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=vpc_id, description=f"{name} workloads", opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-https", security_group_id=group.id, ip_protocol="tcp",
                                        from_port=443, to_port=443, cidr_ipv4=ANYWHERE,
                                        description="HTTPS out (AWS APIs, through NAT)", opts=child)
        for port in ports:
            for i, cidr in enumerate(data_cidrs):
                aws.vpc.SecurityGroupEgressRule(f"{name}-data-{port}-{i}", security_group_id=group.id,
                                                ip_protocol="tcp", from_port=port, to_port=port, cidr_ipv4=cidr,
                                                description=f"port {port} to its own data subnet {cidr}", opts=child)
        self.id = group.id
        self.register_outputs({"id": self.id})


def service_security_group(name: str, *, vpc_id: pulumi.Input[str], port: int,
                           sources: Sequence[pulumi.Input[str]], opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """A data service's group: `port` in from the given workload groups only, nothing out."""
    group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=vpc_id, description=f"{name}: port {port} from its owner",
                                  egress=[], opts=opts)
    for i, source in enumerate(sources):
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-{i}", security_group_id=group.id, ip_protocol="tcp",
                                         from_port=port, to_port=port, referenced_security_group_id=source,
                                         description=f"port {port} from its owner's workloads", opts=opts)
    return group
