"""The offline harness keeps a plan small and answers as the SDK's own MockMonitor does: no
protobuf kept per registration, each state stored once, strings shared, the event loop catching up
while the program constructs (so pending registrations stay few), and the same answers."""

from __future__ import annotations

import sys

import pulumi
import pulumi_aws as aws
from google.protobuf.message import Message
from pulumi.runtime import mocks as pulumi_mocks

from tenancy.plan import harness
from tenancy.plan.harness import CloudMocks, Registration, plain, run_function


def deep_size(value, seen: set[int]) -> int:
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        size += sum(deep_size(v, seen) for v in value)
    return size


def queues(count: int):
    def program() -> None:
        key = aws.kms.Key("key", description="k")
        for i in range(count):
            aws.sqs.Queue(f"q{i}", kms_master_key_id=key.arn, tags={"tenant-id": f"t{i % 3}", "managed-by": "tenancy"})
    return program


def test_a_registration_keeps_no_protobuf_and_its_state_once(dev_plan):
    rec = dev_plan
    assert len(rec.registrations) > 100
    for r in rec.registrations:
        assert not hasattr(r, "__dict__")  # slots only
        assert not any(isinstance(getattr(r, slot), Message) for slot in Registration.__slots__)
    queue = next(r for r in rec.resources if r.type == "aws:sqs/queue:Queue")
    assert queue.outputs["url"].startswith("https://sqs.") and queue.outputs["tags"] == queue.inputs["tags"]
    assert set(queue._added) <= {"name", "arn", "url"}  # what the mocks add, not a second copy of the inputs
    # Outputs and options cost about as much as the inputs (URNs and dependency lists are long beside
    # a small resource's inputs): a second copy of the inputs would push this past 2.5.
    inputs, everything = set(), set()
    inputs_size = sum(deep_size(r.inputs, inputs) for r in rec.registrations)
    total = sum(deep_size(r.inputs, everything) + deep_size(r._added, everything)
                + deep_size(r.dependencies, everything) + deep_size(r.property_dependencies, everything)
                + deep_size(r.urn, everything) + deep_size(r.parent, everything) for r in rec.registrations)
    assert total < 2.5 * inputs_size


def test_urns_keys_and_short_values_are_shared_not_copied(dev_plan):
    rec = dev_plan
    by_urn = {r.urn: r for r in rec.registrations}
    children = [r for r in rec.registrations if r.parent in by_urn]
    assert children and all(r.parent is by_urn[r.parent].urn for r in children)
    tagged = [r.inputs["tags"] for r in rec.resources if isinstance(r.inputs.get("tags"), dict)]
    keys = {id(k) for tags in tagged for k in tags}
    values = {id(tags["managed-by"]) for tags in tagged if "managed-by" in tags}
    assert len(keys) < 20 and len(values) == 1


def test_the_loop_registers_while_the_program_constructs(monkeypatch):
    seen: list[int] = []
    monkeypatch.setattr(harness, "PENDING_LIMIT", 8)

    def program() -> None:
        queues(60)()
        seen.append(len(monitors[-1].registrations))

    monitors: list = []
    original = harness.RecordingMonitor.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        monitors.append(self)

    monkeypatch.setattr(harness.RecordingMonitor, "__init__", remember)
    rec = run_function(program)
    assert len(rec.resources) == 61
    assert seen[0] >= 61 - 2 * 8  # most were registered before the program's code returned


def test_the_recording_monitor_answers_as_the_sdks_mock_monitor():
    """The same program under pulumi's MockMonitor and under the harness: the same URNs, ids and state."""
    def registered(monitor_class) -> dict:
        monitor = monitor_class(CloudMocks("eu-west-1"))

        @pulumi.runtime.test
        def run():
            pulumi.runtime.set_mocks(monitor.mocks, project="p", stack="s", monitor=monitor)
            key = aws.kms.Key("key", description="k", tags={"a": "b"})
            queue = aws.sqs.Queue("q", kms_master_key_id=key.arn, visibility_timeout_seconds=30)
            return pulumi.Output.all(key.arn, queue.url, queue.arn)

        run()
        return {urn: (r.id, plain(dict(r.state))) for urn, r in monitor.resources.items()}

    assert registered(harness.RecordingMonitor) == registered(pulumi_mocks.MockMonitor)
