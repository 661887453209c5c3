"""Synthetic projects for the scale benchmarks: the tests' fixture program and plans with a registry
of N tenants in a fixed mix (default 70% pooled, 20% dedicated, 10% isolated), every address block
its own, valid as `tenancy validate` judges it.

Large installs are built the way the registry asks an operator to build them (`tenants/cells.yaml`):
cells of at most CELL_TENANTS tenants, each pool split into shards of about SHARD_TENANTS pooled
tenants. A registry without cells (before `cells.yaml` existed, or `cells=False`) is one pool.
"""

from __future__ import annotations

import ipaddress
import math
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "sample"
CELL_TENANTS = 500  # tenants per cell (its shared VPC, pooled database and cache)
SHARD_TENANTS = 70  # pooled tenants per pool stack
ISOLATED_SPACE = ipaddress.ip_network("10.64.0.0/10")  # isolated tenants' own VPCs


def shared_vpc(cell: int) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    """Cell n's shared VPC and its platform's part (cell 0 keeps the stack file's 10.0.0.0/16)."""
    return ipaddress.ip_network(f"10.{cell}.0.0/16"), ipaddress.ip_network(f"10.{cell}.0.0/18")


def cells_supported() -> bool:
    """Whether this registry knows cells with pool shards (`tenants/cells.yaml`)."""
    try:
        from tenancy.registry.cells import Cell
    except ImportError:
        return False
    return "pool_shards" in Cell.model_fields


def dedicated_slices(cell: int):
    """The /24 slices of cell n's shared VPC outside its platform's part, in order."""
    vpc, platform = shared_vpc(cell)
    return iter([block for block in vpc.subnets(new_prefix=24) if not block.overlaps(platform)])


def tier_of(index: int, count: int, pooled: float = 0.7, dedicated: float = 0.2) -> str:
    """Spread the tiers evenly over the ids, so every prefix of the registry has the same mix."""
    slot = index % 10
    if slot < round(pooled * 10):
        return "shared"
    if slot < round((pooled + dedicated) * 10):
        return "dedicated"
    return "isolated"


def tenant_id(index: int) -> str:
    return f"bench-{index:05d}"


def write_project(directory: Path, count: int, environment: str = "dev", cells: bool = True,
                  pooled: float = 0.7, dedicated: float = 0.2) -> Path:
    """A Pulumi project at `directory` (created) with `count` synthetic tenants; returns it."""
    directory.mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(FIXTURE / name, directory / name)
    settings = yaml.safe_load((FIXTURE / f"Pulumi.{environment}.yaml").read_text())
    pool = settings["config"].setdefault("tenancy:pool", {})
    pool["databaseMaxConnections"] = 100_000  # the synthetic pools' connection limits, summed, fit
    pool["flagsApplications"] = 40  # AppConfig allows 20 environments (tenants) per application
    (directory / f"Pulumi.{environment}.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    registry = directory / "tenants"
    registry.mkdir()
    shutil.copy(FIXTURE / "tenants" / "plans.yaml", registry / "plans.yaml")
    vpcs = ISOLATED_SPACE.subnets(new_prefix=20)
    cell_count = max(1, math.ceil(count / CELL_TENANTS)) if cells and cells_supported() else 0
    names = ["default", *(f"cell-{n}" for n in range(2, cell_count + 1))]
    slices = [dedicated_slices(c) for c in range(max(1, cell_count))]
    room = len(list(dedicated_slices(0)))
    dedicated_here = sum(1 for i in range(min(count, CELL_TENANTS if cell_count > 1 else count))
                         if tier_of(i, count, pooled, dedicated) == "dedicated")
    if dedicated_here > room:
        raise ValueError(f"{dedicated_here} dedicated tenants in one shared VPC, which holds {room} /24 slices: "
                         f"an install this size needs cells")
    for i in range(count):
        tier = tier_of(i, count, pooled, dedicated)
        cell = i // CELL_TENANTS if cell_count > 1 else 0
        tenant: dict = {"id": tenant_id(i), "name": f"Bench {i}", "environments": [environment],
                        "billing": {"costCenter": f"cc-{i % 97}", "monthlyBudget": 100 + i % 50}}
        if tier == "shared":
            tenant.update(plan="starter" if i % 2 else "professional", dataIsolation="row" if i % 3 == 0 else "schema")
        else:
            tenant.update(plan="enterprise", isolationLevel=tier,
                          network={"cidr": str(next(slices[cell]) if tier == "dedicated" else next(vpcs))})
        if cell:
            tenant["cell"] = names[cell]
        (registry / f"{tenant['id']}.yaml").write_text(yaml.safe_dump(tenant, sort_keys=False))
    if cell_count:
        per_cell = [sum(1 for i in range(count) if i // CELL_TENANTS == c and tier_of(i, count, pooled, dedicated)
                        == "shared") for c in range(cell_count)]
        catalog: dict = {"cells": {}}
        for n, (name, pooled_here) in enumerate(zip(names, per_cell)):
            cell = {"environments": [environment],
                    "poolShards": max(1, min(64, math.ceil(pooled_here / SHARD_TENANTS)))}
            if n:
                vpc, platform = shared_vpc(n)
                cell["settings"] = {"network": {"vpcCidr": str(vpc), "platformCidr": str(platform)}}
            catalog["cells"][name] = cell
        (registry / "cells.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    return directory


def pooled_tenants(count: int, pooled: float = 0.7, dedicated: float = 0.2) -> list[str]:
    return [tenant_id(i) for i in range(count) if tier_of(i, count, pooled, dedicated) == "shared"]
