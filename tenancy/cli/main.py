"""The command line: `tenancy <command>` (or `python -m tenancy <command>`).

Every command runs through one error wrapper (`tenancy.cli.errors.guarded`) and exits with a code
from one table (`tenancy.exits`): 0 success, 1 the thing checked is wrong, 2 usage or environment.
"""

from __future__ import annotations

import argparse

from tenancy.cli.errors import guarded
from tenancy.cli.portal import add_portal_parser
from tenancy.cli.reports import add_report_parser
from tenancy.cli.tenant import add_tenant_parser
from tenancy.registry.models import Environment


def _lazy(module: str, name: str):
    """A handler imported on first use, so `validate` never pays for Pulumi, boto3 or psycopg."""
    def handler(args):
        import importlib
        return getattr(importlib.import_module(f"tenancy.cli.{module}"), name)(args)
    return handler


cmd_validate = _lazy("registry", "cmd_validate")
cmd_schema = _lazy("registry", "cmd_schema")
cmd_plan = _lazy("plan", "cmd_plan")
cmd_stacks = _lazy("stacks", "cmd_stacks")
cmd_affected = _lazy("stacks", "cmd_affected")
cmd_stack_config = _lazy("stacks", "cmd_stack_config")
cmd_db_bootstrap = _lazy("dataplane", "cmd_db_bootstrap")
cmd_db_check = _lazy("dataplane", "cmd_db_check")
cmd_cache_acl = _lazy("dataplane", "cmd_cache_acl")
cmd_cache_usage = _lazy("dataplane", "cmd_cache_usage")
cmd_audit = _lazy("audit", "cmd_audit")
cmd_capacity = _lazy("capacity", "cmd_capacity")
cmd_portal = _lazy("portal", "cmd_portal")
cmd_report = _lazy("reports", "cmd_report")


def _registry_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")


def _stack_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", default="dev", help="a stack with a Pulumi.<stack>.yaml, or <env>-platform|pool|<id>")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")


def _admin_connection_args(p: argparse.ArgumentParser) -> None:
    """How the data-plane commands reach the pooled database as its admin."""
    p.add_argument("--dsn", help="PostgreSQL connection string of the pooled database (an admin role)")
    p.add_argument("--platform-outputs", help="or: the platform stack's `pulumi stack output --json` file: the pooled "
                                              "database's address, port and RDS-managed master secret")
    p.add_argument("--dsn-secret", help="or: the ARN of a secret holding the pooled database's master credentials "
                                        "(with --platform-outputs: instead of the one it names)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenancy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate the tenant registry")
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="write the tenant file JSON Schema")
    p.add_argument("--output", default="tenants/schema.json")
    p.add_argument("--check", action="store_true", help="exit 1 if the file is not current")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("plan", help="run a stack offline (no credentials), summarise it and check the policies")
    _stack_args(p)
    p.add_argument("--scope", help="override tenancy:scope")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.add_argument("--preview", action="store_true", help="preview mode: computed values stay unknown")
    p.add_argument("--policy-pack", help="policy pack directory (default: the project's policies/, else tenancy's)")
    p.add_argument("--policy-config", help="--policy-pack-config file (default: <pack>/config/<environment>.json)")
    p.add_argument("--all", action="store_true", help="every stack of the environment (--environment, or the "
                                                      "--stack's), in parallel processes")
    p.add_argument("--environment", choices=[e.value for e in Environment],
                   help="with --all: the environment; with --base: only its stacks")
    p.add_argument("--base", metavar="REF", help="the change from git ref REF to the working tree: the stacks it "
                                                 "touches (or --stack) planned at both ends and compared")
    p.add_argument("--jobs", type=int, metavar="N", help="with --all or --base: processes (default: one per core)")
    p.set_defaults(func=cmd_plan, stack=None)  # stack None: not given (plan: dev)

    p = sub.add_parser("capacity", help="what a stack needs of the account's service quotas, and how many "
                                        "more tenants of each tier fit")
    _stack_args(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_capacity)

    p = sub.add_parser("stacks", help="the stacks the registry needs, in deployment waves (per cell: platform, "
                                      "pools, tenant stacks; canary cells first)")
    p.add_argument("--environment", choices=[e.value for e in Environment], help="default: every environment")
    p.add_argument("--cwd", default=".")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_stacks)

    p = sub.add_parser("affected", help="the stacks a git change touches, in deployment order")
    p.add_argument("--base", required=True, help="the git ref to compare with (e.g. origin/main)")
    p.add_argument("--environment", choices=[e.value for e in Environment], help="default: every environment")
    p.add_argument("--cwd", default=".")
    p.add_argument("--format", choices=("text", "json"), default="json")
    p.add_argument("--wave", type=int, choices=range(1, 7), metavar="N",
                   help="only the stacks of deployment wave N (1-3: canary cells' platforms, pools, tenant stacks; "
                        "4-6: the other cells')")
    p.set_defaults(func=cmd_affected)

    p = sub.add_parser("db-bootstrap", help="apply the pooled tenants' roles, schemas and row security (SQL)")
    _admin_connection_args(p)
    p.add_argument("--environment", required=True, choices=[e.value for e in Environment])
    p.add_argument("--dry-run", action="store_true", help="print the SQL (passwords masked) without connecting")
    p.add_argument("--reset-passwords", action="store_true", help="also set the passwords of existing roles")
    p.add_argument("--readmit", action="append", default=[], metavar="ID",
                   help="a tenant that left the pool, coming back with its data (repeatable)")
    p.add_argument("--stack-outputs", action="append", default=[],
                   help="`pulumi stack output --json` file: passwords from the tenants' secrets (repeatable: one per "
                        "pool shard)")
    p.add_argument("--cell", help="the cell whose pooled database or cache this is (tenants/cells.yaml; default: the cell named default)")
    _registry_args(p)
    p.set_defaults(func=cmd_db_bootstrap)

    p = sub.add_parser("db-check", help="find what lets a pooled tenant reach another's data or outlive its "
                                       "place in the pool (read-only); exit 1 on any finding")
    _admin_connection_args(p)
    p.add_argument("--environment", required=True, choices=[e.value for e in Environment])
    p.add_argument("--accept", action="append", default=[], metavar="KIND[:SUBJECT]",
                   help="a finding the platform knowingly cannot fix where it runs (on RDS: write-without-create, "
                        "public-rights:template1); repeatable")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--cell", help="the cell whose pooled database or cache this is (tenants/cells.yaml; default: the cell named default)")
    _registry_args(p)
    p.set_defaults(func=cmd_db_check)

    p = sub.add_parser("cache-acl", help="apply the pooled tenants' Redis ACL users (self-managed Redis; "
                                        "ElastiCache gets the same rules through its user resources)")
    p.add_argument("--url", help="redis[s]://admin:PASSWORD@host:port of the pooled cache")
    p.add_argument("--environment", required=True, choices=[e.value for e in Environment])
    p.add_argument("--dry-run", action="store_true", help="print the ACL rules (passwords masked) without connecting")
    p.add_argument("--cell", help="the cell whose pooled database or cache this is (tenants/cells.yaml; default: the cell named default)")
    _registry_args(p)
    p.set_defaults(func=cmd_cache_acl)

    p = sub.add_parser("cache-usage", help="per-tenant keys and memory in the pooled cache (read-only); "
                                          "exit 1 when a tenant's share reaches the threshold")
    p.add_argument("--url", required=True, help="redis[s]://admin:PASSWORD@host:port of the pooled cache")
    p.add_argument("--environment", required=True, choices=[e.value for e in Environment])
    p.add_argument("--threshold", type=float, default=0.20, help="share of maxmemory (default 0.20)")
    p.add_argument("--sample", type=int, default=1000, help="keys sized per tenant (default 1000)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--cell", help="the cell whose pooled database or cache this is (tenants/cells.yaml; default: the cell named default)")
    _registry_args(p)
    p.set_defaults(func=cmd_cache_usage)

    p = sub.add_parser("audit", help="check the live account: is every tenant still isolated? (read-only)")
    p.add_argument("--environment", default="prod", choices=[e.value for e in Environment])
    p.add_argument("--region", help="default: the AWS configuration's region")
    p.add_argument("--kubeconfig", metavar="PATH", help="also judge this cluster's NetworkPolicies and RBAC")
    p.add_argument("--context", metavar="NAME", help="the kubeconfig's context (default: its current one)")
    p.add_argument("--cell", help="audit this cell's tenants, in its account and region (tenants/cells.yaml `aws`: "
                                  "its roleArn is assumed); needed when the cells live in different places")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _registry_args(p)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("stack-config", help="write Pulumi.<stack>.yaml of a split stack for the Pulumi CLI")
    p.add_argument("--stack", required=True)
    p.add_argument("--org", help="name the platform stack in full: ORG/<project>/<env>-platform")
    p.add_argument("--cwd", default=".")
    p.set_defaults(func=cmd_stack_config)

    add_tenant_parser(sub)  # tenancy tenant new|set|suspend|resume, and move|offboard
    add_report_parser(sub, cmd_report)  # tenancy report usage|billing
    add_portal_parser(sub, cmd_portal)  # tenancy portal
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(args.command, lambda: args.func(args))
