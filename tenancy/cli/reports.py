"""`tenancy report usage|billing`: a month's usage or cost per tenant, for finance and the platform team.
Exit 1 when the billing report finds a tenant over its monthly budget (the report is still written)."""

from __future__ import annotations

import sys
from pathlib import Path

from tenancy.exits import CommandError, ExitCode


def add_report_parser(sub, handler) -> None:
    """Registers `tenancy report`; `handler` runs it (main's lazy `cmd_report`)."""
    p = sub.add_parser("report", help="a month's usage (API requests, database and cache metrics) or cost (Cost "
                                      "Explorer by the tenant-id tag) per tenant, read-only")
    p.add_argument("kind", choices=("usage", "billing"))
    p.add_argument("--month", help="YYYY-MM (default: the current month, to date)")
    p.add_argument("--format", choices=("markdown", "csv", "html"), default="markdown",
                   help="html: a standalone page with charts")
    p.add_argument("--environment", choices=("dev", "staging", "prod"),
                   help="usage: whose usage plans, databases and caches (default prod); billing: only costs tagged "
                        "with this environment (default: every environment)")
    p.add_argument("--region", help="default: the AWS configuration's region (Cost Explorer is always us-east-1)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report there instead of stdout")
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    p.set_defaults(func=handler)


def cmd_report(args) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from tenancy.registry.project import project_and_registry, validate_project
    from tenancy.reports.billing import CE_REGION, collect_costs
    from tenancy.reports.period import Month
    from tenancy.reports.render import render
    from tenancy.reports.usage import collect_usage

    try:
        month = Month.parse(args.month) if args.month else Month.current()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    registry = validate_project(*project_and_registry(args.cwd, args.registry))
    session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    try:
        if args.kind == "usage":
            if not session.region_name:
                raise CommandError("no AWS region: pass --region or set AWS_REGION")
            report = collect_usage(session, registry, args.environment or "prod", month)
        else:
            report = collect_costs(session.client("ce", region_name=CE_REGION), registry, month, args.environment)
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot read the account: {exc}") from None
    text = render(report, args.format)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {args.output}: {exc.strerror}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    over = [t.tenant for t in getattr(report, "tenants", ()) if getattr(t, "over_budget", False)]
    if over:  # the billing report checks budgets: a tenant over its budget fails it, as `plan` fails on a violation
        print(f"report: over budget: {', '.join(over)}", file=sys.stderr)
        return ExitCode.FAILED
    return ExitCode.OK
