"""The benchmarks run and report what they claim (small sizes here; the real runs are `make bench`),
on the tests' own fixture project."""

from __future__ import annotations

from benchmarks.audit_benchmark import run, synthetic_tenants
from benchmarks.plan_benchmark import run as run_plan_benchmark
from benchmarks.plan_benchmark import write_registry
from tenancy.registry.loader import load_registry

from .conftest import PROJECT, REGISTRY


def test_synthetic_tenants_have_unique_ids_and_non_overlapping_blocks():
    _, tenants = synthetic_tenants(60, REGISTRY)
    assert len({t.id for t in tenants}) == 60
    blocks = [t.tenant.network.network for t in tenants if t.tenant.network]
    assert blocks and not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:])


def test_audit_benchmark_reports_time_per_tenant_and_a_ratio_to_its_baseline():
    result = run(8, REGISTRY)
    assert result["tenants"] == 8 and result["findings"] == 0
    assert result["taggedResources"] >= 8 * 4  # key, two queues, a secret each
    assert result["msPerTenant"] > 0 and result["ratio"] > 1


def test_plan_benchmark_registry_is_valid_and_the_run_reports_per_tenant_costs(tmp_path):
    write_registry(tmp_path / "tenants", 12, PROJECT)
    assert len(load_registry(tmp_path / "tenants").tenants) == 12
    result = run_plan_benchmark([1], PROJECT)
    [row] = result["sizes"]
    assert row["tenants"] == 1 and row["violations"] == 0
    assert row["resources"] > result["baseline"]["resources"]
    # a time difference of one tenant against the baseline: reported, its sign left to the machine's noise
    assert isinstance(row["msPerTenant"], (int, float)) and "kibPerTenant" in row


def test_plan_benchmark_measures_flat_plain_and_plan_of_one_stack_in_one_run():
    from benchmarks.plan_benchmark import ratios

    result = ratios(2, PROJECT)
    runs = result["runs"]
    assert set(runs) == {"flat", "plain", "plan"}
    assert runs["flat"]["registered"] == result["resources"]  # the same custom resources, registered flat
    assert runs["plain"]["registered"] > result["resources"]  # and components, under the SDK's own monitor
    assert runs["plan"]["exitCode"] == 0 and set(runs["plan"]["timings"]) >= {"validate", "program", "checks"}
    assert result["harnessAndPolicyToPlain"] > 0 and result["wholeToFlat"] > 0


def test_synthetic_installs_are_valid_in_the_asked_mix_with_cells_and_pool_shards(tmp_path):
    from benchmarks.synthetic import SHARD_TENANTS, write_project
    from tenancy.registry.project import validate_project
    from tenancy.stacks.catalog import stacks_of

    registry = validate_project(write_project(tmp_path / "install", 600))
    tiers = [t.isolation.value for t in registry.tenants]
    assert (tiers.count("shared"), tiers.count("dedicated"), tiers.count("isolated")) == (420, 120, 60)
    pools = [s for s in stacks_of(registry, "dev") if s.kind == "pool"]
    assert len({s.cell for s in pools}) == 2 and len(pools) >= 420 // SHARD_TENANTS


def test_scale_benchmark_reports_the_one_tenant_change_and_pool_memory(capsys, monkeypatch):
    import json
    import sys

    from benchmarks import scale

    monkeypatch.setattr(sys, "argv", ["scale", "--sizes", "10,20", "--pool-sizes", "2,4"])
    scale.main()
    out = capsys.readouterr().out.strip().splitlines()
    last = json.loads(out[-1])  # the last line: one JSON object
    assert last["stacks_affected_by_one_pooled_change"] == 1
    assert last["one_tenant_change_ratio"] > 0 and isinstance(last["memory_per_tenant_mib"], float)
    assert [s["tenants"] for s in last["sizes"]] == [10, 20]
    assert any(line.startswith("  10 ") for line in out) and any(line.startswith("  20 ") for line in out)
