"""Rules over one resource at a time. Each takes the resource type, its properties and the policy's
config, and returns the violations as messages; each checks the type itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .props import UNKNOWN, as_list, get, is_set, peek, policy_document, statements

KMS_KEY = "aws:kms/key:Key"
RDS_TYPES = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
QUEUE = "aws:sqs/queue:Queue"
SECRET = "aws:secretsmanager/secret:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
USER_POOL = "aws:cognito/userPool:UserPool"  # it holds the users
STATEFUL = RDS_TYPES + (REPLICATION_GROUP, KMS_KEY, SECRET, USER_POOL)

Config = Mapping[str, Any]


def kms_key_rotation(type_: str, props, config: Config) -> list[str]:
    if type_ == KMS_KEY and get(props, "enableKeyRotation") is not True:
        return ["automatic key rotation is off; set enableKeyRotation: true"]
    return []


def kms_key_deletion_window(type_: str, props, config: Config) -> list[str]:
    minimum = int(config.get("minimumDays", 30))
    if type_ == KMS_KEY:
        days = get(props, "deletionWindowInDays", default=30)  # AWS's default is 30
        if float(days) < minimum:
            return [f"deletion window is {days:g} days; at least {minimum} are required"]
    return []


def kms_key_policy_no_open_principal(type_: str, props, config: Config) -> list[str]:
    if type_ != KMS_KEY:
        return []
    out = []
    for statement in statements(policy_document(get(props, "policy"))):
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, Mapping) else principal
        open_principal = principal == "*" or "*" in as_list(aws)
        if open_principal and statement.get("Effect") == "Allow" and not statement.get("Condition"):
            out.append(f"statement {statement.get('Sid', '(no Sid)')!r} allows any principal without a condition")
    return out


def kms_key_lockout_check(type_: str, props, config: Config) -> list[str]:
    if type_ == KMS_KEY and get(props, "bypassPolicyLockoutSafetyCheck") is True:
        return ["the key policy lockout safety check is bypassed"]
    return []


def rds_encrypted_with_cmk(type_: str, props, config: Config) -> list[str]:
    if type_ not in RDS_TYPES:
        return []
    if get(props, "storageEncrypted") is not True:
        return ["storage is not encrypted"]
    if not is_set(props, "kmsKeyId"):
        return ["storage is encrypted with the AWS-managed key; use the owner's customer-managed key (kmsKeyId)"]
    return []


def rds_not_public(type_: str, props, config: Config) -> list[str]:
    if type_ in RDS_TYPES and get(props, "publiclyAccessible") is True:
        return ["the database is publicly accessible"]
    return []


def rds_deletion_protection(type_: str, props, config: Config) -> list[str]:
    if type_ not in RDS_TYPES:
        return []
    out = []
    if get(props, "deletionProtection") is not True:
        out.append("deletion protection is off")
    if get(props, "skipFinalSnapshot") is True or not is_set(props, "finalSnapshotIdentifier"):
        out.append("no final snapshot is taken on deletion")
    return out


def rds_backup_retention(type_: str, props, config: Config) -> list[str]:
    minimum = int(config.get("minimumDays", 7))
    if type_ in RDS_TYPES:
        days = float(get(props, "backupRetentionPeriod", default=0))
        if days < minimum:
            return [f"backups are kept {days:g} days; at least {minimum} are required"]
    return []


def rds_iam_auth(type_: str, props, config: Config) -> list[str]:
    if type_ in RDS_TYPES and get(props, "iamDatabaseAuthenticationEnabled") is not True:
        return ["IAM database authentication is off"]
    return []


def rds_performance_insights_cmk(type_: str, props, config: Config) -> list[str]:
    if type_ == "aws:rds/instance:Instance" and get(props, "performanceInsightsEnabled") is True \
            and not is_set(props, "performanceInsightsKmsKeyId"):
        return ["Performance Insights is on without a customer-managed key"]
    return []


def elasticache_encryption(type_: str, props, config: Config) -> list[str]:
    if type_ != REPLICATION_GROUP:
        return []
    out = []
    if get(props, "atRestEncryptionEnabled") is not True:
        out.append("at-rest encryption is off")
    elif not is_set(props, "kmsKeyId"):
        out.append("at-rest encryption uses the AWS-managed key; set the owner's kmsKeyId")
    if get(props, "transitEncryptionEnabled") is not True:
        out.append("in-transit encryption (TLS) is off")
    return out


def elasticache_auth(type_: str, props, config: Config) -> list[str]:
    if type_ == REPLICATION_GROUP and not _non_empty(props, "userGroupIds") and not is_set(props, "authToken"):
        return ["no RBAC user group and no auth token: anyone who reaches the port can connect"]
    return []


def _non_empty(props, key: str) -> bool:
    """Given, and not an empty list (an unknown value counts as given: judged when it is known)."""
    if not is_set(props, key):
        return False
    value = peek(props, key)
    return value is UNKNOWN or isinstance(value, str) or not hasattr(value, "__len__") or len(value) > 0


def elasticache_subnet_group(type_: str, props, config: Config) -> list[str]:
    if type_ == REPLICATION_GROUP and peek(props, "subnetGroupName") in (None, "", "default"):
        return ["the cache is in the default subnet group; give it the owner's data subnets"]
    return []


def sqs_cmk(type_: str, props, config: Config) -> list[str]:
    if type_ != QUEUE:
        return []
    key = peek(props, "kmsMasterKeyId")
    if key is not UNKNOWN and (not key or str(key) == "alias/aws/sqs"):
        return ["the queue is not encrypted with a customer-managed key (SQS-managed SSE is not enough)"]
    return []


def secrets_cmk(type_: str, props, config: Config) -> list[str]:
    if type_ == SECRET and peek(props, "kmsKeyId", default="alias/aws/secretsmanager") == "alias/aws/secretsmanager":
        return ["the secret is encrypted with the AWS-managed key; set the owner's kmsKeyId"]
    return []


def k8s_namespace_pod_security(type_: str, props, config: Config) -> list[str]:
    if type_ != NAMESPACE:
        return []
    labels = get(props, "metadata", "labels", default={})
    name = str(get(props, "metadata", "name", default=""))
    is_tenant = "tenancy.io/tenant-id" in set(labels) or name.startswith("tenant-")
    if is_tenant and labels.get("pod-security.kubernetes.io/enforce") != "restricted":
        return [f"namespace {name or '(generated)'} does not enforce the 'restricted' pod security standard"]
    return []


def stateful_protected(type_: str, props, config: Config, protect: bool) -> list[str]:
    if type_ in STATEFUL and not protect:
        return ["a stateful resource is not protected; deleting or replacing it would lose data"]
    return []
