"""What the provider and the APIs would refuse, checked on the offline plan.

Mocks accept any value; AWS and Kubernetes do not. Each rule below restates a documented
constraint on a name, an identifier or a value of a resource type the program creates, with its
source. A name the program leaves unset is checked as the provider would autoname it: the logical
name, a hyphen and 7 random characters (`AUTONAME_SUFFIX`), lowercased where the provider
lowercases it. Names that must be unique per account and region are checked across the plan.

A breach fails `tenancy plan` (exit 1) naming the resource, the field, the value and the rule.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes.utils.quantity import parse_quantity
from kubernetes_validate.utils import schema_contents
from pulumi.output import Unknown
from referencing import Registry, Resource

from tenancy.plan.harness import Recording, Registration

# pulumi-aws autonaming: `<name>-<7 random characters>` (tfbridge's default AutoName: a separator
# and 7 random characters); see pulumi/pulumi-aws provider/resources.go, AutoNameWithCustomOptions.
AUTONAME_SUFFIX = "-abcdefg"


@dataclass(frozen=True)
class Breach:
    urn: str
    type: str
    name: str
    field: str
    value: Any
    rule: str  # what the API requires, and where that is documented

    def __str__(self) -> str:
        return f"{self.name} ({self.type}) {self.field}={self.value!r}: {self.rule}"

    def as_dict(self) -> dict:
        return {"urn": self.urn, "type": self.type, "name": self.name, "field": self.field,
                "value": self.value, "rule": self.rule}


@dataclass(frozen=True)
class NameRule:
    """A name or identifier: length, characters, and the shapes AWS refuses."""

    max_len: int
    pattern: str  # the whole value must match
    allowed: str  # the pattern in words
    source: str
    min_len: int = 1
    first_letter: bool = False
    no_double_hyphen: bool = False
    no_trailing_hyphen: bool = False
    lowercase_autoname: bool = False  # the provider lowercases the autoname
    autonamed: bool = True  # the provider makes one when the program leaves it unset
    reserved: tuple[str, ...] = ()

    def problems(self, value: str) -> Iterator[str]:
        if not self.min_len <= len(value) <= self.max_len:
            yield f"{len(value)} characters; {self.min_len} to {self.max_len} allowed"
        if not re.fullmatch(self.pattern, value):
            yield f"only {self.allowed}"
        if self.first_letter and not value[:1].isalpha():
            yield "must begin with a letter"
        if self.no_double_hyphen and "--" in value:
            yield "must not contain two consecutive hyphens"
        if self.no_trailing_hyphen and value.endswith("-"):
            yield "must not end with a hyphen"
        if value.lower() in self.reserved:
            yield f"{value!r} is reserved"


RDS_ID = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"
RDS_SNAPSHOT = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html"
RDS_PARAMS = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html"
RDS_SUBNETS = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html"
EC_RG = "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html"
EC_USER = "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateUser.html"
EC_GROUP = "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateUserGroup.html"
EC_SUBNETS = "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateCacheSubnetGroup.html"
IAM_ROLE = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"
SQS_QUEUE = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"
SNS_TOPIC = "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html"
SECRET = "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html"
LOGS = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
RETENTION = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html"
DASHBOARD = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html"
ALARM = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"
BUDGET = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html"
KMS_ALIAS = "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html"
KMS_KEY = "https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html"
APPCONFIG = "https://docs.aws.amazon.com/appconfig/2019-10-09/APIReference/API_CreateApplication.html"
SG = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"
K8S_NAMES = "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/"
COGNITO_POOL = "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html"
COGNITO_CLIENT = ("https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/"
                  "API_CreateUserPoolClient.html")
COGNITO_GROUP = "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateGroup.html"
COGNITO_ATTRIBUTE = ("https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/"
                     "API_SchemaAttributeType.html")
HPA = "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/"

RDS_IDENTIFIER = NameRule(63, r"[a-z0-9-]+", "lowercase letters, digits and hyphens", RDS_ID, first_letter=True,
                          no_double_hyphen=True, no_trailing_hyphen=True, lowercase_autoname=True)
DNS_LABEL = NameRule(63, r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "lowercase letters, digits and inner hyphens (RFC 1123)",
                     K8S_NAMES, autonamed=False)
DNS_SUBDOMAIN = NameRule(253, r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", "lowercase letters, digits, '-' and '.'",
                         K8S_NAMES, autonamed=False)

# type token -> {input field: rule}
NAME_RULES: dict[str, dict[str, NameRule]] = {
    "aws:rds/instance:Instance": {
        "identifier": RDS_IDENTIFIER,
        "finalSnapshotIdentifier": NameRule(255, r"[A-Za-z0-9-]+", "letters, digits and hyphens", RDS_SNAPSHOT,
                                            first_letter=True, no_double_hyphen=True, no_trailing_hyphen=True,
                                            autonamed=False),
    },
    "aws:rds/parameterGroup:ParameterGroup": {
        "name": NameRule(255, r"[a-z0-9-]+", "lowercase letters, digits and hyphens", RDS_PARAMS, first_letter=True,
                         no_double_hyphen=True, no_trailing_hyphen=True, lowercase_autoname=True)},
    "aws:rds/subnetGroup:SubnetGroup": {
        "name": NameRule(255, r"[a-z0-9 ._-]+", "lowercase letters, digits, spaces, '.', '_' and '-'", RDS_SUBNETS,
                         lowercase_autoname=True, reserved=("default",))},
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        "replicationGroupId": NameRule(40, r"[a-z0-9-]+", "lowercase letters, digits and hyphens", EC_RG,
                                       first_letter=True, no_double_hyphen=True, no_trailing_hyphen=True,
                                       lowercase_autoname=True),
        "finalSnapshotIdentifier": NameRule(255, r"[A-Za-z0-9-]+", "letters, digits and hyphens", EC_RG,
                                            first_letter=True, no_double_hyphen=True, no_trailing_hyphen=True,
                                            autonamed=False),
    },
    "aws:elasticache/subnetGroup:SubnetGroup": {
        "name": NameRule(255, r"[a-z0-9-]+", "lowercase letters, digits and hyphens", EC_SUBNETS,
                         lowercase_autoname=True)},
    "aws:elasticache/user:User": {
        "userId": NameRule(40, r"[A-Za-z][A-Za-z0-9-]*", "letters, digits and hyphens, from a letter", EC_USER,
                           no_double_hyphen=True, no_trailing_hyphen=True, autonamed=False)},
    "aws:elasticache/userGroup:UserGroup": {
        "userGroupId": NameRule(40, r"[A-Za-z][A-Za-z0-9-]*", "letters, digits and hyphens, from a letter",
                                EC_GROUP, no_double_hyphen=True, no_trailing_hyphen=True, autonamed=False)},
    "aws:iam/role:Role": {
        "name": NameRule(64, r"[\w+=,.@-]+", "letters, digits and '+=,.@_-'", IAM_ROLE)},
    "aws:sqs/queue:Queue": {
        "name": NameRule(80, r"[A-Za-z0-9_-]+", "letters, digits, '-' and '_'", SQS_QUEUE)},
    "aws:sns/topic:Topic": {
        "name": NameRule(256, r"[A-Za-z0-9_-]+", "letters, digits, '-' and '_'", SNS_TOPIC)},
    "aws:secretsmanager/secret:Secret": {
        "name": NameRule(512, r"[\w/+=.@-]+", "letters, digits and '/_+=.@-'", SECRET)},
    "aws:cloudwatch/logGroup:LogGroup": {
        "name": NameRule(512, r"[A-Za-z0-9._/#-]+", "letters, digits and '._/#-'", LOGS)},
    "aws:cloudwatch/dashboard:Dashboard": {
        "dashboardName": NameRule(255, r"[A-Za-z0-9_-]+", "letters, digits, '-' and '_'", DASHBOARD,
                                  autonamed=False)},
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        "name": NameRule(255, r"[^\x00-\x1f]+", "printable characters", ALARM)},
    "aws:budgets/budget:Budget": {
        "name": NameRule(100, r"[^:\\]+", "any character but ':' and '\\'", BUDGET)},
    "aws:kms/alias:Alias": {
        "name": NameRule(256, r"alias/[A-Za-z0-9/_-]+", "'alias/' then letters, digits and '/_-'", KMS_ALIAS,
                         autonamed=False, reserved=("alias/aws",))},
    "aws:appconfig/application:Application": {"name": NameRule(64, r".+", "1 to 64 characters", APPCONFIG)},
    "aws:appconfig/environment:Environment": {"name": NameRule(64, r".+", "1 to 64 characters", APPCONFIG)},
    "aws:appconfig/configurationProfile:ConfigurationProfile": {
        "name": NameRule(128, r".+", "1 to 128 characters", APPCONFIG)},
    "aws:cognito/userPool:UserPool": {
        "name": NameRule(128, r"[\w\s+=,.@-]+", "letters, digits, spaces and '+=,.@_-'", COGNITO_POOL)},
    "aws:cognito/userPoolClient:UserPoolClient": {
        "name": NameRule(128, r"[\w\s+=,.@-]+", "letters, digits, spaces and '+=,.@_-'", COGNITO_CLIENT,
                         autonamed=False)},
    "aws:cognito/userGroup:UserGroup": {
        "name": NameRule(128, r"[^\s]+", "letters, digits, marks, symbols and punctuation (no spaces)",
                         COGNITO_GROUP, autonamed=False)},
    "aws:ec2/securityGroup:SecurityGroup": {
        "name": NameRule(255, r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+", "letters, digits and ' ._-:/()#,@[]+=&;{}!$*'",
                         SG, reserved=("default",)),
        "description": NameRule(255, r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*", "letters, digits and "
                                "' ._-:/()#,@[]+=&;{}!$*'", SG, min_len=0, autonamed=False)},
}

# Names AWS keeps unique per account and region (per account for IAM), checked across the plan.
UNIQUE: dict[str, str] = {
    "aws:elasticache/user:User": "userId",
    "aws:elasticache/userGroup:UserGroup": "userGroupId",
    "aws:elasticache/replicationGroup:ReplicationGroup": "replicationGroupId",
    "aws:rds/instance:Instance": "identifier",
    "aws:iam/role:Role": "name",
    "aws:kms/alias:Alias": "name",
    "aws:budgets/budget:Budget": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    "aws:appconfig/application:Application": "name",
}

LOG_RETENTION_DAYS = {0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653}


def _ranged(field: str, low: float, high: float, source: str) -> Callable[[Registration], Iterator[tuple]]:
    def check(r: Registration) -> Iterator[tuple]:
        value = r.input(field)
        if isinstance(value, (int, float)) and not low <= value <= high:
            yield field, value, f"{low:g} to {high:g} ({source})"
    return check


def _rds_storage(r: Registration) -> Iterator[tuple]:
    allocated, ceiling = r.input("allocatedStorage"), r.input("maxAllocatedStorage")
    if isinstance(allocated, (int, float)) and not 20 <= allocated <= 65536:
        yield "allocatedStorage", allocated, f"gp3 storage is 20 to 65536 GiB ({RDS_ID})"
    if isinstance(allocated, (int, float)) and isinstance(ceiling, (int, float)) and ceiling:
        least = math.ceil(round(allocated * 1.1, 6))
        if ceiling < least:
            yield ("maxAllocatedStorage", ceiling, f"storage autoscaling needs a ceiling at least 10% above the "
                   f"allocated {allocated:g} GiB, so at least {least} GiB; leave it unset to turn autoscaling off "
                   "(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html)")


def _log_retention(r: Registration) -> Iterator[tuple]:
    value = r.input("retentionInDays")
    if value is not None and value not in LOG_RETENTION_DAYS:
        yield "retentionInDays", value, f"one of {sorted(LOG_RETENTION_DAYS)} ({RETENTION})"


def _replication_group(r: Registration) -> Iterator[tuple]:
    nodes = r.input("numCacheClusters")
    if isinstance(nodes, (int, float)) and not 1 <= nodes <= 6:
        yield "numCacheClusters", nodes, f"1 to 6 nodes ({EC_RG})"
    if r.input("multiAzEnabled") and (not r.input("automaticFailoverEnabled") or (nodes or 0) < 2):
        yield "multiAzEnabled", True, f"Multi-AZ needs automatic failover and at least 2 nodes ({EC_RG})"


def _limit_range(r: Registration) -> Iterator[tuple]:
    """The API server refuses a LimitRange whose default exceeds max, or defaultRequest its default
    (https://kubernetes.io/docs/concepts/policy/limit-range/)."""
    for i, limit in enumerate((r.input("spec") or {}).get("limits") or []):
        order = [("defaultRequest", limit.get("defaultRequest") or {}), ("default", limit.get("default") or {}),
                 ("max", limit.get("max") or {})]
        for (low_name, low), (high_name, high) in zip(order, order[1:], strict=False):
            for resource in set(low) & set(high):
                try:
                    if parse_quantity(low[resource]) > parse_quantity(high[resource]):
                        yield (f"spec.limits[{i}].{low_name}.{resource}", low[resource],
                               f"must not exceed {high_name} {high[resource]} (the API server refuses it: "
                               "https://kubernetes.io/docs/concepts/policy/limit-range/)")
                except ValueError as exc:
                    yield f"spec.limits[{i}].{low_name}.{resource}", low[resource], str(exc)


def _quantities(path: str) -> Callable[[Registration], Iterator[tuple]]:
    def check(r: Registration) -> Iterator[tuple]:
        values: Any = r.inputs
        for key in path.split("."):
            values = (values or {}).get(key) if isinstance(values, dict) else None
        for resource, quantity in (values or {}).items():
            try:
                parse_quantity(quantity)
            except ValueError as exc:
                yield f"{path}.{resource}", quantity, str(exc)
    return check


def _user_pool_attributes(r: Registration) -> Iterator[tuple]:
    """Custom attributes: a name of 1 to 20 characters, at most 50 of them; a string's length bounds
    within 0 to 2048 (CreateUserPool's SchemaAttributeType)."""
    schemas = r.input("schemas") or []
    if len(schemas) > 50:
        yield "schemas", len(schemas), f"at most 50 custom attributes ({COGNITO_POOL})"
    for i, attribute in enumerate(schemas):
        name = attribute.get("name")
        if isinstance(name, str) and not 1 <= len(name) <= 20:
            yield f"schemas[{i}].name", name, f"{len(name)} characters; 1 to 20 allowed ({COGNITO_ATTRIBUTE})"
        bounds = attribute.get("stringAttributeConstraints") or {}
        for key in ("minLength", "maxLength"):
            if key in bounds and not (str(bounds[key]).isdigit() and 0 <= int(bounds[key]) <= 2048):
                yield f"schemas[{i}].stringAttributeConstraints.{key}", bounds[key], \
                    f"a whole number from 0 to 2048 ({COGNITO_ATTRIBUTE})"


TOKEN_LIMITS = {  # (field, unit field, least, most) in minutes
    "accessTokenValidity": ("accessToken", 5, 24 * 60),
    "idTokenValidity": ("idToken", 5, 24 * 60),
    "refreshTokenValidity": ("refreshToken", 60, 3650 * 24 * 60),
}
MINUTES = {"seconds": 1 / 60, "minutes": 1, "hours": 60, "days": 24 * 60}
DEFAULT_UNITS = {"accessToken": "hours", "idToken": "hours", "refreshToken": "days"}


def _app_client(r: Registration) -> Iterator[tuple]:
    """Token lifetimes (access and ID tokens 5 minutes to a day, refresh tokens an hour to ten years,
    in the client's units), redirect URLs (https, or http on localhost; at most 100), and OAuth flows
    only with a redirect URL to return to (CreateUserPoolClient)."""
    units = {**DEFAULT_UNITS, **(r.input("tokenValidityUnits") or {})}
    for field, (unit, least, most) in TOKEN_LIMITS.items():
        value = r.input(field)
        if isinstance(value, (int, float)):
            minutes = value * MINUTES.get(str(units.get(unit)), 1)
            if not least <= minutes <= most:
                yield field, value, f"{least} to {most} minutes, here in {units.get(unit)} ({COGNITO_CLIENT})"
    for field in ("callbackUrls", "logoutUrls"):
        urls = r.input(field) or []
        if len(urls) > 100:
            yield field, len(urls), f"at most 100 URLs ({COGNITO_CLIENT})"
        for url in urls:
            if isinstance(url, str) and not (url.startswith("https://") or re.match(r"http://localhost(:\d+)?(/|$)", url)) \
                    or isinstance(url, str) and not 1 <= len(url) <= 1024:
                yield field, url, f"an https URL (http only for localhost), 1 to 1024 characters ({COGNITO_CLIENT})"
    if r.input("allowedOauthFlows") and not r.input("callbackUrls"):
        yield "callbackUrls", None, f"OAuth flows need at least one callback URL ({COGNITO_CLIENT})"


def _autoscaler(r: Registration) -> Iterator[tuple]:
    """The API server refuses maxReplicas below minReplicas, or a minReplicas under 1 without the
    HPAScaleToZero feature gate (HorizontalPodAutoscaler v2 validation, `HPA`)."""
    spec = r.input("spec") or {}
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if isinstance(low, (int, float)) and low < 1:
        yield "spec.minReplicas", low, f"at least 1 (HPAScaleToZero is alpha) ({HPA})"
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and high < low:
        yield "spec.maxReplicas", high, f"must not be below minReplicas {low:g} ({HPA})"


def _http_route(r: Registration) -> Iterator[tuple]:
    """The CRD's CEL rules the OpenAPI schema cannot say: a Service backend names its port, a
    PathPrefix or Exact path starts with '/' (gateway-api, HTTPRoute x-kubernetes-validations)."""
    for i, rule in enumerate((r.input("spec") or {}).get("rules") or []):
        for j, ref in enumerate(rule.get("backendRefs") or []):
            if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core") and "port" not in ref:
                yield (f"spec.rules[{i}].backendRefs[{j}].port", None,
                       f"a Service backend must name its port ({GATEWAY_API_CRDS}/gateway.networking.k8s.io_httproutes.yaml)")
        for j, match in enumerate(rule.get("matches") or []):
            path = match.get("path") or {}
            if path.get("type", "PathPrefix") in ("PathPrefix", "Exact") and "value" in path \
                    and not str(path["value"]).startswith("/"):
                yield (f"spec.rules[{i}].matches[{j}].path.value", path["value"],
                       f"must be an absolute path ({GATEWAY_API_CRDS}/gateway.networking.k8s.io_httproutes.yaml)")


VALUE_RULES: dict[str, list[Callable[[Registration], Iterator[tuple]]]] = {
    "aws:rds/instance:Instance": [_rds_storage, _ranged("backupRetentionPeriod", 0, 35, RDS_ID)],
    "aws:kms/key:Key": [_ranged("deletionWindowInDays", 7, 30, KMS_KEY)],
    "aws:sqs/queue:Queue": [_ranged("messageRetentionSeconds", 60, 1209600, SQS_QUEUE),
                            _ranged("kmsDataKeyReusePeriodSeconds", 60, 86400, SQS_QUEUE),
                            _ranged("visibilityTimeoutSeconds", 0, 43200, SQS_QUEUE)],
    "aws:secretsmanager/secret:Secret": [_ranged("recoveryWindowInDays", 0, 30, SECRET)],
    "aws:cloudwatch/logGroup:LogGroup": [_log_retention],
    "aws:elasticache/replicationGroup:ReplicationGroup": [
        _replication_group, _ranged("snapshotRetentionLimit", 0, 35, EC_RG)],
    "kubernetes:core/v1:LimitRange": [_limit_range],
    "kubernetes:core/v1:ResourceQuota": [_quantities("spec.hard")],
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": [_autoscaler],
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": [_http_route],
    "aws:cognito/userPool:UserPool": [_user_pool_attributes],
    "aws:cognito/userPoolClient:UserPoolClient": [_app_client],
}

# The Kubernetes version whose OpenAPI schemas the objects are checked against (strict: unknown
# fields are errors), from the kubernetes-validate package.
KUBERNETES_VERSION = kubernetes_validate.latest_version()


_SELECTOR = {"type": "object", "additionalProperties": False, "properties": {
    "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
    "matchExpressions": {"type": "array", "items": {
        "type": "object", "required": ["key", "operator"], "additionalProperties": False,
        "properties": {"key": {"type": "string"}, "operator": {"type": "string"},
                       "values": {"type": "array", "items": {"type": "string"}}}}}}}
_OBJECT_META = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "namespace": {"type": "string"}, "labels": {"type": "object"},
    "annotations": {"type": "object"}}}


def _object(properties: dict, required: tuple = ()) -> dict:
    found = {"type": "object", "additionalProperties": False, "properties": properties}
    return {**found, "required": list(required)} if required else found


def _array(items: dict, most: int, least: int = 0) -> dict:
    return {"type": "array", "items": items, "maxItems": most, **({"minItems": least} if least else {})}


# The Gateway API's standard channel, v1.2.1: kubernetes-sigs/gateway-api, config/crd/standard/
# gateway.networking.k8s.io_gateways.yaml, _httproutes.yaml and _referencegrants.yaml (the
# OpenAPI part; the CEL rules the program could break are value rules: `_http_route`).
GATEWAY_API_CRDS = "https://github.com/kubernetes-sigs/gateway-api/blob/v1.2.1/config/crd/standard"
_DNS_LABELS = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_GROUP = {"type": "string", "maxLength": 253, "pattern": f"^$|^{_DNS_LABELS}$"}
_KIND = {"type": "string", "minLength": 1, "maxLength": 63, "pattern": r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"}
_NAME = {"type": "string", "minLength": 1, "maxLength": 253}
_NAMESPACE = {"type": "string", "minLength": 1, "maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
_SECTION = {"type": "string", "minLength": 1, "maxLength": 253, "pattern": f"^{_DNS_LABELS}$"}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_HOSTNAME = {"type": "string", "minLength": 1, "maxLength": 253, "pattern": rf"^(\*\.)?{_DNS_LABELS}$"}
_HEADER_NAME = {"type": "string", "minLength": 1, "maxLength": 256, "pattern": r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"}
_HEADER = _object({"name": _HEADER_NAME, "value": {"type": "string", "minLength": 1, "maxLength": 4096}},
                  ("name", "value"))
_HEADER_MODIFIER = _object({"set": _array(_HEADER, 16), "add": _array(_HEADER, 16),
                            "remove": _array({"type": "string"}, 16)})
_FILTER = _object({
    "type": {"enum": ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
                      "URLRewrite", "ExtensionRef"]},
    "requestHeaderModifier": _HEADER_MODIFIER, "responseHeaderModifier": _HEADER_MODIFIER,
    "requestMirror": {"type": "object"}, "requestRedirect": {"type": "object"}, "urlRewrite": {"type": "object"},
    "extensionRef": {"type": "object"}}, ("type",))
_PARENT_REF = _object({"group": _GROUP, "kind": _KIND, "namespace": _NAMESPACE, "name": _NAME,
                       "sectionName": _SECTION, "port": _PORT}, ("name",))
_BACKEND_REF = _object({"group": _GROUP, "kind": _KIND, "name": _NAME, "namespace": _NAMESPACE, "port": _PORT,
                        "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
                        "filters": _array(_FILTER, 16)}, ("name",))
_MATCH = _object({
    "path": _object({"type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                     "value": {"type": "string", "maxLength": 1024}}),
    "headers": _array(_object({"type": {"enum": ["Exact", "RegularExpression"]}, "name": _HEADER_NAME,
                               "value": {"type": "string", "minLength": 1, "maxLength": 4096}}, ("name", "value")), 16),
    "queryParams": _array(_object({"type": {"enum": ["Exact", "RegularExpression"]},
                                   "name": {"type": "string", "minLength": 1, "maxLength": 256},
                                   "value": {"type": "string", "minLength": 1, "maxLength": 1024}},
                                  ("name", "value")), 16),
    "method": {"enum": ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]}})
_HTTP_ROUTE_SPEC = _object({
    "parentRefs": _array(_PARENT_REF, 32), "hostnames": _array(_HOSTNAME, 16),
    "rules": _array(_object({"matches": _array(_MATCH, 64), "filters": _array(_FILTER, 16),
                             "backendRefs": _array(_BACKEND_REF, 16),
                             "timeouts": _object({"request": {"type": "string"}, "backendRequest": {"type": "string"}})}),
                    16)})
_LISTENER = _object({
    "name": _SECTION, "hostname": _HOSTNAME, "port": _PORT,
    "protocol": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": (
        r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|" + _DNS_LABELS + r"\/[A-Za-z0-9]+$")},
    "tls": _object({"mode": {"enum": ["Terminate", "Passthrough"]},
                    "certificateRefs": _array(_object({"group": _GROUP, "kind": _KIND, "name": _NAME,
                                                       "namespace": _NAMESPACE}, ("name",)), 64),
                    "options": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 16}}),
    "allowedRoutes": _object({"namespaces": _object({"from": {"enum": ["All", "Selector", "Same"]}, "selector": _SELECTOR}),
                              "kinds": _array(_object({"group": _GROUP, "kind": _KIND}, ("kind",)), 8)})},
    ("name", "port", "protocol"))
_GATEWAY_SPEC = _object({
    "gatewayClassName": _NAME, "listeners": _array(_LISTENER, 64, 1),
    "addresses": _array(_object({"type": {"type": "string"}, "value": {"type": "string", "minLength": 1,
                                                                       "maxLength": 253}}, ("value",)), 16),
    "infrastructure": _object({"labels": {"type": "object"}, "annotations": {"type": "object"},
                               "parametersRef": {"type": "object"}})}, ("gatewayClassName", "listeners"))
_REFERENCE_GRANT_SPEC = _object({
    "from": _array(_object({"group": _GROUP, "kind": _KIND, "namespace": _NAMESPACE}, ("group", "kind", "namespace")),
                   16, 1),
    "to": _array(_object({"group": _GROUP, "kind": _KIND, "name": _NAME}, ("group", "kind")), 16, 1)},
    ("from", "to"))


def _custom(spec: dict) -> dict:
    return _object({"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _OBJECT_META,
                    "spec": spec}, ("apiVersion", "kind", "metadata", "spec"))


# Custom resources the program creates, which kubernetes-validate does not know: their CRDs' schemas,
# made strict like kubernetes-validate's (unknown fields are errors).
CUSTOM_SCHEMAS = {
    # GATEWAY_API_CRDS: gateway.networking.k8s.io_gateways.yaml
    ("gateway.networking.k8s.io/v1", "Gateway"): _custom(_GATEWAY_SPEC),
    # GATEWAY_API_CRDS: gateway.networking.k8s.io_httproutes.yaml
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): _custom(_HTTP_ROUTE_SPEC),
    # GATEWAY_API_CRDS: gateway.networking.k8s.io_referencegrants.yaml
    ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"): _custom(_REFERENCE_GRANT_SPEC),
    # aws/amazon-vpc-resource-controller-k8s, config/crd/bases/vpcresources.k8s.aws_securitygrouppolicies.yaml
    ("vpcresources.k8s.aws/v1beta1", "SecurityGroupPolicy"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "additionalProperties": False,
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _OBJECT_META,
            "spec": {"type": "object", "additionalProperties": False, "properties": {
                "podSelector": _SELECTOR, "serviceAccountSelector": _SELECTOR,
                "securityGroups": {"type": "object", "additionalProperties": False, "properties": {
                    "groupIds": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 16}}}}}}},
}


@cache
def _k8s_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """kubernetes-validate's strict schema for one kind, built once (its `validate` reloads the
    definitions on every call, about 20 ms each); a custom resource's from CUSTOM_SCHEMAS."""
    if (api_version, kind) in CUSTOM_SCHEMAS:
        return jsonschema.validators.Draft202012Validator(CUSTOM_SCHEMAS[(api_version, kind)])
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", KUBERNETES_VERSION)
    except (FileNotFoundError, kubernetes_validate.utils.VersionNotSupportedError):
        return None
    definitions = schema_contents(f"{folder}/_definitions.json", KUBERNETES_VERSION)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _k8s_schema(r: Registration) -> Iterator[tuple]:
    """The object as the API server would receive it, against its OpenAPI schema."""
    manifest = {key: value for key, value in r.inputs.items()}
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return
    validator = _k8s_validator(api_version, kind)
    if validator is None:
        yield "kind", f"{api_version}/{kind}", f"no schema in Kubernetes {KUBERNETES_VERSION}"
        return
    for error in validator.iter_errors(_plain_json(manifest)):
        if isinstance(error.instance, Unknown):
            continue  # computed later (preview): nothing to judge yet
        where = ".".join(str(p) for p in error.absolute_path) or "(object)"
        yield where, error.instance if not isinstance(error.instance, (dict, list)) else "...", \
            f"{error.message} (Kubernetes {KUBERNETES_VERSION} OpenAPI schema, via kubernetes-validate)"


def _plain_json(value: Any) -> Any:
    """Numbers that are whole as ints: the engine hands every number over as a float."""
    if isinstance(value, dict):
        return {k: _plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


K8S_NAMED = {"kubernetes:core/v1:Namespace": DNS_LABEL}  # every other Kubernetes kind: a DNS subdomain


def effective_name(r: Registration, field: str, rule: NameRule) -> str | None:
    """The value AWS would see: the program's, or the provider's autoname when it set none."""
    value = r.input(field)
    if isinstance(value, str):
        return value
    if value is None and rule.autonamed:
        name = r.name + AUTONAME_SUFFIX
        return name.lower() if rule.lowercase_autoname else name
    return None  # unknown in preview, or not a string: nothing to judge


def _name_breaches(r: Registration) -> Iterator[Breach]:
    rules = dict(NAME_RULES.get(r.type, {}))
    if r.type.startswith("kubernetes:") and r.custom and not r.type.startswith("pulumi:"):
        metadata = r.input("metadata") or {}
        if isinstance(metadata.get("name"), str):
            rule = K8S_NAMED.get(r.type, DNS_SUBDOMAIN)
            for problem in rule.problems(metadata["name"]):
                yield Breach(r.urn, r.type, r.name, "metadata.name", metadata["name"], f"{problem} ({rule.source})")
    for field, rule in rules.items():
        value = effective_name(r, field, rule)
        if value is None:
            continue
        label = field if isinstance(r.input(field), str) else f"{field} (autonamed)"
        for problem in rule.problems(value):
            yield Breach(r.urn, r.type, r.name, label, value, f"{problem} ({rule.source})")


def _unique_breaches(resources: Iterable[Registration]) -> Iterator[Breach]:
    seen: dict[tuple[str, str], list[Registration]] = defaultdict(list)
    for r in resources:
        field = UNIQUE.get(r.type)
        value = r.input(field) if field else None
        if isinstance(value, str):
            seen[(r.type, value.lower())].append(r)
    for (type_, _value), owners in seen.items():
        if len(owners) > 1:
            for r in owners:
                others = ", ".join(o.name for o in owners if o is not r)
                yield Breach(r.urn, type_, r.name, UNIQUE[type_], r.input(UNIQUE[type_]),
                             f"must be unique in the account and region; also used by {others}")


def check_constraints(rec: Recording) -> list[Breach]:
    """Every breach of a documented API constraint in the plan, in registration order."""
    breaches: list[Breach] = []
    for r in rec.resources:
        breaches.extend(_name_breaches(r))
        rules = list(VALUE_RULES.get(r.type, ()))
        if r.type.startswith("kubernetes:") and r.custom:
            rules.append(_k8s_schema)
        for rule in rules:
            breaches.extend(Breach(r.urn, r.type, r.name, field, value, why) for field, value, why in rule(r))
    breaches.extend(_unique_breaches(rec.resources))
    return breaches
