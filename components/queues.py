"""A tenant's work queue and dead-letter queue: encrypted with its key, TLS only, and usable by its
workload role alone."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from .policydoc import document

MAX_RECEIVES = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# What the tenant's workload does with its messages. Only these are denied to other principals:
# the provider reads the queue back (GetQueueAttributes, ListQueueTags) after every write, so a
# deny on them would break every later refresh and update of the stack.
MESSAGE_ACTIONS = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                   "sqs:PurgeQueue"]
DATA_ACTIONS = [*MESSAGE_ACTIONS, "sqs:GetQueueAttributes"]  # what the tenant's role is granted


def queue_policy_statements(queue_arn: pulumi.Input[str], role_arn: pulumi.Input[str]) -> list[dict]:
    """Deny anything over plain HTTP; deny the message actions to every principal but the tenant's
    role. Reading and managing the queue stays with the account's administrators (so deploys,
    refreshes and the audit keep working)."""
    return [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
         "Resource": queue_arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOtherPrincipals", "Effect": "Deny", "Principal": "*", "Action": MESSAGE_ACTIONS,
         "Resource": queue_arn, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": role_arn}}},
        {"Sid": "TenantWorkloadUses", "Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": DATA_ACTIONS,
         "Resource": queue_arn},
    ]


class TenantQueues(pulumi.ComponentResource):
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dlq_name: pulumi.Output[str]

    def __init__(self, name: str, *, key_arn: pulumi.Input[str], role_arn: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:queues:TenantQueues", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        encryption = dict(kms_master_key_id=key_arn, kms_data_key_reuse_period_seconds=300)
        dlq = aws.sqs.Queue(f"{name}-dlq", message_retention_seconds=DLQ_RETENTION_SECONDS, **encryption,
                            opts=child)
        queue = aws.sqs.Queue(
            f"{name}-queue", **encryption,
            redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn,
                                                                 "maxReceiveCount": MAX_RECEIVES})),
            opts=child)
        for label, q in (("queue", queue), ("dlq", dlq)):
            aws.sqs.QueuePolicy(f"{name}-{label}-policy", queue_url=q.url,
                                policy=document(queue_policy_statements(q.arn, role_arn)), opts=child)
        self.queue_url, self.queue_arn, self.queue_name = queue.url, queue.arn, queue.name
        self.dlq_url, self.dlq_arn, self.dlq_name = dlq.url, dlq.arn, dlq.name
        self.register_outputs({"queueUrl": self.queue_url, "queueArn": self.queue_arn, "queueName": self.queue_name,
                               "dlqUrl": self.dlq_url, "dlqArn": self.dlq_arn, "dlqName": self.dlq_name})
