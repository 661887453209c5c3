"""Cells in the registry: tenants/cells.yaml, where each tenant lives, and each cell's capacity.

Placement is explicit (a tenant's `cell:`, else `default`), and `tenancy tenant new` writes the first
cell with room: adding or removing tenants or cells never moves another tenant, proven here by
onboarding and offboarding tenants in turn."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from tenancy.lifecycle.scaffold import new_tenant_cell, scaffold
from tenancy.registry.cells import pool_shard
from tenancy.registry.loader import load_registry
from tenancy.registry.models import Tenant
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.project import validate_project
from tenancy.registry.source import parse_yaml
from tenancy.stacks.catalog import tenant_stack

from ..cells_fixture import CELLS_YAML, POOLED, cells_project, write
from ..conftest import REGISTRY
from ..run_cli import tenancy


def problems_of(directory: Path) -> list:
    with pytest.raises(RegistryInvalid) as info:
        load_registry(directory)
    return info.value.problems


def test_without_cells_yaml_the_registry_is_one_cell_named_default():
    registry = load_registry(REGISTRY)
    assert not registry.cells.declared and registry.cells.names == ["default"]
    assert all(registry.cell_of(t) == "default" and registry.shard_of(t) == 0 for t in registry.tenants)
    assert registry.in_cell("dev") == registry.in_environment("dev")


def test_cells_yaml_places_tenants_and_checks_each_cell_against_its_own_network(tmp_path):
    project = cells_project(tmp_path)
    registry = validate_project(project)
    assert registry.cells.declared and registry.cells.names == ["default", "eu2"]
    assert [t.id for t in registry.in_cell("dev", "eu2")] == ["bachman", "endframe", "hooli", "massive"]
    assert all(registry.cell_of(t) == "default" for t in registry.tenants if t.tenant.cell is None)
    # massive's slice lies in eu2's VPC (10.1.0.0/16), not in the default cell's: moved there, it fails
    path = project / "tenants" / "massive.yaml"
    path.write_text(path.read_text().replace("cell: eu2\n", "cell: default\n"))
    messages = [str(p) for p in problems_of(project / "tenants")]
    assert any("massive.yaml" in m and "network.cidr" in m and "inside the shared VPC 10.0.0.0/16" in m
               for m in messages), messages


def test_a_full_cell_is_named_with_its_file_line_and_field(tmp_path):
    project = cells_project(tmp_path)
    write(project / "tenants" / "pied-piper.yaml", POOLED.format(id="pied-piper"))  # a 4th pooled tenant in eu2
    result = tenancy("validate", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if "capacity.pooledTenants" in line)
    cells_yaml = (project / "tenants" / "cells.yaml").read_text().splitlines()
    number = next(i for i, text in enumerate(cells_yaml, 1) if "capacity:" in text and "pooledTenants: 3" in text)
    assert line.startswith(f"tenants/cells.yaml:{number}: cell eu2: capacity.pooledTenants: ")
    assert "cell eu2 is full in dev: 4 pooled tenants, capacity 3" in line and "default (no limit)" in line
    assert "cell eu2 is full in prod" in result.stderr


def test_the_connection_and_slice_capacities_are_enforced_too(tmp_path):
    project = cells_project(tmp_path)
    cells = project / "tenants" / "cells.yaml"
    cells.write_text(cells.read_text().replace("connections: 100, dedicatedSlices: 2", "connections: 25, dedicatedSlices: 0"))
    messages = [str(p) for p in problems_of(project / "tenants")]
    assert any("capacity.connections: cell eu2 is full in dev: 30 pooled database connections, capacity 25" in m
               for m in messages), messages
    assert any("capacity.dedicatedSlices: cell eu2 is full in dev: 1 dedicated slices, capacity 0" in m
               for m in messages), messages


@pytest.mark.parametrize("edit, where, expected", [
    (("hooli.yaml", "cell: eu2", "cell: eu9"), "hooli.yaml:5: hooli: cell", "unknown cell 'eu9'; cells: default, eu2"),
    (("hooli.yaml", "environments: [dev, prod]", "environments: [dev, staging]"), "hooli.yaml:5: hooli: cell",
     "cell 'eu2' does not serve staging"),
    (("cells.yaml", "  default:\n    environments: [dev, staging, prod]\n", ""), "acme.yaml:2: acme: id",
     "a tenant without `cell:` lives in the cell named 'default', which"),
    (("cells.yaml", "poolShards: 4", "poolShards: 4\n    colour: blue"), "cells.yaml:9: cell eu2: colour",
     "unknown key 'colour'"),
    (("cells.yaml", "pool: {databaseInstanceClass: db.t4g.large}", "environment: prod"),
     "cells.yaml:11: cell eu2: settings", "'environment' is not a setting a cell may override"),
    (("cells.yaml", "accountId: \"210987654321\"", "accountId: \"123456789012\""), "cells.yaml:10: cell eu2: aws",
     "is not in accountId 123456789012"),
])
def test_each_cell_mistake_gets_one_precise_message(tmp_path, edit, where, expected):
    project = cells_project(tmp_path)
    name, old, new = edit
    path = project / "tenants" / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    messages = [str(p) for p in problems_of(project / "tenants")]
    assert any(m.startswith(f"tenants/{where}") or f"/{where}" in m for m in messages) and any(
        expected in m for m in messages), messages


def test_a_tenant_id_may_not_take_a_cell_stack_or_platform_name(tmp_path):
    project = cells_project(tmp_path)
    for taken in ("eu2-platform", "eu2-pool-3", "pool-eu2"):
        write(project / "tenants" / f"{taken}.yaml", POOLED.format(id=taken).replace("cell: eu2\n", ""))
    messages = [str(p) for p in problems_of(project / "tenants")]
    for taken, what in (("eu2-platform", "cell eu2's platform stack"), ("eu2-pool-3", "cell eu2's pool shard 3"),
                        ("pool-eu2", "cell eu2's platform resource names")):
        assert any(f"{taken}: id: {taken!r} is taken by {what}" in m for m in messages), messages


def test_cell_settings_that_break_a_stack_file_are_reported_in_cells_yaml(tmp_path):
    project = cells_project(tmp_path)
    cells = project / "tenants" / "cells.yaml"
    cells.write_text(cells.read_text().replace("vpcCidr: 10.1.0.0/16, platformCidr: 10.1.0.0/18", "azCount: 9"))
    with pytest.raises(RegistryInvalid) as info:
        validate_project(project)
    messages = [str(p) for p in info.value.problems]
    assert any("cells.yaml:12: cell eu2: settings.network.azCount" in m for m in messages), messages


def test_each_cells_pooled_database_has_its_own_connection_budget(tmp_path):
    project = cells_project(tmp_path)
    cells = project / "tenants" / "cells.yaml"
    cells.write_text(cells.read_text().replace("pool: {databaseInstanceClass: db.t4g.large}",
                                               "pool: {databaseMaxConnections: 40}"))
    with pytest.raises(RegistryInvalid) as info:
        validate_project(project)
    messages = [str(p) for p in info.value.problems]
    assert any("cells.yaml:13: cell eu2: settings.pool.databaseMaxConnections: the 3 pooled tenants may open 30" in m
               for m in messages), messages


def test_onboarding_and_offboarding_never_moves_another_tenant(tmp_path):
    """`tenancy tenant new` writes the first cell with room; tenants come and go, cells are added and
    their capacity raised; every tenant's cell, shard and stack stay what they were when it arrived."""
    project = cells_project(tmp_path)
    registry_dir = project / "tenants"
    rng = random.Random(17)
    first_seen: dict[str, tuple] = {}

    def placements():
        registry = load_registry(registry_dir)
        return registry, {t.id: (registry.cell_of(t), registry.shard_of(t),
                                 tuple(tenant_stack(e.value, t, registry).name for e in t.tenant.environments))
                          for t in registry.tenants}

    registry, now = placements()
    first_seen.update(now)
    for step in range(40):
        action = rng.random()
        if action < 0.6:  # onboard one tenant, as `tenancy tenant new` writes it
            tenant_id = f"t{step:02d}-{rng.randrange(10**6):06d}"
            text = scaffold(tenant_id, tenant_id, "starter", registry, ["dev", "prod"], None, None, None)
            cell = new_tenant_cell(registry, Tenant.model_validate(parse_yaml(text).data))
            (registry_dir / f"{tenant_id}.yaml").write_text(
                scaffold(tenant_id, tenant_id, "starter", registry, ["dev", "prod"], None, None, None, cell))
        elif action < 0.85:  # offboard one of them
            ours = sorted(p for p in registry_dir.glob("t*.yaml"))
            if ours:
                rng.choice(ours).unlink()
        else:  # a new cell, declared before the others (hashing over cells would move tenants now)
            name = f"c{step:02d}"
            cells = registry_dir / "cells.yaml"
            cells.write_text(cells.read_text().replace(
                "cells:\n", f"cells:\n  {name}:\n    environments: [dev, prod]\n    poolShards: 3\n"
                            f"    capacity: {{pooledTenants: 2}}\n", 1))
        registry, now = placements()
        for tenant_id, placement in now.items():
            assert first_seen.setdefault(tenant_id, placement) == placement, (step, tenant_id)
    assert len(registry.cells.names) > 2 and len({cell for cell, _, _ in now.values()}) > 2


def test_a_full_registry_has_no_cell_for_a_new_tenant(tmp_path):
    project = cells_project(tmp_path)
    cells = project / "tenants" / "cells.yaml"
    cells.write_text(cells.read_text().replace("  default:\n    environments: [dev, staging, prod]\n",
                                               "  default:\n    environments: [dev, staging, prod]\n"
                                               "    capacity: {pooledTenants: 4}\n"))
    registry = validate_project(project)  # default holds 4 pooled tenants in dev, eu2 3: both full
    text = scaffold("newco", "NewCo", "starter", registry, ["dev", "prod"], None, None, None)
    with pytest.raises(Exception, match="no cell has room for newco in dev, prod"):
        new_tenant_cell(registry, Tenant.model_validate(parse_yaml(text).data))


def test_tenant_new_writes_the_cell_it_chose(tmp_path):
    project = cells_project(tmp_path)
    shutil.copy(project / "tenants" / "hooli.yaml", tmp_path / "hooli.yaml")
    result = tenancy("tenant", "new", "newco", "--name", "NewCo", "--plan", "starter", "--environments", "dev,prod",
                     "--no-plan", "--yes", cwd=project)
    assert result.returncode == 0, result.stderr
    text = (project / "tenants" / "newco.yaml").read_text()
    assert "\ncell: default\n" in text  # the first cell with room, in declaration order


def test_shards_depend_on_the_tenant_id_alone():
    ids = [f"tenant-{n}" for n in range(400)]
    shards = {i: pool_shard(i, 8) for i in ids}
    assert shards == {i: pool_shard(i, 8) for i in reversed(ids[:200] + ids[200:])}
    counts = [list(shards.values()).count(n) for n in range(8)]
    assert min(counts) > 30 and max(counts) < 70, counts  # spread over every shard
    assert all(pool_shard(i, 1) == 0 for i in ids)


def test_cells_yaml_is_not_a_tenant_file(tmp_path):
    registry_dir = tmp_path / "tenants"
    shutil.copytree(REGISTRY, registry_dir)
    write(registry_dir / "cells.yaml", CELLS_YAML)
    assert "cells" not in {t.id for t in load_registry(registry_dir).tenants}


def test_the_longest_cell_name_fits_every_name_its_platform_derives():
    from tenancy.registry import naming
    from tenancy.registry.models import Environment

    cell = "c" * naming.CELL_NAME_MAX
    pool, platform = naming.cell_owner(naming.POOL_OWNER, cell), naming.cell_owner(naming.PLATFORM_OWNER, cell)
    for env in (e.value for e in Environment):
        for name, limit in ((naming.database_identifier(env, pool), 63), (naming.cache_group_id(env, pool), 40),
                            (naming.cache_default_user_id(env, pool), 40), (naming.pool_role_name(env, cell), 64),
                            (naming.flow_log_role(env, platform), 64), (naming.pool_namespace(cell), 63),
                            (naming.flags_application_name(env, 49, cell), 64)):
            assert len(name) <= limit, name
    assert naming.pool_role_name("dev") == "tenancy-dev-pool" and naming.pool_namespace() == "tenant-pool"
    assert naming.flags_application_name("dev", 0, "default") == "tenancy-dev-flags-0"
