"""The pack's policies: name, description, severity, remediation and default enforcement level,
each wrapping one pure rule."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from . import isolation
from . import resource_rules as rr
from . import stack_rules as sr
from .ownership import Index

PACK_NAME = "tenancy-isolation"
MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY
DEPLOYERS = PolicyConfigSchema(properties={"deployingPrincipals": {
    "type": "array", "items": {"type": "string"}, "default": [],
    "description": "ARN patterns of the principals that deploy the stacks (a declared platform path)"},
    "gatewayNamespaces": {
    "type": "array", "items": {"type": "string"}, "default": ["tenancy-gateway"],
    "description": "namespaces whose pods are the platform Gateway's proxies (a declared platform path)"}})
DAYS = lambda default: PolicyConfigSchema(  # noqa: E731
    properties={"minimumDays": {"type": "integer", "minimum": 0, "default": default}})


def _resource(name: str, description: str, rule: Callable, severity: Severity, remediation: str,
              level: EnforcementLevel = MANDATORY, config_schema=None) -> ResourceValidationPolicy:
    def validate(args, report_violation):
        config = args.get_config() or {}
        if rule is rr.stateful_protected:
            messages = rule(args.resource_type, args.props, config, bool(args.opts.protect))
        else:
            messages = rule(args.resource_type, args.props, config)
        for message in messages:
            report_violation(message)

    return ResourceValidationPolicy(name=name, description=description, validate=validate, enforcement_level=level,
                                    severity=severity, remediation_steps=remediation, config_schema=config_schema)


def _stack(name: str, description: str, rule: Callable, severity: Severity, remediation: str,
           level: EnforcementLevel = MANDATORY, config_schema=None) -> StackValidationPolicy:
    def validate(args, report_violation):
        for message, urn in rule(Index(args.resources), args.get_config() or {}):
            report_violation(message, urn)

    return StackValidationPolicy(name=name, description=description, validate=validate, enforcement_level=level,
                                 severity=severity, remediation_steps=remediation, config_schema=config_schema)


HIGH, CRITICAL, MEDIUM = Severity.HIGH, Severity.CRITICAL, Severity.MEDIUM


def policies() -> list:
    return [
        # -- one resource at a time -------------------------------------------------------------
        _resource("kms-key-rotation", "KMS keys rotate automatically.", rr.kms_key_rotation, HIGH,
                  "Set enableKeyRotation: true on the key."),
        _resource("kms-key-deletion-window", "KMS keys wait at least the configured days before deletion.",
                  rr.kms_key_deletion_window, MEDIUM, "Set deletionWindowInDays to 30.", config_schema=DAYS(30)),
        _resource("kms-key-policy-no-open-principal", "No key policy statement allows any principal without a condition.",
                  rr.kms_key_policy_no_open_principal, CRITICAL,
                  "Name the principals (account root, the tenant's role) or add a condition such as kms:ViaService."),
        _resource("kms-key-lockout-check", "The key policy lockout safety check is not bypassed.",
                  rr.kms_key_lockout_check, HIGH, "Remove bypassPolicyLockoutSafetyCheck."),
        _resource("rds-encrypted-with-cmk", "Databases are encrypted with a customer-managed key.",
                  rr.rds_encrypted_with_cmk, CRITICAL, "Set storageEncrypted: true and kmsKeyId to the owner's key."),
        _resource("rds-not-public", "Databases are never publicly accessible.", rr.rds_not_public, CRITICAL,
                  "Set publiclyAccessible: false and keep the database in data subnets."),
        _resource("rds-deletion-protection", "Databases have deletion protection and take a final snapshot.",
                  rr.rds_deletion_protection, HIGH,
                  "Set deletionProtection: true, skipFinalSnapshot: false and a finalSnapshotIdentifier."),
        _resource("rds-backup-retention", "Databases keep backups for at least the configured days.",
                  rr.rds_backup_retention, MEDIUM, "Set backupRetentionPeriod to 7 or more.", config_schema=DAYS(7)),
        _resource("rds-iam-auth", "Databases accept IAM authentication.", rr.rds_iam_auth, MEDIUM,
                  "Set iamDatabaseAuthenticationEnabled: true."),
        _resource("rds-performance-insights-cmk", "Performance Insights data is encrypted with a customer-managed key.",
                  rr.rds_performance_insights_cmk, MEDIUM, "Set performanceInsightsKmsKeyId to the owner's key."),
        _resource("elasticache-encryption", "Caches encrypt at rest with a customer-managed key and in transit.",
                  rr.elasticache_encryption, CRITICAL,
                  "Set atRestEncryptionEnabled, kmsKeyId (the owner's key) and transitEncryptionEnabled."),
        _resource("elasticache-auth", "Caches authenticate clients through an RBAC user group or a token.",
                  rr.elasticache_auth, HIGH, "Attach a user group (userGroupIds) whose default user is off."),
        _resource("elasticache-subnet-group", "Caches are not in the default subnet group.",
                  rr.elasticache_subnet_group, MEDIUM, "Create a subnet group of the owner's data subnets."),
        _resource("sqs-cmk", "Queues are encrypted with a customer-managed key.", rr.sqs_cmk, HIGH,
                  "Set kmsMasterKeyId to the owner's key; SQS-managed SSE is not enough."),
        _resource("secrets-cmk", "Secrets are encrypted with a customer-managed key.", rr.secrets_cmk, HIGH,
                  "Set kmsKeyId to the owner's key."),
        _resource("k8s-namespace-pod-security", "Tenant namespaces enforce the 'restricted' pod security standard.",
                  rr.k8s_namespace_pod_security, HIGH,
                  "Label the namespace pod-security.kubernetes.io/enforce: restricted."),
        _resource("stateful-resources-protected", "Databases, caches, keys and secrets are protected from deletion.",
                  rr.stateful_protected, HIGH,
                  "Keep tenancy:protectStatefulResources true (or set protect on the resource)."),
        # -- across the stack -------------------------------------------------------------------
        _stack("tenant-isolation",
               "Nothing of one tenant, the pool, anyone or an unknown owner can read, write, decrypt, assume or reach "
               "another tenant's resources, through any modelled mechanism (IAM identity, resource and trust "
               "policies, KMS grants, security groups, cache users), except along the declared platform paths.",
               isolation.tenant_isolation, CRITICAL,
               "Remove the path the message names (the statement, grant, rule or membership), or scope it to the "
               "tenant's own resources; a resource may attach only to its own tenant's.", config_schema=DEPLOYERS),
        _stack("tenant-tags", "Every taggable AWS resource of a tenant carries the five tenancy tags.",
               sr.tenant_tags, MEDIUM, "Create tenant resources under the tenant component, which tags them."),
        _stack("no-cross-tenant-references", "No resource of one tenant depends on or names another tenant's.",
               sr.no_cross_tenant_references, CRITICAL,
               "Use the tenant's own key, groups, subnets and queues; share only through the platform's pooled services."),
        _stack("one-key-per-tenant", "Each tenant's resources are encrypted with its own key, and no key serves two.",
               sr.one_key_per_tenant, CRITICAL, "Encrypt with the owning tenant's key."),
        _stack("vpc-flow-logs", "Every VPC has flow logs.", sr.vpc_flow_logs, HIGH,
               "Add a FlowLog for the VPC to an encrypted log group."),
        _stack("tenant-cidrs-no-overlap", "No VPC or subnet of one tenant overlaps another tenant's.",
               sr.tenant_cidrs_no_overlap, CRITICAL, "Give each tenant its own address block in the registry."),
        _stack("isolated-tenant-in-own-vpc", "An isolated tenant's subnets, groups, database and cache are in its own VPC.",
               sr.isolated_tenant_in_own_vpc, CRITICAL, "Create them in the tenant's VPC."),
        _stack("security-group-no-open-ingress", "No ingress from 0.0.0.0/0 or ::/0, except 443 on load-balancer groups.",
               sr.security_group_open_ingress, CRITICAL, "Admit security groups, not the internet."),
        _stack("iam-tenant-scope", "Role policies name only their tenant's resources and never '*' for data actions.",
               sr.iam_tenant_scope, CRITICAL, "List the tenant's own ARNs in Resource."),
        _stack("rds-tls-forced", "PostgreSQL databases force TLS through their parameter group.", sr.rds_tls_forced, HIGH,
               "Use a parameter group that sets rds.force_ssl = 1."),
        _stack("sqs-dead-letter", "Every queue has a dead-letter queue.", sr.sqs_dead_letter, MEDIUM,
               "Set redrivePolicy with a deadLetterTargetArn."),
        _stack("tenant-usage-plan", "Every tenant has an API usage plan with a throttle and a quota.",
               sr.tenant_usage_plan, MEDIUM, "Create the tenant through the tenant component (components/api.py)."),
        _stack("tenant-budget", "Every tenant has a budget filtered by its tenant-id cost allocation tag.",
               sr.tenant_budget, MEDIUM, "Create the tenant's budget (components/billing.py)."),
        _stack("tenant-log-group", "Every tenant has a log group, encrypted with its own key.", sr.tenant_log_group,
               HIGH, "Create the tenant's log group with kmsKeyId set to its key (components/monitoring.py)."),
        _stack("tenant-alarm-topic", "Every tenant has an alarm topic, encrypted with its own key.",
               sr.tenant_alarm_topic, HIGH, "Create the tenant's topic with kmsMasterKeyId set to its key."),
        _stack("namespace-guardrails", "Each tenant namespace has a ResourceQuota, a LimitRange and a default-deny NetworkPolicy.",
               sr.namespace_guardrails, HIGH, "Create the namespace through the tenant's namespace component."),
    ]
