"""Shared fixtures: the repository's paths, and the tests' own project (`tests/fixtures/sample`: a
registry and stack files of their own), so a user who edits the sample in `tenants/` breaks nothing
but the test that says the sample is valid."""

from __future__ import annotations

import shutil
import urllib.request
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


AWS_REGION = "eu-west-1"


@pytest.fixture(scope="session")
def moto_endpoint():
    """One moto server per test process, for every suite that calls AWS through boto3."""
    from benchmarks.aws_account import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch) -> dict:
    """A clean moto account for this test, and the environment every boto3 client reads."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).read()
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": AWS_REGION, "AWS_DEFAULT_REGION": AWS_REGION}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
