"""Shared fixtures: the repository's paths and a writable copy of the sample registry."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    """A copy of tenants/ that a test may break."""
    target = tmp_path / "tenants"
    shutil.copytree(ROOT / "tenants", target)
    return target
