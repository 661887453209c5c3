"""The AWS session for where a cell lives: commands that read or change a cell's account (`audit`,
`db-bootstrap`, `db-check`, `cache-acl`, `cache-usage`) talk to that account and region, not to
whatever the caller's credentials happen to point at.

A cell's `aws` block in tenants/cells.yaml says where it lives (`tenancy stack-config` writes the same
into its stacks): with `roleArn`, the caller's credentials assume that role; with only `accountId`,
the caller's credentials must already be that account's, else the command stops before reading or
changing anything (exit 2). `--region` wins over the cell's `region`.
"""

from __future__ import annotations

from typing import Optional

from tenancy.exits import CommandError
from tenancy.registry.cells import Cell
from tenancy.registry.loader import Registry

SESSION_NAME = "tenancy-cli"


def named_cell(registry: Registry, name: Optional[str]) -> Optional[Cell]:
    """The cell `--cell` names (None when not given); an unknown name is a usage error."""
    if name is None:
        return None
    cell = registry.cells.get(name)
    if cell is None:
        raise CommandError(f"--cell {name}: no such cell; cells: {', '.join(registry.cells.names) or 'none'}")
    return cell


def cell_session(cell: Optional[Cell], region: Optional[str] = None, name: str = ""):
    """A boto3 session in the cell's account and region (the caller's own without a cell)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    where = region or (cell.aws.region if cell else None)
    base = boto3.Session(region_name=where) if where else boto3.Session()
    if cell is None or (not cell.aws.role_arn and not cell.aws.account_id):
        return base
    try:
        if cell.aws.role_arn:
            credentials = base.client("sts").assume_role(RoleArn=cell.aws.role_arn,
                                                         RoleSessionName=SESSION_NAME)["Credentials"]
            session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                    aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials["SessionToken"], region_name=base.region_name)
        else:
            session = base
        account = session.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        how = f"assume {cell.aws.role_arn}" if cell.aws.role_arn else "read the caller's identity"
        raise CommandError(f"cell {name}: cannot {how}: {exc}") from None
    if cell.aws.account_id and account != cell.aws.account_id:
        raise CommandError(f"cell {name} lives in account {cell.aws.account_id}, but these credentials are for "
                           f"{account}; use that account's credentials or set aws.roleArn for the cell in cells.yaml")
    return session


def cells_in_one_place(registry: Registry, environment: str) -> bool:
    """Whether every cell serving the environment lives where the caller's credentials point (no cell
    names an account, role or region of its own): then one command can cover them all."""
    return all(not (c.aws.role_arn or c.aws.account_id or c.aws.region)
               for c in registry.cells.cells.values() if environment in [e.value for e in c.environments])
