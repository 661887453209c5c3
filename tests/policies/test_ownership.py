"""Ownership (who a resource belongs to, what a string names), the ownership index built once per
analysis, and the test helper's stacks checked against what the SDK's own analyzer builds."""

from __future__ import annotations

from unittest import mock

import pytest
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer

from tenancy_policies import catalog, ownership
from tenancy_policies.ownership import Index, owner, tag

from .resources import UNKNOWN, Stack, secret
from .world import KEY, NAMESPACE, QUEUE, TENANT, compliant, tags

STACK_POLICY_COUNT = sum(isinstance(p, StackValidationPolicy) for p in catalog.policies())


def servicer(policies) -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(catalog.PACK_NAME, "0.0.1", policies, catalog.MANDATORY)


# -- the helper builds what the SDK builds -----------------------------------------------------------
def shape(resource) -> tuple:
    """Everything a policy can read of a PolicyResource, in plain values."""
    return (type(resource.props).__name__, resource.resource_type, resource.urn, resource.name,
            serialize_properties(resource.props), resource.parent.urn if resource.parent else None,
            [d.urn for d in resource.dependencies],
            {k: [d.urn for d in v] for k, v in resource.property_dependencies.items()},
            resource.opts.protect, resource.opts.parent, resource.provider)


def resource_shape(args) -> tuple:
    """Everything a resource policy can read of its ResourceValidationArgs, in plain values."""
    opts = args.opts
    return (type(args.props).__name__, args.resource_type, args.urn, args.name, serialize_properties(args.props),
            opts.protect, opts.parent, list(opts.ignore_changes), opts.delete_before_replace, list(opts.aliases),
            vars(opts.custom_timeouts), list(opts.additional_secret_outputs), args.provider, dict(args.get_config()))


def odd_stack() -> Stack:
    """The compliant stack plus the values that travel oddly: unknowns, secrets, ints, nesting."""
    s = compliant()
    s["dev-acme-db-instance"].props.update(password=secret("hunter22"), endpoint=UNKNOWN)
    s.add(QUEUE, "dev-acme-unknowns", {"tags": UNKNOWN, "delaySeconds": 5, "nested": [{"a": [1, UNKNOWN]}]},
          parent="dev-acme", depends_on=["dev-acme-key-cmk"], prop_deps={"kmsMasterKeyId": ["dev-acme-key-cmk"]})
    return s


def test_stacks_are_shaped_as_the_sdks_analyzer_shapes_them():
    s = odd_stack()
    seen = []
    spy = StackValidationPolicy("spy", "records what a stack policy receives",
                                lambda args, report: seen.append(args.resources))
    servicer([spy]).AnalyzeStack(s.request(), None)
    assert [shape(r) for r in seen[0]] == [shape(r) for r in s.resources()]
    unknowns = next(r for r in seen[0] if r.name == "dev-acme-unknowns")
    assert unknowns.props["delaySeconds"] == 5.0 and isinstance(unknowns.props["delaySeconds"], float)


def test_resource_args_are_shaped_as_the_sdks_analyzer_shapes_them():
    s = odd_stack()
    for name in ("dev-acme-db-instance", "dev-acme-key-cmk", "dev-acme-unknowns"):
        seen = []
        spy = ResourceValidationPolicy("spy", "records what a resource policy receives",
                                       lambda args, report: seen.append(args))
        servicer([spy]).Analyze(s.resource_request(name), None)
        assert resource_shape(seen[0]) == resource_shape(s.resource_args(name))


# -- once per analysis -----------------------------------------------------------------------------------
@pytest.fixture
def counted():
    """How many Ownership objects are built, and how many times one is asked for, with a cold memo."""
    counts = {"built": 0, "asked": 0}
    real_class, real_memo = ownership.Ownership, ownership.ownership

    class Counted(real_class):
        def __init__(self, stack):
            counts["built"] += 1
            super().__init__(stack)

    def asked(stack):
        counts["asked"] += 1
        return real_memo(stack)

    clear = getattr(real_memo, "cache_clear", lambda: None)
    clear()
    with mock.patch.object(ownership, "Ownership", Counted), mock.patch.object(ownership, "ownership", asked):
        yield counts
    clear()


def analyze(stack: Stack) -> list[tuple[str, str, str]]:
    response = servicer(catalog.policies()).AnalyzeStack(stack.request(), None)
    return [(d.policyName, d.message.split("\n", 1)[-1], d.urn) for d in response.diagnostics]


def test_one_analysis_builds_the_ownership_index_once_for_all_stack_policies(counted):
    assert analyze(compliant()) == []
    assert counted == {"built": 1, "asked": STACK_POLICY_COUNT}


def test_another_analysis_builds_its_own_index_and_never_sees_a_stale_one(counted):
    analyze(compliant())
    # same owners and names, other properties: the index is reused, the rules read the new properties
    s = compliant()
    s["dev-initech-queues-queue"].props["kmsMasterKeyId"] = s["dev-acme-key-cmk"].props["arn"]
    s["dev-initech-queues-queue"].prop_deps["kmsMasterKeyId"] = ["dev-acme-key-cmk"]
    assert ("one-key-per-tenant", "one key serves several tenants: acme, initech", s.urn("dev-acme-key-cmk")) \
        in analyze(s)
    assert counted["built"] == 1
    # an owner changed: a new index, and the rules see the new owner
    s = compliant()
    s["dev-acme-queues-dlq"].props["tags"]["tenant-id"] = ""
    assert analyze(s) == [("tenant-tags", "dev-acme-queues-dlq is tagged tenant-id= but belongs to tenant acme",
                           s.urn("dev-acme-queues-dlq"))]
    assert counted == {"built": 2, "asked": 3 * STACK_POLICY_COUNT}


def test_each_policys_index_hands_out_that_policys_own_resources():
    s = compliant()
    first, second = Index(s.resources()), Index(s.resources())
    assert first._ownership is second._ownership  # one index for the analysis...
    arn = s["dev-acme-key-cmk"].props["arn"]
    assert second.named(arn) in second.resources and second.named(arn) not in first.resources  # ...each its own objects
    assert first.named(arn).urn == second.named(arn).urn == s.urn("dev-acme-key-cmk")


# -- who owns what -------------------------------------------------------------------------------------
def small() -> Stack:
    s = Stack()
    s.component(TENANT, "dev-acme", {"tags": tags("acme", "enterprise", "isolated")})
    s.component("tenancy:queues:TenantQueues", "dev-acme-queues", parent="dev-acme")
    s.add(QUEUE, "dev-acme-queues-queue", {"arn": "arn:aws:sqs:eu-west-1:123456789012:dev-acme-queues-queue-1",
                                           "id": "https://sqs/dev-acme-queues-queue-1", "name": "short"},
          parent="dev-acme-queues")
    s.add(NAMESPACE, "dev-ns", {"metadata": {"name": "tenant-initech", "labels": {"tenancy.io/tenant-id": "initech"}}})
    s.add(KEY, "dev-key", {"tags": tags("globex", "professional", "shared"), "keyId": "0000aaaa-bb", "id": "k",
                           "arn": "arn:aws:kms:eu-west-1:123456789012:key/0000aaaa-bb"}, parent="dev-acme")
    s.add(QUEUE, "dev-unknown-tags", {"tags": UNKNOWN}, parent="dev-acme")
    s.add(QUEUE, "dev-platform-queue", {"tags": {"managed-by": "tenancy"}, "arn": UNKNOWN})
    return s


def by_name(resources):
    return {r.name: r for r in resources}


def test_owner_is_the_own_tag_or_label_else_the_nearest_ancestors():
    s = small()
    index = Index(s.resources())
    r = by_name(index.resources)
    owners = {name: index.tenant(resource) for name, resource in r.items()}
    assert owners == {"tenancy-dev": None, "dev-acme": "acme", "dev-acme-queues": "acme", "dev-acme-queues-queue": "acme",
                      "dev-ns": "initech", "dev-key": "globex", "dev-unknown-tags": "acme", "dev-platform-queue": None}
    assert {name: owner(resource) for name, resource in r.items()} == owners
    assert tag(r["dev-acme-queues-queue"], "isolation") == "isolated" and tag(r["dev-platform-queue"], "isolation") is None


def test_a_string_names_a_resource_by_its_identity_exactly_or_as_an_arn_prefix():
    s = small()
    index = Index(s.resources())
    queue_arn = "arn:aws:sqs:eu-west-1:123456789012:dev-acme-queues-queue-1"
    assert index.named(queue_arn).name == "dev-acme-queues-queue"
    assert index.named("https://sqs/dev-acme-queues-queue-1").name == "dev-acme-queues-queue"
    assert index.named("0000aaaa-bb").name == "dev-key"  # a key's own id
    assert index.named("arn:aws:sqs:eu-west-1:123456789012:dev-acme-*").name == "dev-acme-queues-queue"
    assert index.named("arn:aws:kms:eu-west-1:123456789012:key/0000aaaa-bb/extra").name == "dev-key"
    assert index.named("short") is None and index.named("k") is None  # too short to identify anything
    assert index.named("arn:aws:sqs:*") is None  # too short a stem to name one resource
    assert index.named("arn:aws:sqs:eu-west-1:999999999999:other") is None


@pytest.mark.parametrize("seed", range(25))
def test_arn_prefix_lookup_answers_as_a_scan_of_every_arn_in_order(seed):
    """`named` finds the first known ARN (in the stack's order) that a stem extends or that extends
    the stem, by bisection; it must answer exactly as the scan of every ARN it replaced."""
    import random

    rng = random.Random(seed)
    parts = ["arn:aws:sqs:eu-west-1:1:", "arn:aws:kms:eu-west-1:1:key/", "arn:aws:iam::1:role/"]
    words = ["a", "ab", "abc", "b", "ba", "dev-acme", "dev-acme-q", "dev-ac"]
    arns = [(rng.choice(parts) + "".join(rng.choice(words) for _ in range(rng.randint(0, 3))), f"urn-{i}")
            for i in range(80)]
    prefixes = ownership.ArnPrefixes(arns)
    for _ in range(300):
        stem = rng.choice(parts) + "".join(rng.choice(words) for _ in range(rng.randint(0, 4)))
        stem = stem[:rng.randint(len(stem) - 3, len(stem))]
        expected = next((u for known, u in arns if known.startswith(stem) or stem.startswith(known)), None)
        assert prefixes.first_related(stem) == expected, stem
