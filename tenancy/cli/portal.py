"""`tenancy portal`: serve the self-service portal (blocks until interrupted)."""

from __future__ import annotations

import os
from pathlib import Path

from tenancy.exits import CommandError, ExitCode

GITHUB_TOKEN_ENV = ("TENANCY_PORTAL_GITHUB_TOKEN", "GITHUB_TOKEN")


def add_portal_parser(sub, handler) -> None:
    """Registers `tenancy portal`; `handler` runs it (main's lazy `cmd_portal`)."""
    p = sub.add_parser("portal", help="serve the self-service portal: tenants, quotas against usage, spend, "
                                      "isolation; changes proposed as git branches and pull requests")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    p.add_argument("--auth", required=True, metavar="FILE",
                   help="who may sign in: the platform's and the tenants' issuers (YAML or JSON; see README)")
    p.add_argument("--repo", metavar="DIR", help="the registry's git repository: changes become branches there "
                                                 "(default: none, the portal proposes nothing)")
    p.add_argument("--base", help="the branch changes are proposed against (default: the one checked out in --repo)")
    p.add_argument("--github-repo", metavar="OWNER/NAME", help="also push each branch and open a pull request "
                                                               "there (token: TENANCY_PORTAL_GITHUB_TOKEN or GITHUB_TOKEN)")
    p.add_argument("--github-api", default="https://api.github.com", help="GitHub's API (Enterprise: https://HOST/api/v3)")
    p.add_argument("--push-remote", default="origin", help="the git remote branches are pushed to (default origin)")
    p.add_argument("--environment", default="prod", choices=("dev", "staging", "prod"),
                   help="whose usage and isolation the portal shows (default prod)")
    p.add_argument("--aws", action="store_true", help="read usage, spend and the isolation audit from the live "
                                                     "account (boto3's usual credentials, read-only)")
    p.add_argument("--region", help="with --aws: the region (default: the AWS configuration's)")
    p.add_argument("--audit-json", metavar="FILE", help="a saved `tenancy audit --format json` instead of a live audit")
    p.add_argument("--plan-json", metavar="FILE", help="resources from a saved `tenancy plan --format json`")
    p.add_argument("--plan-stack", metavar="STACK", help="or: plan this stack offline at start for the resources")
    p.add_argument("--stack-outputs", metavar="FILE", help="and/or: `pulumi stack output --json` of the stack")
    p.add_argument("--cache-seconds", type=float, default=900, help="how long account data is kept (default 900)")
    p.add_argument("--secure-cookies", action="store_true", help="mark the session cookie Secure (behind HTTPS)")
    p.set_defaults(func=handler)


def github_token() -> str | None:
    return next((os.environ[k] for k in GITHUB_TOKEN_ENV if os.environ.get(k)), None)


def cmd_portal(args) -> int:
    from tenancy.portal.app import PortalSettings, secret_from_environment, serve
    from tenancy.portal.auth import AuthConfig
    from tenancy.portal.data import Sources
    from tenancy.portal.proposals import GitHub, Proposer
    from tenancy.registry.project import project_and_registry, validate_project

    project, registry_dir = project_and_registry(args.cwd, args.registry)
    validate_project(project, registry_dir)  # refuse to start on a registry that does not validate
    auth = AuthConfig.from_file(args.auth)
    github = None
    if args.github_repo:
        token = github_token()
        if not token:
            raise CommandError(f"--github-repo needs a token in {' or '.join(GITHUB_TOKEN_ENV)}")
        if not args.repo:
            raise CommandError("--github-repo needs --repo")
        github = GitHub(args.github_repo, token, args.github_api, args.push_remote)
    proposer = Proposer(Path(args.repo), registry_dir, args.base, github) if args.repo else None
    sources = Sources(project, registry_dir, args.environment, args.aws, args.region,
                      Path(args.audit_json) if args.audit_json else None,
                      Path(args.plan_json) if args.plan_json else None, args.plan_stack,
                      Path(args.stack_outputs) if args.stack_outputs else None, args.cache_seconds)
    settings = PortalSettings(sources, auth, proposer, secret_from_environment(), args.secure_cookies)
    serve(settings, args.host, args.port)
    return ExitCode.OK
