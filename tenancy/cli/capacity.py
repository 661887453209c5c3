"""`capacity`: what a stack needs of the account's service quotas, and how many more tenants of
each tier fit; exit 1 when a quota is exceeded."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tenancy.exits import ExitCode
from tenancy.plan.run import Progress, plan_stack


def cmd_capacity(args) -> ExitCode:
    progress = Progress(enabled=sys.stderr.isatty())
    try:
        result = plan_stack(Path(args.cwd), args.stack, progress=progress, policies=False)
    finally:
        progress.done()
    account = result.capacity
    assert account is not None
    if args.format == "json":
        print(json.dumps(account.as_dict(), indent=2, sort_keys=True))
    else:
        print(f"tenancy capacity: stack {args.stack}, one account and region, against "
              "AWS's default quotas and the stack's tenancy:quotas")
        width = max(len(line.quota.name) for line in account.lines)
        print(f"  {'QUOTA'.ljust(width)}  NEEDS  LIMIT  CODE")
        for line in account.lines:
            mark = "  EXCEEDED" if line.exceeded else ""
            print(f"  {line.quota.name.ljust(width)}  {line.used:>5}  {line.limit:>5}  {line.quota.code or '-'}{mark}")
        print("more tenants that fit: " + ", ".join(f"{tier} {n}" for tier, n in account.fits.items()))
        for line in account.exceeded:
            print(f"exceeded: {line}", file=sys.stderr)
    return ExitCode.FAILED if account.exceeded else ExitCode.OK
