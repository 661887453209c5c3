"""The per-resource rules as pure functions: a compliant and a violating property set for each."""

from __future__ import annotations

import json

import pytest

from tenancy_policies import resource_rules as rr

KEY, DB, RG, Q, SECRET, NS = (rr.KMS_KEY, "aws:rds/instance:Instance", rr.REPLICATION_GROUP, rr.QUEUE, rr.SECRET,
                              rr.NAMESPACE)
GOOD_DB = {"storageEncrypted": True, "kmsKeyId": "arn:k", "publiclyAccessible": False, "deletionProtection": True,
           "skipFinalSnapshot": False, "finalSnapshotIdentifier": "final", "backupRetentionPeriod": 14.0,
           "iamDatabaseAuthenticationEnabled": True, "performanceInsightsEnabled": True,
           "performanceInsightsKmsKeyId": "arn:k"}
GOOD_RG = {"atRestEncryptionEnabled": True, "kmsKeyId": "arn:k", "transitEncryptionEnabled": True,
           "userGroupIds": ["g"], "subnetGroupName": "own"}
SCOPED = {"Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}},
                        {"Sid": "Via", "Effect": "Allow", "Principal": {"AWS": "*"}, "Condition": {"x": 1}}]}
OPEN = {"Statement": [{"Sid": "Any", "Effect": "Allow", "Principal": {"AWS": ["arn:x", "*"]}}]}

CASES = [
    (rr.kms_key_rotation, KEY, {"enableKeyRotation": True}, {"enableKeyRotation": False}),
    (rr.kms_key_deletion_window, KEY, {"deletionWindowInDays": 30.0}, {"deletionWindowInDays": 7.0}),
    (rr.kms_key_policy_no_open_principal, KEY, {"policy": json.dumps(SCOPED)}, {"policy": json.dumps(OPEN)}),
    (rr.kms_key_lockout_check, KEY, {}, {"bypassPolicyLockoutSafetyCheck": True}),
    (rr.rds_encrypted_with_cmk, DB, GOOD_DB, {**GOOD_DB, "kmsKeyId": None}),
    (rr.rds_not_public, DB, GOOD_DB, {**GOOD_DB, "publiclyAccessible": True}),
    (rr.rds_deletion_protection, DB, GOOD_DB, {**GOOD_DB, "skipFinalSnapshot": True}),
    (rr.rds_backup_retention, DB, GOOD_DB, {**GOOD_DB, "backupRetentionPeriod": 3.0}),
    (rr.rds_iam_auth, DB, GOOD_DB, {k: v for k, v in GOOD_DB.items() if k != "iamDatabaseAuthenticationEnabled"}),
    (rr.rds_performance_insights_cmk, DB, GOOD_DB, {**GOOD_DB, "performanceInsightsKmsKeyId": ""}),
    (rr.elasticache_encryption, RG, GOOD_RG, {**GOOD_RG, "atRestEncryptionEnabled": False}),
    (rr.elasticache_auth, RG, GOOD_RG, {**GOOD_RG, "userGroupIds": None}),
    (rr.elasticache_subnet_group, RG, GOOD_RG, {**GOOD_RG, "subnetGroupName": "default"}),
    (rr.sqs_cmk, Q, {"kmsMasterKeyId": "arn:k"}, {"kmsMasterKeyId": "alias/aws/sqs"}),
    (rr.secrets_cmk, SECRET, {"kmsKeyId": "arn:k"}, {}),
    (rr.k8s_namespace_pod_security, NS,
     {"metadata": {"name": "tenant-a", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
     {"metadata": {"name": "tenant-a", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}),
]


@pytest.mark.parametrize("rule, type_, good, bad", CASES, ids=[c[0].__name__ for c in CASES])
def test_rule_passes_the_compliant_set_and_flags_the_violating_one(rule, type_, good, bad):
    assert rule(type_, good, {}) == []
    assert len(rule(type_, bad, {})) >= 1


@pytest.mark.parametrize("rule, type_, good, bad", CASES, ids=[c[0].__name__ for c in CASES])
def test_rule_ignores_other_resource_types(rule, type_, good, bad):
    assert rule("aws:s3/bucket:Bucket", bad, {}) == []


def test_thresholds_come_from_the_policy_config():
    assert rr.kms_key_deletion_window(KEY, {"deletionWindowInDays": 10.0}, {"minimumDays": 7}) == []
    assert rr.rds_backup_retention(DB, GOOD_DB, {"minimumDays": 30})


def test_stateful_protection_reads_the_protect_option():
    assert rr.stateful_protected(DB, {}, {}, protect=True) == []
    assert rr.stateful_protected(DB, {}, {}, protect=False)
    assert rr.stateful_protected(Q, {}, {}, protect=False) == []
