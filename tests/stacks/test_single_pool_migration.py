"""An install from before cells becomes the cell `default` with no resource replaced or renamed.

`single_pool_dev.json` was recorded from the program as it was before cells: for every registration
of the tests' own `dev` stack (the sample registry, one pool), its URN and the inputs that name or
place it (names and identifiers, address blocks, zones, the VPC, subnets and groups it lives in,
Kubernetes names), any of which, changed, renames or replaces the resource. The same stack, planned
now with cells declared (the sample's tenants in `default`, and a canary cell `eu2` with tenants of
its own beside it), registers every one of those URNs with the same inputs. Registrations added
since (new features) are allowed; none may disappear or change those inputs. The split stacks keep
their names (`dev-platform`, `dev-pool`, `dev-<id>`), hence their URNs' stack part.
"""

from __future__ import annotations

import json
from pathlib import Path

from tenancy.plan.harness import plain, run_program
from tenancy.registry.loader import load_registry
from tenancy.registry.project import validate_project
from tenancy.stacks.catalog import stacks_of

from ..cells_fixture import cells_project
from ..conftest import REGISTRY

GOLDEN = Path(__file__).with_name("single_pool_dev.json")


def key_inputs(registration, keys) -> dict:
    out = {}
    for key in keys:
        if key == "metadata":
            metadata = plain(registration.inputs.get("metadata")) or {}
            out[key] = {k: metadata[k] for k in ("name", "namespace") if k in metadata}
        else:
            out[key] = plain(registration.inputs.get(key))
    return out


def test_the_single_pool_install_becomes_the_default_cell_with_every_urn_and_name_kept(tmp_path):
    project = cells_project(tmp_path)
    assert len(validate_project(project).cells.names) == 2
    before = json.loads(GOLDEN.read_text())["resources"]
    now = {r.urn: r for r in run_program(project, "dev").registrations}
    missing = sorted(urn for urn in before if urn not in now)
    assert not missing, f"{len(missing)} resources renamed or gone, e.g. {missing[:3]}"
    changed = [(urn, was, key_inputs(now[urn], was)) for urn, was in before.items() if key_inputs(now[urn], was) != was]
    assert not changed, f"{len(changed)} resources would be replaced, e.g. {changed[:2]}"
    assert not any("eu2" in urn or "hooli" in urn for urn in now)  # the other cell is not in this stack


def test_the_split_stacks_keep_their_names():
    registry = load_registry(REGISTRY)
    own = sorted(t.id for t in registry.tenants if t.has_own_stack and "prod" in {e.value for e in t.tenant.environments})
    assert [s.name for s in stacks_of(registry, "prod")] == ["prod-platform", "prod-pool", *[f"prod-{t}" for t in own]]
    assert {s.scope for s in stacks_of(registry, "prod")} == {"platform", "pool", *[f"tenant/{t}" for t in own]}
