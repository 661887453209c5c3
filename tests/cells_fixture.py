"""A copy of the tests' own project with cells: the sample's tenants stay in the cell `default`
(declared, so nothing about them changes), and a canary cell `eu2` in another account and region,
with its own VPC, a pool of four shards and a small declared capacity, holds a few tenants of its own."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from .conftest import PROJECT

CELLS_YAML = """\
# The platform's cells: the sample's tenants live in `default` (they name no cell).
cells:
  default:
    environments: [dev, staging, prod]
  eu2:
    environments: [dev, prod]
    canary: true
    poolShards: 4
    capacity: {pooledTenants: 3, connections: 100, dedicatedSlices: 2}
    aws: {region: eu-central-1, accountId: "210987654321", roleArn: "arn:aws:iam::210987654321:role/tenancy-deploy"}
    settings:
      network: {vpcCidr: 10.1.0.0/16, platformCidr: 10.1.0.0/18}
      pool: {databaseInstanceClass: db.t4g.large}
"""

POOLED = """\
id: {id}
name: Tenant {id}
plan: starter
environments: [dev, prod]
cell: eu2
billing: {{costCenter: cc-{id}}}
"""

DEDICATED = """\
id: {id}
name: Tenant {id}
plan: enterprise
isolationLevel: dedicated
environments: [dev, prod]
cell: eu2
network: {{cidr: {cidr}}}
billing: {{costCenter: cc-{id}}}
"""

EU2_POOLED = ("hooli", "bachman", "endframe")  # shards 3, 0 and 2 of 4
EU2_DEDICATED = {"massive": "10.1.64.0/22"}  # a slice of eu2's VPC, outside the default cell's


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def cells_project(tmp_path: Path) -> Path:
    """The fixture project with tenants/cells.yaml and eu2's tenants."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    registry = project / "tenants"
    write(registry / "cells.yaml", CELLS_YAML)
    for tenant_id in EU2_POOLED:
        write(registry / f"{tenant_id}.yaml", POOLED.format(id=tenant_id))
    for tenant_id, cidr in EU2_DEDICATED.items():
        write(registry / f"{tenant_id}.yaml", DEDICATED.format(id=tenant_id, cidr=cidr))
    return project
