"""`tenancy plan`: run a stack of the program offline and summarise what each tenant gets.

No engine, no credentials: the unchanged program runs under the offline harness with the stack's
own config, so a newcomer, a reviewer and CI see the same thing `pulumi preview` would register.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pulumi

from .offline import Recording, config_from_stack_file, run_program
from .yamlsource import SourceError

EXIT_OK, EXIT_USAGE = 0, 2
SUMMARY_OUTPUTS = ("keyAlias", "roleArn", "namespace", "databaseEndpoint", "queueUrl")


def _short_type(type_: str) -> str:
    """aws:rds/instance:Instance -> rds.Instance; kubernetes:core/v1:Namespace -> k8s.Namespace."""
    package, module, name = (type_.split(":") + ["", ""])[:3]
    if package == "kubernetes":
        return f"k8s.{name}"
    group = module.split("/")[0]
    return f"{package if group in ('index', '') else group}.{name}"


def _counts(registrations) -> str:
    counts = Counter(_short_type(r.type) for r in registrations if r.custom and not r.type.startswith("pulumi:"))
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))


def render_table(rec: Recording, stack: str) -> str:
    env = rec.outputs.get("environment", "?")
    tenants: dict = rec.outputs.get("tenants", {})
    lines = [f"tenancy plan: stack {stack} (environment {env}, scope {rec.outputs.get('scope', '?')}), "
             f"offline, {len(rec.resources)} resources", ""]
    platform = [r for r in rec.of_type("tenancy:platform:Platform")]
    if platform:
        below = rec.descendants(platform[0].urn)
        lines += [f"platform: {sum(1 for r in below if r.custom)} resources", f"  {_counts(below)}", ""]
    header = ("TENANT", "PLAN", "STATUS", "TIER", "NETWORK", "DATABASE", "CACHE", "COMPUTE", "RESOURCES")
    rows = []
    for tenant_id, out in sorted(tenants.items()):
        services = out.get("services", {})
        below = rec.tenant(env, tenant_id)
        rows.append((tenant_id, out.get("plan", ""), out.get("status", ""), out.get("isolation", ""),
                     *(services.get(s, "") for s in ("network", "database", "cache", "compute")),
                     str(sum(1 for r in below if r.custom))))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    for tenant_id, out in sorted(tenants.items()):
        lines += ["", f"{tenant_id}:", f"  {_counts(rec.tenant(env, tenant_id))}"]
        lines += [f"  {key}: {out[key]}" for key in SUMMARY_OUTPUTS if out.get(key)]
    return "\n".join(lines)


def run_plan_command(args) -> int:
    project = Path(args.cwd)
    stack_file = project / f"Pulumi.{args.stack}.yaml"
    if not stack_file.exists():
        known = ", ".join(p.name[len("Pulumi."):-len(".yaml")] for p in sorted(project.glob("Pulumi.*.yaml")))
        print(f"no stack {args.stack!r} in {project}: {stack_file.name} is missing (stacks: {known or 'none'})",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        config = config_from_stack_file(stack_file)
    except SourceError as exc:
        print(f"{stack_file}:{exc.line}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    if args.scope:
        config["tenancy:scope"] = args.scope
    try:
        rec = run_program(project, args.stack, config, preview=args.preview)
    except pulumi.RunError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    print(render_table(rec, args.stack))
    print("\npolicy report: the isolation policy pack is not part of this build yet")
    return EXIT_OK
