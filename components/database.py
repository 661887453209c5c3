"""PostgreSQL on RDS: the pooled instance of the shared tier and each dedicated or isolated tenant's
own; and the per-tenant login secret of a pooled tenant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.registry.naming import DATABASE_PORT, POOLED_DATABASE

from .context import stateful
from .network import service_security_group
from .policydoc import document
from .secrets import CredentialSecret, password

BACKUP_RETENTION_DAYS = 14
# TLS forced; statements slower than a second, and every connection, logged (exported to CloudWatch).
PARAMETERS = [{"name": "rds.force_ssl", "value": "1"}, {"name": "log_min_duration_statement", "value": "1000"},
              {"name": "log_connections", "value": "1"}]
ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
MASTER_USER = "tenancy_admin"
POOLED_DB_NAME = POOLED_DATABASE


@dataclass(frozen=True)
class DatabaseSize:
    instance_class: str
    allocated_storage_gib: int
    multi_az: bool
    max_allocated_storage_gib: int | None = None  # storage autoscaling ceiling


@dataclass(frozen=True)
class DatabaseArgs:
    identifier: str  # the RDS instance identifier, unique per account and region
    key_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    sources: Sequence[pulumi.Input[str]]  # the workload security groups admitted on the port
    size: DatabaseSize
    engine_version: str
    db_name: str = "app"
    protect: bool = True
    monitoring_interval: int = 0  # seconds between enhanced-monitoring samples; 0: off
    extra_parameters: tuple[tuple[str, str], ...] = ()  # more of the instance's parameters


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

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        version, size, key_arn, db_name = args.engine_version, args.size, args.key_arn, args.db_name
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids, opts=child)
        group = service_security_group(name, vpc_id=args.vpc_id, port=DATABASE_PORT, sources=args.sources,
                                       opts=child)
        params = aws.rds.ParameterGroup(f"{name}-params", family=f"postgres{version.split('.')[0]}",
                                        parameters=PARAMETERS + [{"name": k, "value": v}
                                                                 for k, v in args.extra_parameters], opts=child)
        monitoring_role = None
        if args.monitoring_interval:
            monitoring_role = aws.iam.Role(f"{name}-monitoring", assume_role_policy=document([{
                "Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                "Action": "sts:AssumeRole"}]), opts=child)
            aws.iam.RolePolicyAttachment(f"{name}-monitoring", role=monitoring_role.name,
                                         policy_arn=ENHANCED_MONITORING_POLICY, opts=child)
        instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=args.identifier,
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
            # RDS keeps the master password in Secrets Manager, encrypted with the owner's key, and
            # rotates it (every 7 days by default): no password in the state, none that never changes.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key_arn,
            iam_database_authentication_enabled=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key_arn,
            backup_retention_period=BACKUP_RETENTION_DAYS,
            copy_tags_to_snapshot=True,
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{name}-final",
            auto_minor_version_upgrade=True,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            monitoring_interval=args.monitoring_interval,
            monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
            opts=pulumi.ResourceOptions.merge(child, stateful(args.protect)),
        )
        self.address = instance.address
        self.endpoint = instance.endpoint
        self.port = instance.port
        self.resource_id = instance.resource_id
        self.identifier = instance.identifier
        self.arn = instance.arn
        # {"username", "password"} only: clients take host, port and database from the outputs
        self.secret_arn = instance.master_user_secrets.apply(lambda secrets: _secret_arn(secrets[0]))
        self.security_group_id = group.id
        self.register_outputs({"endpoint": self.endpoint, "arn": self.arn, "secretArn": self.secret_arn})


def _secret_arn(secret) -> str:
    return secret["secret_arn"] if isinstance(secret, dict) else secret.secret_arn


class PooledLogin(pulumi.ComponentResource):
    """A pooled tenant's own credentials for its role in the pooled database (the role itself is
    created by the data-plane bootstrap from the same registry)."""

    secret_arn: pulumi.Output[str]

    def __init__(self, name: str, *, key_arn: pulumi.Input[str], role: str, host: pulumi.Input[str],
                 port: pulumi.Input[int], db_name: str, protect: bool = True, rotation: str | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:database:PooledLogin", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secret = CredentialSecret(
            f"{name}-login", key_arn=key_arn, description=f"{name}: login for role {role} in the pooled database",
            value={"engine": "postgres", "host": host, "port": port, "username": role,
                   "password": password(name, child, rotation=rotation).result, "dbname": db_name},
            protect=protect, opts=child)
        self.secret_arn = secret.arn
        self.register_outputs({"secretArn": self.secret_arn})
