"""The per-resource rules: as pure functions on property sets (each case naming the exact messages),
and as the pack's policies on the in-memory stack (the message and the URN the engine reports)."""

from __future__ import annotations

import json

import pytest
from pulumi_policy import ResourceValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from tenancy_policies import resource_rules as rr

from .breaks import Cases
from .resources import UNKNOWN, as_received, policies, secret

KEY, DB, CLUSTER, RG, Q, SECRET, NS = (rr.KMS_KEY, "aws:rds/instance:Instance", "aws:rds/cluster:Cluster",
                                       rr.REPLICATION_GROUP, rr.QUEUE, rr.SECRET, rr.NAMESPACE)
GOOD_DB = {"storageEncrypted": True, "kmsKeyId": "arn:k", "publiclyAccessible": False, "deletionProtection": True,
           "skipFinalSnapshot": False, "finalSnapshotIdentifier": "final", "backupRetentionPeriod": 14.0,
           "iamDatabaseAuthenticationEnabled": True, "performanceInsightsEnabled": True,
           "performanceInsightsKmsKeyId": "arn:k"}
GOOD_RG = {"atRestEncryptionEnabled": True, "kmsKeyId": "arn:k", "transitEncryptionEnabled": True,
           "userGroupIds": ["g"], "subnetGroupName": "own"}
SCOPED = {"Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}},
                        {"Sid": "Via", "Effect": "Allow", "Principal": {"AWS": "*"}, "Condition": {"x": 1}},
                        {"Sid": "DenyAll", "Effect": "Deny", "Principal": "*"}]}
OPEN = {"Statement": [{"Sid": "Any", "Effect": "Allow", "Principal": {"AWS": ["arn:x", "*"]}}]}
OPEN_BARE = {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "kms:*"}}
TENANT_NS = {"metadata": {"name": "tenant-a", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
SNAPSHOT = "no final snapshot is taken on deletion"


def without(props: dict, *keys: str) -> dict:
    return {k: v for k, v in props.items() if k not in keys}


# rule, type, compliant set, violating set, exactly what it reports
PROPERTY_CASES = [
    (rr.kms_key_rotation, KEY, {"enableKeyRotation": True}, {"enableKeyRotation": False},
     ["automatic key rotation is off; set enableKeyRotation: true"]),
    (rr.kms_key_rotation, KEY, {"enableKeyRotation": True}, {}, ["automatic key rotation is off; set enableKeyRotation: true"]),
    (rr.kms_key_deletion_window, KEY, {"deletionWindowInDays": 30.0}, {"deletionWindowInDays": 7.0},
     ["deletion window is 7 days; at least 30 are required"]),
    (rr.kms_key_deletion_window, KEY, {}, {"deletionWindowInDays": 29.5}, ["deletion window is 29.5 days; at least 30 are required"]),
    (rr.kms_key_policy_no_open_principal, KEY, {"policy": json.dumps(SCOPED)}, {"policy": json.dumps(OPEN)},
     ["statement 'Any' allows any principal without a condition"]),
    (rr.kms_key_policy_no_open_principal, KEY, {"policy": SCOPED}, {"policy": OPEN_BARE},  # a mapping, a lone statement
     ["statement '(no Sid)' allows any principal without a condition"]),
    (rr.kms_key_lockout_check, KEY, {"bypassPolicyLockoutSafetyCheck": False}, {"bypassPolicyLockoutSafetyCheck": True},
     ["the key policy lockout safety check is bypassed"]),
    (rr.rds_encrypted_with_cmk, DB, GOOD_DB, {**GOOD_DB, "kmsKeyId": None},
     ["storage is encrypted with the AWS-managed key; use the owner's customer-managed key (kmsKeyId)"]),
    (rr.rds_encrypted_with_cmk, CLUSTER, {**GOOD_DB, "kmsKeyId": UNKNOWN}, {**GOOD_DB, "storageEncrypted": False},
     ["storage is not encrypted"]),
    (rr.rds_not_public, DB, GOOD_DB, {**GOOD_DB, "publiclyAccessible": True}, ["the database is publicly accessible"]),
    (rr.rds_deletion_protection, DB, GOOD_DB, {**GOOD_DB, "skipFinalSnapshot": True}, [SNAPSHOT]),
    (rr.rds_deletion_protection, DB, GOOD_DB, without(GOOD_DB, "deletionProtection", "finalSnapshotIdentifier"),
     ["deletion protection is off", SNAPSHOT]),
    (rr.rds_backup_retention, DB, GOOD_DB, {**GOOD_DB, "backupRetentionPeriod": 3.0},
     ["backups are kept 3 days; at least 7 are required"]),
    (rr.rds_backup_retention, CLUSTER, GOOD_DB, without(GOOD_DB, "backupRetentionPeriod"),
     ["backups are kept 0 days; at least 7 are required"]),
    (rr.rds_iam_auth, DB, GOOD_DB, without(GOOD_DB, "iamDatabaseAuthenticationEnabled"),
     ["IAM database authentication is off"]),
    (rr.rds_performance_insights_cmk, DB, without(GOOD_DB, "performanceInsightsEnabled", "performanceInsightsKmsKeyId"),
     {**GOOD_DB, "performanceInsightsKmsKeyId": ""}, ["Performance Insights is on without a customer-managed key"]),
    (rr.elasticache_encryption, RG, GOOD_RG, {**GOOD_RG, "atRestEncryptionEnabled": False}, ["at-rest encryption is off"]),
    (rr.elasticache_encryption, RG, {**GOOD_RG, "kmsKeyId": UNKNOWN}, without(GOOD_RG, "kmsKeyId", "transitEncryptionEnabled"),
     ["at-rest encryption uses the AWS-managed key; set the owner's kmsKeyId", "in-transit encryption (TLS) is off"]),
    (rr.elasticache_auth, RG, GOOD_RG, {**GOOD_RG, "userGroupIds": None},
     ["no RBAC user group and no auth token: anyone who reaches the port can connect"]),
    (rr.elasticache_auth, RG, {**without(GOOD_RG, "userGroupIds"), "authToken": secret("t" * 16)},
     {**GOOD_RG, "userGroupIds": None, "authToken": ""},
     ["no RBAC user group and no auth token: anyone who reaches the port can connect"]),
    (rr.elasticache_subnet_group, RG, GOOD_RG, {**GOOD_RG, "subnetGroupName": "default"},
     ["the cache is in the default subnet group; give it the owner's data subnets"]),
    (rr.elasticache_subnet_group, RG, {**GOOD_RG, "subnetGroupName": UNKNOWN}, without(GOOD_RG, "subnetGroupName"),
     ["the cache is in the default subnet group; give it the owner's data subnets"]),
    (rr.sqs_cmk, Q, {"kmsMasterKeyId": "arn:k"}, {"kmsMasterKeyId": "alias/aws/sqs"},
     ["the queue is not encrypted with a customer-managed key (SQS-managed SSE is not enough)"]),
    (rr.sqs_cmk, Q, {"kmsMasterKeyId": UNKNOWN}, {"sqsManagedSseEnabled": True},
     ["the queue is not encrypted with a customer-managed key (SQS-managed SSE is not enough)"]),
    (rr.secrets_cmk, SECRET, {"kmsKeyId": "arn:k"}, {}, ["the secret is encrypted with the AWS-managed key; set the owner's kmsKeyId"]),
    (rr.secrets_cmk, SECRET, {"kmsKeyId": UNKNOWN}, {"kmsKeyId": "alias/aws/secretsmanager"},
     ["the secret is encrypted with the AWS-managed key; set the owner's kmsKeyId"]),
    (rr.k8s_namespace_pod_security, NS, TENANT_NS,
     {"metadata": {"name": "tenant-a", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}},
     ["namespace tenant-a does not enforce the 'restricted' pod security standard"]),
    (rr.k8s_namespace_pod_security, NS, {"metadata": {"name": "ingress-nginx"}},  # a tenant's by its label, any name
     {"metadata": {"name": "batch", "labels": {"tenancy.io/tenant-id": "a", "pod-security.kubernetes.io/warn": "restricted"}}},
     ["namespace batch does not enforce the 'restricted' pod security standard"]),
    (rr.k8s_namespace_pod_security, NS, TENANT_NS, {"metadata": {"labels": {"tenancy.io/tenant-id": "a"}}},
     ["namespace (generated) does not enforce the 'restricted' pod security standard"]),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(PROPERTY_CASES)]


@pytest.mark.parametrize("rule, type_, good, bad, messages", PROPERTY_CASES, ids=IDS)
def test_rule_passes_the_compliant_set_and_reports_exactly_what_is_wrong(rule, type_, good, bad, messages):
    assert rule(type_, as_received(good), {}) == []
    assert rule(type_, as_received(bad), {}) == messages


@pytest.mark.parametrize("rule, type_, good, bad, messages", PROPERTY_CASES, ids=IDS)
def test_rule_ignores_other_resource_types(rule, type_, good, bad, messages):
    assert rule("aws:s3/bucket:Bucket", as_received(bad), {}) == []


def test_thresholds_come_from_the_policy_config():
    assert rr.kms_key_deletion_window(KEY, {"deletionWindowInDays": 10.0}, {"minimumDays": 7}) == []
    assert rr.rds_backup_retention(DB, GOOD_DB, {"minimumDays": 30}) == ["backups are kept 14 days; at least 30 are required"]


def test_stateful_protection_reads_the_protect_option():
    message = ["a stateful resource is not protected; deleting or replacing it would lose data"]
    for type_ in (DB, CLUSTER, RG, KEY, SECRET):
        assert rr.stateful_protected(type_, {}, {}, protect=True) == []
        assert rr.stateful_protected(type_, {}, {}, protect=False) == message
    assert rr.stateful_protected(Q, {}, {}, protect=False) == []


def test_a_key_policy_unknown_in_preview_is_not_judged():
    with pytest.raises(UnknownValueError):
        rr.kms_key_policy_no_open_principal(KEY, as_received({"policy": UNKNOWN}), {})


# -- the pack's resource policies on the in-memory stack (through the catalog, with the engine's URN) ----------
CASES = Cases()


@CASES.fails("kms-key-rotation")
def key_without_rotation(s):
    s["dev-acme-key-cmk"].props["enableKeyRotation"] = False
    return [("automatic key rotation is off; set enableKeyRotation: true", s.urn("dev-acme-key-cmk"))]


@CASES.fails("kms-key-deletion-window", config={"minimumDays": 14})
def deletion_window_below_the_configured_minimum(s):
    s["dev-initech-key-cmk"].props["deletionWindowInDays"] = 7
    return [("deletion window is 7 days; at least 14 are required", s.urn("dev-initech-key-cmk"))]


@CASES.fails("kms-key-policy-no-open-principal")
def key_policy_open_to_everyone(s):
    s["dev-acme-key-cmk"].props["policy"] = json.dumps({"Statement": [
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]})
    return [("statement 'Everyone' allows any principal without a condition", s.urn("dev-acme-key-cmk"))]


@CASES.fails("kms-key-lockout-check")
def key_bypassing_the_lockout_check(s):
    s["dev-northwind-key-cmk"].props["bypassPolicyLockoutSafetyCheck"] = True
    return [("the key policy lockout safety check is bypassed", s.urn("dev-northwind-key-cmk"))]


@CASES.fails("rds-encrypted-with-cmk")
def database_on_the_aws_managed_key(s):
    del s["dev-acme-db-instance"].props["kmsKeyId"]
    return [("storage is encrypted with the AWS-managed key; use the owner's customer-managed key (kmsKeyId)",
             s.urn("dev-acme-db-instance"))]


@CASES.fails("rds-not-public")
def public_database(s):
    s["dev-initech-db-instance"].props["publiclyAccessible"] = True
    return [("the database is publicly accessible", s.urn("dev-initech-db-instance"))]


@CASES.fails("rds-deletion-protection")
def database_without_deletion_protection(s):
    s["dev-platform-pool-db-instance"].props["deletionProtection"] = False
    return [("deletion protection is off", s.urn("dev-platform-pool-db-instance"))]


@CASES.fails("rds-backup-retention", config={"minimumDays": 14})
def database_keeping_a_week_of_backups_where_two_are_asked(s):
    s["dev-acme-db-instance"].props["backupRetentionPeriod"] = 7
    return [("backups are kept 7 days; at least 14 are required", s.urn("dev-acme-db-instance"))]


@CASES.fails("rds-iam-auth")
def database_without_iam_auth(s):
    s["dev-acme-db-instance"].props["iamDatabaseAuthenticationEnabled"] = False
    return [("IAM database authentication is off", s.urn("dev-acme-db-instance"))]


@CASES.fails("rds-performance-insights-cmk")
def performance_insights_on_the_aws_key(s):
    del s["dev-acme-db-instance"].props["performanceInsightsKmsKeyId"]
    return [("Performance Insights is on without a customer-managed key", s.urn("dev-acme-db-instance"))]


@CASES.fails("elasticache-encryption")
def cache_without_tls(s):
    s["dev-acme-cache-rg"].props["transitEncryptionEnabled"] = False
    return [("in-transit encryption (TLS) is off", s.urn("dev-acme-cache-rg"))]


@CASES.fails("elasticache-auth")
def cache_without_users_or_token(s):
    del s["dev-acme-cache-rg"].props["userGroupIds"]
    return [("no RBAC user group and no auth token: anyone who reaches the port can connect", s.urn("dev-acme-cache-rg"))]


@CASES.fails("elasticache-auth")
def cache_with_an_empty_user_group_list(s):
    s["dev-acme-cache-rg"].props["userGroupIds"] = []
    return [("no RBAC user group and no auth token: anyone who reaches the port can connect", s.urn("dev-acme-cache-rg"))]


@CASES.fails("elasticache-subnet-group")
def cache_in_the_default_subnet_group(s):
    s["dev-acme-cache-rg"].props["subnetGroupName"] = "default"
    return [("the cache is in the default subnet group; give it the owner's data subnets", s.urn("dev-acme-cache-rg"))]


@CASES.fails("sqs-cmk")
def queue_on_sqs_managed_encryption(s):
    del s["dev-northwind-queues-dlq"].props["kmsMasterKeyId"]
    s["dev-northwind-queues-dlq"].props["sqsManagedSseEnabled"] = True
    return [("the queue is not encrypted with a customer-managed key (SQS-managed SSE is not enough)",
             s.urn("dev-northwind-queues-dlq"))]


@CASES.fails("secrets-cmk")
def secret_on_the_aws_managed_key(s):
    s["dev-initech-db-master-secret"].props["kmsKeyId"] = "alias/aws/secretsmanager"
    return [("the secret is encrypted with the AWS-managed key; set the owner's kmsKeyId",
             s.urn("dev-initech-db-master-secret"))]


@CASES.fails("k8s-namespace-pod-security")
def tenant_namespace_on_baseline(s):
    s["dev-acme-namespace-ns"].props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"
    return [("namespace tenant-acme does not enforce the 'restricted' pod security standard", s.urn("dev-acme-namespace-ns"))]


@CASES.fails("stateful-resources-protected")
def unprotected_database_and_secret(s):
    s["dev-acme-db-instance"].protect = False
    s["dev-acme-db-master-secret"].protect = False
    message = "a stateful resource is not protected; deleting or replacing it would lose data"
    return [(message, s.urn("dev-acme-db-instance")), (message, s.urn("dev-acme-db-master-secret"))]


@CASES.passes("stateful-resources-protected")
def unprotected_queues_and_log_groups(s):
    s["dev-acme-queues-queue"].protect = False
    s["dev-acme-monitoring-logs"].protect = False


@CASES.passes("rds-encrypted-with-cmk")
def database_key_unknown_in_preview(s):
    s["dev-acme-db-instance"].props["kmsKeyId"] = UNKNOWN


@pytest.mark.parametrize("case", CASES.params())
def test_resource_policy_case(case):
    case.run()


def test_every_resource_policy_has_its_own_cases():
    resource_policies = {name for name, p in policies().items() if isinstance(p, ResourceValidationPolicy)}
    assert resource_policies <= CASES.caught()
