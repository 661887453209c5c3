"""The command line as a user runs it: exit codes, messages on stderr, never a traceback (on the
tests' own project; tests/test_sample.py checks the user's sample)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..conftest import PROJECT, REGISTRY
from ..run_cli import Result, tenancy


def run(*args: str, cwd: Path = PROJECT) -> Result:
    return tenancy(*args, cwd=cwd)


def test_the_real_entry_points_run_and_fail_without_a_traceback(registry_dir):
    """`python -m tenancy` and the `tenancy` console script, each a new process, as a user runs them."""
    script = Path(sys.executable).with_name("tenancy")
    ok = subprocess.run([sys.executable, "-m", "tenancy", "validate"], cwd=PROJECT, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip().endswith("tenants OK"), ok.stderr
    (registry_dir / "broken.yaml").write_text("id: [\n")
    bad = subprocess.run([str(script), "validate", "--registry", str(registry_dir)], capture_output=True, text=True)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "broken.yaml:" in bad.stderr and bad.stderr.rstrip().endswith("in the registry")
    usage = subprocess.run([str(script), "no-such-command"], capture_output=True, text=True)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


def test_validate_prints_count_and_exits_zero():
    result = run("validate")
    tenants = [p for p in REGISTRY.glob("*.yaml") if p.name != "plans.yaml"]
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{len(tenants)} tenants OK"


def test_validate_broken_registry_lists_each_problem_and_exits_one(registry_dir):
    (registry_dir / "empty.yaml").write_text("")
    (registry_dir / "listy.yaml").write_text("- id: listy\n")
    (registry_dir / "typed.yaml").write_text(
        "id: typed\nname: T\nplan: starter\nenvironments: dev\nquotas: {maxUsers: many}\nbilling: {costCenter: c}\n")
    result = run("validate", "--registry", str(registry_dir))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "4 problems in the registry"
    assert any(line.endswith("empty.yaml:1: empty: (document): the file is empty; it must hold a mapping")
               for line in lines)
    assert any("typed.yaml:4: typed: environments:" in line for line in lines)
    assert any("typed.yaml:5: typed: quotas.maxUsers:" in line for line in lines)


def test_validate_checks_against_every_stack_file_of_the_project(tmp_path, registry_dir):
    (tmp_path / "Pulumi.big.yaml").write_text(
        "config:\n  tenancy:environment: dev\n  tenancy:network:\n    vpcCidr: 10.0.0.0/16\n    azCount: 5\n")
    (registry_dir / "tight.yaml").write_text(
        "id: tight\nname: T\nplan: enterprise\nenvironments: [dev]\nnetwork: {cidr: 10.0.96.0/24}\n"
        "billing: {costCenter: c}\n")
    result = run("validate", "--registry", str(registry_dir))
    assert result.returncode == 1
    assert "tight.yaml:5: tight: network.cidr:" in result.stderr and "stack big" in result.stderr


def test_invalid_stack_settings_are_located_in_the_stack_file(tmp_path, registry_dir):
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  tenancy:environment: moon\n")
    result = run("validate", "--registry", str(registry_dir))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Pulumi.bad.yaml:2: stack bad: tenancy:environment:" in result.stderr


def test_usage_errors_exit_two():
    assert run("validate", "--no-such-flag").returncode == 2
    assert run().returncode == 2


def test_schema_is_strict_and_requires_the_identifying_fields(tmp_path):
    output = tmp_path / "schema.json"
    result = run("schema", "--output", str(output))
    assert result.returncode == 0, result.stderr
    schema = json.loads(output.read_text())
    assert schema["additionalProperties"] is False
    assert {"id", "plan", "billing", "environments", "name"} <= set(schema["required"])


def test_schema_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n")
    assert run("schema", "--check", "--output", str(stale)).returncode == 1
    assert run("schema", "--output", str(stale)).returncode == 0
    assert run("schema", "--check", "--output", str(stale)).returncode == 0
