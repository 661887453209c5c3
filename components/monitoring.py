"""Per tenant: its log group and alarm topic, both encrypted with its key; alarms on its queues and
its own database and cache; a dashboard."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from tenancy.registry.models import PlanMonitoring

from .context import Account
from .policydoc import document


@dataclass(frozen=True)
class MonitoringArgs:
    account: Account
    tenant_id: str
    log_group_name: str
    dashboard_name: str
    key_arn: pulumi.Input[str]
    queue_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]
    limits: PlanMonitoring  # thresholds and retention from the tenant's plan
    database_id: Optional[pulumi.Input[str]] = None  # its own database, if any
    database_storage_gib: int = 0  # the size the free-storage alarm measures against
    cache_node_ids: Sequence[str] = ()  # the nodes of its own replication group, if any


class Monitoring(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        limits, tenant_id = args.limits, args.tenant_id
        logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=args.log_group_name,
                                       retention_in_days=limits.log_retention_days, kms_key_id=args.key_arn,
                                       opts=child)
        topic = aws.sns.Topic(f"{name}-alarms", kms_master_key_id=args.key_arn, opts=child)
        aws.sns.TopicPolicy(f"{name}-alarms-policy", arn=topic.arn, policy=document([{
            "Sid": "AlarmsAndBudgetsPublish", "Effect": "Allow",
            "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
            "Action": "sns:Publish", "Resource": topic.arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": args.account.account_id}}}]), opts=child)
        alarms = {"dlq-not-empty": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": args.dlq_name},
                                    "Maximum", "GreaterThanThreshold", 0),
                  "oldest-message": ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": args.queue_name},
                                     "Maximum", "GreaterThanThreshold", limits.oldest_message_age_seconds)}
        if args.database_id is not None:
            free_bytes = args.database_storage_gib * limits.database_free_storage_percent / 100 * 1024 ** 3
            alarms["database-cpu"] = ("AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": args.database_id},
                                      "Average", "GreaterThanThreshold", limits.database_cpu_percent)
            alarms["database-storage"] = ("AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": args.database_id},
                                          "Minimum", "LessThanThreshold", free_bytes)
        # ElastiCache publishes per node (CacheClusterId), never per replication group.
        for node in args.cache_node_ids:
            alarms[f"cache-memory-{node.rsplit('-', 1)[-1]}"] = (
                "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", {"CacheClusterId": node}, "Maximum",
                "GreaterThanThreshold", limits.cache_memory_percent)
        for label, (namespace, metric, dimensions, statistic, comparison, threshold) in alarms.items():
            aws.cloudwatch.MetricAlarm(
                f"{name}-{label}", alarm_description=f"{tenant_id}: {label}", namespace=namespace, metric_name=metric,
                dimensions=dimensions, statistic=statistic, comparison_operator=comparison, threshold=threshold,
                period=300, evaluation_periods=1, treat_missing_data="notBreaching",
                alarm_actions=[topic.arn], ok_actions=[topic.arn], opts=child)
        widgets = [{"type": "metric", "width": 12, "height": 6, "properties": {
            "title": label, "region": args.account.region, "stat": statistic,
            "metrics": [[namespace, metric, *[x for kv in dimensions.items() for x in kv]]]}}
            for label, (namespace, metric, dimensions, statistic, _, _) in alarms.items()]
        aws.cloudwatch.Dashboard(f"{name}-dashboard", dashboard_name=args.dashboard_name,
                                 dashboard_body=pulumi.Output.from_input(widgets).apply(
                                     lambda w: json.dumps({"widgets": w})), opts=child)
        self.topic_arn = topic.arn
        self.log_group_name = logs.name
        self.register_outputs({"topicArn": self.topic_arn, "logGroup": self.log_group_name})
