"""How `tenancy plan` scales with the number of tenants: time and peak memory per tenant, and what
the offline harness costs beside the SDK itself.

Each size runs in a fresh process (so peak memory is its own); the baseline is the same stack with
no tenants, measured in the same invocation, and the per-tenant figures are the difference from it.
The registry is synthetic: copies of a project's tenants with fresh ids and address blocks, planned
with that project's dev stack file (default: the tests' own copy of the sample, `tests/fixtures/sample`,
so the workload stays the same when a user edits `tenants/`).

`--ratios N` measures, in one run and each in a fresh process, three ways of registering the same
N-tenant stack, in CPU seconds of the process (steady on a shared machine):

- flat: the bare SDK registering the plan's custom resources (type, name, inputs) one after the
  other, no components, under pulumi's own MockMonitor and the harness's mocks;
- plain: the program itself under pulumi's own MockMonitor and the same mocks (what a unit test
  with `pulumi.runtime.set_mocks` pays);
- plan: the offline plan (`tenancy.plan.run.plan_stack`): the harness's run of the program, the
  provider constraints, quotas and the policy pack, after validating the registry;

and reports `harnessAndPolicyToPlain` (harness run + checks over plain; target at most 1.3) and
`wholeToFlat` (the whole plan over flat; target at most 3).

    .venv/bin/python -m benchmarks.plan_benchmark [--sizes 25,100] [--ratios 200] [--project DIR] [--json]
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


def _synthetic_project(directory: Path, registry: Path, project: Path) -> Path:
    """A copy of `project`'s program and dev stack file whose registry is `registry`."""
    directory.mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(project / name, directory / name)
    settings = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    settings["config"]["tenancy:registry"] = str(registry)
    pool = settings["config"].setdefault("tenancy:pool", {})
    pool.update(databaseMaxConnections=100_000, flagsApplications=40)  # room for every synthetic tenant
    (directory / "Pulumi.dev.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return directory


PROVIDER_MODULES = ("pulumi_aws", "pulumi_kubernetes", "pulumi_random")


def _cpu() -> float:
    return time.process_time()


def measure_mode(mode: str, project_dir: Path, resources_file: Path) -> dict:
    """One way of registering the stack (flat | plain | plan), in this (fresh) process; `modules`
    lists the provider modules the program loads (each mode imports them before its clock starts)."""
    import importlib
    import pickle

    import pulumi

    from tenancy.plan.harness import CloudMocks, plain
    from tenancy.registry.project import config_from_stack_file

    import_started = _cpu()
    import components.stack  # noqa: F401  imports are not the plan's cost: made before the clock, in every mode

    modules_file = resources_file.with_suffix(".modules")
    if mode == "modules":  # which provider modules the program loads (from a small run of it)
        from tenancy.plan.harness import run_program

        run_program(project_dir, "dev")
        modules_file.write_text("\n".join(sorted(m for m in sys.modules if m.startswith(PROVIDER_MODULES))))
        return {"mode": mode}
    for module in modules_file.read_text().split():  # as the program reaches them: by attribute
        package, *path = module.split(".")
        target = importlib.import_module(package)
        for part in path:
            target = getattr(target, part, None)
            if target is None:
                break
    imports = _cpu() - import_started
    if mode == "plan":
        from tenancy.plan.run import plan_stack

        started = _cpu()
        result = plan_stack(project_dir, "dev", pack_dir=PACK)
        seconds = _cpu() - started
        with resources_file.open("wb") as f:
            pickle.dump([(r.type, r.name, plain(r.inputs)) for r in result.recording.resources], f)
        timings = {k: round(v, 2) for k, v in result.timings.items()}
        return {"mode": mode, "cpuSeconds": seconds, "timings": timings, "resources": len(result.recording.resources),
                "exitCode": result.exit_code, "imports": imports,
                "peakMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    import contextvars
    import runpy

    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    config = config_from_stack_file(project_dir / "Pulumi.dev.yaml")
    with resources_file.open("rb") as f:
        resources = pickle.load(f)

    def flat() -> None:
        seen: set = set()
        for type_, name, inputs in resources:
            unique = name if (type_, name) not in seen else f"{name}-{len(seen)}"
            seen.add((type_, unique))
            pulumi.CustomResource(type_, unique, {k: v for k, v in inputs.items() if v is not None})

    def program() -> None:
        runpy.run_path(str(project_dir), run_name="__main__")

    def run() -> int:
        monitor = pulumi_mocks.MockMonitor(CloudMocks(config.get("aws:region", "eu-west-1")))
        pulumi.runtime.set_mocks(monitor.mocks, project="tenancy", stack="dev", monitor=monitor)
        set_all_config(config, [])
        _sync_await(run_pulumi_func(flat if mode == "flat" else program))
        return len(monitor.resources)

    started = _cpu()
    count = contextvars.Context().run(run)
    return {"mode": mode, "cpuSeconds": _cpu() - started, "registered": count, "imports": imports,
            "peakMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def ratios(count: int, project: Path = PROJECT) -> dict:
    """flat, plain and plan of the same `count`-tenant stack, each in a fresh process; the ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "tenants"
        write_registry(registry, count, project)
        project_dir = _synthetic_project(Path(tmp) / "project", registry, project)
        resources_file = Path(tmp) / "resources.pickle"
        small = Path(tmp) / "small"
        write_registry(small / "tenants", 6, project)
        small_dir = _synthetic_project(Path(tmp) / "small-project", small / "tenants", project)
        runs = {}
        # the provider modules first (each mode imports them before its clock starts), then plan,
        # which records the resources flat registers
        for mode, directory in (("modules", small_dir), ("plan", project_dir), ("plain", project_dir),
                                ("flat", project_dir)):
            out = subprocess.run([sys.executable, "-m", "benchmarks.plan_benchmark", "--measure-mode", mode,
                                  "--project", str(directory), "--resources-file", str(resources_file)],
                                 cwd=ROOT, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"{mode} failed:\n{out.stderr[-3000:]}")
            runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    del runs["modules"]
    plan = runs["plan"]
    harness_and_policy = plan["timings"]["program"] + plan["timings"]["checks"]
    return {"tenants": count, "resources": plan["resources"], "runs": runs,
            "harnessAndPolicyToPlain": round(harness_and_policy / runs["plain"]["cpuSeconds"], 2),
            "wholeToFlat": round(plan["cpuSeconds"] / runs["flat"]["cpuSeconds"], 2)}


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
    parser.add_argument("--sizes", default="25,100", help="tenant counts, comma-separated ('' for none)")
    parser.add_argument("--project", type=Path, default=PROJECT,
                        help="the Pulumi project whose tenants and Pulumi.dev.yaml to use (default: the tests' fixture)")
    parser.add_argument("--ratios", type=int, metavar="N", help="also: flat, plain and plan of an N-tenant stack")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--measure-mode", help=argparse.SUPPRESS)
    parser.add_argument("--resources-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    project = args.project.resolve()
    if args.measure:
        print(json.dumps(measure_in_this_process(args.measure, project)))
        return
    if args.measure_mode:
        print(json.dumps(measure_mode(args.measure_mode, project, args.resources_file)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    result = run(sizes, project) if sizes else {"baseline": None, "sizes": []}
    if args.ratios:
        result["ratios"] = ratios(args.ratios, project)
    if args.json:
        print(json.dumps(result))
        return
    if sizes:
        print_sizes(result)
    if args.ratios:
        print_ratios(result["ratios"])


def print_ratios(r: dict) -> None:
    runs = r["runs"]
    t = runs["plan"]["timings"]
    print(f"{r['tenants']} tenants, {r['resources']} resources, CPU seconds of each fresh process:")
    print(f"  flat registration of the same resources (SDK, MockMonitor)   {runs['flat']['cpuSeconds']:7.2f}s  "
          f"peak {runs['flat']['peakMiB']:.0f} MiB")
    print(f"  the program under plain mocks (SDK, MockMonitor)              {runs['plain']['cpuSeconds']:7.2f}s  "
          f"peak {runs['plain']['peakMiB']:.0f} MiB")
    print(f"  the offline plan (tenancy.plan.run.plan_stack)                {runs['plan']['cpuSeconds']:7.2f}s  "
          f"peak {runs['plan']['peakMiB']:.0f} MiB")
    print(f"    validate {t['validate']:.2f}s, harness run {t['program']:.2f}s, constraints+quotas+policies "
          f"{t['checks']:.2f}s")
    print(f"  harness and policy / plain mocks: {r['harnessAndPolicyToPlain']}x (target <= 1.3)")
    print(f"  whole plan / flat registration:   {r['wholeToFlat']}x (target <= 3)")


def print_sizes(result: dict) -> None:
    base = result["baseline"]
    print(f"baseline (platform only): {base['resources']} resources, "
          f"{base['programSeconds'] + base['policySeconds']:.2f}s, {base['peakMiB']:.0f} MiB peak")
    for row in result["sizes"]:
        print(f"{row['tenants']:>5} tenants: {row['resources']} resources, {row['msPerTenant']} ms and "
              f"{row['kibPerTenant']} KiB per tenant, {row['timeRatioToBaseline']}x the baseline's time, "
              f"{row['violations']} violations")


if __name__ == "__main__":
    main()
