"""`plan`: the offline plan of one stack, rendered, with the policy report; exit 1 on a mandatory
violation."""

from __future__ import annotations

import sys
from pathlib import Path

from tenancy.plan.render import RENDERERS
from tenancy.plan.run import Progress, plan_stack


def cmd_plan(args) -> int:
    progress = Progress(enabled=sys.stderr.isatty())
    try:
        result = plan_stack(Path(args.cwd), args.stack, args.scope, args.preview,
                            Path(args.policy_pack) if args.policy_pack else None,
                            Path(args.policy_config) if args.policy_config else None, progress)
    finally:
        progress.done()
    print(RENDERERS[args.format](result))
    return result.exit_code
