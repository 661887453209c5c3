"""`audit`: the live account (and, with --kubeconfig, the cluster), read-only; exit 1 on any high
finding, 2 when either cannot be read."""

from __future__ import annotations

from tenancy.cli.cell_session import cell_session, cells_in_one_place, named_cell
from tenancy.exits import CommandError, ExitCode
from tenancy.registry.naming import pool_namespace
from tenancy.registry.project import project_and_registry, validate_project


def _only_cell(registry, environment: str):
    """Without --cell: the environment's one cell, if it has one; with cells in different accounts or
    regions, an audit is per cell."""
    names = registry.cells.in_environment(environment)
    if len(names) == 1:
        return names[0]
    if not cells_in_one_place(registry, environment):
        raise CommandError(f"the cells of {environment} ({', '.join(names)}) live in different accounts or regions "
                           "(cells.yaml `aws`): audit one at a time with --cell NAME")
    return None


def cmd_audit(args) -> ExitCode:
    from botocore.exceptions import BotoCoreError, ClientError

    from tenancy.audit.live import HIGH, audit, render_json, render_table

    registry = validate_project(*project_and_registry(args.cwd, args.registry))
    if args.context and not args.kubeconfig:
        raise CommandError("--context needs --kubeconfig")
    cell_name = args.cell or _only_cell(registry, args.environment)
    session = cell_session(named_cell(registry, cell_name), args.region, cell_name or "")
    if not session.region_name:
        raise CommandError("no AWS region: pass --region or set AWS_REGION")
    cluster = []
    if args.kubeconfig:
        from tenancy.audit.cluster_source import read_cluster

        pool_namespaces = {pool_namespace(name) for name in registry.cells.names}
        cluster = read_cluster(args.kubeconfig, args.context, pool_namespaces)  # ClusterUnreadable: exit 2
    try:
        findings = audit(session, registry, args.environment, cluster, cell=args.cell)
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot read the account: {exc}") from None
    render = render_json if args.format == "json" else render_table
    print(render(findings, args.environment, len(registry.in_environment(args.environment))))
    return ExitCode.FAILED if any(f.severity == HIGH for f in findings) else ExitCode.OK
