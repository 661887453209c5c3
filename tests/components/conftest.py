"""Runs of the real program under mocks, shared by the component tests (each run takes ~2 s)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tenancy.plan.harness import Recording, run_program
from tenancy.registry.loader import load_registry
from tenancy.registry.project import config_from_stack_file

ROOT = Path(__file__).resolve().parents[2]


def dev_config(**overrides: str | None) -> dict[str, str]:
    """The dev stack's config with some keys replaced (None removes a key)."""
    config = config_from_stack_file(ROOT / "Pulumi.dev.yaml")
    for key, value in overrides.items():
        full = key if ":" in key else f"tenancy:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    return config


def run_dev(**overrides: str | None) -> Recording:
    return run_program(ROOT, "dev", dev_config(**overrides))


@pytest.fixture(scope="session")
def dev() -> Recording:
    return run_program(ROOT, "dev")


@pytest.fixture(scope="session")
def registry():
    return load_registry(ROOT / "tenants")


@pytest.fixture
def own_registry(tmp_path: Path) -> Path:
    target = tmp_path / "tenants"
    shutil.copytree(ROOT / "tenants", target)
    return target
