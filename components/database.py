"""PostgreSQL on RDS: the pooled instance of the shared tier and each dedicated or isolated tenant's
own; and the per-tenant login secret of a pooled tenant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.registry.naming import DATABASE_PORT, POOLED_DATABASE

from .context import DeployContext
from .network import service_security_group
from .secrets import CredentialSecret, password

BACKUP_RETENTION_DAYS = 14
MASTER_USER = "tenancy_admin"
POOLED_DB_NAME = POOLED_DATABASE


@dataclass(frozen=True)
class DatabaseSize:
    instance_class: str
    allocated_storage_gib: int
    multi_az: bool
    max_allocated_storage_gib: int | None = None  # storage autoscaling ceiling


class Database(pulumi.ComponentResource):
    """Encrypted with its owner's key, never public, in data subnets, reachable only from the given
    workload groups, TLS forced, backed up, deletion-protected with a final snapshot, IAM auth on."""

    address: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    resource_id: pulumi.Output[str]
    identifier: pulumi.Output[str]
    arn: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, ctx: DeployContext, key_arn: pulumi.Input[str], vpc_id: pulumi.Input[str],
                 subnet_ids: pulumi.Input[Sequence[str]], sources: Sequence[pulumi.Input[str]], size: DatabaseSize,
                 db_name: str = "app", opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        version = ctx.settings.database_engine_version
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=subnet_ids, opts=child)
        group = service_security_group(self, name, vpc_id, DATABASE_PORT, sources)
        params = aws.rds.ParameterGroup(f"{name}-params", family=f"postgres{version.split('.')[0]}",
                                        parameters=[{"name": "rds.force_ssl", "value": "1"}], opts=child)
        master = password(self, name)
        instance = aws.rds.Instance(
            f"{name}-instance",
            engine="postgres",
            engine_version=version,
            db_name=db_name,
            instance_class=size.instance_class,
            allocated_storage=size.allocated_storage_gib,
            max_allocated_storage=size.max_allocated_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key_arn,
            multi_az=size.multi_az,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=params.name,
            publicly_accessible=False,
            username=MASTER_USER,
            password=master.result,
            iam_database_authentication_enabled=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key_arn,
            backup_retention_period=BACKUP_RETENTION_DAYS,
            copy_tags_to_snapshot=True,
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{name}-final",
            auto_minor_version_upgrade=True,
            opts=pulumi.ResourceOptions.merge(child, ctx.stateful()),
        )
        secret = CredentialSecret(
            f"{name}-master", ctx, key_arn, f"{name}: master credentials",
            {"engine": "postgres", "host": instance.address, "port": instance.port, "username": MASTER_USER,
             "password": master.result, "dbname": db_name}, opts=child)
        self.address = instance.address
        self.endpoint = instance.endpoint
        self.port = instance.port
        self.resource_id = instance.resource_id
        self.identifier = instance.identifier
        self.arn = instance.arn
        self.secret_arn = secret.arn
        self.security_group_id = group.id
        self.register_outputs({"endpoint": self.endpoint, "arn": self.arn, "secretArn": self.secret_arn})


class PooledLogin(pulumi.ComponentResource):
    """A pooled tenant's own credentials for its role in the pooled database (the role itself is
    created by the data-plane bootstrap from the same registry)."""

    secret_arn: pulumi.Output[str]

    def __init__(self, name: str, ctx: DeployContext, key_arn: pulumi.Input[str], role: str,
                 host: pulumi.Input[str], port: pulumi.Input[int], db_name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:database:PooledLogin", name, None, opts)
        secret = CredentialSecret(
            f"{name}-login", ctx, key_arn, f"{name}: login for role {role} in the pooled database",
            {"engine": "postgres", "host": host, "port": port, "username": role,
             "password": password(self, name).result, "dbname": db_name},
            opts=pulumi.ResourceOptions(parent=self))
        self.secret_arn = secret.arn
        self.register_outputs({"secretArn": self.secret_arn})
