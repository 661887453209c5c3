"""Audit N tenants (default 200) of a moto account and report the time per tenant.

Absolute times depend on the machine, so the result that matters is the ratio to a baseline measured
in the same run on the same account: one pass over the Resource Groups Tagging API, the listing the
audit cannot avoid. `ratio` is how many such passes one audit costs.

The tenants are copies of a template registry's prod tenants (default: the tests' own copy of the
sample, `tests/fixtures/sample/tenants`, so the workload stays the same when a user edits `tenants/`).

    .venv/bin/python -m benchmarks.audit_benchmark [--tenants 200] [--registry DIR] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.aws_account import build, moto_server
from tenancy.registry.loader import Registry, load_registry
from tenancy.registry.models import Network, Tier

# The tests' own copy of the sample project: a fixed mix of tiers, whatever a user does to tenants/.
PROJECT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sample"
ENV = "prod"


def synthetic_tenants(count: int, registry_dir: Path = PROJECT / "tenants"):
    """`count` prod tenants, in the template registry's mix of tiers, each with its own id and address block."""
    sample = load_registry(registry_dir)
    templates = list(sample.in_environment(ENV))
    out, dedicated, isolated = [], 0, 0
    for i in range(count):
        base = templates[i % len(templates)]
        update = {"id": f"bench-{i:04d}"}
        if base.isolation is Tier.dedicated:  # /24 slices of the shared VPC after the platform's /18
            update["network"], dedicated = Network(cidr=f"10.0.{64 + dedicated}.0/24"), dedicated + 1
        elif base.isolation is Tier.isolated:
            update["network"] = Network(cidr=f"10.{64 + isolated // 16}.{(isolated % 16) * 16}.0/20")
            isolated += 1
        out.append(dataclasses.replace(base, tenant=base.tenant.model_copy(update=update)))
    return sample, out


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """These environment variables for the duration of the block (boto3 reads the endpoint from it)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(count: int, registry_dir: Path = PROJECT / "tenants") -> dict:
    import boto3

    from tenancy.audit.live import audit

    with moto_server() as endpoint, _environment(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
                                                 AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="eu-west-1"):
        # moto's backends live in the process: start from an empty account, whatever ran before
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
        session = boto3.Session(region_name="eu-west-1")
        sample, tenants = synthetic_tenants(count, registry_dir)
        started = time.perf_counter()
        build(session, tenants, ENV)
        build_seconds = time.perf_counter() - started
        registry = Registry(directory=sample.directory, plans=sample.plans, tenants=tuple(tenants))
        tagging = session.client("resourcegroupstaggingapi")
        started = time.perf_counter()
        listed = sum(len(page["ResourceTagMappingList"]) for page in
                     tagging.get_paginator("get_resources").paginate(TagFilters=[{"Key": "tenant-id"}]))
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        findings = audit(session, registry, ENV)
        audit_seconds = time.perf_counter() - started
    return {"tenants": count, "taggedResources": listed, "findings": len(findings),
            "buildSeconds": round(build_seconds, 3), "baselineSeconds": round(baseline, 4),
            "auditSeconds": round(audit_seconds, 3), "msPerTenant": round(1000 * audit_seconds / count, 2),
            "ratio": round(audit_seconds / baseline, 1) if baseline else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--registry", type=Path, default=PROJECT / "tenants",
                        help="the registry whose prod tenants are the templates (default: the tests' fixture)")
    args = parser.parse_args()
    result = run(args.tenants, args.registry)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"audit of {result['tenants']} tenants ({result['taggedResources']} tagged resources): "
              f"{result['auditSeconds']}s, {result['msPerTenant']} ms per tenant, {result['ratio']}x one pass "
              f"over the tagging API ({result['baselineSeconds']}s); {result['findings']} findings")


if __name__ == "__main__":
    main()
