"""The real tenancy program (dev registry and settings), plus one deliberate break named by the
config key `test:variant`. Each break should be caught by the policy of the same name.

Breaks either change a resource as it is constructed (a stack transformation keyed by resource
name) or add a resource next to the real ones, so every break is made by a real program."""

import dataclasses
import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.stack import build, read_inputs  # noqa: E402
from components.tenant import Tenant  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]  # the repository: its registry and settings
VARIANT = pulumi.Config("test").get("variant") or "none"
SEEN: dict = {}  # resources by name, as they are constructed


def _record(args: pulumi.ResourceTransformationArgs):
    SEEN[args.name] = args.resource
    return None


def _open_key_policy(_):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]})


def _namespace_without_pod_security(props):
    metadata = dict(props["metadata"])
    metadata["labels"] = {k: v for k, v in metadata["labels"].items() if not k.startswith("pod-security")}
    return {**props, "metadata": metadata}


def _initech_policy_naming_acme_queue(props):
    acme_queue = SEEN["dev-acme-queues-queue"].arn
    document = acme_queue.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [arn]}]}))
    return {**props, "policy": document}


def _wildcard_data_policy(props):
    return {**props, "policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}]})}


# variant -> (resource name, change to its props)
MUTATIONS = {
    "kms-key-rotation": ("dev-acme-key-cmk", lambda p: {**p, "enable_key_rotation": False}),
    "kms-key-deletion-window": ("dev-acme-key-cmk", lambda p: {**p, "deletion_window_in_days": 7}),
    "kms-key-policy-no-open-principal": ("dev-acme-key-cmk", lambda p: {**p, "policy": _open_key_policy(p)}),
    "kms-key-lockout-check": ("dev-acme-key-cmk", lambda p: {**p, "bypass_policy_lockout_safety_check": True}),
    "rds-encrypted-with-cmk": ("dev-acme-db-instance", lambda p: {**p, "kms_key_id": None}),
    "rds-not-public": ("dev-acme-db-instance", lambda p: {**p, "publicly_accessible": True}),
    "rds-deletion-protection": ("dev-acme-db-instance", lambda p: {**p, "deletion_protection": False}),
    "rds-backup-retention": ("dev-acme-db-instance", lambda p: {**p, "backup_retention_period": 1}),
    "rds-iam-auth": ("dev-acme-db-instance", lambda p: {**p, "iam_database_authentication_enabled": False}),
    "rds-performance-insights-cmk": ("dev-acme-db-instance", lambda p: {**p, "performance_insights_kms_key_id": None}),
    "rds-tls-forced": ("dev-acme-db-params", lambda p: {**p, "parameters": []}),
    "elasticache-encryption": ("dev-acme-cache-rg", lambda p: {**p, "transit_encryption_enabled": False}),
    "elasticache-auth": ("dev-acme-cache-rg", lambda p: {**p, "user_group_ids": None}),
    "elasticache-subnet-group": ("dev-acme-cache-rg", lambda p: {**p, "subnet_group_name": None}),
    "sqs-cmk": ("dev-acme-queues-queue", lambda p: {**p, "kms_master_key_id": None, "sqs_managed_sse_enabled": True}),
    "sqs-dead-letter": ("dev-acme-queues-queue", lambda p: {**p, "redrive_policy": None}),
    "secrets-cmk": ("dev-acme-db-master-secret", lambda p: {**p, "kms_key_id": None}),
    "k8s-namespace-pod-security": ("dev-acme-namespace-ns", _namespace_without_pod_security),
    "namespace-guardrails": ("dev-acme-namespace-limits",
                             lambda p: {**p, "metadata": {**p["metadata"], "namespace": "elsewhere"}}),
    "tenant-tags": ("dev-acme-queues-dlq", lambda p: {**p, "tags": {"Name": "untagged"}}),
    # B's (initech's) queue encrypted with A's (acme's) key
    "one-key-per-tenant": ("dev-initech-queues-queue", lambda p: {**p, "kms_master_key_id": SEEN["dev-acme-key-cmk"].arn}),
    # A's (initech's) IAM policy naming B's (acme's) queue
    "iam-tenant-scope": ("dev-initech-identity-access", _initech_policy_naming_acme_queue),
    "iam-wildcard": ("dev-initech-identity-access", _wildcard_data_policy),
    "tenant-log-group": ("dev-acme-monitoring-logs", lambda p: {**p, "kms_key_id": None}),
    "tenant-alarm-topic": ("dev-acme-monitoring-alarms", lambda p: {**p, "kms_master_key_id": None}),
}


def _mutate(args: pulumi.ResourceTransformationArgs):
    _record(args)
    target = MUTATIONS.get(VARIANT)
    if target and args.name == target[0]:
        return pulumi.ResourceTransformationResult(props=target[1](dict(args.props)), opts=args.opts)
    if VARIANT == "stateful-resources-protected" and args.name == "dev-acme-db-instance":
        return pulumi.ResourceTransformationResult(
            props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=False)))
    return None


pulumi.runtime.register_stack_transformation(_mutate)
deployment = build(read_inputs(ROOT))
acme, initech = deployment.tenants["acme"], deployment.tenants["initech"]
in_acme, in_initech = pulumi.ResourceOptions(parent=acme), pulumi.ResourceOptions(parent=initech)
refs = deployment.platform_refs

# Additions: a resource placed next to the real ones.
if VARIANT == "no-cross-tenant-references":  # A's app group admitted into B's database group
    aws.vpc.SecurityGroupIngressRule("break-cross-tenant", security_group_id=initech.database.security_group_id,
                                     referenced_security_group_id=acme.placement.app_security_group_id,
                                     ip_protocol="tcp", from_port=5432, to_port=5432, opts=in_initech)
if VARIANT == "dedicated-data-not-shared":  # the pooled workloads admitted into a dedicated database
    aws.vpc.SecurityGroupIngressRule("break-shared-data", security_group_id=initech.database.security_group_id,
                                     referenced_security_group_id=refs.pool_app_security_group_id,
                                     ip_protocol="tcp", from_port=5432, to_port=5432, opts=in_initech)
if VARIANT == "data-port-sources":
    aws.vpc.SecurityGroupIngressRule("break-data-cidr", security_group_id=initech.database.security_group_id,
                                     cidr_ipv4="10.0.0.0/8", ip_protocol="tcp", from_port=5432, to_port=5432,
                                     opts=in_initech)
if VARIANT == "security-group-no-open-ingress":
    aws.vpc.SecurityGroupIngressRule("break-open-ssh", security_group_id=acme.placement.app_security_group_id,
                                     cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=22, to_port=22, opts=in_acme)
if VARIANT == "vpc-flow-logs":
    aws.ec2.Vpc("break-unlogged-vpc", cidr_block="10.64.0.0/24", opts=in_acme)
if VARIANT == "isolated-tenant-in-own-vpc":
    aws.ec2.SecurityGroup("break-outside-vpc", vpc_id=refs.vpc_id, description="acme group in the shared VPC",
                          opts=in_acme)
if VARIANT == "no-vpc-joining":
    aws.ec2.VpcPeeringConnection("break-peering", vpc_id=acme.placement.vpc_id, peer_vpc_id=refs.vpc_id, opts=in_acme)
if VARIANT == "tenant-cidrs-no-overlap":  # a second isolated tenant whose VPC overlaps acme's
    acme_spec = acme.effective
    hooli = dataclasses.replace(acme_spec, tenant=acme_spec.tenant.model_copy(update={"id": "hooli"}))
    Tenant(hooli, deployment.context, refs)

if VARIANT in ("tenant-usage-plan", "tenant-budget"):  # a tenant built by hand, with a key and nothing else
    bare = pulumi.ComponentResource("tenancy:tenant:Tenant", "dev-bare", {"tags": {"tenant-id": "bare"}})
    aws.kms.Key("dev-bare-key", enable_key_rotation=True, deletion_window_in_days=30, tags={
        "tenant-id": "bare", "tenant-plan": "starter", "isolation": "shared", "environment": "dev",
        "managed-by": "tenancy"}, opts=pulumi.ResourceOptions(parent=bare, protect=True))

for name, value in deployment.outputs.items():
    pulumi.export(name, value)
