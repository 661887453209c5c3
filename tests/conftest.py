"""Shared fixtures: the repository's paths, and the tests' own project (`tests/fixtures/sample`: a
registry and stack files of their own), so a user who edits the sample in `tenants/` breaks nothing
but the test that says the sample is valid."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tests" / "fixtures" / "sample"  # a Pulumi project running the real program's wiring
REGISTRY = PROJECT / "tenants"


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    """A copy of the fixture registry that a test may break."""
    target = tmp_path / "tenants"
    shutil.copytree(REGISTRY, target)
    return target
