"""`plan`: the offline plan of one stack, rendered, with the policy report; exit 1 on a mandatory
violation. `--all`: every stack of an environment, in parallel processes. `--base REF`: what the
change from REF does, stack by stack and tenant by tenant."""

from __future__ import annotations

import sys
from pathlib import Path

from tenancy.exits import CommandError


def cmd_plan(args) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise CommandError("--jobs must be at least 1")
    if args.all and args.base:
        raise CommandError("--all and --base do not go together: --base plans the stacks the change touches")
    if (args.all or args.base) and args.scope:
        raise CommandError("--scope plans one stack; it does not go with --all or --base")
    if args.all:
        return _plan_all(args)
    if args.base:
        return _plan_change(args)
    if args.environment or args.jobs:
        raise CommandError("--environment and --jobs go with --all or --base")
    return _plan_one(args)


def _options(args):
    from tenancy.plan.all import PlanOptions

    return PlanOptions(preview=args.preview, pack_dir=str(Path(args.policy_pack).resolve()) if args.policy_pack else None,
                       pack_config=str(Path(args.policy_config).resolve()) if args.policy_config else None)


def _plan_one(args) -> int:
    from tenancy.plan.render import RENDERERS
    from tenancy.plan.run import Progress, plan_stack

    progress = Progress(enabled=sys.stderr.isatty())
    try:
        result = plan_stack(Path(args.cwd), args.stack or "dev", args.scope, args.preview,
                            Path(args.policy_pack) if args.policy_pack else None,
                            Path(args.policy_config) if args.policy_config else None, progress)
    finally:
        progress.done()
    print(RENDERERS[args.format](result))
    return result.exit_code


def _plan_all(args) -> int:
    from tenancy.plan.all import environment_of, plan_environment, progress_printer
    from tenancy.plan.render import ALL_RENDERERS

    project = Path(args.cwd).resolve()
    environment = environment_of(project, args.environment, args.stack)
    result = plan_environment(project, environment, args.jobs, _options(args), progress_printer(sys.stderr.isatty()))
    print(ALL_RENDERERS[args.format](result))
    return result.exit_code


def _plan_change(args) -> int:
    from tenancy.plan.base import plan_change
    from tenancy.plan.render import CHANGE_RENDERERS

    def show(change, done: int, total: int) -> None:
        sys.stderr.write(f"[{done}/{total}] {change.diff.stack} compared\n")

    result = plan_change(Path(args.cwd), args.base, args.environment, args.stack, args.jobs, _options(args),
                         show if sys.stderr.isatty() else None)
    print(CHANGE_RENDERERS[args.format](result))
    return result.exit_code
