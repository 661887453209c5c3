"""`audit`: the live account (and, with --kubeconfig, the cluster), read-only; exit 1 on any high
finding, 2 when either cannot be read."""

from __future__ import annotations

from tenancy.exits import CommandError, ExitCode
from tenancy.registry.project import project_and_registry, validate_project


def cmd_audit(args) -> ExitCode:
    import boto3  # only this command needs the AWS SDK
    from botocore.exceptions import BotoCoreError, ClientError

    from tenancy.audit.live import HIGH, audit, render_json, render_table

    registry = validate_project(*project_and_registry(args.cwd, args.registry))
    if args.context and not args.kubeconfig:
        raise CommandError("--context needs --kubeconfig")
    session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    if not session.region_name:
        raise CommandError("no AWS region: pass --region or set AWS_REGION")
    cluster = []
    if args.kubeconfig:
        from tenancy.audit.cluster_source import read_cluster

        cluster = read_cluster(args.kubeconfig, args.context)  # ClusterUnreadable: exit 2
    try:
        findings = audit(session, registry, args.environment, cluster)
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot read the account: {exc}") from None
    render = render_json if args.format == "json" else render_table
    print(render(findings, args.environment, len(registry.in_environment(args.environment))))
    return ExitCode.FAILED if any(f.severity == HIGH for f in findings) else ExitCode.OK
