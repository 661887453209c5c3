"""Audit N tenants (default 200) of a moto account and report the time per tenant.

Absolute times depend on the machine, so the result that matters is the ratio to a baseline measured
in the same run on the same account: one pass over the Resource Groups Tagging API, the listing the
audit cannot avoid. `ratio` is how many such passes one audit costs.

    .venv/bin/python -m benchmarks.audit_benchmark [--tenants 200] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from tenancy.registry.loader import Registry, load_registry  # noqa: E402
from tenancy.registry.models import Network, Tier  # noqa: E402

ENV = "prod"


def synthetic_tenants(count: int):
    """`count` prod tenants, in the sample's mix of tiers, each with its own id and address block."""
    sample = load_registry(ROOT / "tenants")
    templates = [t for t in sample.in_environment(ENV)]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(count: int) -> dict:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from tenancy.audit.live import audit
    from tests.audit.account import build

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="eu-west-1")
    try:
        session = boto3.Session(region_name="eu-west-1")
        sample, tenants = synthetic_tenants(count)
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
    finally:
        server.stop()
    return {"tenants": count, "taggedResources": listed, "findings": len(findings),
            "buildSeconds": round(build_seconds, 3), "baselineSeconds": round(baseline, 4),
            "auditSeconds": round(audit_seconds, 3), "msPerTenant": round(1000 * audit_seconds / count, 2),
            "ratio": round(audit_seconds / baseline, 1) if baseline else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.tenants)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"audit of {result['tenants']} tenants ({result['taggedResources']} tagged resources): "
              f"{result['auditSeconds']}s, {result['msPerTenant']} ms per tenant, {result['ratio']}x one pass "
              f"over the tagging API ({result['baselineSeconds']}s); {result['findings']} findings")


if __name__ == "__main__":
    main()
