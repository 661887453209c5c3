"""At scale: what a change to one pooled tenant costs to plan at 200 and at 2,000 tenants, and the
memory per tenant of a pool stack.

For each size, a synthetic install (`benchmarks.synthetic`: 70% pooled, 20% dedicated, 10%
isolated; cells and pool shards as `tenants/cells.yaml` lets an operator declare them, when the
registry knows them) is committed in a throwaway git repository; one pooled tenant's quota is raised;
`tenancy.stacks.affected` picks the stacks that change touches, and they are planned offline in a
fresh process, as `tenancy plan --stack` plans each (the registry validated once, then each stack
with its platform's outputs), measuring CPU time (steady on a busy machine) and peak memory.
`one_tenant_change_ratio` is that time at the largest size over the same at the smallest: it stays
near 1 only when a pooled tenant's change touches a stack of fixed size (a pool shard) and nothing
else grows with the registry.

Memory per tenant of a pool stack is the slope of peak memory between two pool stacks of different
sizes (`--pool-sizes`), each planned in a fresh process: what one more tenant costs, without what
every plan pays once (imports, the platform).

It prints a table, then as its last line one JSON object:

    .venv/bin/python -m benchmarks.scale [--sizes 200,2000] [--pool-sizes 50,150] [--no-cells]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import cells_supported, pooled_tenants, write_project

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "policies"
GIT = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench", "-c", "commit.gpgsign=false"]


# -- in a fresh process ---------------------------------------------------------------------------

def plan_stacks_here(project: Path, stacks: list[str]) -> dict:
    """Plan `stacks` one after the other as `tenancy plan --stack` does, the registry validated
    once and each platform planned once; CPU seconds, wall seconds, peak memory."""
    import pulumi_aws  # noqa: F401  imports are every plan's fixed cost, not the change's
    import pulumi_kubernetes  # noqa: F401

    import components.stack  # noqa: F401
    from tenancy.plan.run import plan_stack, platform_outputs_of
    from tenancy.registry.project import validate_project
    from tenancy.stacks.catalog import resolve_stack

    started, wall = time.process_time(), time.perf_counter()
    validate_project(project)
    validated = time.process_time() - started
    platforms: dict[str, dict] = {}
    out = []
    for stack in stacks:
        resolved = resolve_stack(project, stack)
        outputs, platform_seconds = None, 0.0
        if resolved is not None and resolved.platform_stack:
            if resolved.platform_stack not in platforms:
                before = time.process_time()
                platforms[resolved.platform_stack] = platform_outputs_of(project, resolved)
                platform_seconds = time.process_time() - before
            outputs = platforms[resolved.platform_stack]
        result = plan_stack(project, stack, pack_dir=PACK, platform_outputs=outputs, validate=False)
        timings = {**result.timings, "platform": platform_seconds}
        out.append({"stack": stack, "tenants": len(result.as_json()["tenants"]),
                    "resources": len(result.recording.resources), "exitCode": result.exit_code,
                    "timings": {k: round(v, 2) for k, v in timings.items()}})
    return {"cpuSeconds": time.process_time() - started, "wallSeconds": time.perf_counter() - wall,
            "validateSeconds": validated, "planned": out,
            "peakMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _in_fresh_process(project: Path, stacks: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--plan-here", str(project), *stacks],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"planning {', '.join(stacks)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the measurements -----------------------------------------------------------------------------

def _git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True)


def one_pooled_change(size: int, cells: bool = True) -> dict:
    """A synthetic install of `size` tenants, one pooled tenant's quota raised: the stacks `affected`
    picks, and the cost of planning them."""
    from tenancy.stacks.affected import affected_stacks

    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(Path(tmp) / "install", size, cells=cells)
        _git(project, "init", "-q")
        _git(project, "add", "-A")
        _git(project, "commit", "-q", "-m", "install")
        tenant = pooled_tenants(size)[0]
        path = project / "tenants" / f"{tenant}.yaml"
        path.write_text(path.read_text() + "quotas: {maxAIRequests: 15000}\n")
        started = time.process_time()
        stacks = [s.name for s in affected_stacks(project, "HEAD", "dev")]
        affected_seconds = time.process_time() - started
        planned = _in_fresh_process(project, stacks)
    return {"tenants": size, "changedTenant": tenant, "stackNames": stacks,
            "affectedSeconds": round(affected_seconds, 2), **planned}


def pool_memory(sizes: tuple[int, int]) -> dict:
    """Peak memory of planning a pool stack of each size (pooled tenants only, one pool), in fresh
    processes; the slope is the memory one more pooled tenant costs."""
    runs = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            project = write_project(Path(tmp) / "pool", size, cells=False, pooled=1.0, dedicated=0.0)
            runs.append({"tenants": size, **_in_fresh_process(project, ["dev-pool"])})
    (small, large) = runs
    slope = (large["peakMiB"] - small["peakMiB"]) / (large["tenants"] - small["tenants"])
    return {"runs": runs, "memoryPerTenantMiB": round(slope, 3)}


def run(sizes: list[int], pool_sizes: tuple[int, int], cells: bool = True) -> dict:
    changes = [one_pooled_change(size, cells) for size in sizes]
    memory = pool_memory(pool_sizes)
    smallest, largest = changes[0], changes[-1]
    return {
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, Python "
                   f"{platform.python_version()}",
        "cells": cells and cells_supported(),
        "changes": changes, "poolMemory": memory,
        "one_tenant_change_ratio": round(largest["cpuSeconds"] / smallest["cpuSeconds"], 2),
        "memory_per_tenant_mib": memory["memoryPerTenantMiB"],
        "stacks_affected_by_one_pooled_change": max(len(c["stackNames"]) for c in changes),
    }


def print_table(result: dict) -> None:
    print(f"one pooled tenant's quota raised ({'cells and pool shards' if result['cells'] else 'one pool'}); "
          f"CPU seconds of a fresh process planning the stacks `affected` picks ({result['machine']}):")
    header = ("TENANTS", "STACKS", "TENANTS IN THEM", "RESOURCES", "CPU S", "WALL S", "VALIDATE S", "PLATFORM S",
              "PROGRAM S", "CHECKS S", "PEAK MIB")
    rows = [header]
    for c in result["changes"]:
        timing = {k: sum(s["timings"].get(k, 0) for s in c["planned"]) for k in ("platform", "program", "checks")}
        rows.append((str(c["tenants"]), ", ".join(c["stackNames"]), str(sum(s["tenants"] for s in c["planned"])),
                     str(sum(s["resources"] for s in c["planned"])), f"{c['cpuSeconds']:.1f}",
                     f"{c['wallSeconds']:.1f}", f"{c['validateSeconds']:.1f}", f"{timing['platform']:.1f}",
                     f"{timing['program']:.1f}", f"{timing['checks']:.1f}", f"{c['peakMiB']:.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    memory = result["poolMemory"]
    for r in memory["runs"]:
        print(f"pool stack of {r['tenants']} pooled tenants: peak {r['peakMiB']:.0f} MiB, {r['cpuSeconds']:.1f} CPU s")
    print(f"memory per tenant of a pool stack: {result['memory_per_tenant_mib']} MiB (target <= 1.0)")
    print(f"one-tenant change, largest over smallest install: {result['one_tenant_change_ratio']}x (target <= 1.2); "
          f"stacks affected: {result['stacks_affected_by_one_pooled_change']} (target <= 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,2000", help="install sizes, smallest first")
    parser.add_argument("--pool-sizes", default="50,150", help="two pool stack sizes for the memory slope")
    parser.add_argument("--no-cells", action="store_true", help="one pool per install, as before cells")
    parser.add_argument("--plan-here", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plan_here:
        print(json.dumps(plan_stacks_here(Path(args.plan_here[0]), args.plan_here[1:])))
        return
    pool_sizes = tuple(int(s) for s in args.pool_sizes.split(","))
    if len(pool_sizes) != 2 or pool_sizes[0] >= pool_sizes[1]:
        parser.error("--pool-sizes takes two sizes, smallest first")
    result = run([int(s) for s in args.sizes.split(",")], pool_sizes, cells=not args.no_cells)
    print_table(result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("changes", "poolMemory")}
                     | {"sizes": [{"tenants": c["tenants"], "stacks": c["stackNames"], "cpuSeconds": round(
                         c["cpuSeconds"], 2), "peakMiB": round(c["peakMiB"])} for c in result["changes"]]}))


if __name__ == "__main__":
    main()
