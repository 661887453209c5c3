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
    assert row["resources"] > result["baseline"]["resources"] and row["msPerTenant"] > 0
