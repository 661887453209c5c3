"""The `tenant-isolation` policy: the access graph's one invariant, on in-memory stacks.

A corpus of bypass programs, one or more per mechanism the graph models, each written as an
attacker (or a careless teammate) would, and each with a compliant twin that must pass: the twin
differs from the attack in the one thing that makes it safe. Then the known bypasses of the shape
rules (test_stack_rules.py) that the graph now catches, the declared platform paths, preview, and
the graph's IAM, network and cache semantics one by one.
"""

from __future__ import annotations

import json

import pytest
from pulumi_policy.proxy import UnknownValueError

from tenancy_policies.graph import actions, cache, documents, paths
from tenancy_policies.graph.analysis import graph
from tenancy_policies.graph.model import UNKNOWN as MODEL_UNKNOWN
from tenancy_policies.graph.model import Resource
from tenancy_policies.isolation import resource

from . import test_stack_rules as shape
from .breaks import Cases, Names, corpus_tests
from .resources import UNKNOWN, Stack, policies, violations
from .world import (
    ACCOUNT,
    INGRESS,
    KEY,
    MANAGED_POLICY,
    PLATFORM_TAGS,
    QUEUE_POLICY,
    ROLE,
    ROLE_POLICY,
    SG,
    SG_RULE,
    arn,
    compliant,
    hex_id,
    tags,
)
from .world import namespace as world_namespace

POLICY = "tenant-isolation"
CASES = Cases()
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
GRANT = "aws:kms/grant:Grant"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
BUCKET = "aws:s3/bucketV2:BucketV2"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
CACHE_USER = "aws:elasticache/user:User"
CACHE_GROUP = "aws:elasticache/userGroup:UserGroup"
ASSOCIATION = "aws:elasticache/userGroupAssociation:UserGroupAssociation"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
TGW_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
SG_POLICY = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NAMESPACE = "kubernetes:core/v1:Namespace"
TENANT_ACCESS = "on ~{t}:* &{t}:* +@all -@admin -@dangerous -scan -randomkey -pubsub"
INITECH_ROLE, ACME_ROLE = "dev-initech-identity-role", "dev-acme-identity-role"


def prop(s: Stack, name: str, key: str):
    return s[name].props[key]


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def role_policy(s: Stack, name: str, role: str, *statements: dict, parent="dev-initech") -> str:
    s.add(ROLE_POLICY, name, {"role": prop(s, role, "name"), "policy": doc(*statements)}, parent=parent,
          prop_deps={"role": [role]})
    return name


def ingress(s: Stack, name: str, parent, target: str, **props) -> str:
    s.add(INGRESS, name, {"securityGroupId": prop(s, target, "id"), "ipProtocol": "tcp", "fromPort": 5432,
                          "toPort": 5432, **props}, parent=parent, prop_deps={"securityGroupId": [target]})
    return name


def reaches(urn: str, *fragments: str) -> list[Names]:
    return [Names(urn, fragments)]


# == IAM identity policies ============================================================================
@CASES.fails(POLICY)
def role_policy_naming_another_tenants_key(s):
    role_policy(s, "attack", INITECH_ROLE, allow("kms:Decrypt", prop(s, "dev-acme-key-cmk", "arn")))
    return reaches(s.urn("attack"), "role dev-initech-identity-role (tenant initech) can decrypt dev-acme-key-cmk",
                   "of tenant acme via inline policy attack: Allow kms:Decrypt")


@CASES.passes(POLICY)
def role_policy_naming_its_own_key(s):
    role_policy(s, "twin", INITECH_ROLE, allow("kms:Decrypt", prop(s, "dev-initech-key-cmk", "arn")))


# -- IAM users and groups: principals as much as roles --------------------------------------------------
USER, USER_POLICY = "aws:iam/user:User", "aws:iam/userPolicy:UserPolicy"
GROUP, GROUP_POLICY = "aws:iam/group:Group", "aws:iam/groupPolicy:GroupPolicy"
GROUP_MEMBERSHIP = "aws:iam/groupMembership:GroupMembership"
USER_ATTACHMENT, POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment"


def iam_user(s: Stack, name: str, tenant: str) -> str:
    s.add(USER, name, {"name": name, "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "id": name},
          parent=f"dev-{tenant}")
    return name


def iam_group(s: Stack, name: str, tenant: str, *statements: dict) -> str:
    s.add(GROUP, name, {"name": name, "arn": f"arn:aws:iam::{ACCOUNT}:group/{name}", "id": name},
          parent=f"dev-{tenant}")
    if statements:
        s.add(GROUP_POLICY, f"{name}-policy", {"group": name, "policy": doc(*statements)}, parent=f"dev-{tenant}",
              prop_deps={"group": [name]})
    return name


def initech_user_reading(s: Stack, name: str, queue_owner: str) -> str:
    """initech's IAM user with an inline policy that reads `queue_owner`'s queue."""
    iam_user(s, "dev-initech-ops", "initech")
    s.add(USER_POLICY, name, {"user": "dev-initech-ops", "policy": doc(
        allow("sqs:ReceiveMessage", prop(s, f"dev-{queue_owner}-queues-queue", "arn")))}, parent="dev-initech",
          prop_deps={"user": ["dev-initech-ops"]})
    return name


@CASES.fails(POLICY)
def a_tenants_iam_user_reading_another_tenants_queue(s):
    return reaches(s.urn(initech_user_reading(s, "attack", "acme")),
                   "user dev-initech-ops (tenant initech) can read dev-acme-queues-queue")


@CASES.passes(POLICY)
def a_tenants_iam_user_reading_its_own_queue(s):
    initech_user_reading(s, "twin", "initech")


@CASES.fails(POLICY)
def a_tenants_group_decrypting_another_tenants_key(s):
    iam_group(s, "dev-initech-admins", "initech", allow("kms:Decrypt", prop(s, "dev-acme-key-cmk", "arn")))
    return reaches(s.urn("dev-initech-admins-policy"), "group dev-initech-admins (tenant initech) can decrypt "
                   "dev-acme-key-cmk")


def initech_ops_in_group(s: Stack, name: str, group_owner: str) -> str:
    """`group_owner`'s group, which may decrypt its owner's key, with initech's user put in it by `name`."""
    group = iam_group(s, f"dev-{group_owner}-admins", group_owner,
                      allow("kms:Decrypt", prop(s, f"dev-{group_owner}-key-cmk", "arn")))
    iam_user(s, "dev-initech-ops", "initech")
    s.add(GROUP_MEMBERSHIP, name, {"group": group, "users": ["dev-initech-ops"]},
          parent="dev-initech", prop_deps={"group": [group], "users": ["dev-initech-ops"]})
    return name


@CASES.passes(POLICY)
def a_tenants_group_with_its_own_member_and_key(s):
    initech_ops_in_group(s, "dev-initech-admins-members", "initech")


@CASES.fails(POLICY)
def a_tenants_user_put_in_another_tenants_group(s):
    """acme's group may read acme's own key; initech's user added to it acts with it."""
    initech_ops_in_group(s, "attack", "acme")
    return reaches(s.urn("attack"), "user dev-initech-ops (tenant initech) can assume group dev-acme-admins")


@CASES.fails(POLICY)
def a_broad_managed_policy_attached_to_a_tenants_user(s):
    iam_user(s, "dev-initech-ops", "initech")
    s.add(USER_ATTACHMENT, "attack", {"user": "dev-initech-ops", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
          parent="dev-initech", prop_deps={"user": ["dev-initech-ops"]})
    return reaches(s.urn("attack"), "user dev-initech-ops (tenant initech) can read", "of tenant acme")


@CASES.fails(POLICY)
def an_exclusive_attachment_of_another_tenants_policy_to_a_user(s):
    """aws:iam/PolicyAttachment lists roles, users and groups at once."""
    iam_user(s, "dev-initech-ops", "initech")
    s.add("aws:iam/policy:Policy", "dev-acme-reader", {"name": "dev-acme-reader", "arn": f"arn:aws:iam::{ACCOUNT}:policy/dev-acme-reader",
                                                       "policy": doc(allow("sqs:*", prop(s, "dev-acme-queues-queue", "arn")))},
          parent="dev-acme")
    s.add(POLICY_ATTACHMENT, "attack", {"policyArn": prop(s, "dev-acme-reader", "arn"), "users": ["dev-initech-ops"]},
          parent=s.root, prop_deps={"policyArn": ["dev-acme-reader"], "users": ["dev-initech-ops"]})
    return reaches(s.urn("attack"), "user dev-initech-ops (tenant initech) can", "dev-acme-queues-queue")


@CASES.fails(POLICY)
def top_level_role_policy_on_another_tenants_role(s):
    """Created outside any tenant (untagged, at the stack's root), attached to initech's role."""
    role_policy(s, "attack", INITECH_ROLE, allow(["kms:Decrypt"], [prop(s, "dev-acme-key-cmk", "arn")]),
                allow("secretsmanager:GetSecretValue", prop(s, "dev-acme-db-master-secret", "arn")), parent=s.root)
    return [Names(s.urn("attack"), ("(tenant initech) can decrypt dev-acme-key-cmk of tenant acme",)),
            Names(s.urn("attack"), ("(tenant initech) can read dev-acme-db-master-secret of tenant acme",))]


@CASES.passes(POLICY)
def top_level_role_policy_naming_the_roles_own_resources(s):
    role_policy(s, "twin", INITECH_ROLE, allow("secretsmanager:GetSecretValue",
                                               prop(s, "dev-initech-db-master-secret", "arn")), parent=s.root)


@CASES.fails(POLICY)
def inline_policies_of_the_role_itself(s):
    s[INITECH_ROLE].props["inlinePolicies"] = [{"name": "extra", "policy": doc(
        allow("sqs:SendMessage", prop(s, "dev-acme-queues-queue", "arn")))}]
    return reaches(s.urn(INITECH_ROLE), "can write dev-acme-queues-queue", "inline policy extra of "
                   "dev-initech-identity-role")


@CASES.passes(POLICY)
def inline_policies_of_the_role_on_its_own_queue(s):
    s[INITECH_ROLE].props["inlinePolicies"] = [{"name": "extra", "policy": doc(
        allow("sqs:SendMessage", prop(s, "dev-initech-queues-queue", "arn")))}]


@CASES.fails(POLICY)
def administrator_access_attached_to_a_tenant_role(s):
    s.add(ATTACHMENT, "attack", {"role": prop(s, INITECH_ROLE, "name"),
                                 "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
          parent="dev-initech", prop_deps={"role": [INITECH_ROLE]})
    return reaches(s.urn("attack"), "role dev-initech-identity-role (tenant initech) can ", "decrypt dev-acme-key-cmk",
                   "of tenant acme via AWS-managed policy AdministratorAccess (attached by attack; broad): Allow * on *")


@CASES.fails(POLICY)
def an_aws_managed_policy_the_graph_does_not_know_is_broad(s):
    s.add(ATTACHMENT, "attack", {"role": prop(s, INITECH_ROLE, "name"),
                                 "policyArn": "arn:aws:iam::aws:policy/AmazonSQSFullAccess"},
          parent="dev-initech", prop_deps={"role": [INITECH_ROLE]})
    return reaches(s.urn("attack"), "of tenant acme via AWS-managed policy AmazonSQSFullAccess (attached by attack; "
                   "broad)")


@CASES.passes(POLICY)
def a_known_narrow_aws_managed_policy(s):
    s.add(ATTACHMENT, "twin", {"role": prop(s, INITECH_ROLE, "name"), "policyArn":
                               "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"},
          parent="dev-initech", prop_deps={"role": [INITECH_ROLE]})


def _managed_policy(s, tenant_tags, secret: str) -> None:
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/extra"
    s.add(MANAGED_POLICY, "extra-policy", {"arn": policy_arn, "id": policy_arn, "tags": tenant_tags,
                                           "policy": doc(allow("secretsmanager:GetSecretValue", prop(s, secret, "arn")))},
          parent=s.root)
    s.add(ATTACHMENT, "extra-attachment", {"role": prop(s, INITECH_ROLE, "name"), "policyArn": policy_arn},
          parent="dev-initech", prop_deps={"role": [INITECH_ROLE], "policyArn": ["extra-policy"]})


@CASES.fails(POLICY)
def customer_managed_policy_spoof_tagged_as_the_victim(s):
    _managed_policy(s, tags("acme", "enterprise", "isolated"), "dev-acme-db-master-secret")
    return [Names(s.urn("extra-attachment"), ("dev-initech-identity-role", "read dev-acme-db-master-secret",
                                              "managed policy extra-policy")),
            Names(s.urn("extra-policy"), ("extra-policy is claimed by tenant acme (its tenant-id tag)",
                                          "tenant initech (it is attached to dev-initech-identity-role)"))]


@CASES.fails(POLICY)
def customer_managed_policy_listed_by_another_tenants_role(s):
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/acme-extra"
    s.add(MANAGED_POLICY, "acme-extra", {"arn": policy_arn, "id": policy_arn, "tags": tags("acme", "enterprise", "isolated"),
                                         "policy": doc(allow("sqs:*", prop(s, "dev-acme-queues-queue", "arn")))},
          parent="dev-acme")
    s[INITECH_ROLE].props["managedPolicyArns"] = [policy_arn]
    return [Names(s.urn(INITECH_ROLE), ("role dev-initech-identity-role (tenant initech) can ",
                                        "dev-acme-queues-queue of tenant acme via managed policy acme-extra")),
            Names(s.urn("acme-extra"), ("tenant initech (it is attached to dev-initech-identity-role)",))]


@CASES.passes(POLICY)
def customer_managed_policy_of_the_roles_tenant(s):
    _managed_policy(s, tags("initech", "enterprise", "dedicated"), "dev-initech-db-master-secret")


@CASES.fails(POLICY)
def resource_wildcard_inside_the_arn(s):
    role_policy(s, "attack", INITECH_ROLE, allow("kms:Decrypt", "arn:aws:kms:*:*:key/*"))
    return reaches(s.urn("attack"), "decrypt dev-acme-key-cmk", "Allow kms:Decrypt on arn:aws:kms:*:*:key/*")


@CASES.passes(POLICY)
def resource_wildcard_that_stays_inside_the_own_key(s):
    key_id = prop(s, "dev-initech-key-cmk", "keyId")
    role_policy(s, "twin", INITECH_ROLE, allow("kms:Decrypt", f"arn:aws:kms:*:*:key/{key_id[:8]}*"))


@CASES.fails(POLICY)
def action_wildcard_on_every_secret(s):
    role_policy(s, "attack", INITECH_ROLE, allow("secretsmanager:Get*", arn("secretsmanager", "secret:*")))
    return reaches(s.urn("attack"), "read dev-acme-db-master-secret", "secretsmanager:Get*")


@CASES.passes(POLICY)
def action_wildcard_on_the_own_secret(s):
    role_policy(s, "twin", INITECH_ROLE, allow("secretsmanager:Get*", prop(s, "dev-initech-db-master-secret", "arn")))


@CASES.fails(POLICY)
def not_resource_grants_everything_but_the_own_queue(s):
    role_policy(s, "attack", INITECH_ROLE, {"Effect": "Allow", "Action": "sqs:*",
                                           "NotResource": prop(s, "dev-initech-queues-queue", "arn")})
    return reaches(s.urn("attack"), "dev-acme-queues-queue", "NotResource")


@CASES.passes(POLICY)
def a_deny_with_not_resource_takes_back_every_other_queue(s):
    role_policy(s, "twin", INITECH_ROLE, allow("sqs:*", "*"),
                {"Effect": "Deny", "Action": "sqs:*", "NotResource": [prop(s, "dev-initech-queues-queue", "arn"),
                                                                     prop(s, "dev-initech-queues-dlq", "arn")]})


@CASES.fails(POLICY)
def not_action_on_everything(s):
    role_policy(s, "attack", INITECH_ROLE, {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    return reaches(s.urn("attack"), "decrypt dev-acme-key-cmk", "of tenant acme via inline policy attack: Allow "
                   "NotAction iam:* on *")


@CASES.passes(POLICY)
def not_action_on_the_own_resources_only(s):
    role_policy(s, "twin", INITECH_ROLE, {"Effect": "Allow", "NotAction": "iam:*",
                                         "Resource": arn("sqs", "dev-initech-*")})


@CASES.passes(POLICY)
def an_explicit_deny_subtracts_what_an_allow_gives(s):
    role_policy(s, "twin", INITECH_ROLE, allow("kms:*", "*"),
                {"Effect": "Deny", "Action": "kms:*", "NotResource": prop(s, "dev-initech-key-cmk", "arn")})


@CASES.passes(POLICY)
def listing_and_non_data_actions_of_other_services_are_no_path(s):
    role_policy(s, "twin", INITECH_ROLE, allow(["sqs:ListQueues", "kms:ListKeys", "ec2:DescribeInstances"], "*"))


@CASES.fails(POLICY)
def writing_into_every_log_group(s):
    role_policy(s, "attack", INITECH_ROLE, allow(["logs:CreateLogStream", "logs:PutLogEvents"], "*"))
    return reaches(s.urn("attack"), "can write dev-acme-monitoring-logs")


@CASES.passes(POLICY)
def writing_into_the_own_log_group(s):
    role_policy(s, "twin", INITECH_ROLE, allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                                               prop(s, "dev-initech-monitoring-logs", "arn") + ":*"))


# == resource policies ==================================================================================
def _key_policy(s, *statements) -> None:
    document = json.loads(prop(s, "dev-acme-key-cmk", "policy"))
    document["Statement"].extend(statements)
    s["dev-acme-key-cmk"].props["policy"] = json.dumps(document)


@CASES.fails(POLICY)
def key_policy_letting_another_tenants_role_decrypt(s):
    _key_policy(s, {"Effect": "Allow", "Principal": {"AWS": prop(s, INITECH_ROLE, "arn")}, "Action": "kms:Decrypt",
                    "Resource": "*"})
    return reaches(s.urn("dev-acme-key-cmk"), "role dev-initech-identity-role (tenant initech) can decrypt "
                   "dev-acme-key-cmk of tenant acme via key policy of dev-acme-key-cmk: Allow kms:Decrypt")


@CASES.passes(POLICY)
def key_policy_letting_its_own_role_decrypt(s):
    _key_policy(s, {"Effect": "Allow", "Principal": {"AWS": prop(s, ACME_ROLE, "arn")}, "Action": "kms:Decrypt",
                    "Resource": "*"})


@CASES.fails(POLICY)
def key_policy_open_to_anyone_in_the_account(s):
    _key_policy(s, {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}})
    return reaches(s.urn("dev-acme-key-cmk"), "anyone in the account (Principal *) (anyone in the account) can decrypt "
                   "dev-acme-key-cmk")


@CASES.passes(POLICY)
def key_policy_open_to_one_principal_through_a_condition(s):
    _key_policy(s, {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                    "Condition": {"ArnEquals": {"aws:PrincipalArn": prop(s, ACME_ROLE, "arn")}}})


def _grant(s, grantee: str) -> None:
    s.add(GRANT, "key-grant", {"keyId": prop(s, "dev-acme-key-cmk", "id"), "granteePrincipal": prop(s, grantee, "arn"),
                               "operations": ["Decrypt", "GenerateDataKey"]}, parent=s.root,
          prop_deps={"keyId": ["dev-acme-key-cmk"], "granteePrincipal": [grantee]})


@CASES.fails(POLICY)
def grant_on_a_tenants_key_to_another_tenants_role(s):
    _grant(s, INITECH_ROLE)
    return reaches(s.urn("key-grant"), "role dev-initech-identity-role (tenant initech) can write, decrypt "
                   "dev-acme-key-cmk of tenant acme via grant key-grant (Decrypt, GenerateDataKey)")


@CASES.passes(POLICY)
def grant_on_a_tenants_key_to_its_own_role(s):
    _grant(s, ACME_ROLE)


def _queue_policy(s, principal, **extra) -> None:
    s.add(QUEUE_POLICY, "queue-policy", {"queueUrl": prop(s, "dev-acme-queues-queue", "url"), "policy": doc(
        {"Effect": "Allow", "Principal": principal, "Action": "sqs:SendMessage",
         "Resource": prop(s, "dev-acme-queues-queue", "arn"), **extra})},
        parent="dev-acme", prop_deps={"queueUrl": ["dev-acme-queues-queue"]})


@CASES.fails(POLICY)
def queue_policy_open_to_everyone(s):
    _queue_policy(s, "*")
    return reaches(s.urn("queue-policy"), "anyone (Principal *) (anyone) can write dev-acme-queues-queue")


@CASES.fails(POLICY)
def queue_policy_open_to_anyone_in_the_account(s):
    _queue_policy(s, {"AWS": "*"}, Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    return reaches(s.urn("queue-policy"), "anyone in the account", "dev-acme-queues-queue")


@CASES.passes(POLICY)
def queue_policy_for_the_tenants_own_role_and_the_account_root(s):
    _queue_policy(s, {"AWS": [prop(s, ACME_ROLE, "arn"), f"arn:aws:iam::{ACCOUNT}:root"]})


def _topic_policy(s, **extra) -> None:
    topic = prop(s, "dev-acme-monitoring-alarms", "arn")
    s.add(TOPIC_POLICY, "topic-policy", {"arn": topic, "policy": doc(
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
         "Resource": topic, **extra})}, parent="dev-acme", prop_deps={"arn": ["dev-acme-monitoring-alarms"]})


@CASES.fails(POLICY)
def topic_policy_lets_a_service_publish_for_any_account(s):
    _topic_policy(s)
    return reaches(s.urn("topic-policy"), "events.amazonaws.com for any account (anyone) can write "
                   "dev-acme-monitoring-alarms")


@CASES.passes(POLICY)
def topic_policy_lets_a_service_publish_for_this_account(s):
    _topic_policy(s, Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})


@CASES.fails(POLICY)
def topic_policy_lets_a_service_publish_for_another_tenants_resource(s):
    s.add("aws:cloudwatch/eventRule:EventRule", "dev-initech-rule", {
        "arn": arn("events", "rule/dev-initech-rule"), "tags": tags("initech", "enterprise", "dedicated")},
        parent="dev-initech")
    _topic_policy(s, Condition={"ArnEquals": {"aws:SourceArn": arn("events", "rule/dev-initech-rule")}})
    return reaches(s.urn("topic-policy"), "events.amazonaws.com for dev-initech-rule (tenant initech) can write "
                   "dev-acme-monitoring-alarms")


def _secret_policy(s, role: str) -> None:
    s.add(SECRET_POLICY, "secret-policy", {"secretArn": prop(s, "dev-acme-db-master-secret", "arn"), "policy": doc(
        {"Effect": "Allow", "Principal": {"AWS": prop(s, role, "arn")}, "Action": "secretsmanager:GetSecretValue",
         "Resource": "*"})}, parent="dev-acme", prop_deps={"secretArn": ["dev-acme-db-master-secret"]})


@CASES.fails(POLICY)
def secret_policy_for_another_tenants_role(s):
    _secret_policy(s, INITECH_ROLE)
    return reaches(s.urn("secret-policy"), "role dev-initech-identity-role", "read dev-acme-db-master-secret")


@CASES.passes(POLICY)
def secret_policy_for_the_tenants_own_role(s):
    _secret_policy(s, ACME_ROLE)


def _bucket(s, principal, **extra) -> None:
    s.add(BUCKET, "dev-acme-bucket", {"bucket": "dev-acme-bucket-1234567", "id": "dev-acme-bucket-1234567",
                                      "arn": "arn:aws:s3:::dev-acme-bucket-1234567",
                                      "tags": tags("acme", "enterprise", "isolated")}, parent="dev-acme")
    s.add(BUCKET_POLICY, "bucket-policy", {"bucket": "dev-acme-bucket-1234567", "policy": doc(
        {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::dev-acme-bucket-1234567/*", **extra})},
        parent="dev-acme", prop_deps={"bucket": ["dev-acme-bucket"]})


@CASES.fails(POLICY)
def bucket_policy_open_to_anyone_in_the_account(s):
    _bucket(s, "*", Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})
    return reaches(s.urn("bucket-policy"), "anyone in the account", "read dev-acme-bucket")


@CASES.passes(POLICY)
def bucket_policy_for_the_tenants_own_role(s):
    _bucket(s, {"AWS": prop(s, ACME_ROLE, "arn")})


# == trust policies ===========================================================================================
def _trust(s, *statements) -> None:
    s[ACME_ROLE].props["assumeRolePolicy"] = doc(*statements)


@CASES.fails(POLICY)
def role_trusting_another_tenants_role(s):
    _trust(s, {"Effect": "Allow", "Principal": {"AWS": prop(s, INITECH_ROLE, "arn")}, "Action": "sts:AssumeRole"})
    return reaches(s.urn(ACME_ROLE), "role dev-initech-identity-role (tenant initech) can assume role "
                   "dev-acme-identity-role of tenant acme via trust policy of dev-acme-identity-role")


@CASES.fails(POLICY)
def role_trusting_every_service_account_of_the_pool_namespace(s):
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
    _trust(s, {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"},
               "Action": "sts:AssumeRoleWithWebIdentity",
               "Condition": {"StringLike": {f"{issuer}:sub": "system:serviceaccount:tenant-pool:*"}}})
    return reaches(s.urn(ACME_ROLE), "service account tenant-pool:* (the platform (pool)) can assume role "
                   "dev-acme-identity-role")


@CASES.passes(POLICY)
def role_trusting_its_own_service_account_and_a_scoped_service(s):
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
    _trust(s, {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"},
               "Action": "sts:AssumeRoleWithWebIdentity",
               "Condition": {"StringEquals": {f"{issuer}:sub": "system:serviceaccount:tenant-acme:tenant-acme"}}},
           {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})


# == security groups ===========================================================================================
@CASES.fails(POLICY)
def untagged_standalone_rule_admits_another_tenants_app_group(s):
    s.add(INGRESS, "attack", {"securityGroupId": prop(s, "dev-initech-db-sg", "id"), "ipProtocol": "tcp",
                              "fromPort": 5432, "toPort": 5432,
                              "referencedSecurityGroupId": prop(s, "dev-acme-app-sg", "id")}, parent=s.root)
    return reaches(s.urn("attack"), "members of dev-acme-app-sg (tenant acme) can reach dev-initech-db-instance "
                   "(through dev-initech-db-sg) of tenant initech via ingress rule attack (tcp port 5432 from "
                   "dev-acme-app-sg)")


@CASES.passes(POLICY)
def untagged_standalone_rule_admits_the_tenants_own_app_group(s):
    s.add(INGRESS, "twin", {"securityGroupId": prop(s, "dev-initech-db-sg", "id"), "ipProtocol": "tcp",
                            "fromPort": 5432, "toPort": 5432,
                            "referencedSecurityGroupId": prop(s, "dev-initech-app-sg", "id")}, parent=s.root)


@CASES.fails(POLICY)
def the_internet_in_two_halves_on_every_port(s):
    ingress(s, "half-0", "dev-acme", "dev-acme-app-sg", cidrIpv4="0.0.0.0/1", ipProtocol="-1")
    ingress(s, "half-1", "dev-acme", "dev-acme-app-sg", cidrIpv4="128.0.0.0/1", ipProtocol="-1")
    return [Names(s.urn("half-0"), ("0.0.0.0/1 (the internet) (anyone) can reach dev-acme-app-sg",
                                    "every port (all traffic) from 0.0.0.0/1")),
            Names(s.urn("half-1"), ("128.0.0.0/1 (the internet)",))]


@CASES.passes(POLICY)
def the_tenants_own_subnet_on_every_port(s):
    ingress(s, "twin", "dev-acme", "dev-acme-app-sg", cidrIpv4=prop(s, "dev-acme-network-app-0", "cidrBlock"),
            ipProtocol="-1")


def _prefix_list(s, *cidrs) -> str:
    s.add(PREFIX_LIST, "dev-initech-prefixes", {"id": "pl-0initech000000001", "name": "initech",
                                                "entries": [{"cidr": c} for c in cidrs], "addressFamily": "IPv4",
                                                "maxEntries": 5}, parent="dev-initech")
    s.add(SG_RULE, "prefix-rule", {"type": "ingress", "securityGroupId": prop(s, "dev-initech-db-sg", "id"),
                                   "protocol": "tcp", "fromPort": 5432, "toPort": 5432,
                                   "prefixListIds": ["pl-0initech000000001"]},
          parent="dev-initech", prop_deps={"securityGroupId": ["dev-initech-db-sg"]})
    return "prefix-rule"


@CASES.fails(POLICY)
def a_prefix_list_holding_the_internet(s):
    _prefix_list(s, "10.0.64.0/24", "0.0.0.0/0")
    return reaches(s.urn("prefix-rule"), "0.0.0.0/0 (the internet) (anyone) can reach dev-initech-db-instance",
                   "from prefix list pl-0initech000000001 (0.0.0.0/0)")


@CASES.passes(POLICY)
def a_prefix_list_of_the_tenants_own_subnets(s):
    _prefix_list(s, "10.0.64.0/24")


@CASES.fails(POLICY)
def a_prefix_list_outside_the_program(s):
    s.add(SG_RULE, "prefix-rule", {"type": "ingress", "securityGroupId": prop(s, "dev-initech-db-sg", "id"),
                                   "protocol": "tcp", "fromPort": 5432, "toPort": 5432,
                                   "prefixListIds": ["pl-0123456789abcdef0"]},
          parent="dev-initech", prop_deps={"securityGroupId": ["dev-initech-db-sg"]})
    return reaches(s.urn("prefix-rule"), "prefix list pl-0123456789abcdef0 (outside this program) (an unknown owner)")


@CASES.fails(POLICY)
def all_traffic_from_the_pooled_subnet_through_a_legacy_rule(s):
    s.add(SG_RULE, "attack", {"type": "ingress", "securityGroupId": prop(s, "dev-initech-db-sg", "id"),
                              "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["10.0.0.0/24"]},
          parent="dev-initech", prop_deps={"securityGroupId": ["dev-initech-db-sg"]})
    return reaches(s.urn("attack"), "10.0.0.0/24 (dev-platform-network-app-0) (the platform (pool)) can reach "
                   "dev-initech-db-instance", "every port")


@CASES.fails(POLICY)
def a_private_block_beyond_every_network_of_the_program(s):
    ingress(s, "attack", "dev-initech", "dev-initech-db-sg", cidrIpv4="172.16.0.0/12")
    return reaches(s.urn("attack"), "172.16.0.0/12 (addresses outside this program's networks) (an unknown owner)")


@CASES.fails(POLICY)
def inline_rule_admitting_a_group_outside_the_program(s):
    s["dev-initech-db-sg"].props["ingress"] = [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432,
                                                "securityGroups": ["sg-0fedcba9876543210"]}]
    return reaches(s.urn("dev-initech-db-sg"), "members of sg-0fedcba9876543210 (a group outside this program)")


@CASES.passes(POLICY)
def inline_rule_admitting_its_own_group(s):
    s["dev-initech-db-sg"].props["ingress"] = [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "self": True,
                                                "securityGroups": [prop(s, "dev-initech-app-sg", "id")]}]


# == network joins: peering and transit gateways ==========================================================
@CASES.fails(POLICY)
def peering_the_shared_vpc_with_a_vpc_outside_the_program(s):
    s.add(PEERING, "attack", {"vpcId": prop(s, "dev-platform-network-vpc", "id"), "peerVpcId": "vpc-0fedcba987654321",
                              "peerOwnerId": "210987654321"},
          parent=s.root, prop_deps={"vpcId": ["dev-platform-network-vpc"]})
    return reaches(s.urn("attack"), "VPC vpc-0fedcba987654321 (outside this program) (an unknown owner) can reach "
                   "dev-initech-network-app-0 (in dev-platform-network-vpc)", "of tenant initech via peering attack")


@CASES.fails(POLICY, tenants=(("hooli", "enterprise", "isolated"),))
def two_isolated_tenants_on_one_transit_gateway(s):
    for t in ("acme", "hooli"):
        s.add(TGW_ATTACHMENT, f"attach-{t}", {"transitGatewayId": "tgw-0123456789abcdef0",
                                              "vpcId": prop(s, f"dev-{t}-network-vpc", "id")},
              parent=f"dev-{t}", prop_deps={"vpcId": [f"dev-{t}-network-vpc"]})
    return reaches(s.urn("attach-hooli"), "VPC dev-acme-network-vpc (tenant acme) can reach VPC dev-hooli-network-vpc",
                   "via transit gateway tgw-0123456789abcdef0 (attachment attach-hooli)")


@CASES.passes(POLICY, tenants=(("hooli", "enterprise", "isolated"),))
def one_isolated_tenant_alone_on_its_own_transit_gateway(s):
    s.add("aws:ec2transitgateway/transitGateway:TransitGateway", "dev-acme-tgw",
          {"id": "tgw-0acme000000000000", "tags": tags("acme", "enterprise", "isolated")}, parent="dev-acme")
    s.add(TGW_ATTACHMENT, "dev-acme-tgw-attachment", {"transitGatewayId": "tgw-0acme000000000000",
                                                      "vpcId": prop(s, "dev-acme-network-vpc", "id")},
          parent="dev-acme", prop_deps={"vpcId": ["dev-acme-network-vpc"]})


# == ElastiCache users and user groups ===========================================================================
def pooled_cache(s: Stack) -> None:
    """The platform's pooled cache, its user group, and northwind (a pooled tenant) in it."""
    p = "dev-platform"
    s.add(CACHE_USER, "dev-platform-pool-cache-default-user", {
        "userId": "dev-pool-default", "userName": "default", "accessString": "off -@all",
        "arn": arn("elasticache", "user:dev-pool-default"), "tags": {"tenancy-scope": "platform"}}, parent=p)
    s.add(CACHE_GROUP, "dev-platform-pool-cache-users", {
        "userGroupId": "dev-pool", "id": "dev-pool", "userIds": ["dev-pool-default"],
        "arn": arn("elasticache", "usergroup:dev-pool"), "tags": {"tenancy-scope": "platform"}}, parent=p)
    s.add(CACHE, "dev-platform-pool-cache-rg", {
        "replicationGroupId": "dev-pool", "id": "dev-pool", "arn": arn("elasticache", "replicationgroup:dev-pool"),
        "userGroupIds": ["dev-pool"], "tags": {"tenancy-scope": "platform"}}, parent=p)
    cache_user(s, "northwind", TENANT_ACCESS.format(t="northwind"), "dev-pool")


def cache_user(s: Stack, tenant_id: str, access: str, group: str, parent=None) -> str:
    name = f"dev-{tenant_id}-cache-user-user"
    s.add(CACHE_USER, name, {"userId": f"dev-{tenant_id}", "userName": f"dev-{tenant_id}", "accessString": access,
                             "arn": arn("elasticache", f"user:dev-{tenant_id}"),
                             **({"tags": tags(tenant_id, "professional", "shared")} if tenant_id != "rogue" else {})},
          parent=parent if parent is not None else f"dev-{tenant_id}")
    s.add(ASSOCIATION, f"dev-{tenant_id}-cache-user-membership", {"userGroupId": group, "userId": f"dev-{tenant_id}"},
          parent=parent if parent is not None else f"dev-{tenant_id}", prop_deps={"userId": [name]})
    return name


@CASES.fails(POLICY)
def an_all_keys_user_joins_the_pools_user_group(s):
    pooled_cache(s)
    cache_user(s, "rogue", "on ~* &* +@all", "dev-pool", parent=s.root)
    return reaches(s.urn("dev-rogue-cache-user-user"), "cache user dev-rogue (an unknown owner) can read, write keys "
                   "northwind:* in dev-platform-pool-cache-rg of tenant northwind via access string 'on ~* &* +@all'")


@CASES.passes(POLICY)
def a_second_pooled_tenant_joins_with_its_own_prefix(s):
    pooled_cache(s)
    cache_user(s, "initech", TENANT_ACCESS.format(t="initech"), "dev-pool")


@CASES.fails(POLICY)
def a_pooled_tenants_user_with_another_tenants_prefix(s):
    pooled_cache(s)
    cache_user(s, "initech", TENANT_ACCESS.format(t="northwind"), "dev-pool")
    return reaches(s.urn("dev-initech-cache-user-user"), "cache user dev-initech (tenant initech) can read, write keys "
                   "northwind:*")


@CASES.fails(POLICY)
def a_user_limited_to_its_prefix_that_may_still_scan_every_key(s):
    pooled_cache(s)
    cache_user(s, "initech", "on ~initech:* &initech:* +@all -@admin -@dangerous", "dev-pool")
    return reaches(s.urn("dev-initech-cache-user-user"), "can read keys northwind:*")


@CASES.fails(POLICY)
def another_tenants_user_in_a_dedicated_caches_group(s):
    s.add(CACHE_GROUP, "dev-acme-cache-users", {"userGroupId": "dev-acme", "id": "dev-acme", "userIds": ["dev-acme"],
                                                "arn": arn("elasticache", "usergroup:dev-acme")}, parent="dev-acme")
    cache_user(s, "acme", TENANT_ACCESS.format(t="acme"), "dev-acme")
    cache_user(s, "initech", TENANT_ACCESS.format(t="initech"), "dev-acme")
    membership = s.urn("dev-initech-cache-user-membership")
    return [Names(membership, ("cache user dev-initech (tenant initech) can read, write dev-acme-cache-rg of tenant "
                               "acme via access string",)),
            Names(membership, ("dev-initech-cache-user-membership is claimed by", "tenant acme (it attaches to "
                               "dev-acme-cache-users)"))]


@CASES.passes(POLICY)
def a_dedicated_caches_group_with_its_own_users_and_the_platforms_disabled_one(s):
    s.add(CACHE_USER, "dev-platform-admin", {"userId": "dev-platform-admin", "accessString": "off ~* +@all",
                                             "tags": {"tenancy-scope": "platform"}}, parent="dev-platform")
    s.add(CACHE_GROUP, "dev-acme-cache-users", {"userGroupId": "dev-acme", "id": "dev-acme",
                                                "userIds": ["dev-acme", "dev-platform-admin"],
                                                "arn": arn("elasticache", "usergroup:dev-acme")}, parent="dev-acme")
    cache_user(s, "acme", TENANT_ACCESS.format(t="acme"), "dev-acme")


# == ownership ================================================================================================
@CASES.fails(POLICY)
def a_rule_created_by_one_tenant_on_another_tenants_group(s):
    ingress(s, "attack", "dev-acme", "dev-initech-db-sg", referencedSecurityGroupId=prop(s, "dev-initech-app-sg", "id"))
    return reaches(s.urn("attack"), "attack is claimed by tenant acme (it is created in tenant acme's component) and "
                   "tenant initech (it attaches to dev-initech-db-sg)")


@CASES.passes(POLICY)
def a_tenants_rule_on_the_platforms_pooled_group(s):
    ingress(s, "dev-platform-pool-db-from-northwind", "dev-northwind", "dev-platform-pool-db-sg",
            referencedSecurityGroupId=prop(s, "dev-platform-pool-app-sg", "id"))


# == declared platform paths ========================================================================================
@CASES.passes(POLICY)
def the_account_root_and_scoped_services_in_a_key_policy(s):
    _key_policy(s, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
                    "Resource": "*"},
                {"Effect": "Allow", "Principal": {"Service": "logs.eu-west-1.amazonaws.com"}, "Action": "kms:Decrypt*",
                 "Resource": "*", "Condition": {"ArnLike": {
                     "kms:EncryptionContext:aws:logs:arn": arn("logs", "log-group:/tenancy/dev/acme/*")}}},
                {"Effect": "Allow", "Principal": {"Service": "budgets.amazonaws.com"}, "Action": "kms:Decrypt",
                 "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})


def hybrid(s: Stack, admitted: str = "dev-platform-pool-app-sg") -> None:
    """A tenant in the shared network tier with a database of its own (northwind, made hybrid),
    its database group admitting one group: by default the pooled workloads' (design hole 1)."""
    s["dev-northwind"].props["tags"]["isolation"] = "shared"
    s.add(SG, "dev-northwind-db-sg", {"vpcId": prop(s, "dev-platform-network-vpc", "id"), "id": hex_id("sg", "nw"),
                                      "tags": tags("northwind", "professional", "shared")}, parent="dev-northwind")
    s.add("aws:rds/instance:Instance", "dev-northwind-db-instance", {
        "vpcSecurityGroupIds": [hex_id("sg", "nw")], "arn": arn("rds", "db:dev-northwind"),
        "tags": tags("northwind", "professional", "shared")}, parent="dev-northwind")
    ingress(s, "dev-northwind-db-from-0", "dev-northwind", "dev-northwind-db-sg",
            referencedSecurityGroupId=prop(s, admitted, "id"))


def hybrid_workloads(s: Stack, namespace: str = "tenant-northwind", group_name: str = "dev-northwind-app-sg") -> None:
    """The fix: the hybrid tenant's workloads run in its own namespace, in a security group of its
    own in the shared VPC that EKS attaches to its pods (SecurityGroupPolicy); its database admits
    that group only."""
    t = tags("northwind", "professional", "shared")
    if "dev-northwind-app-sg" not in s.specs:
        s.add(SG, "dev-northwind-app-sg", {"vpcId": prop(s, "dev-platform-network-vpc", "id"),
                                           "id": hex_id("sg", "nw-app"), "tags": t}, parent="dev-northwind",
              prop_deps={"vpcId": ["dev-platform-network-vpc"]})
    if "dev-northwind-namespace-ns" not in s.specs:
        world_namespace(s, "dev-northwind", "dev-northwind", "tenant-northwind", {"tenancy.io/tenant-id": "northwind"})
    s.add(SG_POLICY, f"sgp-{namespace}", {
        "metadata": {"name": "tenant-workloads", "namespace": namespace},
        "spec": {"podSelector": {}, "securityGroups": {"groupIds": [prop(s, group_name, "id")]}}},
        parent="dev-northwind", prop_deps={"spec": [group_name]})


@CASES.fails(POLICY)
def a_hybrid_tenants_own_database_admits_the_pooled_workloads(s):
    hybrid(s)
    return reaches(s.urn("dev-northwind-db-from-0"), "members of dev-platform-pool-app-sg (the platform (pool)) can "
                   "reach dev-northwind-db-instance (through dev-northwind-db-sg) of tenant northwind")


@CASES.passes(POLICY)
def a_hybrid_tenants_own_database_admits_its_own_workloads_group(s):
    hybrid_workloads(s)
    hybrid(s, admitted="dev-northwind-app-sg")


@CASES.fails(POLICY)
def the_pool_namespace_puts_its_pods_in_a_hybrid_tenants_group(s):
    hybrid_workloads(s)
    hybrid(s, admitted="dev-northwind-app-sg")
    s.remove("sgp-tenant-northwind")
    hybrid_workloads(s, namespace="tenant-pool")
    return reaches(s.urn("sgp-tenant-pool"), "pods of namespace tenant-pool (the platform (pool)) can reach "
                   "security group dev-northwind-app-sg of tenant northwind via security group policy sgp-tenant-pool")


@CASES.fails(POLICY)
def a_tenants_namespace_puts_its_pods_in_another_tenants_group(s):
    s.add(SG_POLICY, "attack", {
        "metadata": {"name": "join", "namespace": "tenant-acme"},
        "spec": {"podSelector": {}, "securityGroups": {"groupIds": [prop(s, "dev-initech-app-sg", "id")]}}},
        parent="dev-acme")
    return reaches(s.urn("attack"), "pods of namespace tenant-acme (tenant acme) can reach security group "
                   "dev-initech-app-sg of tenant initech")


@CASES.fails(POLICY)
def a_dedicated_tenants_group_claiming_the_shared_tier_to_admit_the_pool(s):
    s["dev-initech-db-sg"].props["tags"]["isolation"] = "shared"
    ingress(s, "attack", "dev-initech", "dev-initech-db-sg",
            referencedSecurityGroupId=prop(s, "dev-platform-pool-app-sg", "id"))
    return reaches(s.urn("attack"), "members of dev-platform-pool-app-sg (the platform (pool)) can reach "
                   "dev-initech-db-instance")


# == pooled workloads' identity (design hole 2) ================================================================
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
POOL_ROLE = "dev-platform-pool-identity-role"


def pool_identity(s: Stack, trust_condition: dict | None = None, pool_statements: tuple = ()) -> None:
    """The pool's one workload identity: the pool's service account, a platform role trusting it,
    allowed to assume tenants' roles; northwind's role trusts that role with `trust_condition`."""
    s.add(SERVICE_ACCOUNT, "dev-platform-pool-sa", {"metadata": {"name": "pool-services", "namespace": "tenant-pool"},
                                                    "id": "tenant-pool/pool-services"}, parent="dev-platform")
    s.add(ROLE, POOL_ROLE, {"name": "tenancy-dev-pool", "arn": f"arn:aws:iam::{ACCOUNT}:role/tenancy-dev-pool",
                            "id": "tenancy-dev-pool", "tags": PLATFORM_TAGS, "assumeRolePolicy": doc({
                                "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"},
                                "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {
                                    f"{ISSUER}:sub": "system:serviceaccount:tenant-pool:pool-services"}}})},
          parent="dev-platform")
    role_policy(s, "dev-platform-pool-identity-sessions", POOL_ROLE, *(pool_statements or (
        allow(["sts:AssumeRole", "sts:TagSession"], f"arn:aws:iam::{ACCOUNT}:role/tenancy-dev-*"),)),
        parent="dev-platform")
    statement = {"Effect": "Allow", "Principal": {"AWS": prop(s, POOL_ROLE, "arn")},
                 "Action": ["sts:AssumeRole", "sts:TagSession"]}
    if trust_condition is not None:
        statement["Condition"] = trust_condition
    s["dev-northwind-identity-role"].props["assumeRolePolicy"] = doc(statement)
    s["dev-northwind-identity-role"].prop_deps["assumeRolePolicy"] = [POOL_ROLE]


def pinned(tenant_id: str = "northwind", operator: str = "StringEquals") -> dict:
    return {operator: {"aws:RequestTag/tenant-id": tenant_id}}


@CASES.fails(POLICY)
def a_pooled_tenants_service_account_in_the_pool_namespace(s):
    """The old design: any pod of the pool namespace may name northwind's service account."""
    s.add(SERVICE_ACCOUNT, "dev-northwind-sa", {
        "metadata": {"name": "tenant-northwind", "namespace": "tenant-pool",
                     "labels": {"tenancy.io/tenant-id": "northwind"}}, "id": "tenant-pool/tenant-northwind"},
        parent="dev-northwind")
    return reaches(s.urn("dev-northwind-sa"), "pods of namespace tenant-pool (the platform (pool)) can assume "
                   "service account tenant-pool/tenant-northwind of tenant northwind")


@CASES.passes(POLICY)
def the_pool_identity_assumes_a_pooled_tenants_role_with_its_session_tag(s):
    pool_identity(s, pinned())


@CASES.fails(POLICY)
def a_pooled_tenants_role_trusting_the_pool_identity_without_a_session_tag(s):
    pool_identity(s)
    return reaches(s.urn("dev-northwind-identity-role"), "role dev-platform-pool-identity-role (the platform (pool)) "
                   "can assume role dev-northwind-identity-role")


@CASES.fails(POLICY)
def a_session_tag_pinned_by_a_pattern(s):
    pool_identity(s, pinned("*", "StringLike"))
    return reaches(s.urn("dev-northwind-identity-role"), "can assume role dev-northwind-identity-role")


@CASES.fails(POLICY)
def a_session_tag_pinned_only_if_the_session_has_one(s):
    pool_identity(s, pinned(operator="StringEqualsIfExists"))
    return reaches(s.urn("dev-northwind-identity-role"), "can assume role dev-northwind-identity-role")


@CASES.fails(POLICY)
def a_session_tag_pinned_to_another_tenant(s):
    pool_identity(s, pinned("acme"))
    return reaches(s.urn("dev-northwind-identity-role"), "can assume role dev-northwind-identity-role")


@CASES.fails(POLICY)
def a_tenant_role_delegating_to_the_account_lets_the_pool_assume_it_untagged(s):
    pool_identity(s, pinned())
    s["dev-initech-identity-role"].props["assumeRolePolicy"] = doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"})
    return reaches(s.urn("dev-platform-pool-identity-sessions"), "role dev-platform-pool-identity-role (the platform "
                   "(pool)) can assume dev-initech-identity-role")


def platform_reference(s: Stack) -> str:
    """A split stack's view of the platform: its exports, through a StackReference."""
    s.add("pulumi:pulumi:StackReference", "platform-ref", {"name": "dev-platform", "outputs": {"platform": {
        "poolAppSecurityGroupId": "sg-0pool0000000000001"}}}, parent=s.root)
    return "sg-0pool0000000000001"


@CASES.fails(POLICY)
def a_split_stack_admits_the_platforms_pooled_group_into_a_dedicated_database(s):
    pool_group = platform_reference(s)
    ingress(s, "attack", "dev-initech", "dev-initech-db-sg", referencedSecurityGroupId=pool_group)
    s["attack"].prop_deps["referencedSecurityGroupId"] = ["platform-ref"]
    return reaches(s.urn("attack"), "members of sg-0pool0000000000001 (platform.poolAppSecurityGroupId of stack "
                   "dev-platform) (the platform (pool)) can reach dev-initech-db-instance")


@CASES.fails(POLICY)
def a_split_stacks_hybrid_tenant_admits_the_platforms_pooled_group(s):
    hybrid(s)
    s["dev-northwind-db-from-0"].props["referencedSecurityGroupId"] = platform_reference(s)
    s["dev-northwind-db-from-0"].prop_deps["referencedSecurityGroupId"] = ["platform-ref"]
    return reaches(s.urn("dev-northwind-db-from-0"), "(platform.poolAppSecurityGroupId of stack dev-platform) (the "
                   "platform (pool)) can reach dev-northwind-db-instance")


@CASES.fails(POLICY)
def a_dedicated_tenants_database_never_admits_the_pool(s):
    ingress(s, "attack", "dev-initech", "dev-initech-db-sg",
            referencedSecurityGroupId=prop(s, "dev-platform-pool-app-sg", "id"))
    return reaches(s.urn("attack"), "members of dev-platform-pool-app-sg (the platform (pool)) can reach "
                   "dev-initech-db-instance")


def the_deploying_principal(s):
    s.add(ROLE, "deployer", {"name": "deployer", "arn": f"arn:aws:iam::{ACCOUNT}:role/deployer", "id": "deployer"},
          parent=s.root)
    role_policy(s, "deployer-access", "deployer", allow("*", "*"), parent=s.root)


# == former bypasses of the shape rules, which the graph caught first =========================================
CAUGHT_BYPASSES = {
    # test_stack_rules build -> what the graph reports (urn name, fragments)
    "resource_of_one_tenant_tagged_as_another": ("dev-acme-queues-dlq", (
        "dev-acme-queues-dlq is claimed by tenant initech (its tenant-id tag) and tenant acme",)),
    "wildcard_inside_the_arn": ("break-queue-policy", (
        "break-queue-policy is claimed by tenant initech", "tenant acme (it attaches to dev-acme-queues-queue)")),
    "the_internet_in_two_halves": ("break-half-0", ("0.0.0.0/1 (the internet) (anyone) can reach dev-acme-app-sg",)),
    "every_key_of_the_account_through_an_arn_wildcard": ("dev-initech-identity-access", (
        "decrypt dev-acme-key-cmk", "arn:aws:kms:*:123456789012:key/*")),
    "short_action_wildcard_on_every_resource": ("dev-initech-identity-access", (
        "decrypt dev-acme-key-cmk", "kms:De*")),
    "inline_policy_on_the_role_naming_another_tenants_queue": ("dev-initech-identity-role", (
        "write dev-acme-queues-queue", "tenant acme")),
}


def _caught(name: str):
    build = getattr(shape, name)
    target, fragments = CAUGHT_BYPASSES[name]

    def rebuilt(s):
        build(s)
        return [Names(s.urn(target), fragments)]

    rebuilt.__name__ = f"shape_bypass_{name}"
    return rebuilt


for _name in CAUGHT_BYPASSES:
    CASES.fails(POLICY)(_caught(_name))


def test_the_caught_bypasses_are_attacks_of_the_shape_corpus():
    """Each was a bypass of its shape rule when the graph first caught it; the shape rules catch
    them too now, and the graph must go on catching them."""
    assert set(CAUGHT_BYPASSES) <= {case.build.__name__ for case in shape.CASES if case.fails}


(test_isolation_case, test_isolation_case_in_preview, test_the_corpus_through_the_sdks_analyzer_service,
 test_every_attack_has_a_compliant_twin) = corpus_tests(CASES, bypasses=len(CAUGHT_BYPASSES))


def test_the_deployer_is_a_path_only_when_the_config_names_it():
    s = compliant()
    the_deploying_principal(s)
    found = violations(POLICY, s)
    assert found and all(urn == s.urn("deployer-access") for _, urn in found)
    assert violations(POLICY, s, {"deployingPrincipals": [f"arn:aws:iam::{ACCOUNT}:role/deploy*"]}) == []


# == preview ================================================================================================
def _validate(s: Stack):
    found = []
    with pytest.raises(UnknownValueError) as raised:
        policies()[POLICY].validate(s.args(), lambda message, urn=None: found.append((message, urn)))
    return found, raised.value.props


def test_an_unknown_role_policy_in_preview_is_not_run_after_reporting_what_is_known():
    s = compliant()
    s.add(GRANT, "key-grant", {"keyId": prop(s, "dev-acme-key-cmk", "id"), "granteePrincipal": prop(s, INITECH_ROLE, "arn"),
                               "operations": ["Decrypt"]}, parent=s.root, prop_deps={"keyId": ["dev-acme-key-cmk"]})
    s["dev-initech-identity-access"].props["policy"] = UNKNOWN
    found, unknown = _validate(s)
    assert unknown == ["dev-initech-identity-access.policy"]
    assert [urn for _, urn in found] == [s.urn("key-grant")]


@pytest.mark.parametrize("where", ["cidr", "access string", "group reference"])
def test_any_unknown_value_the_graph_needs_is_not_run_never_passed(where):
    s = compliant()
    if where == "cidr":
        ingress(s, "rule", "dev-initech", "dev-initech-db-sg", cidrIpv4=UNKNOWN)
    elif where == "access string":
        pooled_cache(s)
        s["dev-northwind-cache-user-user"].props["accessString"] = UNKNOWN
    else:
        s.add(INGRESS, "rule", {"securityGroupId": prop(s, "dev-initech-db-sg", "id"), "ipProtocol": "tcp",
                                "fromPort": 5432, "toPort": 5432, "referencedSecurityGroupId": UNKNOWN},
              parent="dev-initech", prop_deps={"securityGroupId": ["dev-initech-db-sg"]})
    found, unknown = _validate(s)
    assert found == [] and unknown


def test_an_unknown_value_explained_by_its_dependency_is_judged():
    s = compliant()
    ingress(s, "rule", "dev-initech", "dev-initech-db-sg", referencedSecurityGroupId=UNKNOWN)
    s["rule"].prop_deps["referencedSecurityGroupId"] = ["dev-acme-app-sg"]
    assert [urn for _, urn in violations(POLICY, s)] == [s.urn("rule")]


# == the model's semantics, piece by piece ======================================================================
def test_action_wildcards_expand_against_the_iam_database():
    key = arn("kms", "key/1234")
    expanded = {a.name for a in actions.matching(("kms:De*",), False, actions.applicable(key))}
    assert {"Decrypt", "DescribeKey", "DeleteImportedKeyMaterial"} <= expanded
    assert "Encrypt" not in expanded
    assert actions.verbs(a for a in actions.applicable(key) if a.name == "Decrypt") == {"decrypt"}
    assert actions.verbs(a for a in actions.applicable(key) if a.name == "DescribeKey") == {"read"}
    # actions that cannot act on the ARN's resource type never reach it
    queue = arn("sqs", "q")
    assert not {a.name for a in actions.matching(("sqs:ListQueues",), False, actions.applicable(queue))}
    assert {a.name for a in actions.matching(("sqs:*",), True, actions.applicable(queue))} == set()


def test_deny_conditions_that_cannot_be_evaluated_keep_the_edge():
    statements = documents.parse(doc(
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Condition": {"ArnNotEquals": {"aws:PrincipalArn": "a"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}}}))
    tls, others, ip = statements
    assert not documents.deny_applies(tls, "b", ACCOUNT)
    assert documents.deny_applies(others, "b", ACCOUNT) and not documents.deny_applies(others, "a", ACCOUNT)
    assert not documents.deny_applies(ip, "b", ACCOUNT)


def test_a_key_policy_delegates_to_iam_only_what_it_gives_the_account_root():
    s = compliant()
    s["dev-acme-key-cmk"].props["policy"] = doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:Describe*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:Decrypt",
         "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}}})
    role_policy(s, "wide", INITECH_ROLE, allow("kms:*", prop(s, "dev-acme-key-cmk", "arn")))
    messages = [m for m, _ in violations(POLICY, s)]
    assert len(messages) == 1 and "can read dev-acme-key-cmk" in messages[0]  # DescribeKey, never Decrypt


def test_access_strings_are_applied_left_to_right():
    a = cache.access(TENANT_ACCESS.format(t="acme"))
    assert a.enabled and a.read_keys == ["acme:*"] and a.can("get", "set") and not a.can(*cache.LISTING, "pubsub")
    assert not cache.access("on ~* +@all reset").enabled
    b = cache.access("on %R~acme:* +@read -keys")
    assert b.read_keys == ["acme:*"] and not b.write_keys and b.can("get", "scan") and not b.can("keys", "set")
    assert cache._verbs(cache.access("on ~acme-labs:* +@all -@dangerous -scan -randomkey"), "acme:") == frozenset()


def test_ownership_follows_tags_then_attachments_then_ancestors():
    s = compliant()
    ingress(s, "top-level-rule", s.root, "dev-initech-db-sg", referencedSecurityGroupId=prop(s, "dev-initech-app-sg", "id"))
    s.add(ROLE, "stray-role", {"name": "stray", "arn": f"arn:aws:iam::{ACCOUNT}:role/stray"}, parent=s.root)
    g = graph([resource(r) for r in s.resources()])
    owner = {r.name: str(g.owner(r)) for r in g.resources}
    assert owner["top-level-rule"] == "tenant initech"
    assert owner["dev-initech-identity-access"] == "tenant initech"
    assert owner["dev-platform-pool-namespace-ns"] == "the platform (pool)"
    assert owner["stray-role"] == "an unknown owner"
    assert g.conflicts == []


def test_the_model_reads_plain_resources_without_the_policy_sdk():
    g = graph([
        Resource("k", "aws:kms/key:Key", "k", {"arn": arn("kms", "key/k"), "tags": {"tenant-id": "a"}}),
        Resource("r", "aws:iam/role:Role", "r", {"arn": f"arn:aws:iam::{ACCOUNT}:role/r", "name": "r",
                                                  "tags": {"tenant-id": "b"},
                                                  "inlinePolicies": [{"name": "p", "policy": MODEL_UNKNOWN}]})])
    assert g.unknown == ["r.inlinePolicies"]
    assert [(str(e.source), sorted(e.verbs), str(e.target)) for e in g.edges] == []


def test_the_declared_paths_are_listed_in_one_place():
    assert set(paths.PATHS) == {"account-root", "aws-service-for-account", "pooled-services", "deployer",
                                "pool-tenant-session", "platform-gateway"}
    assert all(text.endswith(".") for text in paths.PATHS.values())


@pytest.mark.parametrize("name", [KEY])
def test_the_cases_use_the_graphs_type_tokens(name):
    from tenancy_policies.graph import iam, network

    assert name == iam.KEY and (GRANT, ATTACHMENT) == (iam.GRANT, iam.ATTACHMENT)
    assert (SG, SG_RULE, INGRESS, PREFIX_LIST) == (network.SG, network.SG_RULE, network.SG_INGRESS, network.PREFIX_LIST)
    assert (CACHE_USER, CACHE_GROUP, ASSOCIATION, CACHE) == (cache.USER, cache.GROUP, cache.ASSOCIATION,
                                                            cache.REPLICATION_GROUP)
    assert {QUEUE_POLICY, TOPIC_POLICY, SECRET_POLICY, BUCKET_POLICY, BUCKET} <= set(iam.RESOURCE_POLICIES)

