"""The real tenancy program's wiring on the tests' fixture project (its registry and stack files,
tests/fixtures/sample), plus one deliberate break named by the config key `test:variant`: one per
family of policies, for the end-to-end checks (test_policy_pack.py). Every policy's own breaks are
unit cases on in-memory stacks (test_stack_rules.py, test_resource_rules.py).

Breaks either change a resource as it is constructed (a stack transformation keyed by resource
name) or add a resource next to the real ones, so every break is made by a real program."""

import dataclasses
import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.stack import build, read_inputs
from components.tenant import Tenant

PROJECT = Path(__file__).resolve().parents[3] / "fixtures" / "sample"  # the fixture project: registry, settings
VARIANT = pulumi.Config("test").get("variant") or "none"
SEEN: dict = {}  # resources by name, as they are constructed


def _initech_policy_naming_acme_queue(props):
    acme_queue = SEEN["dev-acme-queues-queue"].arn
    document = acme_queue.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [arn]}]}))
    return {**props, "policy": document}


# variant -> (resource name, change to its props)
MUTATIONS = {
    # B's (initech's) queue encrypted with A's (acme's) key
    "one-key-per-tenant": ("dev-initech-queues-queue", lambda p: {**p, "kms_master_key_id": SEEN["dev-acme-key-cmk"].arn}),
    # B's (initech's) role policy naming A's (acme's) queue
    "iam-tenant-scope": ("dev-initech-identity-access", _initech_policy_naming_acme_queue),
}


def _mutate(args: pulumi.ResourceTransformationArgs):
    SEEN[args.name] = args.resource
    target = MUTATIONS.get(VARIANT)
    if target and args.name == target[0]:
        return pulumi.ResourceTransformationResult(props=target[1](dict(args.props)), opts=args.opts)
    if VARIANT == "stateful-resources-protected" and args.name == "dev-acme-db-instance":
        return pulumi.ResourceTransformationResult(
            props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=False)))
    return None


pulumi.runtime.register_stack_transformation(_mutate)
deployment = build(read_inputs(PROJECT))
acme, initech = deployment.tenants["acme"], deployment.tenants["initech"]

# Additions: a resource placed next to the real ones.
if VARIANT == "no-cross-tenant-references":  # A's app group admitted into B's database group
    aws.vpc.SecurityGroupIngressRule("break-cross-tenant", security_group_id=initech.database.security_group_id,
                                     referenced_security_group_id=acme.placement.app_security_group_id,
                                     ip_protocol="tcp", from_port=5432, to_port=5432,
                                     opts=pulumi.ResourceOptions(parent=initech))
if VARIANT == "tenant-cidrs-no-overlap":  # a second isolated tenant whose VPC overlaps acme's
    acme_spec = acme.effective
    hooli = dataclasses.replace(acme_spec, tenant=acme_spec.tenant.model_copy(update={"id": "hooli"}))
    Tenant(hooli, deployment.context, deployment.platform_refs)

for name, value in deployment.outputs.items():
    pulumi.export(name, value)
