"""Runs of the real program under mocks on the tests' own project (`tests/fixtures/sample`), shared
by the component tests (each run takes ~2 s; the plain dev plan is the session's `dev_plan`)."""

from __future__ import annotations

import pytest

from tenancy.plan.harness import Recording, run_program
from tenancy.registry.loader import load_registry
from tenancy.registry.project import config_from_stack_file

from ..conftest import PROJECT, REGISTRY

# Every tenant of the fixture's dev stack, for the tests that go through them all.
DEV_TENANTS = sorted(t.id for t in load_registry(REGISTRY).in_environment("dev"))


def dev_config(**overrides: str | None) -> dict[str, str]:
    """The dev stack's config with some keys replaced (None removes a key)."""
    config = config_from_stack_file(PROJECT / "Pulumi.dev.yaml")
    for key, value in overrides.items():
        full = key if ":" in key else f"tenancy:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    return config


def run_dev(**overrides: str | None) -> Recording:
    return run_program(PROJECT, "dev", dev_config(**overrides))


@pytest.fixture(scope="session")
def dev(dev_plan) -> Recording:
    return dev_plan


@pytest.fixture(scope="session")
def registry():
    return load_registry(REGISTRY)
