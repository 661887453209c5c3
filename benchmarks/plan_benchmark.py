"""How `tenancy plan` scales with the number of tenants: time and peak memory per tenant.

Each size runs in a fresh process (so peak memory is its own); the baseline is the same stack with
no tenants, measured in the same invocation, and the per-tenant figures are the difference from it.
The registry is synthetic: copies of a project's tenants with fresh ids and address blocks, planned
with that project's dev stack file (default: the tests' own copy of the sample, `tests/fixtures/sample`,
so the workload stays the same when a user edits `tenants/`).

    .venv/bin/python -m benchmarks.plan_benchmark [--sizes 25,100] [--project DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tests" / "fixtures" / "sample"  # the program's wiring, a registry and stack files
PACK = ROOT / "policies"


def write_registry(directory: Path, count: int, project: Path = PROJECT) -> None:
    """`count` dev tenants cycling through the project's tenants' tiers, each with its own id and block."""
    directory.mkdir(parents=True)
    shutil.copy(project / "tenants" / "plans.yaml", directory / "plans.yaml")
    samples = [yaml.safe_load(p.read_text()) for p in sorted((project / "tenants").glob("*.yaml"))
               if p.name != "plans.yaml"]
    dedicated = isolated = 0
    for i in range(count):
        tenant = dict(samples[i % len(samples)], id=f"bench-{i:04d}", environments=["dev"])
        if tenant.get("isolationLevel") == "dedicated" or (tenant["plan"] == "enterprise" and
                                                          tenant.get("isolationLevel") != "isolated"):
            tenant["network"], dedicated = {"cidr": f"10.0.{64 + dedicated}.0/24"}, dedicated + 1
        elif tenant.get("isolationLevel") == "isolated":
            tenant["network"] = {"cidr": f"10.{64 + isolated // 16}.{(isolated % 16) * 16}.0/20"}
            isolated += 1
        (directory / f"{tenant['id']}.yaml").write_text(yaml.safe_dump(tenant))


def measure_in_this_process(registry: str, project: Path = PROJECT) -> dict:
    from tenancy.plan.harness import run_program
    from tenancy.plan.policy_runner import check, load_pack, read_pack_config
    from tenancy.registry.project import config_from_stack_file

    config = config_from_stack_file(project / "Pulumi.dev.yaml")
    config["tenancy:registry"] = registry
    started = time.perf_counter()
    rec = run_program(project, "dev", config)
    program = time.perf_counter() - started
    started = time.perf_counter()
    report = check(rec, load_pack(PACK), read_pack_config(PACK / "config" / "dev.json"))
    policies = time.perf_counter() - started
    return {"resources": len(rec.resources), "programSeconds": program, "policySeconds": policies,
            "violations": len(report.violations),
            "peakMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(count: int, project: Path = PROJECT) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "tenants"
        write_registry(registry, count, project)
        out = subprocess.run([sys.executable, "-m", "benchmarks.plan_benchmark", "--measure", str(registry),
                              "--project", str(project)], cwd=ROOT, capture_output=True, text=True, check=True)
    return {"tenants": count, **json.loads(out.stdout.strip().splitlines()[-1])}


def run(sizes: list[int], project: Path = PROJECT) -> dict:
    baseline = measure(0, project)
    rows = []
    for size in sizes:
        row = measure(size, project)
        extra = size or 1
        row["msPerTenant"] = round(1000 * (row["programSeconds"] + row["policySeconds"]
                                           - baseline["programSeconds"] - baseline["policySeconds"]) / extra, 1)
        row["resourcesPerTenant"] = round((row["resources"] - baseline["resources"]) / extra, 1)
        row["kibPerTenant"] = round(1024 * (row["peakMiB"] - baseline["peakMiB"]) / extra, 1)
        row["timeRatioToBaseline"] = round((row["programSeconds"] + row["policySeconds"])
                                           / (baseline["programSeconds"] + baseline["policySeconds"]), 1)
        rows.append(row)
    return {"baseline": baseline, "sizes": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,100")
    parser.add_argument("--project", type=Path, default=PROJECT,
                        help="the Pulumi project whose tenants and Pulumi.dev.yaml to use (default: the tests' fixture)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    project = args.project.resolve()
    if args.measure:
        print(json.dumps(measure_in_this_process(args.measure, project)))
        return
    result = run([int(s) for s in args.sizes.split(",")], project)
    if args.json:
        print(json.dumps(result))
        return
    base = result["baseline"]
    print(f"baseline (platform only): {base['resources']} resources, "
          f"{base['programSeconds'] + base['policySeconds']:.2f}s, {base['peakMiB']:.0f} MiB peak")
    for row in result["sizes"]:
        print(f"{row['tenants']:>5} tenants: {row['resources']} resources, {row['msPerTenant']} ms and "
              f"{row['kibPerTenant']} KiB per tenant, {row['timeRatioToBaseline']}x the baseline's time, "
              f"{row['violations']} violations")


if __name__ == "__main__":
    main()
