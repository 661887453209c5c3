"""The tag transformation on its own: a component's tags reach every AWS child, and no child can
override them."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.tagging import tagging
from tenancy.plan.harness import CloudMocks, RecordingMonitor, plain

OWNER_TAGS = {"tenant-id": "acme", "managed-by": "tenancy"}


@pulumi.runtime.test
def test_children_get_the_owner_tags_and_cannot_override_them():
    monitor = RecordingMonitor(CloudMocks("eu-west-1"))
    pulumi.runtime.set_mocks(monitor.mocks, project="tagging", stack="test", monitor=monitor)
    owner = pulumi.ComponentResource("test:index:Owner", "owner", None,
                                     pulumi.ResourceOptions(transformations=[tagging(OWNER_TAGS)]))
    queue = aws.sqs.Queue("q", tags={"tenant-id": "mallory", "team": "data"},
                          opts=pulumi.ResourceOptions(parent=owner))
    nested = pulumi.ComponentResource("test:index:Nested", "nested", None, pulumi.ResourceOptions(parent=owner))
    key = aws.kms.Key("k", opts=pulumi.ResourceOptions(parent=nested))
    random.RandomPassword("p", length=16, opts=pulumi.ResourceOptions(parent=owner))

    def check(_):
        by_name = {r.name: r for r in monitor.registrations}
        assert plain(by_name["q"].inputs["tags"]) == {"tenant-id": "acme", "managed-by": "tenancy", "team": "data"}
        assert plain(by_name["k"].inputs["tags"]) == OWNER_TAGS
        assert "tags" not in by_name["p"].inputs  # not an AWS resource: left alone

    return pulumi.Output.all(queue.urn, key.urn).apply(check)
