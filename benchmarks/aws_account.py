"""An AWS account on a moto server that conforms to the registry: what `pulumi up` would have made,
reduced to what the audit reads (keys, roles, queues, secrets, networks, databases, caches), built
with boto3. The audit benchmark and the audit tests (`tests/audit`) both build on it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Network

from benchmarks.ports import free_port
from tenancy.registry.addressing import SLICE_ROLES, VPC_ROLES, carve
from tenancy.registry.models import Service, Tier
from tenancy.registry.naming import key_alias, role_name
from tenancy.registry.tiers import own_data

SHARED_VPC = "10.0.0.0/16"
PLATFORM_TAGS = {"tenancy-scope": "platform", "isolation": "shared", "managed-by": "tenancy"}


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port for the duration of the block: its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class TenantRefs:
    key_arn: str = ""
    queue_urls: list = field(default_factory=list)
    app_group: str = ""
    data_group: str = ""
    vpc_id: str = ""
    subnet_ids: list = field(default_factory=list)
    db_arn: str = ""
    cache_arn: str = ""


@dataclass
class Account:
    id: str
    shared_vpc: str
    pool_group: str
    tenants: dict = field(default_factory=dict)


def tags_for(tenant, environment: str) -> dict[str, str]:
    return {"tenant-id": tenant.id, "tenant-plan": tenant.tenant.plan, "isolation": tenant.isolation.value,
            "environment": environment, "managed-by": "tenancy"}


def _list(tags: dict) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _ec2_tags(resource_type: str, tags: dict) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": _list(tags)}]


def tagged_queue(sqs, name: str, tags: dict, attributes: dict | None = None) -> str:
    return sqs.create_queue(QueueName=name, Attributes=attributes or {}, tags=tags)["QueueUrl"]


def _queue_policy(role: str, queue_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "sqs:SendMessage", "Resource": queue_arn}]})


def build(session, tenants, environment: str) -> Account:
    ec2, kms, sqs, iam = (session.client(s) for s in ("ec2", "kms", "sqs", "iam"))
    rds, elasticache, secrets = (session.client(s) for s in ("rds", "elasticache", "secretsmanager"))
    account_id = session.client("sts").get_caller_identity()["Account"]
    root = f"arn:aws:iam::{account_id}:root"
    shared = ec2.create_vpc(CidrBlock=SHARED_VPC)["Vpc"]["VpcId"]
    pool = ec2.create_security_group(GroupName="pool-app", Description="pool", VpcId=shared,
                                     TagSpecifications=_ec2_tags("security-group", PLATFORM_TAGS))["GroupId"]
    pool_data_subnets = [ec2.create_subnet(VpcId=shared, CidrBlock=f"10.0.{8 + i}.0/24",
                                           AvailabilityZone=f"{session.region_name}{'ab'[i]}")["Subnet"]["SubnetId"]
                         for i in range(2)]
    account = Account(account_id, shared, pool)
    for tenant in tenants:
        tags, refs = tags_for(tenant, environment), TenantRefs()
        role = iam.create_role(RoleName=role_name(environment, tenant.id), AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}), Tags=_list(tags))["Role"]["Arn"]
        policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:Decrypt", "Resource": "*"}]}
        key = kms.create_key(Policy=json.dumps(policy), Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])
        refs.key_arn = key["KeyMetadata"]["Arn"]
        kms.enable_key_rotation(KeyId=refs.key_arn)
        kms.create_alias(AliasName=key_alias(environment, tenant.id), TargetKeyId=refs.key_arn)
        region = session.region_name
        dlq_arn = f"arn:aws:sqs:{region}:{account_id}:{environment}-{tenant.id}-dlq"
        dlq = tagged_queue(sqs, f"{environment}-{tenant.id}-dlq", tags,
                           {"KmsMasterKeyId": refs.key_arn, "Policy": _queue_policy(role, dlq_arn)})
        queue_arn = f"arn:aws:sqs:{region}:{account_id}:{environment}-{tenant.id}-queue"
        queue = tagged_queue(sqs, f"{environment}-{tenant.id}-queue", tags, {
            "KmsMasterKeyId": refs.key_arn, "Policy": _queue_policy(role, queue_arn),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})})
        refs.queue_urls = [queue, dlq]
        secrets.create_secret(Name=f"{environment}-{tenant.id}-db", SecretString="{}", KmsKeyId=refs.key_arn,
                              Tags=_list(tags))
        network = tenant.tier(Service.network)
        if network is Tier.shared and not own_data(tenant.services):
            refs.vpc_id, refs.app_group = shared, pool
        elif network is Tier.shared:  # hybrid: its own workloads' group in the shared VPC
            refs.vpc_id = shared
            refs.app_group = ec2.create_security_group(
                GroupName=f"{tenant.id}-app", Description="app", VpcId=shared,
                TagSpecifications=_ec2_tags("security-group", tags))["GroupId"]
        else:
            block = IPv4Network(tenant.tenant.network.cidr)
            if network is Tier.isolated:
                refs.vpc_id = ec2.create_vpc(CidrBlock=str(block), TagSpecifications=_ec2_tags("vpc", tags))["Vpc"]["VpcId"]
                layout = carve(block, VPC_ROLES, 2)
            else:
                refs.vpc_id, layout = shared, carve(block, SLICE_ROLES, 2)
            for i, cidr in enumerate(layout["data"]):
                refs.subnet_ids.append(ec2.create_subnet(
                    VpcId=refs.vpc_id, CidrBlock=str(cidr), AvailabilityZone=f"{region}{'ab'[i]}",
                    TagSpecifications=_ec2_tags("subnet", tags))["Subnet"]["SubnetId"])
            refs.app_group = ec2.create_security_group(
                GroupName=f"{tenant.id}-app", Description="app", VpcId=refs.vpc_id,
                TagSpecifications=_ec2_tags("security-group", tags))["GroupId"]
        if tenant.tier(Service.database) is not Tier.shared or tenant.tier(Service.cache) is not Tier.shared:
            refs.data_group = ec2.create_security_group(
                GroupName=f"{tenant.id}-data", Description="data", VpcId=refs.vpc_id,
                TagSpecifications=_ec2_tags("security-group", tags))["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=refs.data_group, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": refs.app_group}]}])
            subnets = refs.subnet_ids or pool_data_subnets  # a hybrid tenant's data lives in the pool's subnets
        if tenant.tier(Service.database) is not Tier.shared:
            rds.create_db_subnet_group(DBSubnetGroupName=f"{tenant.id}-db", DBSubnetGroupDescription="db",
                                       SubnetIds=subnets)
            refs.db_arn = rds.create_db_instance(
                DBInstanceIdentifier=f"{environment}-{tenant.id}-db", DBInstanceClass="db.t4g.medium", Engine="postgres",
                MasterUsername="tenancy_admin", MasterUserPassword="password-123", AllocatedStorage=20,
                StorageEncrypted=True, KmsKeyId=refs.key_arn, PubliclyAccessible=False, DeletionProtection=True,
                DBSubnetGroupName=f"{tenant.id}-db", VpcSecurityGroupIds=[refs.data_group],
                Tags=_list(tags))["DBInstance"]["DBInstanceArn"]
        if tenant.tier(Service.cache) is not Tier.shared:
            elasticache.create_cache_subnet_group(CacheSubnetGroupName=f"{tenant.id}-cache",
                                                  CacheSubnetGroupDescription="cache", SubnetIds=subnets)
            refs.cache_arn = elasticache.create_replication_group(
                ReplicationGroupId=f"{environment}-{tenant.id}", ReplicationGroupDescription="cache", Engine="redis",
                CacheNodeType="cache.t4g.small", NumCacheClusters=1, AtRestEncryptionEnabled=True,
                TransitEncryptionEnabled=True, KmsKeyId=refs.key_arn, CacheSubnetGroupName=f"{tenant.id}-cache",
                SecurityGroupIds=[refs.data_group], Tags=_list(tags))["ReplicationGroup"]["ARN"]
        account.tenants[tenant.id] = refs
    return account
